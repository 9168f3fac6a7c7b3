"""Measures the cost of FVD: I3D embedding time per video and the Fréchet distance.

    python tools/bench_fvd.py                              # converted weights from the cache
    python tools/bench_fvd.py --random-weights             # no cache needed; same speed
    python tools/bench_fvd.py --frames 16 --size 64 --batch-size 8 --repeats 3 --num-features 256

Embeds `--batch-size` random videos of `--frames` frames at `--size`×`--size`
(resized to 224×224 inside, as FVD does) `--repeats` times after one warm-up
call, then times the Fréchet distance between two sets of `--num-features`
400-d features. Prints one JSON line with the figures, the device, the
versions and the command.
"""

import argparse
import json
import os
import platform
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from ghvae_keras.metrics import I3D, VideoEmbedder, features_distance


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=224, help="frame size before the resize to 224")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-features", type=int, default=256)
    parser.add_argument("--random-weights", action="store_true",
                        help="a randomly initialised I3D instead of the converted weights")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    embedder = VideoEmbedder(I3D() if args.random_weights else None, batch_size=args.batch_size)
    rng = np.random.default_rng(0)
    videos = rng.random((args.batch_size, args.frames, args.size, args.size, 3), np.float32)
    started = time.perf_counter()
    embedder(videos)
    warm_up = time.perf_counter() - started
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        embedder(videos)
        times.append(time.perf_counter() - started)

    a = rng.normal(size=(args.num_features, 400))
    b = rng.normal(size=(args.num_features, 400)) + 0.1
    started = time.perf_counter()
    features_distance(a, b)
    distance_s = time.perf_counter() - started

    gpus = tf.config.list_physical_devices("GPU")
    device = (tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus
              else f"CPU, {os.cpu_count()} cores ({platform.machine()})")
    print(json.dumps({
        "i3d_seconds_per_video": round(min(times) / args.batch_size, 4),
        "i3d_seconds_per_batch": [round(t, 3) for t in times],
        "first_call_s": round(warm_up, 2),
        "frechet_distance_s": round(distance_s, 4),
        "videos": [args.batch_size, args.frames, args.size, args.size, 3],
        "num_features": args.num_features,
        "weights": "random" if args.random_weights else "kinetics-400",
        "device": device,
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__},
        "command": "python tools/bench_fvd.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
