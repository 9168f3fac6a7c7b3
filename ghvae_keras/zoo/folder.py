"""A preset folder: its files, reading and checking them, writing them.

    config.json        the serialized `GHVAE` (Keras serialization format)
    metadata.json      description, parameter count, data, protocol, the
                       blocks of `reports` (training, metrics, planning),
                       package versions, Hub location and the sha256 of
                       every other file
    model.weights.h5   the weights (no optimizer state)
    README.md          the Hub model card, rendered from metadata.json
    sample.npz         a short clip for demos (`frames` uint8, `actions`)
    prediction.gif     the card's picture: the sample predicted
    psnr_per_frame.svg the card's plot of PSNR per predicted frame

It is the format of KerasHub presets and of Keras' own
`model.save("hf://…")`, so `keras.saving.load_model("hf://org/name")` reads
it too. Reading takes only JSON, `.weights.h5` and `.npz` without pickles,
after `verify_preset` has checked every file's sha256.
"""

import json
from pathlib import Path

import keras
import numpy as np

from ghvae_keras.atomic_files import atomic_path, sha256, write_json
from ghvae_keras.errors import PresetError
from ghvae_keras.model import GHVAE
from ghvae_keras.video_io import prediction_grid, to_uint8, write_gif
from ghvae_keras.zoo.cards import PLOT_FILE, PREVIEW_FILE, render_card, render_psnr_plot

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
CARD_FILE = "README.md"
SAMPLE_FILE = "sample.npz"
PRESET_FILES = (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, CARD_FILE, SAMPLE_FILE, PREVIEW_FILE, PLOT_FILE)
# A training run's state kept in the folder while the run lasts, so that it
# resumes from what is committed (tools/train_zoo.py); never shipped or listed.
TRAINING_STATE_FILE = "end_to_end.checkpoint.h5"
# Every file but the metadata carries a sha256 in the metadata.
_HASHED_FILES = tuple(name for name in PRESET_FILES if name != METADATA_FILE)
# Formats that execute code or unpickle on load; a preset holding one is refused.
_UNSAFE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".joblib", ".ckpt", ".keras", ".npy")


# -- reading ------------------------------------------------------------------


def read_metadata(preset_dir):
    path = Path(preset_dir) / METADATA_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PresetError(f"{preset_dir} is not a preset: it has no {METADATA_FILE}") from None
    except json.JSONDecodeError as error:
        raise PresetError(f"{path} is not valid JSON: {error}") from None



def verify_preset(folder, expected=None, require_weights=True):
    """Checks a preset folder before anything in it is loaded.

    Refuses folders holding pickles or other code-bearing formats; checks
    that every preset file in the folder is listed in `expected` (default:
    the folder's own `metadata.json`) with its sha256, that nothing else is
    listed, and that `config.json` describes a `GHVAE`. With
    `require_weights=False` the weights are left unread. Raises
    `PresetError` naming the offending file.
    """
    folder = Path(folder)
    for path in sorted(folder.rglob("*")):
        if path.is_file() and (path.suffix.lower() in _UNSAFE_SUFFIXES or _is_pickle(path)):
            raise PresetError(f"refusing {folder}: {path.name} is a pickle or another format that runs code on load")
    if expected is None:
        expected = read_metadata(folder).get("files")
    if not isinstance(expected, dict):
        raise PresetError(f"{folder / METADATA_FILE} has no 'files' table of sha256 digests")
    # Only the preset's own file names: a listed path never leaves the folder.
    unknown = sorted(set(expected) - set(_HASHED_FILES))
    if unknown:
        raise PresetError(f"{folder}: metadata lists files that are not part of a preset: {unknown}")
    for name in _HASHED_FILES:
        if name == WEIGHTS_FILE and not require_weights:
            continue  # not loaded, so not read: hashing it would cost a full read
        path = folder / name
        present = path.is_file()
        if name not in expected:
            if present:
                raise PresetError(f"{folder}: {name} is not listed in the metadata, so it cannot be verified")
            if name in (CONFIG_FILE, WEIGHTS_FILE):
                raise PresetError(f"{folder} is missing {name}")
            continue
        if not present:
            raise PresetError(f"{folder} is missing {name}, listed in its metadata")
        actual = sha256(path)
        if actual != expected[name]:
            raise PresetError(f"sha256 mismatch for {path}: expected {expected[name]}, got {actual}")
    read_config(folder / CONFIG_FILE)


