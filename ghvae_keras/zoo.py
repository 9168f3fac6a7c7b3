"""The model zoo: registered presets, `from_pretrained`, `push_to_hub`, model cards.

A preset is a folder in the format of KerasHub presets and of Keras' own
`model.save("hf://…")`, so `keras.saving.load_model("hf://org/name")` reads
it too:

    config.json        the serialized `GHVAE` (Keras serialization format)
    metadata.json      description, parameter count, data, metrics, package
                       versions, Hub location and the sha256 of every file
    model.weights.h5   the weights (no optimizer state)
    README.md          the Hub model card, rendered from metadata.json
    sample.npz         a short clip for demos (`frames` uint8, `actions`)

The registry is the set of preset folders under the repository's `zoo/`
(or the copy installed with the package); `list_models()` returns it.
Loading reads only JSON, `.weights.h5` and `.npz` without pickles, after
checking every file's sha256.
"""

import importlib
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from ghvae_keras.files import atomic_path, sha256, write_json
from ghvae_keras.model import GHVAE
from ghvae_keras.video_io import prediction_grid, to_uint8, write_gif

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
CARD_FILE = "README.md"
SAMPLE_FILE = "sample.npz"
# What the card shows: the sample's prediction and PSNR per predicted frame.
PREVIEW_FILE = "prediction.gif"
PLOT_FILE = "psnr_per_frame.svg"
PRESET_FILES = (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, CARD_FILE, SAMPLE_FILE, PREVIEW_FILE, PLOT_FILE)
_OPTIONAL_FILES = (SAMPLE_FILE, PREVIEW_FILE, PLOT_FILE)
# Every file but the metadata carries a sha256 in the metadata.
_HASHED_FILES = tuple(name for name in PRESET_FILES if name != METADATA_FILE)

# Formats that execute code or unpickle on load; a preset holding one is refused.
_UNSAFE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".joblib", ".ckpt", ".keras", ".npy")
_HF_URI = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[\w./-]+))?$")
_PACKAGE_DIR = Path(__file__).resolve().parent
# A source checkout's (or editable install's) zoo, then the copy a wheel
# installs into the package.
_ZOO_DIRS = tuple(
    folder for folder in (_PACKAGE_DIR.parent / "zoo", _PACKAGE_DIR / "zoo_presets")
    if folder.name == "zoo_presets" or (_PACKAGE_DIR.parent / "pyproject.toml").is_file()
)
_CARD_TAGS = ("video-prediction", "ghvae", "keras")

logger = logging.getLogger(__name__)
_fallbacks_announced = set()


class PresetError(ValueError):
    """A preset that cannot be found, is incomplete, or fails verification."""


# -- registry -----------------------------------------------------------------


def _registry(zoo_dirs=None):
    presets = {}
    for zoo in zoo_dirs or _ZOO_DIRS:
        if not zoo.is_dir():
            continue
        for folder in sorted(zoo.iterdir()):
            if (folder / METADATA_FILE).is_file() and folder.name not in presets:
                presets[folder.name] = folder
    return presets


def list_models(zoo_dir=None):
    """The registered presets: `{name: metadata}` (description, parameters,
    data, metrics, Hub location, whether weights are available, ...).

    Args:
        zoo_dir: list the presets of this folder instead of the registry.
    """
    models = {}
    for name, folder in _registry([Path(zoo_dir)] if zoo_dir else None).items():
        metadata = read_metadata(folder)
        metadata["has_weights"] = WEIGHTS_FILE in metadata.get("files", {})
        models[name] = metadata
    return models


def read_metadata(preset_dir):
    path = Path(preset_dir) / METADATA_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PresetError(f"{preset_dir} is not a preset: it has no {METADATA_FILE}") from None
    except json.JSONDecodeError as error:
        raise PresetError(f"{path} is not valid JSON: {error}") from None


# -- loading ------------------------------------------------------------------


def from_pretrained(name_or_path, num_modules=None, revision=None, load_weights=True, token=None):
    """Loads a pretrained GHVAE.

    Args:
        name_or_path: a registered preset name (see `list_models()`), fetched
            from its Hub repository at its pinned revision;
            `"hf://org/name[@revision]"`; or a local preset folder.
        num_modules: return the model truncated to its first k modules.
        revision: a Hub branch, tag or commit that overrides the pinned one.
        load_weights: `False` returns the preset's architecture untrained
            (to train it on your own data).
        token: a Hugging Face token for private repositories (default: the
            `HF_TOKEN` environment variable or the saved login).

    When the Hub cannot be reached and the repository's `zoo/` or the
    installed package holds the registered preset, that copy is loaded and
    a warning says so once. `HF_HUB_OFFLINE` and `HF_HUB_CACHE` are honoured.

    Example:

    >>> model = ghvae_keras.from_pretrained("bair-4mod")
    >>> video = model.predict_video(context, actions, horizon=28, num_samples=4)
    """
    folder = resolve_preset(name_or_path, revision=revision, require_weights=load_weights, token=token)
    model = _model_from_config(folder / CONFIG_FILE)
    if load_weights:
        model.load_weights(folder / WEIGHTS_FILE)
    if num_modules is not None:
        if not 1 <= num_modules <= model.num_modules:
            raise ValueError(f"num_modules must be in 1..{model.num_modules}, got {num_modules}")
        model = model.truncated(num_modules)
    return model


