"""Loading a preset: resolve its name (registry, Hub, `hf://` URI or
folder), download what is missing, verify every file's sha256 once, and
hand back the model with its metadata, folder and sample (`load_preset`).
"""

import dataclasses
import importlib
import logging
import os
import re
from pathlib import Path

import keras

from ghvae_keras.errors import InputError, PresetError
from ghvae_keras.model import GHVAE
from ghvae_keras.version import __version__
from ghvae_keras.zoo.folder import (
    CONFIG_FILE,
    PRESET_FILES,
    WEIGHTS_FILE,
    model_from_config_file,
    read_metadata,
    read_sample,
    verify_preset,
)
from ghvae_keras.zoo.registry import registered

_HF_URI = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[\w./-]+))?$")

logger = logging.getLogger(__name__)
_fallbacks_announced = set()


@dataclasses.dataclass(frozen=True)
class Preset:
    """A loaded preset (`load_preset`).

    Attributes:
        name: the preset's name, as its metadata gives it.
        folder: the verified local folder its files were read from.
        metadata: its metadata.json.
        model: the `GHVAE`, with its weights unless loaded without them.
        sample: its sample clip `{"frames": float32 [T, H, W, 3] in [0, 1],
            "actions": float32 [T-1, A]}`, or None.
    """

    name: str
    folder: Path
    metadata: dict
    model: GHVAE
    sample: dict | None

    @property
    def protocol(self):
        """`{"context", "train_future", "eval_future"}`: the metadata's, else
        the model's own context length and horizon. Prediction defaults to
        `train_future` frames, evaluation to `eval_future`."""
        recorded = self.metadata.get("protocol") or {}
        return {"context": recorded.get("context", self.model.context_length),
                "train_future": recorded.get("train_future", self.model.horizon),
                "eval_future": recorded.get("eval_future", self.model.horizon)}

    @property
    def stand_in(self):
        """The name of the dataset the shipped weights were trained on (for
        `ghvae_keras.data.load`), or None where the metadata names none."""
        return ((self.metadata.get("data") or {}).get("stand_in") or {}).get("name")


def load_preset(name_or_path, *, num_modules=None, revision=None, load_weights=True, token=None, dtype=None):
    """Loads a preset: the model, its metadata, folder and sample.

    Args:
        name_or_path: a registered preset name (see `list_models()`), fetched
            from its Hub repository at its pinned revision;
            `"hf://org/name[@revision]"`; or a local preset folder.
        num_modules: truncate the model to its first k modules.
        revision: a Hub branch, tag or commit that overrides the pinned one.
        load_weights: `False` gives the preset's architecture untrained
            (to train it on your own data).
        token: a Hugging Face token for private repositories (default: the
            `HF_TOKEN` environment variable or the saved login).
        dtype: a Keras dtype policy for inference, e.g. `"mixed_bfloat16"`:
            computations in bfloat16, weights and returned frames in float32
            (about twice as fast on processors with bfloat16 matrix units;
            `tools/bench_conv_dtypes.py` tells). TFLite export needs float32.

    When the Hub cannot be reached and the repository's `zoo/` or the
    installed package holds the registered preset, that copy is loaded and
    a warning says so once. `HF_HUB_OFFLINE` and `HF_HUB_CACHE` are honoured.
    Every file is checked against its sha256 once, before it is read.

    Returns:
        A `Preset`.

    Raises:
        PresetError: unknown, incomplete or failing verification; a
            registered preset without published weights.
        InputError: `num_modules` outside 1..K; an unknown `dtype`.
    """
    if dtype is not None:
        try:
            dtype = keras.dtype_policies.get(dtype).name
        except ValueError:
            raise InputError(f"dtype must be a Keras dtype policy such as 'float32' or 'mixed_bfloat16', "
                             f"got {dtype!r}") from None
    folder = resolve_preset(name_or_path, revision=revision, require_weights=load_weights, token=token)
    model = model_from_config_file(folder / CONFIG_FILE)
    if load_weights:
        model.load_weights(folder / WEIGHTS_FILE)
    changes = {**({} if num_modules is None else {"active_modules": num_modules}),
               **({} if dtype is None else {"dtype": dtype})}
    if changes:
        model = model.clone(**changes)
    metadata = read_metadata(folder)
    return Preset(name=metadata.get("name", folder.name), folder=folder, metadata=metadata, model=model,
                  sample=read_sample(folder))


def from_pretrained(name_or_path, num_modules=None, revision=None, load_weights=True, token=None, dtype=None):
    """Loads a pretrained GHVAE: `load_preset(...).model`.

    Example:

    >>> model = ghvae_keras.from_pretrained("bair-4mod")
    >>> video = model.predict_video(context, actions, horizon=28, num_samples=4)
    """
    return load_preset(name_or_path, num_modules=num_modules, revision=revision,
                       load_weights=load_weights, token=token, dtype=dtype).model


def load_sample(name_or_path, revision=None, token=None):
    """The preset's sample clip as a batch of one: `{"frames": float32
    [1, T, H, W, 3] in [0, 1], "actions": float32 [1, T-1, A]}` (no
    `"actions"` for action-free presets)."""
    folder = resolve_preset(name_or_path, revision=revision, require_weights=False, token=token)
    sample = read_sample(folder)
    if sample is None:
        raise PresetError(f"{name_or_path} has no sample clip")
    return {key: value[None] for key, value in sample.items()}


def resolve_preset(name_or_path, revision=None, require_weights=True, token=None):
    """The verified local folder of a preset name, `hf://` URI or folder."""
    name_or_path = os.fspath(name_or_path)
    match = _HF_URI.match(name_or_path)
    if match:
        if revision is not None and match["revision"] is not None:
            raise PresetError(f"give the revision once: in {name_or_path!r} or as revision={revision!r}")
        folder = _download(match["repo"], revision or match["revision"] or "main", token, require_weights)
        verify_preset(folder, require_weights=require_weights)
        return folder
    if name_or_path.startswith("hf://"):
        raise PresetError(f"expected 'hf://org/name' or 'hf://org/name@revision', got {name_or_path!r}")
    registry = registered()
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
        data = (metadata.get("data") or {}).get("real") or {}
        raise PresetError(
            f"preset {name!r} has no weights yet: {reason}, and {local} holds its configuration "
            f"only. Train them: `ghvae train {name} --data {data.get('name', 'NAME')} --out my-{name}` "
            "(then `ghvae predict my-" + name + " ...`), or in Python "
            "from_pretrained(..., load_weights=False) for the architecture."
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

    files = [name for name in PRESET_FILES if include_weights or name != WEIGHTS_FILE]
    folder = huggingface_hub.snapshot_download(
        repo_id, revision=revision, allow_patterns=files, token=token,
        library_name="ghvae-keras", library_version=__version__,
    )
    return Path(folder)


