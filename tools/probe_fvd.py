"""What FVD rewards on a preset's stand-in: the true future degraded in known ways.

On the first test videos of the preset's stand-in (or --data), over its
evaluation protocol (context → eval_future frames), each row replaces the
true future with

- `true_future`: itself (FVD 0 up to rounding, PSNR null: the check that
  the rows are comparable);
- `copy_last_frame`: the last context frame, held (sharp, nothing moves);
- `blur_S`: the true future blurred by a Gaussian of S pixels (`--sigmas`):
  every motion right, the detail softened, as a model's mean prediction is;
- `other_video`: the next video's true future after this video's context
  (sharp, moving, and wrong);

and scores it as `ghvae_keras.evaluation` does: FVD of context + future
clips against the real clips (I3D), PSNR (dB) against the true future.
A model's FVD on the card reads against these: on a stand-in where a
slight blur costs more FVD than holding the last frame, a blurry model
that tracks the motion scores worse than copying.

    python tools/probe_fvd.py kitti-4mod --data-dir /work/data/tfds

Prints one JSON line. Needs the I3D weights (`python -m
ghvae_keras.metrics.convert_i3d`) unless `--random-weights`.
"""

import argparse
import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def gaussian_blur(videos, sigma):
    """`videos` `[B, T, H, W, C]` blurred in space by a Gaussian of `sigma`
    pixels (edges mirrored)."""
    import numpy as np
    import tensorflow as tf

    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    shape = videos.shape
    channels = shape[-1]
    frames = tf.reshape(tf.constant(videos, tf.float32), (-1,) + shape[2:])
    frames = tf.pad(frames, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
    for kernel_shape in ((len(taps), 1), (1, len(taps))):
        kernel = np.tile(taps.reshape(kernel_shape + (1, 1)), (1, 1, channels, 1))
        frames = tf.nn.depthwise_conv2d(frames, kernel, strides=[1, 1, 1, 1], padding="VALID")
    return frames.numpy().reshape(shape)


def degradations(past, future, sigmas):
    """`{row name: future frames}` for the rows the docstring lists."""
    import numpy as np

    rows = {"true_future": future,
            "copy_last_frame": np.repeat(past[:, -1:], future.shape[1], axis=1)}
    rows.update({f"blur_{sigma:g}": gaussian_blur(future, sigma) for sigma in sigmas})
    rows["other_video"] = np.roll(future, 1, axis=0)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="a preset name or folder")
    parser.add_argument("--data", default=None, help="default: the preset's stand-in")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--split", default="test")
    parser.add_argument("--videos", type=int, default=96)
    parser.add_argument("--sigmas", default="0.7,1,1.5", help="blurs, in pixels, comma-separated")
    parser.add_argument("--random-weights", action="store_true",
                        help="a randomly initialised I3D instead of the converted weights")
    args = parser.parse_args(argv)
    sigmas = [float(s) for s in args.sigmas.split(",") if s]
    if any(s <= 0 for s in sigmas):
        parser.error(f"--sigmas must be positive, got {args.sigmas!r}")
    if args.videos < 2:
        parser.error("--videos must be at least 2 (FVD compares two sets, other_video pairs videos)")

    import numpy as np

    from ghvae_keras import data as data_lib
    from ghvae_keras import zoo
    from ghvae_keras.metrics import I3D, VideoEmbedder, features_distance, psnr

    loaded = zoo.load_preset(args.preset, load_weights=False)
    protocol = loaded.protocol
    name = args.data or loaded.stand_in
    if name is None:
        sys.exit(f"probe_fvd: {args.preset} names no stand-in dataset; pass --data")
    context, horizon = protocol["context"], protocol["eval_future"]
    batches = data_lib.load(name, args.split, context + horizon, 16, shuffle=False,
                            image_size=loaded.model.image_size, data_dir=args.data_dir)
    videos = []
    for batch in data_lib.iterate(batches):
        videos.append(batch["frames"])
        if sum(len(v) for v in videos) >= args.videos:
            break
    videos = np.concatenate(videos)[: args.videos] if videos else np.zeros((0,))
    if len(videos) < 2:
        sys.exit(f"probe_fvd: {name} ({args.split}) has {len(videos)} videos; FVD needs at least 2")

    embedder = VideoEmbedder(I3D() if args.random_weights else None)
    real = embedder(videos)
    past, future = videos[:, :context], videos[:, context:]
    rows = {}
    for row, predicted in degradations(past, future, sigmas).items():
        predicted = np.clip(predicted, 0.0, 1.0).astype(np.float32)
        clips = np.concatenate([past, predicted], axis=1)
        mean_psnr = float(np.mean(psnr(future, predicted).numpy()))  # inf for the true future
        features = real if row == "true_future" else embedder(clips)  # those clips are the real ones
        rows[row] = {"fvd": float(f"{features_distance(real, features):.5g}"),
                     "psnr": round(mean_psnr, 2) if math.isfinite(mean_psnr) else None}
    print(json.dumps({"preset": args.preset, "data": name, "split": args.split, "videos": len(videos),
                      "context": context, "horizon": horizon, "i3d": "random" if args.random_weights else "kinetics-400",
                      "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
