"""tools/train_zoo.py on tiny presets."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from tiny_data import make_clips

from ghvae_keras import GHVAE, shards, zoo
from ghvae_keras import training as ghvae_training
from ghvae_keras.errors import TrainingCollapsedError
from presets import ROOT, load_tool, run_tool, tiny_metadata


@pytest.fixture
def tiny_bair(tmp_path):
    """An untrained two-module preset on the bair stand-in in `tmp_path / "zoo"`,
    the model, and the arguments of a tiny run of it (no --workdir)."""
    zoo_dir = tmp_path / "zoo"
    metadata = tiny_metadata(name="tiny-bair")
    metadata["data"]["stand_in"]["name"] = "bair"  # TFDS mock data stands in for the simulator
    metadata.update(training=None, metrics={})
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3)
    zoo.save_preset(model, zoo_dir / "tiny-bair", metadata, include_weights=False)
    return zoo_dir, model, ["tiny-bair", "--zoo", str(zoo_dir), "--steps-per-stage", "2", "--checkpoint-every",
                            "1", "--batch-size", "2", "--videos", "3", "--samples", "2", "--no-fvd"]


@pytest.mark.slow  # five training phases and an evaluation, at 16x16
def test_train_zoo_trains_the_baseline_at_equal_compute_evaluates_and_resumes(tmp_path, capsys, monkeypatch,
                                                                             tiny_bair):
    import tensorflow_datasets as tfds

    workdir = tmp_path / "run"
    zoo_dir, model, argv = tiny_bair
    argv = argv + ["--workdir", str(workdir)]
    with tfds.testing.mock_data(num_examples=4):
        code, line = run_tool("train_zoo", argv, capsys)
        assert code == 0
        written = zoo.read_metadata(zoo_dir / "tiny-bair")
        block = written["metrics"]["stand_in_test"]
        assert sorted(block["modules"]) == ["1", "2"] and block["copy_last_frame"]["psnr"] > 0
        assert (block["samples"], block["videos"], block["context"], block["horizon"]) == (2, 3, 2, 3)
        compute = block["end_to_end"]["compute"]
        seconds = written["training"]["seconds"]
        assert [seconds[p]["steps"] for p in ("stage_1", "stage_2")] == [2, 2]
        assert seconds["end_to_end"]["steps"] == compute["end_to_end_steps"] >= 1
        assert compute["greedy"] == pytest.approx(seconds["stage_1"]["cpu"] + seconds["stage_2"]["cpu"], abs=0.1)
        # Equal compute is priced on one machine: each phase's step timed here.
        priced = compute["priced_on"]
        per_step = priced["cpu_per_step"]
        assert set(per_step) == {"stage_1", "stage_2", "end_to_end"} and min(per_step.values()) > 0
        assert priced["greedy"] == pytest.approx(2 * (per_step["stage_1"] + per_step["stage_2"]), rel=0.01, abs=0.05)
        assert compute["end_to_end_steps"] == pytest.approx(
            max(1, 2 * (per_step["stage_1"] + per_step["stage_2"]) / per_step["end_to_end"]), abs=1)
        assert written["training"]["priced_on"] == priced
        assert written["training"]["command"] == (  # every option of the plan, defaults too
            "python tools/train_zoo.py tiny-bair --steps-per-stage 2 --batch-size 2 --checkpoint-every 1 "
            "--seed 0 --videos 3 --samples 2 --fvd-samples 1 --no-fvd --lr-schedule constant "
            "--train-future 3")
        assert (written["training"]["status"], written["training"]["stages_trained"]) == ("complete", 2)
        assert json.loads(line)["metrics"] == block
        assert (workdir / "prediction.gif").is_file()
        card = (zoo_dir / "tiny-bair" / zoo.CARD_FILE).read_text()
        assert "Greedy training ran 2 steps per module at batch 2 of 5-frame clips" in card
        assert f"The end-to-end baseline ran {compute['end_to_end_steps']} steps in the same compute" in card
        assert "the steps of both priced on one processor" in card
        trained = zoo.from_pretrained(str(zoo_dir / "tiny-bair"))  # hashes checked
        assert trained.count_params() == model.count_params()

        with pytest.raises(SystemExit, match="pass --resume"):
            load_tool("train_zoo").main(argv)
        code, _ = run_tool("train_zoo", argv + ["--resume"], capsys)  # nothing left: rewrites the preset
        assert code == 0
        again = zoo.read_metadata(zoo_dir / "tiny-bair")
        assert again["metrics"] == written["metrics"] and again["training"]["seconds"] == seconds
        assert again["files"]["model.weights.h5"] == written["files"]["model.weights.h5"]
        with pytest.raises(SystemExit, match="was started with"):
            load_tool("train_zoo").main(argv + ["--resume", "--samples", "3"])

        # A baseline trained again (after a collapse): the greedy modules stay,
        # the baseline starts from another initialization and is evaluated anew.
        with pytest.raises(SystemExit, match="--retrain-baseline continues a run"):
            load_tool("train_zoo").main(argv + ["--workdir", str(tmp_path / "other"), "--retrain-baseline"])
        first_baseline = GHVAE.from_config(model.get_config())
        first_baseline.load_weights(workdir / "end_to_end" / "end_to_end.weights.h5")
        code, _ = run_tool("train_zoo", argv + ["--resume", "--retrain-baseline"], capsys)
        assert code == 0
        retrained = zoo.read_metadata(zoo_dir / "tiny-bair")
        assert retrained["files"]["model.weights.h5"] == written["files"]["model.weights.h5"]
        assert retrained["metrics"]["stand_in_test"]["modules"] == block["modules"]
        assert retrained["training"]["baseline_restarts"] == 1
        second_baseline = GHVAE.from_config(model.get_config())
        second_baseline.load_weights(workdir / "end_to_end" / "end_to_end.weights.h5")
        assert not all(np.array_equal(a, b) for a, b in zip(first_baseline.get_weights(),
                                                               second_baseline.get_weights()))
        # Again from the committed preset folder alone, the work folder gone.
        shutil.rmtree(workdir)
        code, _ = run_tool("train_zoo", argv + ["--resume", "--retrain-baseline"], capsys)
        assert code == 0
        again = zoo.read_metadata(zoo_dir / "tiny-bair")
        assert again["training"]["baseline_restarts"] == 2
        assert again["training"]["seconds"]["stage_1"] == seconds["stage_1"]  # greedy not trained again
        assert again["files"]["model.weights.h5"] == written["files"]["model.weights.h5"]
        # A baseline that collapses starts again by itself, --baseline-retries times at most.
        fit_end_to_end, calls = ghvae_training.fit_end_to_end, []

        def collapses_first(*args, **kwargs):
            calls.append(kwargs["steps"])
            if len(calls) == 1:
                raise TrainingCollapsedError("end_to_end: from step 1 to 1, 100% of the training clips ...")
            return fit_end_to_end(*args, **kwargs)

        monkeypatch.setattr(ghvae_training, "fit_end_to_end", collapses_first)
        capsys.readouterr()
        assert load_tool("train_zoo").main(argv + ["--resume", "--retrain-baseline"]) == 0
        assert len(calls) == 2 and calls[0] == calls[1]
        assert zoo.read_metadata(zoo_dir / "tiny-bair")["training"]["baseline_restarts"] == 4
        assert "(restart 4): end_to_end: from step 1 to 1" in capsys.readouterr().out
        calls.clear()
        with pytest.raises(TrainingCollapsedError):
            load_tool("train_zoo").main(argv + ["--resume", "--retrain-baseline", "--baseline-retries", "0"])
        assert len(calls) == 1
        monkeypatch.setattr(ghvae_training, "fit_end_to_end", fit_end_to_end)

        # A top stage found short of steps trains again, longer, from its
        # initialization; module 1 stays, the baseline follows at the new compute.
        longer = argv + ["--resume", "--retrain-from-stage", "2", "--steps-per-stage", "2,3"]
        with pytest.raises(SystemExit, match="not"):  # stage 1's steps are not the run's
            load_tool("train_zoo").main(longer[:-1] + ["3,3"])
        with pytest.raises(SystemExit, match="--steps-per-stage: .* 2 positive ints, got \\[2, 3, 4\\]"):
            load_tool("train_zoo").main(longer[:-1] + ["2,3,4"])
        code, _ = run_tool("train_zoo", longer, capsys)
        assert code == 0
        extended = zoo.read_metadata(zoo_dir / "tiny-bair")
        training = extended["training"]
        assert training["steps_per_stage"] == training["plan"]["steps_per_stage"] == [2, 3]
        assert training["seconds"]["stage_1"] == seconds["stage_1"] and training["seconds"]["stage_2"]["steps"] == 3
        assert "--steps-per-stage 2,3 " in training["command"] and "baseline_restarts" not in training
        assert training["seconds"]["end_to_end"]["steps"] == training["end_to_end_steps"]
        assert training["end_to_end_steps"] == pytest.approx(max(1, sum(
            steps * training["priced_on"]["cpu_per_step"][f"stage_{k}"] for k, steps in ((1, 2), (2, 3)))
            / training["priced_on"]["cpu_per_step"]["end_to_end"]), abs=1)
        card = (zoo_dir / "tiny-bair" / zoo.CARD_FILE).read_text()
        assert "Greedy training ran 2 and 3 steps for modules 1 to 2 at batch 2" in card
        before, after = zoo.from_pretrained(str(zoo_dir / "tiny-bair")), trained
        assert all(np.array_equal(a, b) for a, b in zip(before.ghvae_modules[0].get_weights(),
                                                           after.ghvae_modules[0].get_weights()))
        assert not all(np.array_equal(a, b) for a, b in zip(before.ghvae_modules[1].get_weights(),
                                                               after.ghvae_modules[1].get_weights()))


@pytest.mark.slow  # two greedy stages, the baseline and an evaluation, at 16x16
def test_train_zoo_commits_each_stage_and_continues_from_the_preset_folder(tmp_path, capsys, monkeypatch,
                                                                           tiny_bair):
    """A run stopped after stage 1 leaves a loadable, unpublishable preset with
    stage 1 active; a run on a machine without the work folder (a fresh
    --workdir) continues at stage 2 with the architecture it was started with,
    one stopped after the last stage continues at the baseline, and one
    stopped in the baseline continues at its committed checkpoint."""
    import tensorflow_datasets as tfds

    from ghvae_keras import training

    zoo_dir, _, argv = tiny_bair
    argv = argv + ["--lr-schedule", "cosine", "--set", "skip_from=previous", "--set", "beta=0.001"]
    fit_greedy = training.fit_greedy

    def stop_at_stage_2(model, data, **kwargs):
        if kwargs["stages"] == [2]:
            raise KeyboardInterrupt("the session ended")
        return fit_greedy(model, data, **kwargs)

    with tfds.testing.mock_data(num_examples=4):
        monkeypatch.setattr(training, "fit_greedy", stop_at_stage_2)
        with pytest.raises(KeyboardInterrupt):
            load_tool("train_zoo").main(argv + ["--workdir", str(tmp_path / "first")])
        partial = zoo.read_metadata(zoo_dir / "tiny-bair")
        assert (partial["training"]["status"], partial["training"]["stages_trained"]) == ("in progress", 1)
        assert partial["metrics"] == {} and "planning" not in partial
        assert "Training in progress" in (zoo_dir / "tiny-bair" / zoo.CARD_FILE).read_text()
        assert any("in progress" in problem for problem in zoo.validate_card(zoo_dir / "tiny-bair"))
        loaded = zoo.from_pretrained(str(zoo_dir / "tiny-bair"))  # hashes checked
        assert (loaded.active_modules, loaded.skip_from, loaded.beta) == (1, "previous", 0.001)
        stage_1 = loaded.ghvae_modules[0].get_weights()

        with pytest.raises(SystemExit, match="records a run in progress"):
            load_tool("train_zoo").main(argv[:-2] + ["--workdir", str(tmp_path / "other")])
        # Stage 2, then a stop before the baseline: the last stage is committed too.
        monkeypatch.setattr(training, "fit_greedy", fit_greedy)
        fit_end_to_end = training.fit_end_to_end

        def stop(*args, **kwargs):
            raise KeyboardInterrupt("the session ended")

        monkeypatch.setattr(training, "fit_end_to_end", stop)
        capsys.readouterr()
        with pytest.raises(KeyboardInterrupt):
            load_tool("train_zoo").main(argv + ["--workdir", str(tmp_path / "second")])
        assert "resuming from" in capsys.readouterr().out
        greedy = zoo.read_metadata(zoo_dir / "tiny-bair")
        assert (greedy["training"]["status"], greedy["training"]["stages_trained"]) == ("in progress", 2)
        assert zoo.from_pretrained(str(zoo_dir / "tiny-bair")).active_modules == 2
        # Elsewhere again: no greedy stage is trained twice; the baseline
        # follows and stops after its first checkpoint, which is committable...
        monkeypatch.setattr(training, "fit_greedy", stop)

        class StopAfterCheckpoint(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                raise KeyboardInterrupt("the session ended")

        def stop_after_first_checkpoint(*args, **kwargs):
            return fit_end_to_end(*args, **{**kwargs, "callbacks": [*kwargs["callbacks"], StopAfterCheckpoint()]})

        monkeypatch.setattr(training, "fit_end_to_end", stop_after_first_checkpoint)
        with pytest.raises(KeyboardInterrupt):
            load_tool("train_zoo").main(argv + ["--workdir", str(tmp_path / "third")])
        assert "committable: " in capsys.readouterr().out
        baseline = zoo.read_metadata(zoo_dir / "tiny-bair")["training"]
        assert zoo.read_metadata(zoo_dir / "tiny-bair")["metrics"] == {}
        assert (baseline["status"], baseline["stages_trained"]) == ("in progress", 2)
        assert baseline["end_to_end_run"]["checkpoint"]["step"] == baseline["seconds"]["end_to_end"]["steps"] == 1
        assert (zoo_dir / "tiny-bair" / zoo.TRAINING_STATE_FILE).is_file()
        assert zoo.from_pretrained(str(zoo_dir / "tiny-bair")).active_modules == 2  # hashes still hold
        rendered = shutil.copytree(zoo_dir / "tiny-bair", tmp_path / "rendered")
        zoo.write_card(rendered)  # what tools/make_model_card.py would write: nothing is stale
        assert (rendered / zoo.CARD_FILE).read_text() == (zoo_dir / "tiny-bair" / zoo.CARD_FILE).read_text()
        # ... and continues from it on a machine without the work folder.
        monkeypatch.setattr(training, "fit_end_to_end", fit_end_to_end)
        assert load_tool("train_zoo").main(argv + ["--workdir", str(tmp_path / "fresh")]) == 0
    done = zoo.read_metadata(zoo_dir / "tiny-bair")
    # Step 1 was not trained again: the ledger counts each step once.
    assert done["training"]["seconds"]["end_to_end"]["steps"] == done["training"]["end_to_end_steps"]
    assert not (zoo_dir / "tiny-bair" / zoo.TRAINING_STATE_FILE).exists()
    assert (done["training"]["status"], done["training"]["stages_trained"]) == ("complete", 2)
    assert done["training"]["seconds"]["stage_1"] == partial["training"]["seconds"]["stage_1"]
    assert "stage_2" in done["training"]["seconds"] and done["metrics"]["stand_in_test"]["modules"]
    final = zoo.from_pretrained(str(zoo_dir / "tiny-bair"))
    assert final.active_modules == 2
    # Module 1 is frozen in stage 2: its weights are those committed after stage 1.
    assert all(np.array_equal(a, b) for a, b in zip(final.ghvae_modules[0].get_weights(), stage_1))




@pytest.mark.slow  # a subprocess on JAX (or PyTorch), then an evaluation on TensorFlow, at 16x16
@pytest.mark.parametrize("backend", [
    "jax",
    pytest.param("torch", marks=pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                                   reason="PyTorch is not installed (not in the test extras)")),
])
def test_train_zoo_trains_from_shards_without_tensorflow_and_evaluates_where_it_is(tmp_path, capsys, backend,
                                                                                   tiny_bair):
    """The recipe for a GPU or TPU machine without TensorFlow: --data SHARDS
    --train-only there, the same command with --resume here."""
    import tensorflow_datasets as tfds

    workdir, windows = tmp_path / "run", tmp_path / "shards"
    zoo_dir, _, argv = tiny_bair
    argv = argv + ["--workdir", str(workdir)]
    shards.write_shards(windows, [make_clips(batch=8, steps=5, size=16, action_dim=4)],
                        dataset="bair", split="train")
    there = ("import sys; sys.modules['tensorflow'] = None; sys.path.insert(0, sys.argv[1]); "
             "import presets; sys.exit(presets.load_tool('train_zoo').main(sys.argv[2:]))")
    done = subprocess.run(
        [sys.executable, "-c", there, str(ROOT / "tests"), *argv, "--data", str(windows), "--train-only"],
        env=dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu"), capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "--resume" in done.stdout
    trained = zoo.read_metadata(zoo_dir / "tiny-bair")["training"]
    assert (trained["status"], trained["stages_trained"], trained["dataset"]) == ("in progress", 2, "bair")
    assert trained["device"]["backend"] == backend
    progress = json.loads((workdir / "progress.json").read_text())
    assert progress["seconds"]["end_to_end"]["steps"] == progress["end_to_end_steps"] >= 1

    with tfds.testing.mock_data(num_examples=4):  # here, with TensorFlow and the test split
        code, _ = run_tool("train_zoo", argv + ["--resume"], capsys)
    assert code == 0
    written = zoo.read_metadata(zoo_dir / "tiny-bair")
    assert (written["training"]["status"], written["training"]["device"]["backend"]) == ("complete", backend)
    assert written["training"]["seconds"] == progress["seconds"]  # nothing trained twice
    assert sorted(written["metrics"]["stand_in_test"]["modules"]) == ["1", "2"]
