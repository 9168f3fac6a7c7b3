"""Video-prediction metrics: PSNR and SSIM per frame, best-of-N selection,
and FVD with a Keras port of the Kinetics-400 I3D.

Nothing here knows the GHVAE model: the functions take arrays of frames.
"""

from ghvae_keras.metrics.fvd import (
    VideoEmbedder,
    features_distance,
    frechet_distance,
    frechet_video_distance,
    gaussian_statistics,
)
from ghvae_keras.errors import WeightsMissing
from ghvae_keras.metrics.i3d import I3D, cache_dir, load_i3d
from ghvae_keras.metrics.image_quality import best_of_n, psnr, ssim

__all__ = [
    "I3D",
    "VideoEmbedder",
    "WeightsMissing",
    "best_of_n",
    "cache_dir",
    "features_distance",
    "frechet_distance",
    "frechet_video_distance",
    "gaussian_statistics",
    "load_i3d",
    "psnr",
    "ssim",
]