def load_sample(name_or_path, revision=None, token=None):
    """The preset's sample clip as a batch of one: `{"frames": float32
    [1, T, H, W, 3] in [0, 1], "actions": float32 [1, T-1, A]}` (no
    `"actions"` for action-free presets)."""
    folder = resolve_preset(name_or_path, revision=revision, require_weights=False, token=token)
    path = folder / SAMPLE_FILE
    if not path.is_file():
        raise PresetError(f"{name_or_path} has no sample clip ({SAMPLE_FILE})")
    with np.load(path, allow_pickle=False) as sample:
        clip = {"frames": sample["frames"][None].astype(np.float32) / 255.0}
        if "actions" in sample:
            clip["actions"] = sample["actions"][None].astype(np.float32)
    return clip


def resolve_preset(name_or_path, revision=None, require_weights=True, token=None):
    """The verified local folder of a preset name, `hf://` URI or folder."""
    name_or_path = os.fspath(name_or_path)
    match = _HF_URI.match(name_or_path)
    if match:
        if revision is not None and match["revision"] is not None:
            raise ValueError(f"give the revision once: in {name_or_path!r} or as revision={revision!r}")
        folder = _download(match["repo"], revision or match["revision"] or "main", token, require_weights)
        verify_preset(folder, require_weights=require_weights)
        return folder
    if name_or_path.startswith("hf://"):
        raise ValueError(f"expected 'hf://org/name' or 'hf://org/name@revision', got {name_or_path!r}")
    registry = _registry()
    # A bare registered name means the registry's preset even where a folder
    # of that name exists; write "./bair-4mod" for the folder.
    if name_or_path in registry:
        return _resolve_registered(name_or_path, registry[name_or_path], revision, require_weights, token)
    if Path(name_or_path).is_dir():
        folder = Path(name_or_path)
        verify_preset(folder, require_weights=require_weights)
        return folder
    known = ", ".join(registry) or "none installed"
    raise PresetError(
        f"unknown preset {name_or_path!r}: not a registered name (known: {known}), "
        "an 'hf://org/name' URI or a preset folder"
    )


def _resolve_registered(name, local, revision, require_weights, token):
    metadata = read_metadata(local)
    hub = metadata.get("hub") or {}
    repo_id, pinned = hub.get("repo_id"), hub.get("revision")
    trusted = metadata.get("files", {})
    tried_hub = bool(repo_id and (pinned or revision))
    if tried_hub:
        try:
            folder = _download(repo_id, revision or pinned, token, require_weights)
        except _unreachable_errors() as error:
            reason = _unreachable_reason(error)
        else:
            # At the pinned revision the registry's own hashes are the reference;
            # another revision is checked against the metadata it carries.
            verify_preset(folder, expected=trusted if revision in (None, pinned) else None,
                          require_weights=require_weights)
            return folder
    else:
        reason = "it is not published on the Hub yet"
    if require_weights and not (local / WEIGHTS_FILE).is_file():
        if WEIGHTS_FILE in trusted:
            raise PresetError(f"cannot load {name!r}: {reason}, and {local} does not hold its weights")
        raise PresetError(
            f"preset {name!r} has no weights yet: {reason}, and {local} holds its configuration "
            "only. Use from_pretrained(..., load_weights=False) to train it yourself."
        )
    verify_preset(local, expected=trusted, require_weights=require_weights)
    if tried_hub and name not in _fallbacks_announced:
        _fallbacks_announced.add(name)
        logger.warning("loading %s from %s because %s", name, local, reason)
    return local


def _unreachable_errors():
    """Offline mode, no connection, or a Hub outage with nothing cached. A
    missing repository or revision is an error, not a reason to fall back."""
    from huggingface_hub import errors

    unreachable = [errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled]
    # huggingface_hub 2.x speaks httpx2, 1.x httpx: a transfer that breaks
    # off midway raises their transport errors.
    for client in ("httpx2", "httpx"):
        try:
            unreachable.append(importlib.import_module(client).TransportError)
        except (ImportError, AttributeError):
            pass
    return tuple(unreachable)


def _unreachable_reason(error):
    from huggingface_hub import constants

    if constants.is_offline_mode():
        return "huggingface_hub is in offline mode (HF_HUB_OFFLINE) and its cache does not hold it"
    return f"the Hub could not be reached ({type(error).__name__}: {error})"


def _download(repo_id, revision, token, include_weights=True):
    import huggingface_hub

    from ghvae_keras import __version__

    files = [name for name in PRESET_FILES if include_weights or name != WEIGHTS_FILE]
    folder = huggingface_hub.snapshot_download(
        repo_id, revision=revision, allow_patterns=files, token=token,
        library_name="ghvae-keras", library_version=__version__,
    )
    return Path(folder)


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
    if isinstance(config, dict) and "class_name" in config:
        return _model_from_config(path)
    if not isinstance(config, dict):
        raise PresetError(f"{path} must hold a JSON object of GHVAE arguments")
    try:
        return GHVAE(**config)
    except (TypeError, ValueError) as error:
        raise PresetError(f"{path} holds an invalid GHVAE configuration: {error}") from None


