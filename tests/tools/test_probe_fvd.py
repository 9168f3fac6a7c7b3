"""tools/probe_fvd.py."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from presets import run_tool, tiny_metadata


def test_gaussian_blur_keeps_flat_frames_and_softens_an_edge():
    from presets import load_tool

    blur = load_tool("probe_fvd").gaussian_blur
    flat = np.full((1, 2, 8, 8, 3), 0.25, np.float32)
    np.testing.assert_allclose(blur(flat, 1.0), flat, atol=1e-6)
    edge = np.zeros((1, 1, 8, 8, 3), np.float32)
    edge[..., 4:, :] = 1.0
    row = blur(edge, 1.0)[0, 0, 0, :, 0]
    assert row[0] < 0.01 and row[-1] > 0.99 and 0.1 < row[3] < 0.5 < row[4] < 0.9
    np.testing.assert_allclose(row[3] + row[4], 1.0, atol=1e-5)  # symmetric about the edge


@pytest.mark.slow
def test_the_true_future_scores_fvd_zero_and_every_degradation_more(tmp_path, capsys):
    """Random I3D weights: the figures mean nothing, but the true future's row
    is the real clips themselves (FVD 0 up to rounding), and each degraded
    future is farther."""
    from ghvae_keras import GHVAE, zoo

    rng = np.random.default_rng(0)
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=5,
                  context_length=2, horizon=8, seed=3)
    metadata = tiny_metadata()
    metadata["protocol"] = {"context": 2, "train_future": 8, "eval_future": 8}
    sample = {"frames": rng.random((10, 16, 16, 3)), "actions": rng.uniform(-1, 1, (9, 5))}
    preset = zoo.save_preset(model, tmp_path / "tiny-robonet", metadata, sample=sample)

    def moving_episodes(self, **kwargs):
        frames = rng.integers(0, 256, (4, 12, 64, 64, 3), np.uint8)
        video = tf.RaggedTensor.from_row_lengths(frames.reshape(-1, 64, 64, 3), [12] * 4)
        actions = tf.RaggedTensor.from_row_lengths(rng.uniform(-1, 1, (44, 5)).astype(np.float32), [11] * 4)
        return tf.data.Dataset.from_tensor_slices({"video": video, "actions": actions})

    with tfds.testing.mock_data(as_dataset_fn=moving_episodes):
        code, line = run_tool("probe_fvd", [str(preset), "--data", "robonet", "--videos", "3",
                                            "--sigmas", "1", "--random-weights"], capsys)
    assert code == 0
    result = json.loads(line)
    assert (result["videos"], result["context"], result["horizon"]) == (3, 2, 8)
    rows = result["rows"]
    assert list(rows) == ["true_future", "copy_last_frame", "blur_1", "other_video"]
    assert rows["true_future"]["psnr"] is None  # exact frames
    for name in ("copy_last_frame", "blur_1", "other_video"):
        # Random weights give tiny distances; the true future's is rounding error below them.
        assert 0 <= rows["true_future"]["fvd"] < 1e-3 * rows[name]["fvd"], name
        assert 0 < rows[name]["psnr"] < 60, name
    # Noise frames: blurring keeps each pixel nearer its truth than another video's pixel is.
    assert rows["blur_1"]["psnr"] > rows["other_video"]["psnr"]


def test_bad_sigmas_are_refused(capsys):
    from presets import load_tool

    with pytest.raises(SystemExit) as stopped:
        load_tool("probe_fvd").main(["kitti-4mod", "--sigmas", "1,-2"])
    assert stopped.value.code == 2
    assert "--sigmas must be positive" in capsys.readouterr().err
