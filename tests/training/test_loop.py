import json
import os
import signal
import subprocess
import sys
import time

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from tiny_data import make_dataset

from ghvae_keras import GHVAE
from ghvae_keras.errors import InputError
from ghvae_keras.training import (
    CheckpointManager,
    NonFiniteLossError,
    TrainingCollapsedError,
    add_noise,
    fit_end_to_end,
    fit_greedy,
    make_strategy,
)

HERE = os.path.dirname(__file__)


def _sgd():
    return keras.optimizers.SGD(0.05)


def _module_weights(model, index):
    return [w.copy() for w in model.ghvae_modules[index].get_weights()]


def _load(config, path):
    model = GHVAE.from_config(config)
    model.load_weights(path)
    return model


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_greedy_stages_freeze_lower_modules(tiny_config, tmp_path):
    """The recompile trap: after stage 2, module 1 is bit-identical to stage 1's."""
    model = GHVAE(**tiny_config)
    initial = [_module_weights(model, i) for i in range(2)]
    result = fit_greedy(
        model, make_dataset(), steps_per_stage=3, checkpoint_dir=str(tmp_path),
        checkpoint_every=3, optimizer=_sgd, verbose=0,
    )
    after_stage_1 = _load(model.get_config(), str(tmp_path / "stage_1.weights.h5"))
    final = result.model
    # Stage 1 trained module 1 only.
    assert not _same(_module_weights(after_stage_1, 0), initial[0])
    assert _same(_module_weights(after_stage_1, 1), initial[1])
    # Stage 2 trained module 2 only.
    assert _same(_module_weights(final, 0), _module_weights(after_stage_1, 0))
    assert not _same(_module_weights(final, 1), initial[1])
    assert final.active_modules == 2 and all(m.trainable for m in final.ghvae_modules)
    assert set(result.history) == {"stage_1", "stage_2"}
    assert all(np.isfinite(result.history["stage_2"]["loss"]))


def test_end_to_end_trains_every_module(tiny_config):
    model = GHVAE(**tiny_config)
    parts = ("encoder", "decoder", "core", "prior", "posterior", "predictor")
    initial = {(i, p): getattr(model.ghvae_modules[i], p).get_weights() for i in range(2) for p in parts}
    # Zero-initialised output convolutions pass gradient down one level per step.
    result = fit_end_to_end(model, make_dataset(), steps=4, optimizer=_sgd, verbose=0)
    assert result.model.latents == "all"
    for (index, part), before in initial.items():
        after = getattr(result.model.ghvae_modules[index], part).get_weights()
        assert not _same(after, before), (index, part)


