import numpy as np
import pytest

from ghvae_keras.data import pushed_squares


def test_shapes_ranges_and_determinism():
    a = pushed_squares(3, 6, image_size=16, seed=1)
    b = pushed_squares(3, 6, image_size=16, seed=1)
    c = pushed_squares(3, 6, image_size=16, seed=2)
    assert a["frames"].shape == (3, 6, 16, 16, 3) and a["frames"].dtype == np.float32
    assert a["actions"].shape == (3, 5, 2) and np.abs(a["actions"]).max() <= 1.0
    assert 0.0 <= a["frames"].min() and a["frames"].max() <= 1.0
    np.testing.assert_array_equal(a["frames"], b["frames"])
    assert not np.array_equal(a["frames"], c["frames"])


def test_the_square_follows_the_actions():
    clips = pushed_squares(16, 10, image_size=40, square_size=8, seed=3)
    changed = np.abs(np.diff(clips["frames"], axis=1)).sum(axis=(2, 3, 4)) > 0
    pushed = np.abs(clips["actions"]).max(axis=2) * 4 >= 1  # at least a pixel
    # A push of a pixel or more moves the square, unless a wall stops it.
    assert pushed.sum() > 50
    assert changed[pushed].mean() >= 0.8


def test_rejects_one_frame_clips():
    with pytest.raises(ValueError, match="steps must be >= 2"):
        pushed_squares(1, 1)
