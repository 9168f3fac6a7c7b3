"""ghvae-keras: Greedy Hierarchical VAEs for video prediction in Keras 3."""

from ghvae_keras.layers import GHVAEModule
from ghvae_keras.model import GHVAE

__version__ = "0.1.0"
__all__ = ["GHVAE", "GHVAEModule", "__version__"]