def test_resume_after_the_process_is_killed_mid_stage(tmp_path):
    checkpoint_dir = str(tmp_path / "run")
    steps = 40
    command = [sys.executable, os.path.join(HERE, "train_worker.py"), checkpoint_dir, str(steps)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pointer = os.path.join(checkpoint_dir, "checkpoint.json")
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            assert process.poll() is None, process.communicate()[1].decode()[-2000:]
            if os.path.exists(pointer):
                with open(pointer) as f:
                    state = json.load(f)
                if state["phase"] == "stage_2" and 2 <= state["step"] < steps - 5:
                    break
            time.sleep(0.02)
        else:
            pytest.fail("training never reached the middle of stage 2")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    with open(pointer) as f:
        killed_at = json.load(f)
    assert killed_at["phase"] == "stage_2" and not killed_at["complete"]

    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["resumed_from"] == ["stage_2", killed_at["step"]]
    assert report["steps_run"] == {"stage_2": steps - killed_at["step"]}
    with open(pointer) as f:
        final = json.load(f)
    assert final["phase"] == "stage_2" and final["complete"] and final["step"] == steps
    # Adam's state was restored: its step count ran on from the checkpoint.
    with h5py.File(os.path.join(checkpoint_dir, final["path"])) as f:
        assert int(f["optimizer/vars/0"][()]) == steps
    config = json.load(open(os.path.join(checkpoint_dir, "config.json")))
    stage_1 = _load(config, os.path.join(checkpoint_dir, "stage_1.weights.h5"))
    stage_2 = _load(config, os.path.join(checkpoint_dir, "stage_2.weights.h5"))
    assert _same(_module_weights(stage_1, 0), _module_weights(stage_2, 0))
    leftovers = [n for n in os.listdir(checkpoint_dir) if n.startswith("ckpt-")]
    assert leftovers == [final["path"]]


def test_stages_run_one_call_at_a_time_resume_across_the_boundary(tiny_config, tmp_path):
    """Adam's state differs in shape from stage to stage: it must not be carried over."""
    model = GHVAE(**tiny_config)
    fit_greedy(model, make_dataset(), steps_per_stage=2, checkpoint_dir=str(tmp_path),
               stages=[1], verbose=0)
    stage_1 = _load(model.get_config(), str(tmp_path / "stage_1.weights.h5"))
    result = fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=2,
                        checkpoint_dir=str(tmp_path), stages=[2], verbose=0)
    assert result.resumed_from == ("stage_1", 2)
    assert set(result.history) == {"stage_2"}
    assert _same(_module_weights(result.model, 0), _module_weights(stage_1, 0))
    again = fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=2,
                       checkpoint_dir=str(tmp_path), verbose=0)
    assert again.resumed_from == ("stage_2", 2) and again.history == {}
    assert _same(again.model.get_weights(), result.model.get_weights())


def test_a_crash_while_writing_keeps_the_last_checkpoint(tiny_config, tmp_path, monkeypatch):
    model = GHVAE(**tiny_config)
    real_save = GHVAE.save_weights
    calls = []

    def crash_on_second_save(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            with open(path, "wb") as f:
                f.write(b"\x89HDF half a file")
            raise OSError("disk full")
        return real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(GHVAE, "save_weights", crash_on_second_save)
    with pytest.raises(OSError, match="disk full"):
        fit_greedy(model, make_dataset(), steps_per_stage=4, checkpoint_dir=str(tmp_path),
                   checkpoint_every=1, stages=[1], optimizer=_sgd, verbose=0)
    monkeypatch.setattr(GHVAE, "save_weights", real_save)

    manager = CheckpointManager(str(tmp_path))
    latest = manager.latest()
    assert (latest["phase"], latest["step"], latest["complete"]) == ("stage_1", 1, False)
    restored = GHVAE(**tiny_config)
    manager.restore(restored, latest, optimizer=False)  # loads: not corrupt
    result = fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=4,
                        checkpoint_dir=str(tmp_path), checkpoint_every=1, stages=[1],
                        optimizer=_sgd, verbose=0)
    assert result.resumed_from == ("stage_1", 1)
    assert not any("partial" in name or name.endswith(".tmp") for name in os.listdir(tmp_path))


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_config, tmp_path):
    good = make_dataset(batches=2)
    bad = good.map(lambda b: {**b, "frames": b["frames"] * np.float32("nan")})
    data = good.concatenate(bad)
    with pytest.raises(NonFiniteLossError, match=r"stage_1: loss became nan at step 3.*stage_1 step 2"):
        fit_greedy(GHVAE(**tiny_config), data, steps_per_stage=4, checkpoint_dir=str(tmp_path),
                   checkpoint_every=1, stages=[1], optimizer=_sgd, verbose=0)
    manager = CheckpointManager(str(tmp_path))
    latest = manager.latest()
    assert latest["step"] == 2
    model = GHVAE(**tiny_config)
    manager.restore(model, latest)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def _copying_model(config):
    """A model whose pixel decoder's mask logit is far past sigmoid's range:
    every frame it predicts is the skip frame, and no gradient can change it."""
    model = GHVAE(**config)
    out = model.ghvae_modules[0].decoder.out
    bias = np.array(out.bias)
    bias[-1] = 100.0
    out.bias.assign(bias)
    return model


