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


# -- reading ------------------------------------------------------------------


def random_video(steps=4, height=16, width=16, seed=0):
    return np.random.default_rng(seed).random((steps, height, width, 3)).astype(np.float32)


def test_reads_gif_mp4_frame_folders_and_arrays(tmp_path):
    video = random_video()
    video_io.write_gif(tmp_path / "clip.gif", video)
    video_io.write_mp4(tmp_path / "clip.mp4", video)
    folder = tmp_path / "frames"
    folder.mkdir()
    for t, frame in enumerate(video_io.to_uint8(video)):
        iio.imwrite(folder / f"frame_{t * 5}.png", frame)  # 0, 5, 10, 15: ordered as numbers
    np.save(tmp_path / "clip.npy", video)
    actions = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.savez(tmp_path / "clip.npz", frames=video_io.to_uint8(video), actions=actions)

    for name, tolerance in [("clip.gif", 0.1), ("frames", 0.5 / 255), ("clip.npy", 0), ("clip.npz", 0.5 / 255)]:
        clip = video_io.read_clip(tmp_path / name)
        assert clip["frames"].dtype == np.float32 and clip["frames"].shape == (4, 16, 16, 3), name
        # GIF quantises colours to a palette; the others are exact up to uint8.
        assert np.abs(clip["frames"] - video).mean() <= tolerance, name
    np.testing.assert_array_equal(video_io.read_clip(tmp_path / "clip.npz")["actions"], actions)
    assert video_io.read_clip(tmp_path / "clip.mp4")["frames"].shape == (4, 16, 16, 3)
    # H.264 is lossy (noise suffers most): a smooth picture comes back close.
    smooth = np.broadcast_to(np.linspace(0, 1, 16, dtype=np.float32)[None, None, :, None], (4, 16, 16, 3))
    video_io.write_mp4(tmp_path / "smooth.mp4", smooth)
    assert np.abs(video_io.read_clip(tmp_path / "smooth.mp4")["frames"] - smooth).mean() < 0.03


