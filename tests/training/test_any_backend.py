"""Training on JAX from shards: resuming across backends, numpy noise,
two devices with keras.distribution."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from tiny_data import TINY, make_clips

from ghvae_keras import GHVAE, cli, shards, zoo
from ghvae_keras.training import fit_greedy, with_noise

HERE = os.path.dirname(__file__)


@pytest.fixture
def tiny_shards(tmp_path):
    clips = make_clips(batch=16, steps=5, size=16, action_dim=3)
    out = tmp_path / "shards"
    shards.write_shards(out, [clips], dataset="random clips", split="train")
    return out


def _worker(backend, *args, env=None):
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu", **(env or {}))
    return subprocess.run([sys.executable, os.path.join(HERE, "backend_worker.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.parametrize("backend", [
    "jax",
    pytest.param("torch", marks=pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                                   reason="PyTorch is not installed (not in the test extras)")),
])
def test_a_run_killed_on_another_backend_resumes_on_tensorflow_and_finishes(tiny_shards, tmp_path, backend):
    run, steps = tmp_path / "run", 4
    killed = _worker(backend, tiny_shards, run, steps, "stage_2:2")
    assert killed.returncode == 3, killed.stderr[-3000:]
    pointer = json.loads((run / "checkpoint.json").read_text())
    assert (pointer["phase"], pointer["step"], pointer["complete"]) == ("stage_2", 2, False)

    done = _worker("tensorflow", tiny_shards, run, steps)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == "tensorflow"
    assert report["resumed_from"] == ["stage_2", 2]
    assert report["steps_run"] == {"stage_2": 2}
    final = json.loads((run / "checkpoint.json").read_text())
    assert final["phase"] == "stage_2" and final["complete"] and final["step"] == steps
    # Stage 2 left module 1, which the other backend trained in stage 1, as it was.
    config = json.loads((run / "config.json").read_text())
    stage_1, stage_2 = GHVAE.from_config(config), GHVAE.from_config(config)
    stage_1.load_weights(run / "stage_1.weights.h5")
    stage_2.load_weights(run / "stage_2.weights.h5")
    for a, b in zip(stage_1.ghvae_modules[0].get_weights(), stage_2.ghvae_modules[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_numpy_noise_is_a_function_of_seed_and_batch_index():
    model = GHVAE(**TINY, action_dim=3)
    batches = [make_clips(batch=2, steps=5, seed=s) for s in range(3)]

    def noise(seed, start=0, skip=0):
        return [b["noise_2"] for b in with_noise(batches[skip:], model, seed, start=start)]

    first = noise(3)
    assert first[0].shape == (2, *model.noise_shapes(3)["noise_2"])
    np.testing.assert_array_equal(np.concatenate(noise(3)), np.concatenate(first))
    np.testing.assert_array_equal(np.concatenate(noise(3, start=1, skip=1)), np.concatenate(first[1:]))
    assert not np.allclose(first[0], noise(4)[0])
    assert not np.allclose(first[0], first[1])


def test_numpy_batches_train_on_the_tensorflow_backend_too(tiny_shards, tmp_path):
    model = GHVAE(**TINY, action_dim=3, seed=1)
    before = [w.copy() for w in model.get_weights()]
    result = fit_greedy(model, shards.WindowShards(tiny_shards).batches(4, seed=0), steps_per_stage=2,
                        checkpoint_dir=tmp_path / "run", checkpoint_every=2, verbose=0)
    assert {phase: len(h["loss"]) for phase, h in result.history.items()} == {"stage_1": 1, "stage_2": 1}
    assert any(not np.array_equal(a, b) for a, b in zip(before, result.model.get_weights()))


def test_a_strategy_on_jax_is_a_clear_error(tiny_shards):
    code = ("import os; from ghvae_keras import GHVAE; from ghvae_keras.training import fit_greedy\n"
            "from ghvae_keras.errors import InputError\n"
            "try:\n"
            "    fit_greedy(GHVAE(image_size=16, module_channels=(8,), latent_channels=2), [], strategy=object())\n"
            "except InputError as error:\n"
            "    print(error)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "set keras.distribution" in done.stdout


def test_one_step_over_two_jax_devices_equals_one_step_on_one(tiny_shards, tmp_path):
    done = subprocess.run(
        [sys.executable, os.path.join(HERE, "data_parallel_worker.py"), str(tiny_shards)],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
                 XLA_FLAGS="--xla_force_host_platform_device_count=2"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 2
    assert report["moved"] > 1e-3  # the step moved the weights
    assert report["max_difference"] <= 1e-5 + 1e-3 * report["moved"]
    assert report["noise_differs_between_devices"]


def test_ghvae_train_on_jax_from_shards_without_tensorflow(tiny_shards, tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**TINY, "action_dim": 3, "horizon": 3}))
    out = tmp_path / "preset"
    code = ("import sys; sys.modules['tensorflow'] = None\n"  # as on a machine without it
            "from ghvae_keras import cli\n"
            f"sys.exit(cli.main(['train', {str(config)!r}, '--data', {str(tiny_shards)!r}, '--out', "
            f"{str(out)!r}, '--steps-per-stage', '2', '--batch-size', '4', '--sequence-length', '5']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"wrote {out}: 2 greedy stages of 2 steps on clips of 5 frames" in done.stdout
    preset = zoo.load_preset(out)  # and it loads here, on TensorFlow
    assert preset.model.num_modules == 2 and preset.sample["frames"].shape == (5, 16, 16, 3)
    device = preset.metadata["training"]["device"]
    assert device["backend"] == "jax" and device["data"] == "shards" and len(device["devices"]) >= 1


def test_ghvae_train_refuses_shards_of_another_window_length(tiny_shards, tmp_path, capsys):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**TINY, "action_dim": 3, "horizon": 3}))
    assert cli.main(["train", str(config), "--data", str(tiny_shards), "--out", str(tmp_path / "p"),
                     "--sequence-length", "4"]) == 2
    assert "export them with --sequence-length 4" in capsys.readouterr().err
