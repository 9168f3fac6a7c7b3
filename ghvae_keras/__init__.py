"""ghvae-keras: Greedy Hierarchical VAEs for video prediction in Keras 3.

The public names load on first use, so `import ghvae_keras` is quick and
imports neither Keras nor TensorFlow: the `ghvae` command quiets
TensorFlow's start-up logging before it starts, and the simulators' worker
processes never load it.
"""

import importlib
import importlib.util
import os

from ghvae_keras.errors import GHVAEError
from ghvae_keras.version import __version__

if (
    os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow"
    and importlib.util.find_spec("tensorflow") is None
):
    raise ImportError(
        "ghvae-keras needs TensorFlow: pip install 'ghvae-keras[cpu]' (CPU build) "
        "or 'ghvae-keras[gpu]' (CUDA build); or set KERAS_BACKEND=jax to use "
        "the model without TensorFlow"
    )

# Where each public name lives.
_PUBLIC = {
    "GHVAE": "ghvae_keras.model",
    "GHVAEModule": "ghvae_keras.layers",
    "Preset": "ghvae_keras.zoo",
    "from_pretrained": "ghvae_keras.zoo",
    "list_models": "ghvae_keras.zoo",
    "load_preset": "ghvae_keras.zoo",
    "load_sample": "ghvae_keras.zoo",
    "push_to_hub": "ghvae_keras.zoo",
}

__all__ = ["GHVAEError", "__version__", *_PUBLIC]


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    try:  # a subpackage or module: ghvae_keras.zoo, ghvae_keras.training, ...
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__():
    return sorted([*globals(), *_PUBLIC])