def test_grayscale_and_rgba_are_converted_with_a_warning(tmp_path, caplog):
    gray = np.random.default_rng(0).integers(0, 256, (3, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "gray.npy", gray)
    rgba = np.random.default_rng(1).integers(0, 256, (3, 8, 8, 4), dtype=np.uint8)
    np.save(tmp_path / "rgba.npy", rgba)
    with caplog.at_level("WARNING", logger="ghvae_keras"):
        frames = video_io.read_clip(tmp_path / "gray.npy")["frames"]
        np.testing.assert_allclose(frames[..., 1], gray / 255.0, atol=1e-6)
        frames = video_io.read_clip(tmp_path / "rgba.npy")["frames"]
        np.testing.assert_allclose(frames, rgba[..., :3] / 255.0, atol=1e-6)
    assert "grayscale frames, converted to RGB" in caplog.text
    assert "RGBA frames, converted to RGB" in caplog.text
    np.save(tmp_path / "two.npy", np.zeros((3, 8, 8, 2), np.uint8))
    with pytest.raises(video_io.InputError, match="2 channels"):
        video_io.read_clip(tmp_path / "two.npy")


def test_frames_of_another_size_are_cropped_and_resized_with_a_warning(tmp_path, caplog):
    video = np.zeros((2, 32, 48, 3), np.float32)
    video[:, :, 8:40] = 1.0  # the centre square is white, the sides black
    np.save(tmp_path / "wide.npy", video)
    with caplog.at_level("WARNING", logger="ghvae_keras"):
        frames = video_io.read_clip(tmp_path / "wide.npy", image_size=16)["frames"]
    assert frames.shape == (2, 16, 16, 3) and frames.min() == 1.0
    assert "frames are 48x32" in caplog.text and "resized to 16x16" in caplog.text


@pytest.mark.parametrize("name, content, message", [
    ("broken.gif", b"GIF89a not really", "cannot read it as GIF"),
    ("broken.mp4", b"\x00\x00\x00\x18ftypisom not really", "cannot read it as MP4"),
    ("broken.npy", b"\x93NUMPY garbage", "cannot read it as a NumPy array"),
    ("clip.avi.txt", b"frames", "unknown kind of input"),
])
def test_unreadable_files_raise_input_errors(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(video_io.InputError, match=message):
        video_io.read_clip(tmp_path / name)


def test_missing_inputs_and_pickles_are_refused(tmp_path):
    with pytest.raises(video_io.InputError, match="no such file"):
        video_io.read_clip(tmp_path / "missing.gif")
    np.save(tmp_path / "objects.npy", np.array([{"frames": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(video_io.InputError, match="cannot read it as a NumPy array"):
        video_io.read_clip(tmp_path / "objects.npy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(video_io.InputError, match="holds none"):
        video_io.read_clip(tmp_path / "empty")
    np.save(tmp_path / "bright.npy", np.full((2, 4, 4, 3), 2.0, np.float32))
    with pytest.raises(video_io.InputError, match=r"must be in \[0, 1\]"):
        video_io.read_clip(tmp_path / "bright.npy")


def test_read_actions(tmp_path):
    actions = np.array([[0.5, -1.0], [1.5, 2.0], [0.0, 0.25]], np.float32)
    np.save(tmp_path / "a.npy", actions)
    np.savez(tmp_path / "a.npz", actions=actions)
    np.savetxt(tmp_path / "a.csv", actions, delimiter=",")
    np.savetxt(tmp_path / "a.txt", actions)
    for name in ("a.npy", "a.npz", "a.csv", "a.txt"):
        np.testing.assert_array_equal(video_io.read_actions(tmp_path / name), actions)
    actions[1, 1] = np.nan
    np.save(tmp_path / "nan.npy", actions)
    with pytest.raises(video_io.InputError, match=r"NaN or inf \(first in row 1\)"):
        video_io.read_actions(tmp_path / "nan.npy")
    (tmp_path / "words.csv").write_text("left,right\n")
    with pytest.raises(video_io.InputError, match="cannot read actions"):
        video_io.read_actions(tmp_path / "words.csv")


# -- writing ------------------------------------------------------------------


def test_mp4_and_npy_writes(tmp_path):
    video = random_video(steps=3, height=9, width=10)  # odd height: padded for H.264
    video_io.write_mp4(tmp_path / "clip.mp4", video)
    assert iio.imread(tmp_path / "clip.mp4", plugin="pyav").shape == (3, 10, 10, 3)
    video_io.write_array(tmp_path / "clip.npy", video)
    np.testing.assert_array_equal(np.load(tmp_path / "clip.npy"), video)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "clip.npy"]
    with pytest.raises(video_io.InputError, match=r"\.gif or \.mp4"):
        video_io.write_video(tmp_path / "clip.avi", video)


def test_prediction_grid_puts_the_truth_above_the_samples():
    context = np.zeros((2, 4, 4, 3))
    samples = np.full((3, 5, 4, 4, 3), 0.5)
    truth = np.full((2, 4, 4, 3), 0.25)  # shorter than the horizon
    out = video_io.prediction_grid(context, samples, truth)
    assert out.shape == (7, 4 * 4 + 3 * 2, 4, 3)
    assert out[2:4, :4].max() == 0.25 and out[4:, :4].min() == 1.0  # missing truth left white
    assert out[2:, 6:10].min() == 0.5
    assert video_io.prediction_grid(context, samples).shape == (7, 3 * 4 + 2 * 2, 4, 3)


def test_one_rgb_frame_is_refused_not_read_as_a_clip(tmp_path):
    np.save(tmp_path / "frame.npy", np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(video_io.InputError, match=r"shape \[64, 64, 3\], one RGB frame; a clip is \[T, H, W, 3\]"):
        video_io.read_clip(tmp_path / "frame.npy")
    np.savez(tmp_path / "frame.npz", frames=np.zeros((64, 64, 4), np.uint8))
    with pytest.raises(video_io.InputError, match="one RGB frame"):
        video_io.read_clip(tmp_path / "frame.npz")
    # A grayscale clip [T, H, W] is still a clip.
    np.save(tmp_path / "gray.npy", np.zeros((5, 64, 64), np.uint8))
    assert video_io.read_clip(tmp_path / "gray.npy")["frames"].shape == (5, 64, 64, 3)
