"""ghvae-keras: Greedy Hierarchical VAEs for video prediction in Keras 3."""

import importlib.util
import os

if (
    os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow"
    and importlib.util.find_spec("tensorflow") is None
):
    raise ImportError(
        "ghvae-keras needs TensorFlow: pip install 'ghvae-keras[cpu]' (CPU build) "
        "or 'ghvae-keras[gpu]' (CUDA build); or set KERAS_BACKEND=jax to use "
        "the model without TensorFlow"
    )

__version__ = "0.1.0"

from ghvae_keras.layers import GHVAEModule  # noqa: E402
from ghvae_keras.model import GHVAE  # noqa: E402
from ghvae_keras.zoo import from_pretrained, list_models, load_sample, push_to_hub  # noqa: E402

__all__ = [
    "GHVAE",
    "GHVAEModule",
    "from_pretrained",
    "list_models",
    "load_sample",
    "push_to_hub",
    "__version__",
]
