"""tools/ablate.py on a tiny preset."""

import json

import numpy as np
import pytest

from ghvae_keras import GHVAE, zoo
from presets import load_tool, run_tool, tiny_metadata


def test_a_variants_name_says_everything_it_changes():
    ablate = load_tool("ablate")
    protocol = {"context": 2, "train_future": 10, "eval_future": 28}
    shipped = {"module_channels": [8, 8], "beta": 1e-4, "feed_predictions": True, "motion_weight": 10.0}
    config, settings = ablate.recipe("cosine_lr+warp", shipped, protocol)
    # Options a variant can change start at GHVAE's defaults, whatever the preset ships with.
    assert (config["feed_predictions"], config["motion_weight"], config["warp_skip"]) == (False, 0.0, True)
    assert settings["cosine_lr"] and settings["sequence_length"] == 12
    config, settings = ablate.recipe("feed_predictions+motion_loss+long_clips", shipped, protocol)
    assert (config["feed_predictions"], config["motion_weight"], config["warp_skip"]) == (True, 10.0, False)
    assert settings["sequence_length"] == 30
    # open_blend starts the mask logit at 0, not a flow channel that follows it.
    tiny = {"image_size": 16, "module_channels": [8, 8], "latent_channels": 2, "action_dim": 4}
    config, settings = ablate.recipe("open_blend+warp", tiny, protocol)
    model = ablate.initial_model(config, settings, seed=0)
    assert np.array(model.ghvae_modules[0].decoder.out.bias).tolist() == [0.0] * 6
    # Every variant alone, as the default run trains them, makes a model.
    for name in ablate.CHANGES:
        config, settings = ablate.recipe(name, tiny, protocol)
        assert ablate.initial_model(config, settings, seed=0).ghvae_modules, name
    config, _ = ablate.recipe("half_teacher_forced", tiny, protocol)
    assert (config["feed_predictions"], config["teacher_forced_fraction"]) == (True, 0.5)


@pytest.mark.slow  # two variants trained greedily for a few steps and evaluated, at 16x16
def test_ablate_trains_each_variant_for_the_same_cpu_seconds_and_tabulates_them(tmp_path, capsys):
    import tensorflow_datasets as tfds

    metadata = tiny_metadata(name="tiny-bair")
    metadata["data"]["stand_in"]["name"] = "bair"  # TFDS mock data stands in for the simulator
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3)
    zoo.save_preset(model, tmp_path / "zoo" / "tiny-bair", metadata, include_weights=False)
    out = tmp_path / "ablation.json"
    argv = ["--preset", "tiny-bair", "--zoo", str(tmp_path / "zoo"), "--variants", "base,warp",
            "--budget", "2", "--videos", "3", "--samples", "1", "--out", str(out)]
    with tfds.testing.mock_data(num_examples=16):
        code, _ = run_tool("ablate", argv, capsys)
    assert code == 0
    results = json.loads(out.read_text())
    assert list(results["variants"]) == ["base", "warp"]
    for name, entry in results["variants"].items():
        assert entry["config"]["warp_skip"] == (name == "warp")
        assert set(entry["modules"]) == {"1", "2"}
        assert all(stage["steps"] >= 2 and stage["cpu"] >= 1.0 for stage in entry["training"]["stages"].values())
        # Another video's actions were tried; the 16x16 model has no simulator for the spread.
        assert "psnr_shuffled_actions" in entry["modules"]["2"] and "action_response" not in entry
    table = load_tool("ablate").markdown_table(results)
    assert "| warp |" in table and "spread 1 / 2 modules" in table
    # A rerun keeps what is there; other settings are refused rather than mixed in.
    with tfds.testing.mock_data(num_examples=16):
        assert run_tool("ablate", argv, capsys)[0] == 0
        with pytest.raises(SystemExit, match="holds results for"):
            run_tool("ablate", argv[:-1] + [str(out), "--seed", "1"], capsys)
    assert json.loads(out.read_text())["variants"] == results["variants"]


def test_the_curriculum_switches_to_the_rollout_midway_with_the_same_optimizer(monkeypatch):
    import keras

    from ghvae_keras import training
    from tiny_data import TINY, make_dataset

    ablate = load_tool("ablate")
    traced = []
    for name in ("_predict_teacher_forced", "_predict_fed_back"):
        def traced_path(self, *args, name=name, original=getattr(GHVAE, name)):
            traced.append(name)
            return original(self, *args)
        monkeypatch.setattr(GHVAE, name, traced_path)
    optimizer_steps = []

    class OptimizerSteps(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            optimizer_steps.append(int(self.model.optimizer.iterations.numpy()))

    model = GHVAE(**TINY, action_dim=3, horizon=3)
    budget = ablate.CpuBudget(0.4, cosine_from=1e-3, rollout_from=0.5)
    training.fit_greedy(model, make_dataset(steps=5).repeat(), steps_per_stage=10**6, checkpoint_every=10**6,
                        stages=[1], callbacks=[budget, OptimizerSteps()], verbose=0)
    # The step traced at the start is teacher-forced; the rollout's is traced once, midway.
    assert traced == ["_predict_teacher_forced", "_predict_fed_back"] and model.feed_predictions
    assert budget.steps >= 3 and budget.cpu >= 0.4
    assert optimizer_steps == [budget.steps]
