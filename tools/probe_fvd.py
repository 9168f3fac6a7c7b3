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
clips against the real clips (I3D), PSNR (dB) against the true future;
`detail`, the mean absolute difference between neighbouring pixels of
the future frames as a fraction of the true future's (1: as sharp as the
truth; a blur lowers it); and `moving_detail` and `moving_psnr`, the same
detail and the PSNR over only the pixels the scene moved (where the true
future differs from the last context frame by more than 0.1), which a
static background outweighs in the whole-frame figures (null when
nothing moves). A model's FVD on the card reads against these: on a
stand-in where a slight blur costs more FVD than holding the last frame, a
blurry model that tracks the motion scores worse than copying.

`--predictions` adds a row for the preset's own predictions (all its
modules, one sample per video, seeded), and `--baseline` one for an
end-to-end baseline's, from the checkpoint folder `tools/train_zoo.py`
keeps (`runs/PRESET/end_to_end`): where a model sits on the blur ladder
says how much of its FVD is blur.

    python tools/probe_fvd.py kitti-4mod --data-dir /work/data/tfds
    python tools/probe_fvd.py bair-4mod --data-dir /work/data/tfds --predictions \
        --baseline runs/bair-4mod/end_to_end

Prints one JSON line. Needs the I3D weights (`python -m
ghvae_keras.metrics.convert_i3d`) unless `--random-weights`.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

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


def detail(videos, where=None):
    """Mean absolute difference between each pixel of `videos` `[B, T, H,
    W, C]` and its right neighbour plus that to the one below, over the
    pixels where `where` (`[B, T, H, W]` booleans; default all) is true."""
    import numpy as np

    across = np.abs(np.diff(videos, axis=3))[:, :, :-1]
    down = np.abs(np.diff(videos, axis=2))[:, :, :, :-1]
    edges = (across + down).mean(axis=-1)
    return float(edges.mean() if where is None else edges[where[:, :, :-1, :-1]].mean())


def moving_pixels(past, future, threshold=0.1):
    """`[B, T, H, W]`: where a future frame differs from the last context
    frame by more than `threshold` in some channel (what the scene moved)."""
    import numpy as np

    return np.abs(future - past[:, -1:]).max(axis=-1) > threshold


def baseline_model(folder):
    """The end-to-end model of a `tools/train_zoo.py` checkpoint folder
    (its latest checkpoint's weights; the optimizer's state is not read)."""
    from ghvae_keras import training
    from ghvae_keras.model import GHVAE

    pointer = training.latest_checkpoint(folder)
    if pointer is None or pointer.get("phase") != "end_to_end":
        sys.exit(f"probe_fvd: {folder} holds no end-to-end checkpoint (want the folder of "
                 "`tools/train_zoo.py`'s baseline, runs/PRESET/end_to_end)")
    model = GHVAE.from_config(pointer["config"])
    training.CheckpointManager(str(folder), write=False).restore(model, pointer, optimizer=False)
    return model


def _psnr_where(truth, predicted, where):
    """PSNR (dB) of the pixels `where` is true, over all of them at once;
    None where they are exact."""
    import numpy as np

    error = float(((predicted - truth) ** 2).mean(axis=-1)[where].mean())
    return round(-10 * math.log10(error), 2) if error > 0 else None


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
    parser.add_argument("--predictions", action="store_true",
                        help="a row for the preset's own predictions (all modules, one sample per video)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a row for the end-to-end baseline of this train_zoo checkpoint folder")
    parser.add_argument("--seed", type=int, default=0, help="the predictions' noise")
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

    loaded = zoo.load_preset(args.preset, load_weights=args.predictions)
    protocol = loaded.protocol
    name = args.data or loaded.stand_in
    if name is None:
        sys.exit(f"probe_fvd: {args.preset} names no stand-in dataset; pass --data")
    context, horizon = protocol["context"], protocol["eval_future"]
    batches = data_lib.load(name, args.split, context + horizon, 16, shuffle=False,
                            image_size=loaded.model.image_size, data_dir=args.data_dir)
    videos, actions = [], []
    for batch in data_lib.iterate(batches):
        videos.append(batch["frames"])
        actions.append(batch.get("actions"))
        if sum(len(v) for v in videos) >= args.videos:
            break
    videos = np.concatenate(videos)[: args.videos] if videos else np.zeros((0,))
    actions = None if not actions or actions[0] is None else np.concatenate(actions)[: args.videos]
    if len(videos) < 2:
        sys.exit(f"probe_fvd: {name} ({args.split}) has {len(videos)} videos; FVD needs at least 2")
    models = {}
    if args.predictions:
        models[f"predicted_{loaded.model.active_modules}_modules"] = loaded.model
    if args.baseline is not None:
        models["predicted_end_to_end"] = baseline_model(args.baseline)

    embedder = VideoEmbedder(I3D() if args.random_weights else None)
    real = embedder(videos)
    past, future = videos[:, :context], videos[:, context:]
    candidates = degradations(past, future, sigmas)
    for row, model in models.items():
        candidates[row] = np.concatenate([
            model.predict_video(past[i:i + 16], None if actions is None else actions[i:i + 16],
                                horizon=horizon, seed=args.seed)[:, 0]
            for i in range(0, len(past), 16)])
    moving = moving_pixels(past, future)
    true_detail = detail(future)
    true_moving_detail = detail(future, moving) if moving.any() else None
    rows = {}
    for row, predicted in candidates.items():
        predicted = np.clip(predicted, 0.0, 1.0).astype(np.float32)
        clips = np.concatenate([past, predicted], axis=1)
        mean_psnr = float(np.mean(psnr(future, predicted).numpy()))  # inf for the true future
        features = real if row == "true_future" else embedder(clips)  # those clips are the real ones
        rows[row] = {"fvd": float(f"{features_distance(real, features):.5g}"),
                     "psnr": round(mean_psnr, 2) if math.isfinite(mean_psnr) else None,
                     "detail": round(detail(predicted) / true_detail, 3),
                     "moving_detail": (round(detail(predicted, moving) / true_moving_detail, 3)
                                       if true_moving_detail else None),
                     "moving_psnr": _psnr_where(future, predicted, moving) if moving.any() else None}
    print(json.dumps({"preset": args.preset, "data": name, "split": args.split, "videos": len(videos),
                      "context": context, "horizon": horizon, "i3d": "random" if args.random_weights else "kinetics-400",
                      "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
