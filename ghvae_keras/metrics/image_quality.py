"""Frame-quality metrics: PSNR and SSIM per frame, and best-of-N selection."""

import numpy as np
import tensorflow as tf


def _check_pair(name, truth, prediction):
    truth = tf.convert_to_tensor(truth, tf.float32)
    prediction = tf.convert_to_tensor(prediction, tf.float32)
    if truth.shape.rank is None or truth.shape.rank < 3 or truth.shape[-1] != 3:
        raise ValueError(f"{name} needs frames [..., H, W, 3], got shape {truth.shape.as_list()}")
    try:
        tf.broadcast_static_shape(truth.shape, prediction.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {truth.shape.as_list()} and "
                         f"{prediction.shape.as_list()} do not broadcast") from None
    shape = tf.broadcast_static_shape(truth.shape, prediction.shape)
    return tf.broadcast_to(truth, shape), tf.broadcast_to(prediction, shape)


def psnr(truth, prediction):
    """Peak signal-to-noise ratio in dB of every frame, for values in [0, 1].

    Args:
        truth: `[..., H, W, 3]` floats in [0, 1].
        prediction: the same shape, or one that broadcasts with it (e.g.
            `[B, N, T, H, W, 3]` samples against `[B, 1, T, H, W, 3]` truth).

    Returns:
        float32 tensor `[...]`: `10 log10(1 / MSE)` per frame (inf where a
        frame is exact).
    """
    truth, prediction = _check_pair("psnr", truth, prediction)
    return tf.image.psnr(truth, prediction, max_val=1.0)


def ssim(truth, prediction):
    """Structural similarity of every frame (Wang et al. 2004: 11×11
    Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, averaged over the
    window positions and channels), for values in [0, 1].

    Args:
        truth: `[..., H, W, 3]` floats in [0, 1], H and W at least 11.
        prediction: the same shape, or one that broadcasts with it.

    Returns:
        float32 tensor `[...]` of SSIM values in [-1, 1].
    """
    truth, prediction = _check_pair("ssim", truth, prediction)
    if min(truth.shape[-3], truth.shape[-2]) < 11:
        raise ValueError(f"ssim needs frames of at least 11×11 pixels (its window), got "
                         f"{truth.shape[-3]}×{truth.shape[-2]}")
    return tf.image.ssim(truth, prediction, max_val=1.0)


def best_of_n(scores):
    """The per-frame scores of each video's best sample: the one with the
    highest score averaged over frames (higher is better, as for PSNR and
    SSIM).

    Args:
        scores: `[B, N, T]`: N samples of T frames for each of B videos.

    Returns:
        `(best [B, T], index [B])` as numpy arrays.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 3 or 0 in scores.shape:
        raise ValueError(f"best_of_n needs scores [B, N, T], got shape {list(scores.shape)}")
    # An exact frame has infinite PSNR; it still ranks its sample first.
    index = np.argmax(np.mean(scores, axis=2), axis=1)
    return scores[np.arange(len(scores)), index], index