def _model_from_config(path):
    try:
        return GHVAE.from_config(read_config(path))
    except (TypeError, ValueError) as error:
        if isinstance(error, PresetError):
            raise
        raise PresetError(f"{path} holds an invalid GHVAE configuration: {error}") from None


# -- saving -------------------------------------------------------------------


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


# -- model cards --------------------------------------------------------------


def card_data(metadata):
    """The card's YAML front matter as `huggingface_hub.ModelCardData`."""
    from huggingface_hub import EvalResult, ModelCardData

    trained_on = (metadata.get("training") or {}).get("dataset")
    results = []
    for block in (metadata.get("metrics") or {}).values():
        for k, figures in block["modules"].items():
            for metric in ("fvd", "psnr", "ssim"):
                if figures.get(metric) is not None:
                    results.append(EvalResult(
                        task_type="video-prediction",
                        dataset_type=block["dataset"], dataset_name=block["dataset"],
                        dataset_split=block.get("split"), metric_type=metric,
                        metric_name=f"{metric.upper()} ({k} module{'s' if k != '1' else ''}, "
                                    f"{block['context']}→{block['horizon']}, best of {block['samples']})",
                        metric_value=figures[metric],
                    ))
    return ModelCardData(
        library_name="keras",
        license=metadata.get("license", "apache-2.0"),
        tags=list(_CARD_TAGS),
        datasets=[trained_on] if trained_on else None,
        model_name=metadata["name"],
        eval_results=results or None,
    )


def render_card(metadata, preview=False):
    """A preset's model card (README.md) from its metadata; with `preview`,
    it shows the folder's prediction GIF."""
    name = metadata["name"]
    hub = metadata.get("hub") or {}
    data = metadata.get("data") or {}
    training = metadata.get("training")
    protocol = metadata.get("protocol") or {}
    size = metadata.get("image_size", "?")
    protocol_text = (
        f"{protocol['context']} context frames → {protocol['train_future']} predicted in training, "
        f"{protocol['eval_future']} in evaluation" if protocol else "protocol not recorded"
    )
    lines = [f"# {name}", "", metadata["description"], ""]
    if (training or {}).get("status") == "in progress":
        lines += [
            f"**Training in progress**: modules 1..{training['stages_trained']} of "
            f"{metadata.get('num_modules', '?')} are trained so far, and these weights load with "
            "those modules active. Not evaluated and not published until training is complete.",
            "",
        ]
    lines += [
        f"GHVAE with {metadata.get('num_modules', '?')} modules, "
        f"{metadata.get('parameters', 0):,} parameters, {size}×{size} RGB, "
        f"{protocol_text}. Greedy Hierarchical VAEs (Wu et al., CVPR 2021, "
        "arXiv:2103.04174), implemented in ghvae-keras.",
        "",
        "## Use",
        "",
    ]
    if preview:
        lines += [
            f"![The sample clip: the true frames on top, two sampled futures below]({PREVIEW_FILE})",
            "",
            "The sample clip (`load_sample`): the true frames on top, two futures sampled from the "
            "context frames (and the clip's actions) below.",
            "",
        ]
    if training:
        lines += [
            "```python",
            "import ghvae_keras",
            "",
            f'model = ghvae_keras.from_pretrained("{name}")            # checks every file\'s sha256',
            f'clip = ghvae_keras.load_sample("{name}")                # true frames (and actions)',
            "context = clip[\"frames\"][:, :model.context_length]",
            *(["actions = clip[\"actions\"][:, :model.context_length + model.horizon - 1]"]
              if metadata.get("action_dim") else ["actions = None                                    # action-free video"]),
            "video = model.predict_video(context, actions, horizon=model.horizon, num_samples=4)",
            "```",
            "",
        ]
    else:
        lines += [
            f'Untrained so far: `ghvae_keras.from_pretrained("{name}", load_weights=False)` '
            "gives the architecture to train yourself (below).",
            "",
        ]
    if hub.get("repo_id"):
        lines += [
            f"`keras.saving.load_model(\"hf://{hub['repo_id']}\")` also works once `ghvae_keras` is "
            "imported (it registers the layers), but it neither pins a revision nor checks hashes; "
            f"prefer `ghvae_keras.from_pretrained(\"hf://{hub['repo_id']}@<revision>\")`.",
            "",
        ]
    lines += ["## Training data", ""]
    stand_in, real = data.get("stand_in") or {}, data.get("real") or {}
    if training:
        if training.get("dataset") == stand_in.get("name"):
            lines += [
                f"**These weights are trained on simulated data, not on {real.get('title', 'the real dataset')}.** "
                f"The training set is `{training['dataset']}`: {stand_in.get('description', '')}".rstrip(),
                "",
            ]
        else:  # retrained by a user, e.g. on the real data
            lines += [f"These weights are trained on `{training['dataset']}`.", ""]
        lines += [
            "Trained with:",
            "",
            "```bash",
            training["command"],
            "```",
            "",
            *_training_summary(training),
        ]
    else:
        lines += [
            "**No weights are published for this preset yet**: the registry lists its "
            f"configuration. Its weights will be trained on `{stand_in.get('name', 'a simulated stand-in')}`"
            f" ({stand_in.get('description', '')}), a simulated stand-in for "
            f"{real.get('title', 'the real dataset')}.",
            "",
        ]
    if real:
        lines += [
            f"### Train on {real.get('title', 'the real data')}",
            "",
            real.get("access", ""),
            "",
            "```python",
            "import ghvae_keras",
            "from ghvae_keras import data, training",
            "",
            f'model = ghvae_keras.from_pretrained("{name}", load_weights=False)',
            f'train = data.load("{real["name"]}", "train", sequence_length='
            f'{protocol["context"] + protocol["train_future"]}, batch_size=16)',
            'training.fit_greedy(model, train, steps_per_stage=100_000, checkpoint_dir="checkpoints")',
            "```",
            "",
        ]
    lines += _metrics_section(metadata)
    lines += _planning_section(metadata.get("planning"))
    lines += [
        "## Limitations",
        "",
        "- The shipped weights are trained on simulated stand-ins: expect a domain gap on real video; "
        "fine-tune on real data before use.",
        f"- {size}×{size} frames and a model far smaller than the paper's (about 599M parameters): "
        "its numbers are not comparable with the published ones.",
        "- Predictions are samples: use several (`num_samples`) and the best-of-N protocol when comparing.",
        "",
        "## Citation",
        "",
        "```bibtex",
        "@inproceedings{wu2021greedy,",
        "  title={Greedy Hierarchical Variational Autoencoders for Large-Scale Video Prediction},",
        "  author={Wu, Bohan and Nair, Suraj and Mart{\\'i}n-Mart{\\'i}n, Roberto and Fei-Fei, Li and Finn, Chelsea},",
        "  booktitle={CVPR},",
        "  year={2021}",
        "}",
        "```",
        "",
    ]
    from huggingface_hub import ModelCard

    return str(ModelCard(f"---\n{card_data(metadata).to_yaml()}\n---\n\n" + "\n".join(lines)))