def test_a_run_that_only_copies_the_last_frame_stops_and_says_so(tiny_config, tmp_path):
    healthy = fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=2, stages=[1],
                         optimizer=_sgd, verbose=0).history["stage_1"]
    assert healthy["reconstruction"][-1] < healthy["copy_last_frame"][-1]
    assert healthy["copied"] == [0.0]
    with pytest.raises(TrainingCollapsedError, match=r"stage_1: from step 1 to 2, 100% of the training clips "
                                                     r"were predicted as their last context frame.*"
                                                     r"no checkpoint was written"):
        fit_greedy(_copying_model(tiny_config), make_dataset(), steps_per_stage=4, stages=[1],
                   checkpoint_dir=str(tmp_path / "greedy"), checkpoint_every=2, optimizer=_sgd, verbose=0)
    with pytest.raises(TrainingCollapsedError, match=r"end_to_end: from step 1 to 2, 100% of"):
        fit_end_to_end(_copying_model(tiny_config), make_dataset(), steps=4,
                       checkpoint_dir=str(tmp_path / "end_to_end"), checkpoint_every=2, optimizer=_sgd,
                       verbose=0)
    assert CheckpointManager(str(tmp_path / "end_to_end")).latest() is None


def test_a_collapse_inside_an_interval_keeps_the_checkpoint_from_before_it(tiny_config, tmp_path):
    class CollapseAtStep4(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if self.params["steps"] * self.epoch + batch + 1 == 4:
                bias = np.array(self.model.ghvae_modules[0].decoder.out.bias)
                bias[-1] = 100.0
                self.model.ghvae_modules[0].decoder.out.bias.assign(bias)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    manager = CheckpointManager(str(tmp_path))
    with pytest.raises(TrainingCollapsedError, match=r"from step 3 to 4, 50% of the training clips.*"
                                                     r"the last good checkpoint \(end_to_end step 2\)"):
        fit_end_to_end(GHVAE(**tiny_config), make_dataset(), steps=6, checkpoint_dir=str(tmp_path),
                       checkpoint_every=2, optimizer=_sgd, callbacks=[CollapseAtStep4()], verbose=0)
    assert manager.latest()["step"] == 2  # step 4's weights, already collapsed, were not saved


def test_a_mixed_bfloat16_run_continues_a_float32_one_and_keeps_float32_weights(tiny_config, tmp_path):
    fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=2, stages=[1], checkpoint_dir=str(tmp_path),
               checkpoint_every=2, optimizer=_sgd, verbose=0)
    result = fit_greedy(GHVAE(**tiny_config, dtype="mixed_bfloat16"), make_dataset(), steps_per_stage=2,
                        stages=[1, 2], checkpoint_dir=str(tmp_path), checkpoint_every=2, optimizer=_sgd, verbose=0)
    assert list(result.history) == ["stage_2"] and result.resumed_from == ("stage_1", 2)
    history = result.history["stage_2"]
    assert np.isfinite(history["loss"]).all() and history["reconstruction"][-1] < history["copy_last_frame"][-1]
    assert {w.dtype for w in result.model.get_weights()} == {np.dtype("float32")}
    with pytest.raises(InputError, match="training needs float32 weights; bfloat16 keeps them in bfloat16"):
        fit_greedy(GHVAE(**tiny_config, dtype="bfloat16"), make_dataset(), steps_per_stage=1, verbose=0)


def test_resume_refuses_a_checkpoint_of_another_model(tiny_config, tmp_path):
    fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=1,
               checkpoint_dir=str(tmp_path), stages=[1], verbose=0)
    other = GHVAE(**{**tiny_config, "latent_channels": 3})
    with pytest.raises(ValueError, match="written for another model config"):
        fit_greedy(other, make_dataset(), steps_per_stage=1, checkpoint_dir=str(tmp_path), verbose=0)
    with pytest.raises(ValueError, match="is of phase 'stage_1', which cannot lead to \\['end_to_end'\\]"):
        fit_end_to_end(GHVAE(**tiny_config), make_dataset(), steps=1,
                       checkpoint_dir=str(tmp_path), verbose=0)
    # A finished stage is not taken for a longer one.
    with pytest.raises(ValueError, match="holds stage_1 finished after 1 steps, not the 2 asked for"):
        fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=2, checkpoint_dir=str(tmp_path),
                   stages=[1], verbose=0)


