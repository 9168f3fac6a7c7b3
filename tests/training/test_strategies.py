"""tf.distribute: loss scaling across replicas, per-replica noise, multi-worker."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiny_data import make_dataset, perturb_zero_init

from ghvae_keras import GHVAE
from ghvae_keras.training import add_noise, fit_greedy

HERE = os.path.dirname(__file__)


def _two_cpus():
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def _one_sgd_step(model, strategy):
    result = fit_greedy(
        model, make_dataset(batch=4, batches=1), steps_per_stage=1, strategy=strategy,
        stages=[1], optimizer=lambda: keras.optimizers.SGD(1.0), verbose=0,
    )
    return result.model.get_weights()


def test_two_replica_step_equals_one_device_step(tiny_config):
    """Keras sums replica gradients; the loss must be scaled to match one device."""
    initial = GHVAE(**tiny_config)
    with _two_cpus().scope():
        mirrored_model = GHVAE.from_config(initial.get_config())
    mirrored_model.set_weights(initial.get_weights())
    single_model = GHVAE.from_config(initial.get_config())
    single_model.set_weights(initial.get_weights())
    single = _one_sgd_step(single_model, None)
    mirrored = _one_sgd_step(mirrored_model, _two_cpus())
    start = initial.get_weights()
    moved = [np.abs(s - w).max() for s, w in zip(single, start)]
    assert max(moved) > 1e-3, "the step should move the weights"
    for s, m, w in zip(single, mirrored, start):
        np.testing.assert_allclose(m - w, s - w, rtol=1e-3, atol=1e-6)


def test_replicas_draw_different_noise(tiny_config):
    keras.utils.set_random_seed(0)  # initial weights independent of the tests run before
    strategy = _two_cpus()
    with strategy.scope():
        model = GHVAE(**tiny_config)
    perturb_zero_init(model)
    one_clip = make_dataset(batch=1, batches=1)
    same_clip_twice = one_clip.unbatch().repeat(2).batch(2)
    batch = next(iter(strategy.experimental_distribute_dataset(add_noise(same_clip_twice, model, 0))))
    noise = strategy.experimental_local_results(batch["noise_2"])
    assert not np.allclose(noise[0].numpy(), noise[1].numpy())
    errors = strategy.run(lambda b: model(b, training=True)["reconstruction"], args=(batch,))
    errors = [e.numpy() for e in strategy.experimental_local_results(errors)]
    frames = strategy.experimental_local_results(batch["frames"])
    np.testing.assert_array_equal(frames[0].numpy(), frames[1].numpy())
    assert not np.allclose(errors[0], errors[1])


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_a_stage_to_identical_weights(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        command = [
            sys.executable, os.path.join(HERE, "train_worker.py"),
            str(tmp_path / "run"), "3", str(tmp_path / f"worker_{index}.weights.h5"),
        ]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=300)
        finally:
            process.kill()
        assert process.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert all(o["steps_run"] == {"stage_1": 3} for o in outputs)
    config = json.load(open(tmp_path / "run" / "config.json"))
    models = []
    for index in range(2):
        model = GHVAE.from_config(config)
        model.load_weights(str(tmp_path / f"worker_{index}.weights.h5"))
        models.append(model)
    initial = GHVAE.from_config(config)
    initial.load_weights(str(tmp_path / "worker_0.initial.weights.h5"))
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    moved = [np.abs(a - w).max() for a, w in zip(models[0].get_weights(), initial.get_weights())]
    assert max(moved) > 1e-4
    # Only the chief wrote checkpoints.
    assert json.load(open(tmp_path / "run" / "checkpoint.json"))["complete"]