def _training_summary(training):
    """One paragraph on how long training took, from what `tools/train_zoo.py` records."""
    seconds = training.get("seconds")
    if not seconds:
        return []
    stages = sorted((name for name in seconds if name.startswith("stage_")), key=lambda n: int(n[6:]))
    cpu = sum(seconds[name]["cpu"] for name in stages)
    wall = sum(seconds[name]["wall"] for name in stages)
    device = training.get("device") or {}
    text = (f"Greedy training ran {training['steps_per_stage']:,} steps per module at batch "
            f"{training['batch_size']} of {training['sequence_length']}-frame clips: "
            f"{cpu / 60:,.0f} CPU minutes ({wall / 60:,.0f} minutes of wall-clock time)")
    if device:
        threads = device.get("intra_op_threads")
        text += (f" on {device['device']} ({device['backend']}"
                 + (f", {threads} TensorFlow thread{'s' if threads != 1 else ''}" if threads else "") + ")")
    if "end_to_end" in seconds:
        e2e = seconds["end_to_end"]
        text += (f". The end-to-end baseline ran {e2e['steps']:,} steps in the same compute "
                 f"({e2e['cpu'] / 60:,.0f} CPU minutes)")
    return [text + ".", ""]


def _metrics_section(metadata, folder=""):
    """The card's evaluation tables, one per block of `metadata["metrics"]`
    (see `evaluation.metrics_block`); `folder` is where the plot lies,
    relative to the card."""
    blocks = metadata.get("metrics") or {}
    lines = ["## Evaluation", ""]
    if not blocks:
        return lines + ["Not evaluated yet.", ""]
    for name, block in blocks.items():
        fvd_samples = block.get("fvd_samples") or block["samples"]
        lines += [
            f"**{_BLOCK_TITLES.get(name, name)}**: `{block['dataset']}` ({block['split']}), "
            f"{block['videos']} videos, {block['context']} context frames → {block['horizon']} predicted. "
            f"PSNR and SSIM are the best of {block['samples']} samples per video; FVD (I3D, Kinetics-400) "
            f"is over {fvd_samples} sample{'s' if fvd_samples > 1 else ''} per video, context frames "
            "included. Copying the last context frame is the floor every model must beat.",
            "",
            "| model | PSNR ↑ | SSIM ↑ | FVD ↓ |",
            "|---|---|---|---|",
        ]
        rows = [(f"GHVAE, {k} module{'s' if k != '1' else ''}", figures)
                for k, figures in sorted(block["modules"].items(), key=lambda item: int(item[0]))]
        baseline = block.get("end_to_end")
        if baseline:
            compute = baseline.get("compute") or {}
            same = (f" ({compute['end_to_end']:,.0f} {compute['unit']}; greedy {compute['greedy']:,.0f})"
                    if compute else "")
            rows.append((f"end-to-end baseline, same compute{same}", baseline))
        rows.append(("copy last frame", block["copy_last_frame"]))
        for label, figures in rows:
            lines.append(f"| {label} | {_fmt(figures.get('psnr'), 2)} | {_fmt(figures.get('ssim'), 4)} | "
                         f"{_fmt(figures.get('fvd'), 1)} |")
        lines += _horizon_sentence(block)
        if name == _plotted_block(metadata) and render_psnr_plot(metadata) is not None:
            lines += ["", f"![PSNR per predicted frame]({folder}{PLOT_FILE})"]
        if block.get("command"):
            lines += ["", "Measured with:", "", "```bash", block["command"], "```"]
        lines.append("")
    return lines