def test_resume_accepts_a_checkpoint_from_before_an_option_existed(tiny_config, tmp_path):
    """A checkpoint written before GHVAE had an option resumes while the option
    is at its default (the model it describes is the same), not otherwise."""
    fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=2, checkpoint_dir=str(tmp_path),
               checkpoint_every=1, stages=[1], verbose=0)
    record = tmp_path / "checkpoint.json"
    older = json.loads(record.read_text())
    del older["config"]["feed_predictions"]
    record.write_text(json.dumps(older))
    with pytest.raises(ValueError, match="written for another model config"):
        fit_greedy(GHVAE(**tiny_config, feed_predictions=True), make_dataset(), steps_per_stage=2,
                   checkpoint_dir=str(tmp_path), checkpoint_every=1, verbose=0)
    result = fit_greedy(GHVAE(**tiny_config), make_dataset(), steps_per_stage=2, checkpoint_dir=str(tmp_path),
                        checkpoint_every=1, verbose=0)
    assert result.resumed_from == ("stage_1", 2) and "stage_2" in result.history


def test_training_arguments_are_checked(tiny_config, tmp_path):
    model = GHVAE(**tiny_config)
    with pytest.raises(ValueError, match=r"steps \(3\) must be a multiple of checkpoint_every \(2\)"):
        fit_greedy(model, make_dataset(), steps_per_stage=3, checkpoint_every=2, verbose=0)
    with pytest.raises(ValueError, match=r"stage_2: steps \(3\) must be a multiple"):
        fit_greedy(model, make_dataset(), steps_per_stage=[2, 3], checkpoint_every=2,
                   checkpoint_dir=str(tmp_path), verbose=0)
    assert not (tmp_path / "checkpoint.json").exists(), "checked before stage 1 trained"
    with pytest.raises(ValueError, match="training clips have 2 frames; they need more than context_length=2"):
        fit_greedy(model, make_dataset(steps=2), steps_per_stage=1, verbose=0)
    with pytest.raises(ValueError, match="steps_per_stage must be a positive int or 2"):
        fit_greedy(model, make_dataset(), steps_per_stage=[1, 2, 3], verbose=0)
    unbatched = make_dataset().unbatch().batch(4)  # a possibly short last batch: T is still fixed
    windows = unbatched.map(lambda b: {**b, "frames": b["frames"][:, : tf.shape(b["frames"])[1]]})
    assert fit_greedy(model, windows, steps_per_stage=1, stages=[1], verbose=0).history


def test_noise_is_seeded_and_resumes_in_sequence(tiny_config):
    model = GHVAE(**tiny_config)
    data = make_dataset(batches=3)
    first = [b["noise_2"].numpy() for b in add_noise(data, model, seed=3)]
    again = [b["noise_2"].numpy() for b in add_noise(data, model, seed=3)]
    resumed = [b["noise_2"].numpy() for b in add_noise(data.skip(1), model, seed=3, start=1)]
    other = [b["noise_2"].numpy() for b in add_noise(data, model, seed=4)]
    assert first[0].shape == (4, 3, 4, 4, 2)
    assert _same(first, again) and _same(first[1:], resumed)
    assert not np.allclose(first[0], other[0]) and not np.allclose(first[0], first[1])


def test_make_strategy_by_name():
    assert make_strategy("default") is tf.distribute.get_strategy()
    with pytest.raises(ValueError, match="strategy must be one of"):
        make_strategy("parameter_server")
