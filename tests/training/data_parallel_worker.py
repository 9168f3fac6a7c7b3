"""One SGD step of a tiny GHVAE on one JAX device and on every device under
`keras.distribution.DataParallel` (run with KERAS_BACKEND=jax and
XLA_FLAGS=--xla_force_host_platform_device_count=2). Prints one JSON line.

    python tests/training/data_parallel_worker.py SHARDS
"""

import json
import os
import sys

sys.modules["tensorflow"] = None  # as on a JAX machine without it: any import fails

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))  # tests/: tiny_data
from tiny_data import TINY  # noqa: E402

from ghvae_keras import GHVAE  # noqa: E402
from ghvae_keras.shards import WindowShards  # noqa: E402
from ghvae_keras.training import fit_greedy, with_noise  # noqa: E402


def one_sgd_step(model, batch):
    result = fit_greedy(model, [batch], steps_per_stage=1, stages=[1],
                        optimizer=lambda: keras.optimizers.SGD(1.0), verbose=0)
    return result.model.get_weights()


def main():
    batch = next(WindowShards(sys.argv[1]).batches(4, seed=0))
    initial = GHVAE(**TINY, action_dim=3, seed=7)
    start = initial.get_weights()
    single = GHVAE.from_config(initial.get_config())
    single.set_weights(start)
    on_one = one_sgd_step(single, batch)

    distribution = keras.distribution.DataParallel()  # the mesh of every device present
    keras.distribution.set_distribution(distribution)
    parallel = GHVAE.from_config(initial.get_config())
    parallel.set_weights(start)
    on_two = one_sgd_step(parallel, batch)

    noisy = next(with_noise([batch], parallel, seed=0))
    noise = noisy[min(name for name in noisy if name.startswith("noise_"))]
    half = len(noise) // 2
    print(json.dumps({
        "devices": len(distribution.device_mesh.devices.flatten()),
        "moved": max(float(np.abs(s - w).max()) for s, w in zip(on_one, start)),
        "max_difference": max(float(np.abs(a - b).max()) for a, b in zip(on_one, on_two)),
        # Device d gets rows d*half..(d+1)*half of the batch, noise included.
        "noise_differs_between_devices": not np.allclose(noise[:half], noise[half:]),
    }))


if __name__ == "__main__":
    main()