def _is_pickle(path):
    with open(path, "rb") as f:
        head = f.read(2)
    # Pickle protocols 2-5 open with PROTO (0x80) and the protocol number;
    # the older text protocols have no signature, hence the suffix list too.
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def read_config(path):
    """The GHVAE constructor arguments of a config.json, or PresetError."""
    try:
        config = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise PresetError(f"{path} is not valid JSON: {error}") from None
    return _ghvae_arguments(config, path)


def _ghvae_arguments(config, path):
    """The constructor arguments inside the Keras serialization of a GHVAE."""
    if not (
        isinstance(config, dict)
        and config.get("class_name") == "GHVAE"
        and config.get("registered_name") == "ghvae_keras>GHVAE"
        and isinstance(config.get("config"), dict)
    ):
        raise PresetError(f"{path} does not describe a ghvae_keras GHVAE")
    return config["config"]


def model_from_config_file(path):
    """A fresh (untrained) `GHVAE` from a JSON file: a preset's config.json
    (the Keras serialization of a GHVAE) or a plain object of `GHVAE`
    constructor arguments."""
    path = Path(path)
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise PresetError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PresetError(f"{path} is not a readable JSON file: {error}") from None
    if not isinstance(config, dict):
        raise PresetError(f"{path} must hold a JSON object of GHVAE arguments")
    if "class_name" in config:
        config = _ghvae_arguments(config, path)
    try:
        return GHVAE.from_config(config)
    except (TypeError, ValueError) as error:
        raise PresetError(f"{path} holds an invalid GHVAE configuration: {error}") from None


def read_sample(folder):
    """The folder's sample clip, `{"frames": float32 [T, H, W, 3] in [0, 1],
    "actions": float32 [T-1, A]}` (no `"actions"` for action-free presets),
    or None when it has none."""
    path = Path(folder) / SAMPLE_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as sample:
        clip = {"frames": sample["frames"].astype(np.float32) / 255.0}
        if "actions" in sample:
            clip["actions"] = sample["actions"].astype(np.float32)
    return clip


# -- writing ------------------------------------------------------------------


def save_preset(model, preset_dir, metadata, sample=None, include_weights=True, overwrite=False):
    """Writes `model` as a preset folder.

    Args:
        model: a `GHVAE`. Its weights are saved without optimizer state.
        preset_dir: the folder to write; it appears complete or not at all.
        metadata: the descriptive fields of metadata.json (`name`,
            `description`, `data`, `training`, `metrics`, `hub`, `license`,
            ...). The parameter count, versions and file hashes are added.
        sample: optional clip `{"frames": [T, H, W, 3] in [0, 1],
            "actions": [T-1, A]}` stored as sample.npz.
        include_weights: `False` writes the configuration only (a registry
            entry whose weights are not trained yet).
        overwrite: replace an existing folder.
    """
    preset_dir = Path(preset_dir)
    if preset_dir.exists() and not overwrite:
        raise FileExistsError(f"{preset_dir} exists; pass overwrite=True to replace it")
    if "name" not in metadata or "description" not in metadata:
        raise ValueError("metadata needs at least 'name' and 'description'")
    protocol = metadata.get("protocol")
    if protocol and sorted(protocol) != ["context", "eval_future", "train_future"]:
        raise ValueError("metadata 'protocol' needs exactly 'context', 'train_future' and "
                         f"'eval_future', got {sorted(protocol)}")
    # An uncompiled copy: no optimizer state in the weights, no compile config.
    clean = model.clone()
    with atomic_path(preset_dir, folder=True) as staging:
        config = keras.saving.serialize_keras_object(clean)
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        if include_weights:
            clean.save_weights(staging / WEIGHTS_FILE)
        if sample is not None:
            _save_sample(staging / SAMPLE_FILE, sample, clean)
            if include_weights:
                _save_preview(staging / PREVIEW_FILE, sample, clean, metadata.get("protocol"))
        metadata = {
            **{key: value for key, value in metadata.items() if key != "files"},
            "parameters": int(clean.count_params()),
            "num_modules": clean.num_modules,
            "image_size": clean.image_size,
            "action_dim": clean.action_dim,
            "versions": _versions(),
        }
        write_card(staging, metadata)
    return preset_dir


