"""What the `ghvae` subcommands do, as functions of plain arguments.

`ghvae_keras.cli` parses the command line, calls one of these and prints
what it returns. Input a user can get wrong (files, presets, shapes, actions)
raises `InputError` or `zoo.PresetError` with a message fit to print; nothing
is written before the work has succeeded.
"""

import math
from pathlib import Path

import numpy as np

from ghvae_keras import video_io, zoo
from ghvae_keras.errors import InputError

PREDICTION_SUFFIXES = (".gif", ".mp4", ".npy")
EXPORT_FORMATS = ("saved_model", "tflite")


def load_model(preset, num_modules=None):
    """A pretrained model from a preset name, `hf://` URI or folder; a
    registered preset without weights yet says how to get them."""
    models = zoo.list_models()
    if preset in models and not models[preset]["has_weights"]:
        data = (models[preset].get("data") or {}).get("real") or {}
        raise zoo.PresetError(
            f"preset {preset!r} has no weights yet (they are not published). Train them with "
            f"`ghvae train {preset} --data {data.get('name', 'NAME')} --out my-{preset}`, then "
            f"`ghvae predict my-{preset} ...`; or give a preset folder or hf://org/name"
        )
    model = zoo.from_pretrained(preset)
    if num_modules is None:
        return model
    if not 1 <= num_modules <= model.num_modules:
        raise InputError(f"--num-modules must be in 1..{model.num_modules}, got {num_modules}")
    return model.truncated(num_modules)


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
        A summary: out, context, horizon, samples, truth (true frames shown).
    """
    out = Path(out)
    if out.suffix.lower() not in PREDICTION_SUFFIXES:
        raise InputError(f"{out}: the output must end in {', '.join(PREDICTION_SUFFIXES)}")
    if not out.parent.is_dir():
        raise InputError(f"{out}: its folder {out.parent} does not exist")
    for name, value in (("samples", samples), ("context", context), ("horizon", horizon)):
        if value is not None and value < 1:
            raise InputError(f"--{name} must be at least 1, got {value}")
    model = load_model(preset, num_modules)
    if input_path is None:
        clip = {key: value[0] for key, value in zoo.load_sample(preset).items()}
        source = f"the sample clip of {preset}"
    else:
        clip = video_io.read_clip(input_path, image_size=model.image_size)
        source = str(input_path)
    context = context or model.context_length
    horizon = horizon or model.horizon
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
    return {"out": str(out), "context": context, "horizon": horizon, "samples": samples,
            "truth": len(truth)}


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
          data_dir=None, sequence_length=None, seed=0, command=None, verbose=2):
    """Trains a preset's architecture (or a config's) greedily and writes a preset.

    Args:
        preset_or_config: a preset name, `hf://` URI or folder (its
            configuration; its weights too with `fine_tune`), or a JSON
            file (a config.json or an object of `GHVAE` arguments).
        data: a dataset name for `ghvae_keras.data.load`.
        out: the preset folder to write (must not exist).
        steps_per_stage: optimizer steps per greedy stage.
        batch_size: clips per batch (global, over all replicas).
        strategy: one of `training.STRATEGIES`.
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
        verbose: Keras progress (0 silent, 2 a line per checkpoint interval).

    Returns:
        A summary: out, stages, steps_per_stage, sequence_length, loss (the
        last stage's last loss), resumed_from.
    """
    from ghvae_keras import data as datasets
    from ghvae_keras import training

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
    model, metadata = _model_to_train(preset_or_config, fine_tune)
    protocol = metadata.get("protocol") or {}
    if sequence_length is None:
        sequence_length = (protocol["context"] + protocol["train_future"] if protocol
                           else model.context_length + model.horizon)
    if sequence_length <= model.context_length:
        raise InputError(f"clips of {sequence_length} frames leave nothing to predict after "
                         f"{model.context_length} context frames")
    try:
        train_data = datasets.load(data, split, sequence_length, batch_size, seed=seed,
                                   image_size=model.image_size, data_dir=data_dir)
    except ValueError as error:  # an unknown name or episodes too short
        raise InputError(str(error)) from None
    _check_actions_match(model, train_data, data)
    result = training.fit_greedy(
        model, train_data, steps_per_stage=steps_per_stage,
        strategy=training.make_strategy(strategy), checkpoint_dir=checkpoint_dir,
        checkpoint_every=every, noise_seed=seed, verbose=verbose,
    )
    sample = None
    if sequence_length >= model.context_length + model.horizon:  # long enough to show a prediction
        first = next(iter(train_data.take(1)))
        sample = {key: np.asarray(value[0]) for key, value in first.items()}
    metadata = {
        **{key: value for key, value in metadata.items()
           if key not in ("files", "metrics", "training", "hub", "parameters", "versions")},
        "name": out.name,
        "hub": None,
        "protocol": {"context": model.context_length,
                     "train_future": sequence_length - model.context_length,
                     "eval_future": protocol.get("eval_future", model.horizon)},
        "training": {"dataset": data, "split": split, "command": command or "",
                     "steps_per_stage": steps_per_stage, "batch_size": batch_size,
                     "fine_tuned_from": str(preset_or_config) if fine_tune else None},
        "metrics": {},
    }
    metadata.setdefault("description", f"GHVAE trained on {data}.")
    zoo.save_preset(result.model, out, metadata, sample=sample)
    last = list(result.history.values())[-1] if result.history else {}
    return {"out": str(out), "stages": model.num_modules, "steps_per_stage": steps_per_stage,
            "sequence_length": sequence_length,
            "loss": float(last["loss"][-1]) if last.get("loss") else None,
            "resumed_from": result.resumed_from}


def _model_to_train(preset_or_config, fine_tune):
    path = Path(str(preset_or_config))
    if path.suffix.lower() == ".json":
        if fine_tune:
            raise InputError("--fine-tune needs a preset (with weights), not a config file")
        return zoo.model_from_config_file(path), {}
    folder = zoo.resolve_preset(preset_or_config, require_weights=fine_tune)
    model = load_model(preset_or_config) if fine_tune else zoo.from_pretrained(folder, load_weights=False)
    return model, zoo.read_metadata(folder)


def _check_actions_match(model, dataset, name):
    spec = dataset.element_spec
    has = "actions" in spec
    if model.action_dim is None and has:
        raise InputError(f"{name} has actions, but the model is action-free; train an "
                         "action-conditioned configuration on it")
    if model.action_dim is not None:
        if not has:
            raise InputError(f"{name} has no actions, but the model is action-conditioned "
                             f"({model.action_dim} per step)")
        if spec["actions"].shape[-1] != model.action_dim:
            raise InputError(f"{name} has {spec['actions'].shape[-1]} values per action; "
                             f"the model takes {model.action_dim}")


def export(preset, format, out, batch=None, context=None, horizon=None, noise="input",
           num_modules=None):
    """Exports a preset's model as a SavedModel folder or a TFLite file (see
    `ghvae_keras.export`). `batch` defaults to any (SavedModel) or 1 (TFLite).

    Returns a summary: out, format, batch, context, horizon, inputs.
    """
    from ghvae_keras import export as exporting

    if format not in EXPORT_FORMATS:
        raise InputError(f"--format must be one of {', '.join(EXPORT_FORMATS)}")
    for name, value in (("batch", batch), ("context", context), ("horizon", horizon)):
        if value is not None and value < 1:
            raise InputError(f"--{name} must be at least 1, got {value}")
    model = load_model(preset, num_modules)
    context = context or model.context_length
    horizon = horizon or model.horizon
    if format == "saved_model":
        exporting.export_saved_model(model, out, batch=batch, context=context, horizon=horizon)
        inputs = exporting.input_specs(model, batch, context, horizon, noise=True)
    else:
        batch = batch or 1
        exporting.export_tflite(model, out, batch=batch, context=context, horizon=horizon, noise=noise)
        inputs = exporting.input_specs(model, batch, context, horizon, noise=noise == "input")
    return {"out": str(out), "format": format, "batch": batch, "context": context,
            "horizon": horizon,
            "inputs": {name: [d if d is not None else "B" for d in spec.shape.as_list()]
                       for name, spec in inputs.items()}}
