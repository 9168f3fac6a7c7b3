"""What the `ghvae` subcommands do, one function each, of plain arguments.

`ghvae_keras.cli` parses the command line into these arguments, calls the
function and prints what it returns: `message` (a summary, left out with
`quiet`) and `output` (the result itself: a listing, a table, a report).
Input a user can get wrong raises a `GHVAEError` with a message fit to
print; nothing is written before the work has succeeded.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

from ghvae_keras import video_io, zoo
from ghvae_keras.errors import InputError, PresetError

PREDICTION_SUFFIXES = (".gif", ".mp4", ".npy")
EXPORT_FORMATS = ("saved_model", "tflite")


def _at_least_one(**values):
    for name, value in values.items():
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def predict(preset, out, input_path=None, actions_path=None, context=None, horizon=None, samples=1,
            seed=0, fps=4, num_modules=None):
    """Predicts futures of a clip and writes them to `out`.

    Args:
        preset: a preset name, `hf://` URI or folder.
        out: `.gif` or `.mp4` (a picture: one row per sample, context frames
            then predicted ones, under a row of the true frames when the input
            has frames after the context), or `.npy` (the predicted frames,
            float32 `[samples, horizon, H, W, 3]` in [0, 1]).
        input_path: a video, frame folder or array file (see
            `video_io.read_clip`); default: the preset's sample clip.
        actions_path: a file of actions (see `video_io.read_actions`); default:
            the actions stored with the input (`.npz`, or the sample's).
        context: context frames taken from the input (default: the model's).
        horizon: frames to predict (default: the model's).
        samples: futures to sample.
        seed: the same seed gives the same futures.
        fps: frames per second of a GIF or MP4.
        num_modules: use the model truncated to its first k modules.

    Returns:
        A summary: out, context, horizon, samples, truth (true frames shown),
        message.
    """
    out = Path(out)
    if out.suffix.lower() not in PREDICTION_SUFFIXES:
        raise InputError(f"{out}: the output must end in {', '.join(PREDICTION_SUFFIXES)}")
    if not out.parent.is_dir():
        raise InputError(f"{out}: its folder {out.parent} does not exist")
    _at_least_one(samples=samples, context=context, horizon=horizon)
    loaded = zoo.load_preset(preset, num_modules=num_modules)
    model = loaded.model
    if input_path is None:
        if loaded.sample is None:
            raise PresetError(f"{preset} has no sample clip: give --input")
        clip, source = loaded.sample, f"the sample clip of {preset}"
    else:
        clip = video_io.read_clip(input_path, image_size=model.image_size)
        source = str(input_path)
    context = context or loaded.protocol["context"]
    horizon = horizon or loaded.protocol["train_future"]
    frames = clip["frames"]
    if len(frames) < context:
        raise InputError(
            f"{source} has {len(frames)} frame{'s' if len(frames) != 1 else ''}; "
            f"the context needs {context} (--context)"
        )
    actions = _actions_for(model, clip, actions_path, source, context, horizon)
    video = model.predict_video(
        frames[None, :context], None if actions is None else actions[None],
        horizon=horizon, num_samples=samples, seed=seed,
    )[0]
    truth = frames[context:context + horizon]
    if out.suffix.lower() == ".npy":
        video_io.write_array(out, video)
    else:
        video_io.write_video(out, video_io.prediction_grid(frames[:context], video, truth), fps=fps)
    rows = f"{samples} sample{'s' if samples > 1 else ''}"
    shown = f", true frames above ({len(truth)})" if len(truth) else ""
    return {"out": str(out), "context": context, "horizon": horizon, "samples": samples,
            "truth": len(truth),
            "message": f"wrote {out}: {context} context frames, then {horizon} predicted; {rows}{shown}"}


def _actions_for(model, clip, actions_path, source, context, horizon):
    if model.action_dim is None:
        if actions_path is not None:
            raise InputError("--actions given, but the model is action-free (it predicts from frames only)")
        return None
    if actions_path is not None:
        actions, source = video_io.read_actions(actions_path), str(actions_path)
    elif "actions" in clip:
        actions = clip["actions"]
    else:
        raise InputError(
            f"the model is action-conditioned: give --actions FILE with "
            f"{context + horizon - 1} rows of {model.action_dim} (one per step from the first "
            "context frame), or an .npz input holding 'actions'"
        )
    if actions.shape[1] != model.action_dim:
        raise InputError(
            f"{source}: actions have {actions.shape[1]} values per step; the model takes "
            f"{model.action_dim}"
        )
    needed = context + horizon - 1
    if len(actions) < needed:
        raise InputError(
            f"{source}: {len(actions)} actions, but {context} context frames and "
            f"{horizon} predicted need {needed} (or ask for --horizon {max(len(actions) - context + 1, 0)})"
        )
    return actions[:needed]


def train(preset_or_config, data, out, steps_per_stage=1000, batch_size=16, strategy="default",
          checkpoint_dir=None, checkpoint_every=None, fine_tune=False, split="train",
          data_dir=None, sequence_length=None, seed=0, command=None, quiet=False):
    """Trains a preset's architecture (or a config's) greedily and writes a preset.

    Args:
        preset_or_config: a preset name, `hf://` URI or folder (its
            configuration; its weights too with `fine_tune`), or a JSON
            file (a config.json or an object of `GHVAE` arguments).
        data: a dataset name for `ghvae_keras.data.load`, or a shard folder
            (`ghvae data export`): that trains on any Keras backend,
            without TensorFlow.
        out: the preset folder to write (must not exist).
        steps_per_stage: optimizer steps per greedy stage.
        batch_size: clips per batch (global, over all replicas).
        strategy: one of `training.STRATEGIES` (TensorFlow backend; on
            others, "default": the `keras.distribution` in force).
        checkpoint_dir: checkpoints go here; a rerun resumes from them.
        checkpoint_every: steps between checkpoints (a divisor of
            `steps_per_stage`; default: the largest one up to 100).
        fine_tune: start from the preset's weights.
        split, data_dir: passed to `data.load`.
        sequence_length: frames per training clip (default: the preset's
            protocol, context + train_future; for a config, its
            context_length + horizon).
        seed: data order, windows and latent noise.
        command: the command line, recorded in the model card.
        quiet: no progress (otherwise a line per checkpoint interval).

    Returns:
        A summary: out, stages, steps_per_stage, sequence_length, loss (the
        last stage's last loss), resumed_from, message.
    """
    import keras

    from ghvae_keras import shards, training
    from ghvae_keras.zoo import reports

    out = Path(out)
    if out.exists():
        raise InputError(f"{out} exists; give --out a new folder")
    if steps_per_stage < 1 or batch_size < 1:
        raise InputError("--steps-per-stage and --batch-size must be at least 1")
    every = checkpoint_every or math.gcd(steps_per_stage, 100)
    if steps_per_stage % every:
        raise InputError(f"--checkpoint-every {every} must divide --steps-per-stage {steps_per_stage}")
    if strategy not in training.STRATEGIES:
        raise InputError(f"--strategy must be one of {', '.join(training.STRATEGIES)}")
    tensorflow = keras.backend.backend() == "tensorflow"
    if not tensorflow and strategy != "default":
        raise InputError(f"--strategy {strategy} is a tf.distribute strategy; on the "
                         f"{keras.backend.backend()} backend training uses every device it sees")
    model, metadata = _model_to_train(preset_or_config, fine_tune)
    protocol = metadata.get("protocol") or {}
    if sequence_length is None:
        sequence_length = (protocol["context"] + protocol["train_future"] if protocol
                           else model.context_length + model.horizon)
    if sequence_length <= model.context_length:
        raise InputError(f"clips of {sequence_length} frames leave nothing to predict after "
                         f"{model.context_length} context frames")
    from_shards = shards.is_shard_folder(data)
    if from_shards:
        windows = shards.WindowShards(data)
        if (windows.sequence_length, windows.image_size) != (sequence_length, model.image_size):
            raise InputError(
                f"{data} holds windows of {windows.sequence_length} frames of {windows.image_size} "
                f"pixels; this model trains on {sequence_length} frames of {model.image_size}: "
                f"export them with --sequence-length {sequence_length} --image-size {model.image_size}")
        _check_actions_match(model, windows.action_dim, data)
        train_data = windows.batches(batch_size, seed=seed)
        first = next(windows.batches(1, shuffle=False))
    else:
        from ghvae_keras import data as datasets

        train_data = datasets.load(data, split, sequence_length, batch_size, seed=seed,
                                   image_size=model.image_size, data_dir=data_dir)
        actions = train_data.element_spec.get("actions")
        _check_actions_match(model, None if actions is None else actions.shape[-1], data)
        first = next(datasets.iterate(train_data.take(1)))
    result = training.fit_greedy(
        model, train_data, steps_per_stage=steps_per_stage,
        strategy=training.make_strategy(strategy) if tensorflow else None,
        checkpoint_dir=checkpoint_dir, checkpoint_every=every, noise_seed=seed,
        verbose=0 if quiet else 2,
    )
    sample = None
    if sequence_length >= model.context_length + model.horizon:  # long enough to show a prediction
        sample = {key: np.asarray(value[0]) for key, value in first.items()}
    metadata = {
        **{key: value for key, value in metadata.items()
           if key not in ("files", "metrics", "training", "hub", "parameters", "versions")},
        "name": out.name,
        "hub": None,
        "protocol": {"context": model.context_length,
                     "train_future": sequence_length - model.context_length,
                     "eval_future": protocol.get("eval_future", model.horizon)},
        "training": reports.training_block(
            dataset=data, command=command or "", steps_per_stage=steps_per_stage,
            batch_size=batch_size, stages_trained=model.num_modules, split=split,
            sequence_length=sequence_length,
            fine_tuned_from=str(preset_or_config) if fine_tune else None,
            device={"backend": keras.backend.backend(),
                    "devices": training.list_devices(),
                    "data": "shards" if from_shards else "tfds"}),
        "metrics": {},
    }
    metadata.setdefault("description", f"GHVAE trained on {data}.")
    zoo.save_preset(result.model, out, metadata, sample=sample)
    last = list(result.history.values())[-1] if result.history else {}
    loss = float(last["loss"][-1]) if last.get("loss") else None
    return {"out": str(out), "stages": model.num_modules, "steps_per_stage": steps_per_stage,
            "sequence_length": sequence_length, "loss": loss, "resumed_from": result.resumed_from,
            "message": f"wrote {out}: {model.num_modules} greedy stages of {steps_per_stage} steps "
                       f"on clips of {sequence_length} frames"
                       + ("" if loss is None else f", last loss {loss:.5f}")}


def _model_to_train(preset_or_config, fine_tune):
    path = Path(str(preset_or_config))
    if path.suffix.lower() == ".json":
        if fine_tune:
            raise InputError("--fine-tune needs a preset (with weights), not a config file")
        return zoo.model_from_config_file(path), {}
    loaded = zoo.load_preset(preset_or_config, load_weights=fine_tune)
    return loaded.model, loaded.metadata


def _check_actions_match(model, action_dim, name):
    """`action_dim`: the data's values per action, None for action-free data."""
    if model.action_dim is None and action_dim is not None:
        raise InputError(f"{name} has actions, but the model is action-free; train an "
                         "action-conditioned configuration on it")
    if model.action_dim is not None:
        if action_dim is None:
            raise InputError(f"{name} has no actions, but the model is action-conditioned "
                             f"({model.action_dim} per step)")
        if action_dim != model.action_dim:
            raise InputError(f"{name} has {action_dim} values per action; "
                             f"the model takes {model.action_dim}")


def export_model(preset, export_format, out, batch=None, context=None, horizon=None, noise="input",
                 num_modules=None):
    """Exports a preset's model as a SavedModel folder or a TFLite file (see
    `ghvae_keras.export`). `batch` defaults to any (SavedModel) or 1 (TFLite).

    Returns a summary: out, format, batch, context, horizon, inputs, message.
    """
    from ghvae_keras import export as exporting

    if export_format not in EXPORT_FORMATS:
        raise InputError(f"--format must be one of {', '.join(EXPORT_FORMATS)}")
    _at_least_one(batch=batch, context=context, horizon=horizon)
    loaded = zoo.load_preset(preset, num_modules=num_modules)
    model = loaded.model
    context = context or loaded.protocol["context"]
    horizon = horizon or loaded.protocol["train_future"]
    if export_format == "saved_model":
        exporting.export_saved_model(model, out, batch=batch, context=context, horizon=horizon)
        inputs = exporting.input_specs(model, batch, context, horizon, noise=True)
    else:
        batch = batch or 1
        exporting.export_tflite(model, out, batch=batch, context=context, horizon=horizon, noise=noise)
        inputs = exporting.input_specs(model, batch, context, horizon, noise=noise == "input")
    shapes = {name: [d if d is not None else "B" for d in spec.shape.as_list()]
              for name, spec in inputs.items()}
    listed = ", ".join(f"{name} [{', '.join(map(str, shape))}]" for name, shape in shapes.items())
    return {"out": str(out), "format": export_format, "batch": batch, "context": context,
            "horizon": horizon, "inputs": shapes,
            "message": f"wrote {out} ({export_format}): inputs {listed}; "
                       f"output frames [{batch or 'B'}, {horizon}, ...]"}


def evaluate(preset, data=None, split="test", samples=1, context=None, horizon=None, num_modules=None,
             batch_size=16, max_videos=None, no_fvd=False, shuffled_actions=False, seed=0, data_dir=None,
             json_path=None, quiet=False):
    """PSNR, SSIM (best of `samples`) and FVD of a preset on a dataset, for
    each of `num_modules` (default: all K modules); see `evaluation.evaluate`.
    `data` defaults to the stand-in the preset was trained on. With
    `json_path`, the results and per-frame curves are written there.

    Returns a summary whose `output` is the table.
    """
    import shlex

    from ghvae_keras import evaluation
    from ghvae_keras.atomic_files import write_json

    loaded = zoo.load_preset(preset)
    if data is None:
        data = loaded.stand_in
        if data is None:
            raise InputError(f"{preset} names no stand-in dataset in its metadata: pass --data")
    result = evaluation.evaluate(
        loaded.model, data, split, num_samples=samples, context=context, horizon=horizon,
        num_modules=num_modules, batch_size=batch_size, max_videos=max_videos, fvd=not no_fvd,
        shuffled_actions=shuffled_actions, seed=seed, data_dir=data_dir, protocol=loaded.protocol,
        verbose=0 if quiet else 1,
    )
    words = [preset, "--data", data, "--split", split, "--samples", samples,
             "--context", result["context"], "--horizon", result["horizon"],
             "--num-modules", ",".join(str(entry["num_modules"]) for entry in result["metrics"])]
    words += ["--max-videos", max_videos] if max_videos else []
    words += ["--no-fvd"] if no_fvd else []
    words += ["--shuffled-actions"] if shuffled_actions else []
    command = "ghvae evaluate " + shlex.join(str(word) for word in words)
    for entry in result["metrics"]:
        entry["command"] = command
    output = evaluation.format_table(result)
    if json_path:
        write_json(json_path, result)
        output += f"\nwrote {json_path}"
    return {**result, "output": output}


def publish(preset, repo_id=None, dry_run=False, out=None, private=False, revision=None):
    """Builds, validates and (unless `dry_run`) uploads a preset (see
    `zoo.publish_preset`). Returns the report, printed as JSON; a folder
    that is not ready raises PresetError naming its problems."""
    report = zoo.publish_preset(preset, repo_id=repo_id, dry_run=dry_run, out=out,
                                private=private or None, revision=revision)
    if report["problems"]:
        raise PresetError("not ready to publish: " + "; ".join(report["problems"]))
    return {**report, "output": json.dumps(report)}


def list_presets(as_json=False):
    """The registered presets: their metadata, and as `output` a listing
    (or JSON): description, size, protocol, data and metrics of each."""
    from ghvae_keras.zoo import reports

    models = zoo.list_models()
    if as_json:
        return {"presets": models, "output": json.dumps(models, indent=1)}
    lines = []
    for name, metadata in models.items():
        data = metadata.get("data") or {}
        stand_in, real = data.get("stand_in") or {}, data.get("real") or {}
        protocol = metadata.get("protocol") or {}
        weights = "with weights" if metadata["has_weights"] else "no weights yet"
        lines += [f"{name}  ({metadata.get('parameters', 0):,} parameters, {weights})",
                  f"  {metadata.get('description', '')}"]
        if protocol:
            lines.append(f"  context → future: {protocol['context']} → {protocol['train_future']} (training), "
                         f"{protocol['context']} → {protocol['eval_future']} (evaluation); "
                         f"actions: {metadata.get('action_dim') or 'none'}")
        trained_on = (metadata.get("training") or {}).get("dataset") or stand_in.get("name")
        if trained_on or real:
            lines.append(f"  data: {trained_on or '?'}"
                         + (f" (stand-in for {real['title']}, `--data {real['name']}`)" if real else ""))
        metrics = metadata.get("metrics") or {}
        for block in metrics.values():
            k = max(block["modules"], key=int)
            values = "; ".join(
                f"{label} " + ", ".join(f"{m.upper()} {figures[m]:.{digits}f}"
                                        for m, digits in (("psnr", 2), ("ssim", 3), ("fvd", 0))
                                        if figures.get(m) is not None)
                for label, figures in ((f"{k} modules", block["modules"][k]),
                                       ("copy last frame", block["copy_last_frame"])))
            lines.append(f"  metrics on {block['dataset']} ({block['context']} → {block['horizon']}, "
                         f"best of {block['samples']}): {values}")
        training = metadata.get("training") or {}
        if reports.in_progress(training):
            lines.append(f"  training in progress: {training['stages_trained']} of "
                         f"{metadata.get('num_modules', '?')} greedy stages trained")
        elif not metrics:
            lines.append("  metrics: not evaluated yet")
    return {"presets": models, "output": "\n".join(lines)}


def show_data(name, out="grid.gif", split="train", num=4, sequence_length=None, image_size=64,
              fps=8, data_dir=None):
    """Writes a GIF of the first evaluation windows of a dataset, one per row."""
    from ghvae_keras import data

    sequences = data.preview(name, split, num=num, sequence_length=sequence_length,
                             image_size=image_size, data_dir=data_dir)
    frames = sequences["frames"]
    video_io.write_gif(out, video_io.grid(list(frames)), fps=fps)
    actions = "with" if "actions" in sequences else "without"
    return {"out": str(out),
            "message": f"wrote {out}: {len(frames)} sequences of {frames.shape[1]} frames from "
                       f"{name} ({split}), one per row, {actions} actions"}


def export_data(name, out, sequence_length, split="train", passes=1, image_size=64, seed=0,
                data_dir=None, quiet=False):
    """Writes a dataset's training windows to a shard folder (`shards.export_windows`)."""
    from ghvae_keras import shards

    def progress(windows):
        if not quiet:
            print(f"{windows} windows written", file=sys.stderr, flush=True)

    manifest = shards.export_windows(name, split, out, sequence_length, passes=passes,
                                     image_size=image_size, seed=seed, data_dir=data_dir,
                                     progress=progress)
    size = sum(shard["bytes"] for shard in manifest["shards"]) / 1e6
    return {"out": str(out), "windows": manifest["windows"], "shards": len(manifest["shards"]),
            "message": f"wrote {out}: {manifest['windows']} windows of {sequence_length} frames from "
                       f"{name} ({split}) in {len(manifest['shards'])} shards, {size:.1f} MB"}


def demo(out="prediction.gif", steps_per_stage=400, seed=0, quiet=False):
    """Trains a tiny 2-module GHVAE on a procedural video of a pushed square
    and writes a GIF: the true frames above, its prediction below."""
    import keras
    import tensorflow as tf

    from ghvae_keras import GHVAE
    from ghvae_keras.data import pushed_squares
    from ghvae_keras.training import fit_greedy

    keras.utils.set_random_seed(seed)  # weights, data order and samples
    context, horizon = 2, 8
    train = pushed_squares(256, context + 6, image_size=32, seed=0)
    test = pushed_squares(1, context + horizon, image_size=32, seed=10_000)
    model = GHVAE(image_size=32, module_channels=(16, 32), latent_channels=4, action_dim=2,
                  context_length=context, horizon=horizon, seed=seed)
    data = tf.data.Dataset.from_tensor_slices(train).shuffle(256, seed=0).batch(16, drop_remainder=True)
    model = fit_greedy(model, data, steps_per_stage=steps_per_stage,
                       checkpoint_every=steps_per_stage, verbose=0 if quiet else 2).model
    video = model.predict_video(test["frames"][:, :context], test["actions"], horizon=horizon, seed=seed)
    truth = test["frames"][0]
    prediction = np.concatenate([truth[:context], video[0, 0]])
    video_io.write_gif(out, video_io.grid([truth, prediction]), fps=4)
    error = float(np.mean((video[0, 0] - truth[context:]) ** 2))
    copy_last = float(np.mean((truth[context - 1 : context] - truth[context:]) ** 2))
    return {"out": str(out), "mse": error, "copy_last_frame_mse": copy_last,
            "message": f"wrote {out}: top row true frames, bottom row the prediction "
                       f"(MSE {error:.4f}; copying the last context frame: {copy_last:.4f})"}
