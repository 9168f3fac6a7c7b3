"""Evaluation of a GHVAE on a dataset: PSNR and SSIM (best of N samples),
FVD, per-frame curves, and the copy-last-frame floor on the same videos.

`evaluate` runs one pass over the test videos for several module counts of
the same weights (the "quality grows with modules" table): the real videos
are embedded for FVD once, and every truncation and the copy-last-frame
baseline see the same context frames and actions.
"""

import sys
import time
from pathlib import Path

import numpy as np

from ghvae_keras import data as data_lib
from ghvae_keras import zoo
from ghvae_keras.errors import InputError
from ghvae_keras.metrics import VideoEmbedder, best_of_n, features_distance, fvd as fvd_lib, psnr, ssim
from ghvae_keras.zoo.reports import COPY_LAST_FRAME


def evaluate(model, data, split="test", *, num_samples=1, context=None, horizon=None,
             num_modules=None, batch_size=16, max_videos=None, fvd=True, fvd_samples=None,
             embedder=None, others=None, shuffled_actions=False, seed=0, data_dir=None, protocol=None,
             verbose=1):
    """Evaluates `model` on the first window of every video of a split.

    Args:
        model: a `GHVAE`, or a preset name / `hf://` URI / preset folder
            (then the preset's metadata gives the default context and
            horizon).
        data: a dataset name for `ghvae_keras.data.load` (`bair`,
            `robonet`, `kitti`, `cityscapes`, `tfds:NAME[/CONFIG]`, ...).
        split: the TFDS split to evaluate on.
        num_samples: N, the futures sampled per video; PSNR and SSIM are
            those of the best sample per video, FVD is over all samples.
        context: context frames C (default: the preset's protocol, else the
            model's `context_length`).
        horizon: predicted frames (default: the preset's `eval_future`, else
            the model's `horizon`).
        num_modules: a module count or a list of them (default: the
            model's active modules); each is evaluated by truncation.
        batch_size: videos per batch.
        max_videos: evaluate only the first videos of the split.
        fvd: compute FVD (on context + predicted frames, at least 9 in
            all; needs the I3D weights of `python -m ghvae_keras.metrics.convert_i3d`).
        fvd_samples: embed only the first samples of each video for FVD
            (default: all `num_samples`); I3D dominates the cost on a CPU.
        embedder: the `VideoEmbedder` for FVD (default: Kinetics-400 I3D).
        others: `{name: GHVAE}`, more models (a baseline) evaluated at their
            active modules on the same videos, samples and seed.
        shuffled_actions: also predict every video with another video's
            actions (the next one of its batch) and the same noise, and
            report `psnr_shuffled_actions` per module count: close to `psnr`
            when the predictions hardly follow the actions.
        seed: samples are reproducible given the seed.
        data_dir: the TFDS data folder.
        protocol: the preset protocol when `model` is a model object.
        verbose: 1 prints progress to stderr, 0 is quiet.

    Returns:
        A dict: `dataset`, `split`, `context`, `horizon`, `samples`,
        `videos`, and `metrics`: one entry per module count, in the format
        of a preset's metadata `metrics` (`num_modules`, `psnr`, `ssim`,
        `fvd`, `copy_last_frame`: the floor's `psnr`, `ssim`, `fvd`), with
        the per-frame curves `psnr_per_frame` and `ssim_per_frame` of both
        (and `psnr_shuffled_actions` when asked for);
        `others`: `{name: {psnr, ssim, fvd, ...}}` of the other models;
        `fvd_samples`: the samples per video FVD saw.

    Raises:
        InputError: bad arguments, a context or horizon the data cannot
            hold, or too few frames or videos for FVD.
        ghvae_keras.metrics.WeightsMissing: FVD without converted I3D weights.
    """
    if isinstance(model, (str, Path)):
        preset = zoo.load_preset(model)
        model, protocol = preset.model, preset.protocol
    protocol = protocol or {}
    context = int(protocol.get("context") or model.context_length) if context is None else context
    horizon = int(protocol.get("eval_future") or model.horizon) if horizon is None else horizon
    counts = _module_counts(num_modules, model)
    if num_samples < 1 or context < 1 or horizon < 1 or batch_size < 1:
        raise InputError(f"samples, context, horizon and batch size must be >= 1, got "
                         f"{num_samples}, {context}, {horizon}, {batch_size}")
    if max_videos is not None and max_videos < 1:
        raise InputError(f"max_videos must be >= 1, got {max_videos}")
    fvd_samples = num_samples if fvd_samples is None else fvd_samples
    if not 1 <= fvd_samples <= num_samples:
        raise InputError(f"fvd_samples must be in 1..{num_samples}, got {fvd_samples}")
    others = dict(others or {})
    if shuffled_actions and model.action_dim is None:
        raise InputError("shuffled_actions needs an action-conditioned model")
    if fvd and context + horizon < fvd_lib.MIN_FRAMES:
        raise InputError(f"FVD needs at least {fvd_lib.MIN_FRAMES} frames (context + horizon), got "
                         f"{context} + {horizon}; predict more frames or leave FVD out")
    if fvd and embedder is None:
        embedder = VideoEmbedder()  # fails now, not after the predictions, without weights
    models = {k: model if k == model.active_modules else model.truncated(k) for k in counts}
    batches = data_lib.load(data, split, context + horizon, batch_size, shuffle=False,
                            image_size=model.image_size, data_dir=data_dir)

    names = counts + list(others) + [COPY_LAST_FRAME]
    scores = {name: {"psnr": [], "ssim": []} for name in names}
    shuffled = {k: [] for k in counts}
    previous_actions = None
    features = {name: [] for name in names + ["real"]}
    videos, started = 0, time.perf_counter()
    for index, batch in enumerate(data_lib.iterate(batches)):
        frames = batch["frames"]
        if max_videos is not None:
            frames = frames[: max_videos - videos]
        actions = batch["actions"][: len(frames)] if "actions" in batch else None
        if model.action_dim is not None and actions is None:
            raise InputError(f"the model takes {model.action_dim}-d actions; {data} has none")
        if model.action_dim is None:
            actions = None
        past, future = frames[:, :context], frames[:, context:]
        samples = {k: models[k].predict_video(past, actions, horizon=horizon, num_samples=num_samples,
                                              seed=seed + index) for k in counts}
        for name, other in others.items():
            samples[name] = other.predict_video(past, actions if other.action_dim else None,
                                                horizon=horizon, num_samples=num_samples,
                                                seed=seed + index)
        samples[COPY_LAST_FRAME] = np.repeat(past[:, None, -1:], horizon, axis=2)
        if shuffled_actions:
            # The next video's actions; a batch of one borrows the previous batch's first.
            swapped = np.roll(actions, 1, axis=0) if len(actions) > 1 else previous_actions
            if swapped is None:
                raise InputError("shuffled_actions needs at least 2 videos")
            previous_actions = actions[:1]
            for k in counts:  # the same seed: the same noise as the own actions' samples
                predicted = models[k].predict_video(past, swapped, horizon=horizon,
                                                    num_samples=num_samples, seed=seed + index)
                shuffled[k].append(best_of_n(psnr(future[:, None], predicted).numpy())[0])
        for name, predicted in samples.items():
            for metric, function in (("psnr", psnr), ("ssim", ssim)):
                per_frame = function(future[:, None], predicted).numpy()  # [B, N, horizon]
                scores[name][metric].append(best_of_n(per_frame)[0])
            if fvd:
                predicted = predicted[:, :fvd_samples]
                clips = np.concatenate(
                    [np.repeat(past[:, None], predicted.shape[1], axis=1), predicted], axis=2)
                features[name].append(embedder(clips.reshape((-1,) + clips.shape[2:])))
        if fvd:
            features["real"].append(embedder(frames))
        videos += len(frames)
        if verbose:
            print(f"evaluate: {videos} videos, {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if max_videos is not None and videos >= max_videos:
            break
    if videos == 0:
        raise InputError(f"{data} ({split}) has no videos")
    if fvd and videos < 2:
        raise InputError("FVD needs at least 2 videos")

    def summary(name):
        entry = {}
        for metric in ("psnr", "ssim"):
            curve = np.concatenate(scores[name][metric]).mean(axis=0)
            entry[metric] = float(curve.mean())
            entry[f"{metric}_per_frame"] = [float(value) for value in curve]
        entry["fvd"] = (features_distance(np.concatenate(features["real"]),
                                          np.concatenate(features[name])) if fvd else None)
        return entry

    floor = summary(COPY_LAST_FRAME)
    common = {"dataset": data, "split": split, "context": context, "horizon": horizon}
    return {
        **common,
        "samples": num_samples,
        "fvd_samples": fvd_samples if fvd else None,
        "videos": videos,
        "metrics": [
            {**common, "num_modules": k, "samples": num_samples, **summary(k),
             **({"psnr_shuffled_actions": float(np.concatenate(shuffled[k]).mean())}
                if shuffled_actions else {}),
             COPY_LAST_FRAME: floor}
            for k in counts
        ],
        "others": {name: summary(name) for name in others},
    }


def _module_counts(num_modules, model):
    if num_modules is None:
        return [model.active_modules]
    counts = [num_modules] if isinstance(num_modules, (int, np.integer)) else list(num_modules)
    return sorted(set(counts))


def format_table(result):
    """The results as a text table: one row per module count, then the
    other models and the copy-last-frame floor."""
    head = (f"{result['dataset']} ({result['split']}), {result['videos']} videos, "
            f"{result['context']} → {result['horizon']} frames, best of {result['samples']}")
    shuffled = "psnr_shuffled_actions" in result["metrics"][0]
    rows = [("model", "PSNR", "SSIM", "FVD") + (("PSNR, others' actions",) if shuffled else ())]
    for entry in result["metrics"]:
        k = entry["num_modules"]
        extra = (f"{entry['psnr_shuffled_actions']:.2f}",) if shuffled else ()
        rows.append((f"{k} module{'s' if k > 1 else ''}", *_cells(entry), *extra))
    blank = ("–",) if shuffled else ()
    for name, entry in result.get("others", {}).items():
        rows.append((name.replace("_", " "), *_cells(entry), *blank))
    rows.append(("copy last frame", *_cells(result["metrics"][0][COPY_LAST_FRAME]), *blank))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [head] + ["  ".join(cell.rjust(width) if i else cell.ljust(width)
                                for i, (cell, width) in enumerate(zip(row, widths)))
                      for row in rows]
    return "\n".join(lines)


def _cells(entry):
    fvd = "–" if entry["fvd"] is None else f"{entry['fvd']:.1f}"
    return f"{entry['psnr']:.2f}", f"{entry['ssim']:.4f}", fvd