def write_card(preset_dir, metadata=None):
    """Renders README.md from the metadata, then rewrites metadata.json with
    the sha256 of every preset file in the folder."""
    preset_dir = Path(preset_dir)
    metadata = dict(metadata or read_metadata(preset_dir))
    plot = render_psnr_plot(metadata)
    if plot is None:
        (preset_dir / PLOT_FILE).unlink(missing_ok=True)  # it would show other figures
    else:
        (preset_dir / PLOT_FILE).write_text(plot)
    (preset_dir / CARD_FILE).write_text(
        render_card(metadata, preview=(preset_dir / PREVIEW_FILE).is_file()))
    listed = metadata.get("files") or {}
    files = {name: sha256(preset_dir / name) for name in _HASHED_FILES if (preset_dir / name).is_file()}
    # Weights may live on the Hub only (too big for the repository): their
    # listed hash stays the reference.
    if WEIGHTS_FILE not in files and WEIGHTS_FILE in listed:
        files[WEIGHTS_FILE] = listed[WEIGHTS_FILE]
    metadata["files"] = files
    write_json(preset_dir / METADATA_FILE, metadata)
    return metadata


def _save_sample(path, sample, model):
    frames = np.asarray(sample["frames"], np.float32)
    expected = (model.image_size, model.image_size, 3)
    if frames.ndim != 4 or frames.shape[1:] != expected:
        raise ValueError(f"sample frames must be [T, {', '.join(map(str, expected))}], got {list(frames.shape)}")
    # Long enough to show the default prediction against the truth.
    if len(frames) < model.context_length + model.horizon:
        raise ValueError(
            f"the sample needs at least context_length + horizon = "
            f"{model.context_length + model.horizon} frames, got {len(frames)}"
        )
    arrays = {"frames": to_uint8(frames)}
    if model.action_dim:
        arrays["actions"] = np.asarray(sample["actions"], np.float32)
        if arrays["actions"].shape != (len(frames) - 1, model.action_dim):
            raise ValueError(
                f"sample actions must be [{len(frames) - 1}, {model.action_dim}], "
                f"got {list(arrays['actions'].shape)}"
            )
    np.savez_compressed(path, **arrays)


def _save_preview(path, sample, model, protocol):
    """The card's picture: the sample's true frames above two predictions,
    over the preset's evaluation horizon."""
    frames = np.asarray(sample["frames"], np.float32)
    context = (protocol or {}).get("context") or model.context_length
    horizon = min(len(frames) - context, (protocol or {}).get("eval_future") or model.horizon)
    actions = None
    if model.action_dim:
        actions = np.asarray(sample["actions"], np.float32)[None, : context + horizon - 1]
    predicted = model.predict_video(frames[None, :context], actions, horizon=horizon, num_samples=2, seed=0)
    write_gif(path, prediction_grid(frames[:context], predicted[0], frames[context:context + horizon]))


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("ghvae-keras", "keras", "tensorflow", "tensorflow-cpu", "jax", "numpy", "h5py"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    versions["backend"] = keras.backend.backend()
    return versions

