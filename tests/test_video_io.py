import imageio.v3 as iio
import numpy as np
import pytest

from ghvae_keras import video_io


def test_gif_roundtrip(tmp_path):
    video = np.random.default_rng(0).random((5, 8, 12, 3)).astype(np.float32)
    path = tmp_path / "clip.gif"
    video_io.write_gif(str(path), video, fps=5)
    read = iio.imread(path)
    assert read.shape[:3] == (5, 8, 12)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(video_io.iio, "imwrite", broken)
    with pytest.raises(OSError, match="disk full"):
        video_io.write_gif(str(tmp_path / "clip.gif"), np.zeros((2, 4, 4, 3)))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"\[T, H, W, 3\]"):
        video_io.write_gif(str(tmp_path / "clip.gif"), np.zeros((4, 4, 3)))


def test_grid_stacks_rows_with_a_gap():
    rows = [np.zeros((3, 4, 5, 3)), np.ones((3, 4, 5, 3))]
    out = video_io.grid(rows, gap=2)
    assert out.shape == (3, 10, 5, 3)
    assert out[:, 4:6].min() == 1.0 and out[:, :4].max() == 0.0
