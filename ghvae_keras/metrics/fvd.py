"""Fréchet Video Distance (Unterthiner et al., 2018, arXiv:1812.01717).

Videos are embedded with the Kinetics-400 I3D (its logits, averaged over
time, of frames resized bilinearly to 224×224 as the reference code does and
scaled to [-1, 1]); FVD is the Fréchet distance between Gaussians fitted to
the real and the generated embeddings.
"""

import numpy as np
import tensorflow as tf

from ghvae_keras.metrics.i3d import load_i3d

I3D_SIZE = 224
# The I3D's strides leave 2 time steps for its final 2×7×7 pool from 9 frames on.
MIN_FRAMES = 9


class VideoEmbedder:
    """Embeds videos with I3D, a few at a time.

    Args:
        model: an `I3D` (default: the converted Kinetics-400 weights from
            the cache, `load_i3d()`).
        batch_size: videos per I3D call (memory: about 0.3 GB per video of
            16 frames on CPU).
    """

    def __init__(self, model=None, batch_size=8):
        self.model = load_i3d() if model is None else model
        self.batch_size = batch_size
        self._forward = tf.function(self._embed_batch, reduce_retracing=True)

    def _embed_batch(self, videos):
        shape = tf.shape(videos)
        frames = tf.reshape(videos, tf.concat([[-1], shape[2:]], axis=0))
        # The resize of FVD's reference code (TensorFlow 1's resize_bilinear:
        # corner-aligned pixel grid, not half-pixel centres), so that the
        # numbers compare with published ones.
        frames = tf.compat.v1.image.resize_bilinear(
            frames, (I3D_SIZE, I3D_SIZE), align_corners=False, half_pixel_centers=False)
        frames = tf.reshape(frames, tf.concat([shape[:2], [I3D_SIZE, I3D_SIZE, 3]], axis=0))
        return self.model(frames * 2.0 - 1.0, training=False)

    def __call__(self, videos):
        """float64 embeddings `[B, classes]` of `videos` `[B, T, H, W, 3]`
        in [0, 1], T >= 9."""
        videos = np.asarray(videos, dtype=np.float32)
        if videos.ndim != 5 or videos.shape[-1] != 3:
            raise ValueError(f"videos must be [B, T, H, W, 3], got shape {list(videos.shape)}")
        if videos.shape[1] < MIN_FRAMES:
            raise ValueError(f"I3D needs videos of at least {MIN_FRAMES} frames, got {videos.shape[1]}")
        if len(videos) and (videos.min() < 0.0 or videos.max() > 1.0):
            raise ValueError(f"videos must be in [0, 1], got values in "
                             f"[{videos.min():g}, {videos.max():g}]")
        parts = [
            self._forward(tf.constant(videos[start : start + self.batch_size])).numpy()
            for start in range(0, len(videos), self.batch_size)
        ]
        if not parts:
            return np.zeros((0, self.model.num_classes))
        return np.concatenate(parts).astype(np.float64)


def gaussian_statistics(features):
    """Mean and covariance (float64, unbiased) of features `[N, D]`, N >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need features [N, D] with N >= 2, got shape {list(features.shape)}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_eigh(matrix):
    """Eigendecomposition of a symmetric positive semi-definite matrix, with
    the eigenvalues that are rounding noise (below D * eps * the largest, of
    either sign) set to zero: covariances of fewer samples than dimensions
    are singular, and the square roots of their noise would add up."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    floor = len(values) * np.finfo(np.float64).eps * max(np.max(np.abs(values), initial=0.0), 1e-300)
    return np.where(values > floor, values, 0.0), vectors


def _psd_sqrt(matrix):
    values, vectors = _psd_eigh(matrix)
    return (vectors * np.sqrt(values)) @ vectors.T


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """Fréchet distance between N(mean_a, cov_a) and N(mean_b, cov_b):
    `|mean_a - mean_b|^2 + tr(cov_a + cov_b - 2 (cov_a cov_b)^(1/2))`.

    Computed in float64 with `tr (cov_a cov_b)^(1/2) = tr (A^(1/2) cov_b
    A^(1/2))^(1/2)`, a square root of a symmetric positive semi-definite
    matrix by eigendecomposition: stable for singular covariances (fewer
    videos than feature dimensions), where the general matrix square root
    of `cov_a cov_b` returns complex noise.
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    root_a = _psd_sqrt(cov_a)
    trace_sqrt = np.sum(np.sqrt(_psd_eigh(root_a @ cov_b @ root_a)[0]))
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))


def features_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets."""
    return frechet_distance(*gaussian_statistics(features_a), *gaussian_statistics(features_b))


def frechet_video_distance(real_videos, generated_videos, embedder=None):
    """FVD between two sets of videos.

    Args:
        real_videos: `[N, T, H, W, 3]` in [0, 1], N >= 2, T >= 9.
        generated_videos: `[M, T', H', W', 3]` in [0, 1], M >= 2.
        embedder: a `VideoEmbedder` (default: one with the Kinetics-400 I3D
            from the cache; `python -m ghvae_keras.metrics.convert_i3d` makes its weights).

    Returns:
        The distance, a float (0 for identical sets; lower is better).
    """
    embedder = VideoEmbedder() if embedder is None else embedder
    return features_distance(embedder(real_videos), embedder(generated_videos))