def _plotted_block(metadata):
    blocks = metadata.get("metrics") or {}
    return "stand_in_test" if "stand_in_test" in blocks else next(iter(blocks), None)


_PLOT_WIDTH, _PLOT_HEIGHT, _MARGIN = 640, 360, (56, 168, 24, 44)  # left, right, top, bottom


def render_psnr_plot(metadata):
    """An SVG line plot of PSNR per predicted frame for 1..K modules, the
    end-to-end baseline and copy-last-frame (the card's evaluation block on
    the stand-in), or None when the metadata has no per-frame curves."""
    name = _plotted_block(metadata)
    if name is None:
        return None
    block = metadata["metrics"][name]
    modules = sorted(block["modules"], key=int)
    series = [(f"{k} module{'s' if k != '1' else ''}", block["modules"][k].get("psnr_per_frame"),
               _blue(i, len(modules)), "") for i, k in enumerate(modules)]
    if block.get("end_to_end"):
        series.append(("end-to-end", block["end_to_end"].get("psnr_per_frame"), "#d95f02", ""))
    series.append(("copy last frame", block["copy_last_frame"].get("psnr_per_frame"), "#777777", "6 4"))
    series = [entry for entry in series if entry[1]]
    if len(series) < 2:
        return None
    frames = max(len(curve) for _, curve, _, _ in series)
    low = min(min(curve) for _, curve, _, _ in series)
    high = max(max(curve) for _, curve, _, _ in series)
    low, high = float(np.floor(low)), float(np.ceil(high)) + (1.0 if high == low else 0.0)
    left, right, top, bottom = _MARGIN
    width, height = _PLOT_WIDTH - left - right, _PLOT_HEIGHT - top - bottom

    def x(frame):
        return left + (frame - 1) / max(frames - 1, 1) * width

    def y(value):
        return top + (high - value) / (high - low) * height

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_PLOT_WIDTH}" height="{_PLOT_HEIGHT}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{_PLOT_WIDTH}" height="{_PLOT_HEIGHT}" fill="white"/>',
           f'<text x="{left}" y="16">{block["dataset"]} ({block["split"]}): PSNR (dB) per predicted frame, '
           f'best of {block["samples"]}</text>']
    step = max(1, int(np.ceil((high - low) / 6)))
    for value in np.arange(low, high + 1e-9, step):
        out.append(f'<line x1="{left}" x2="{left + width}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                   'stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:g}</text>')
    for frame in sorted({1, frames, *range(5, frames, 5)}):
        out.append(f'<text x="{x(frame):.1f}" y="{top + height + 16}" text-anchor="middle">{frame}</text>')
    out.append(f'<text x="{left + width / 2:.0f}" y="{_PLOT_HEIGHT - 8}" text-anchor="middle">'
               'predicted frame</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#999"/>')
    for index, (label, curve, colour, dash) in enumerate(series):
        points = " ".join(f"{x(t + 1):.1f},{y(v):.1f}" for t, v in enumerate(curve))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dashes}/>')
        legend_y = top + 14 + 20 * index
        out.append(f'<line x1="{left + width + 12}" x2="{left + width + 36}" y1="{legend_y - 4}" '
                   f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"{dashes}/>')
        out.append(f'<text x="{left + width + 42}" y="{legend_y}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _blue(index, count):
    """Light to dark blue: more modules, darker."""
    light, dark = np.array([158, 202, 225]), np.array([8, 48, 107])
    shade = index / max(count - 1, 1)
    return "#{:02x}{:02x}{:02x}".format(*(light + (dark - light) * shade).astype(int))


def _horizon_sentence(block):
    """On which predicted frames the full stack beats copy-last-frame in PSNR."""
    k = max(block["modules"], key=int)
    ours, floor = block["modules"][k].get("psnr_per_frame"), block["copy_last_frame"].get("psnr_per_frame")
    if not ours or not floor:
        return []
    better = [t + 1 for t, (a, b) in enumerate(zip(ours, floor)) if a > b]
    ranges = []
    for t in better:
        if ranges and ranges[-1][1] == t - 1:
            ranges[-1][1] = t
        else:
            ranges.append([t, t])
    where = ", ".join(f"{a}–{b}" if b > a else f"{a}" for a, b in ranges)
    return ["", f"Per predicted frame, the {k}-module model's PSNR is above copy-last-frame's on "
                f"{len(better)} of {len(ours)} frames" + (f" (frame{'s' if len(better) > 1 else ''} {where})"
                                                         if better else "")
                + f"; frame 1: {ours[0]:.2f} vs {floor[0]:.2f} dB, frame {len(ours)}: "
                f"{ours[-1]:.2f} vs {floor[-1]:.2f} dB."]


_PLANNING_LABELS = {"4_modules": "GHVAE, 4 modules", "1_module": "GHVAE, 1 module (truncated)",
                    "random": "random actions",
                    "scripted": "scripted pusher that reads the positions (reference)",
                    "perfect_model": "the planner with the simulator as its model (reference)"}


def _planning_section(report, heading="## Planning"):
    """The card's planning table, from what `tools/bench_planning.py` stores."""
    if not report:
        return []
    settings = report["settings"]
    lines = [
        heading,
        "",
        f"Visual MPC on the simulated push task (`ghvae_sim_push` scenes, Meta-World's Sawyer, "
        f"{report['episodes']} episodes from fixed test seeds; the puck starts "
        f"{report['start_distance_m'] * 100:.0f} cm from the goal on average, "
        + ("the hand just behind it: the task is the push alone" if settings.get("start") == "behind_puck"
           else "the hand above the bin: the task is to reach the puck and push it")
        + "). The planner sees "
        f"frames and a goal image rendered by the simulator; CEM with {settings['candidates']} "
        f"candidates × {settings['iterations']} iterations over {settings['horizon']} steps, "
        f"{settings['cost']} cost, replanning every {settings['replan_every']} steps, at most "
        f"{settings['max_steps']} steps. Success is Meta-World's `info[\"success\"]` (the puck "
        "within 5 cm of the goal).",
        "",
        "| policy | success ↑ | final puck–goal distance | seconds per episode |",
        "|---|---|---|---|",
    ]
    for method, rate in report["success"].items():
        lines.append(f"| {_PLANNING_LABELS.get(method, method)} | {rate:.0%} | "
                     f"{report['final_distance_m'][method] * 100:.1f} cm | "
                     f"{report['seconds_per_episode'][method]:.1f} |")
    response = {method: figures for method, figures in (report.get("action_response") or {}).items()
                if figures}
    if response:
        lines += ["", "How far each model's predictions follow the actions, on 9 fixed pushes from the "
                  "first frame (spread: how much the predicted frames differ between the pushes, as a "
                  "fraction of how much the real ones do; PSNR: open-loop, over the planning horizon): "
                  + "; ".join(f"{_PLANNING_LABELS.get(method, method)}: spread {figures['spread']:.2f}, "
                              f"PSNR {figures['psnr']:.2f} dB" for method, figures in response.items())
                  + "."]
    return lines + ["", "Measured with:", "", "```bash", report["command"], "```", ""]


_BLOCK_TITLES = {"stand_in_test": "Simulated stand-in, test split", "test": "Test split"}


def _fmt(value, decimals):
    return "–" if value is None else f"{value:.{decimals}f}"


def validate_card(preset_dir):
    """The problems that keep a preset folder from being published (an
    empty list when it is ready): files and hashes, and the card's
    library, tags, datasets, license, metric values and training command."""
    from huggingface_hub import ModelCard

    preset_dir = Path(preset_dir)
    try:
        verify_preset(preset_dir)
    except PresetError as error:
        return [str(error)]
    if not (preset_dir / CARD_FILE).is_file():
        return [f"{preset_dir} has no model card ({CARD_FILE})"]
    metadata = read_metadata(preset_dir)
    card = ModelCard.load(preset_dir / CARD_FILE)
    front = card.data.to_dict()
    problems = [] if (metadata.get("hub") or {}).get("repo_id") else ["metadata: no hub.repo_id"]
    if front.get("library_name") != "keras":
        problems.append("card: library_name must be 'keras'")
    missing_tags = {"video-prediction", "ghvae"} - set(front.get("tags") or ())
    if missing_tags:
        problems.append(f"card: missing tags {sorted(missing_tags)}")
    for field in ("datasets", "license"):
        if not front.get(field):
            problems.append(f"card: no {field}")
    results = card.data.eval_results or []
    if not results or any(r.metric_value is None for r in results):
        problems.append("card: no metrics with values (model-index)")
    training = metadata.get("training") or {}
    if not training.get("command"):
        problems.append("metadata: no training command")
    if training.get("status") == "in progress":
        problems.append(f"metadata: training is in progress ({training.get('stages_trained')} of "
                        f"{metadata.get('num_modules')} stages trained)")
    elif training.get("command") and training["command"] not in card.text:
        problems.append("card: does not show the training command")
    return problems


# -- publishing ---------------------------------------------------------------


def push_to_hub(model_or_preset_dir, repo_id, metadata=None, sample=None, private=None,
                revision=None, commit_message=None, token=None, api=None):
    """Publishes a preset to the Hugging Face Hub.

    Args:
        model_or_preset_dir: a preset folder (see `save_preset`) or a
            `GHVAE`, which is saved as one with `metadata` and `sample`.
        repo_id: `"org/name"`; created when it does not exist.
        private: create the repository private.
        revision: the branch to commit to (default: main).
        token: a Hugging Face token (default: `HF_TOKEN` or the saved login).
        api: an `huggingface_hub.HfApi` to use.

    The folder must pass `validate_card` first. Returns the commit
    (`CommitInfo`; `.oid` is the revision to pin).
    """
    from huggingface_hub import HfApi

    from ghvae_keras import __version__

    with tempfile.TemporaryDirectory() as scratch:
        if isinstance(model_or_preset_dir, GHVAE):
            folder = save_preset(model_or_preset_dir, Path(scratch) / "preset",
                                 {**(metadata or {}), "hub": {"repo_id": repo_id, "revision": None}},
                                 sample=sample)
        else:
            folder = Path(model_or_preset_dir)
            named = (read_metadata(folder).get("hub") or {}).get("repo_id")
            if named != repo_id:
                # The card and hashes name the repository: publishing elsewhere needs a new card.
                raise PresetError(
                    f"{folder} is made for the repository {named!r}, not {repo_id!r}: set "
                    "hub.repo_id in its metadata.json and run write_card(folder) first"
                )
        problems = validate_card(folder)
        if problems:
            raise PresetError(f"{folder} is not ready to publish:\n- " + "\n- ".join(problems))
        api = api or HfApi(token=token, library_name="ghvae-keras", library_version=__version__)
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id, folder_path=folder, revision=revision,
            # Replace the preset files wholesale: no stale sample or weights stay behind.
            allow_patterns=list(PRESET_FILES), delete_patterns=list(PRESET_FILES),
            commit_message=commit_message or f"Upload {read_metadata(folder)['name']} (ghvae-keras {__version__})",
        )


def publish_preset(name_or_path, repo_id=None, dry_run=False, out=None, private=None,
                   revision=None, token=None, api=None):
    """Builds a preset's upload folder, validates it and, unless `dry_run`,
    uploads it (what `ghvae publish` and `tools/publish.py` do).

    Args:
        name_or_path: a registered preset name or a preset folder.
        repo_id: `"org/name"` (default: the preset's registered repository);
            the card is rendered for it when it differs.
        dry_run: build and validate only.
        out: where to build the upload folder (must not exist or be empty;
            default: a temporary folder).
        private, revision, token, api: as in `push_to_hub`.

    After an upload of a registered preset to the main branch, its
    metadata.json in the registry pins the commit. Returns a report: preset,
    repo_id, dry_run, folder (`out` or None), files with their sizes,
    problems (empty when ready) and, after an upload, the revision.

    Raises:
        PresetError: no repository is named, or `out` is not empty.
    """
    registry = _registry()
    registered = registry.get(os.fspath(name_or_path))
    source = registered or Path(name_or_path)
    metadata = read_metadata(source)
    repo_id = repo_id or (metadata.get("hub") or {}).get("repo_id")
    if not repo_id:
        raise PresetError(f"{source} names no Hub repository: give a repo_id (--repo-id)")
    out = None if out is None else Path(out)
    if out is not None and out.exists() and any(out.iterdir()):
        raise PresetError(f"{out} exists and is not empty")
    with tempfile.TemporaryDirectory() as scratch:
        upload = out or Path(scratch) / "upload"
        upload.mkdir(parents=True, exist_ok=True)
        for name in PRESET_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, upload / name)
        if (metadata.get("hub") or {}).get("repo_id") != repo_id:
            # The card names the repository: render it for the one published to.
            metadata["hub"] = {"repo_id": repo_id, "revision": None}
            write_card(upload, metadata)
        problems = validate_card(upload)
        report = {
            "preset": metadata["name"], "repo_id": repo_id, "dry_run": dry_run,
            "folder": str(upload) if out else None,
            "files": {p.name: p.stat().st_size for p in sorted(upload.iterdir())},
            "problems": problems,
        }
        if problems or dry_run:
            return report
        commit = push_to_hub(upload, repo_id, private=private, revision=revision, token=token, api=api)
        report["revision"] = commit.oid
        if registered is not None and revision is None:
            # Pin the registry to the commit. The card does not show the
            # revision, so it renders as uploaded and the hashes stay the same.
            pinned = read_metadata(upload)
            pinned["hub"] = {"repo_id": repo_id, "revision": commit.oid}
            write_card(source, pinned)
    return report


