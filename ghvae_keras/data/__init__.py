"""Video data as `{"frames": [B, T, H, W, 3], "actions": [B, T-1, A]}`."""

from ghvae_keras.data.synthetic import pushed_squares

__all__ = ["pushed_squares"]