def _zoo_summary(models):
    """One row per evaluated preset: the smallest and the full stack, the
    end-to-end baseline and copy-last-frame, in PSNR and FVD."""
    rows = []
    for name, metadata in models.items():
        block = (metadata.get("metrics") or {}).get("stand_in_test")
        if not block:
            continue
        counts = sorted(block["modules"], key=int)
        columns = [block["modules"][counts[0]], block["modules"][counts[-1]],
                   block.get("end_to_end") or {}, block["copy_last_frame"]]
        rows.append(f"| `{name}` | `{block['dataset']}` | {block['context']} → {block['horizon']} | "
                    + " | ".join(_fmt(c.get("psnr"), 2) for c in columns) + " | "
                    + " | ".join(_fmt(c.get("fvd"), 1) for c in columns) + " |")
    if not rows:
        return []
    return [
        "## Summary",
        "",
        "On each stand-in's test split (details and SSIM per preset below): PSNR (best of N "
        "samples, dB) and FVD of 1 module and of all 4 modules of the greedy weights, of the "
        "end-to-end baseline trained at the same compute, and of copying the last context frame.",
        "",
        "| preset | test data | context → future | PSNR 1 module | PSNR 4 modules | PSNR end to end | "
        "PSNR copy | FVD 1 module | FVD 4 modules | FVD end to end | FVD copy |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def render_zoo_card(models, reference):
    """MODEL_CARD.md: every preset of `models` (`list_models()`), with the
    published reference numbers of `reference` (zoo/reference_results.json)."""
    lines = [
        "# ghvae-keras model card",
        "",
        "Generated by `python tools/make_model_card.py` from `zoo/*/metadata.json` and "
        "`zoo/reference_results.json`; do not edit by hand.",
        "",
        "GHVAE (Greedy Hierarchical VAEs, Wu et al., CVPR 2021, arXiv:2103.04174) predicts future "
        "video frames from a few context frames, optionally conditioned on robot actions. Each "
        "preset is a stack of encoder–decoder modules trained greedily: module k with modules "
        "1..k−1 frozen.",
        "",
        "## Intended use",
        "",
        "- Research on video prediction and model-based robot learning: sampling possible "
        "futures, planning robot actions with the model (visual MPC), a baseline to compare against.",
        "- A starting point to fine-tune or retrain on your own data (`load_weights=False` gives "
        "the architecture).",
        "- Not for decisions where a wrong prediction can hurt someone (driving, robots near "
        "people): the models are small, trained on simulation, and their futures are samples.",
        "",
        "## Presets",
        "",
        "| preset | trained on (simulated stand-in) | real data it stands in for | context → future (train / eval) | actions | parameters | weights |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, metadata in models.items():
        data, protocol = metadata.get("data") or {}, metadata.get("protocol") or {}
        stand_in, real = data.get("stand_in") or {}, data.get("real") or {}
        lines.append(
            f"| `{name}` | `{stand_in.get('name', '?')}` | {real.get('title', '?')} "
            f"(`{real.get('tfds', '?')}`) | {protocol.get('context')} → {protocol.get('train_future')} / "
            f"{protocol.get('context')} → {protocol.get('eval_future')} | "
            f"{metadata.get('action_dim') or 'none'} | {metadata.get('parameters', 0):,} | "
            f"{'yes' if metadata.get('has_weights') else 'not yet'} |"
        )
    lines += [
        "",
        "## Training data",
        "",
        "**The shipped weights are trained on simulated stand-ins built by this project** "
        "(`ghvae_keras.data`), not on BAIR, RoboNet, KITTI or Cityscapes: the real datasets "
        "are large and licensed separately. To train a preset on the real data:",
        "",
        "```python",
        "import ghvae_keras",
        "from ghvae_keras import data, training",
        "",
        'model = ghvae_keras.from_pretrained("<preset>", load_weights=False)',
        'train = data.load("<real data>", "train", sequence_length=<context + future>, batch_size=16)',
        'training.fit_greedy(model, train, steps_per_stage=100_000, checkpoint_dir="checkpoints")',
        "```",
        "",
    ]
    for name, metadata in models.items():
        data = metadata.get("data") or {}
        stand_in, real = data.get("stand_in") or {}, data.get("real") or {}
        training = metadata.get("training")
        status = (f"trained with `{training['command']}`" if training
                  else "not trained yet")
        lines += [
            f"- `{name}`: `{stand_in.get('name')}`, {stand_in.get('description', '')}; {status}. "
            f"Real data: `data.load(\"{real.get('name')}\", ...)`. {real.get('access', '')}",
        ]
    lines += ["", *_zoo_summary(models), "## Metrics per number of modules", ""]
    for name, metadata in models.items():
        section = _metrics_section(metadata, folder=f"zoo/{name}/")[2:]
        lines += [f"### {name}", "", *section,
                  *_planning_section(metadata.get("planning"), heading="### Planning")]
    lines += [
        "## Published reference numbers",
        "",
        f"From {reference['source']}; {reference['protocol']}. These are on the real data "
        "with the paper's models (GHVAE: about 599M parameters) and are not comparable with "
        "the figures above; they show where the method stands.",
        "",
        "| dataset | model | FVD ↓ | PSNR ↑ | SSIM ↑ | LPIPS ↓ |",
        "|---|---|---|---|---|---|",
    ]
    for row in reference["rows"]:
        lines.append(f"| {row['dataset']} | {row['model']} | {row['fvd']:.1f} | {row['psnr']:.1f} | "
                     f"{row['ssim']:.3f} | {row['lpips']:.3f} |")
    lines += [
        "",
        "## Limitations",
        "",
        "- Simulated training data: expect a domain gap on real video; fine-tune before use.",
        "- 64×64 frames and models far smaller than the paper's.",
        "- Action-conditioned presets assume the action spaces above (BAIR: dx, dy, dz, gripper; "
        "RoboNet: dx, dy, dz, rotation, gripper); other robots need retraining.",
        "",
    ]
    return "\n".join(lines)
