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


def test_detail_is_zero_on_flat_frames_and_falls_with_a_blur():
    from presets import load_tool

    tool = load_tool("probe_fvd")
    assert tool.detail(np.full((1, 2, 8, 8, 3), 0.25, np.float32)) == 0
    stripes = np.zeros((1, 1, 8, 8, 3), np.float32)
    stripes[:, :, :, ::2] = 1.0  # every horizontal neighbour differs by 1, no vertical one
    assert tool.detail(stripes) == pytest.approx(1.0)
    assert 0 < tool.detail(tool.gaussian_blur(stripes, 1.0)) < 0.5
    where = np.zeros((1, 1, 8, 8), bool)
    where[:, :, :4, :4] = True  # pixels with a neighbour inside the frame only count
    assert tool.detail(stripes, where) == pytest.approx(1.0)
    flat_corner = stripes.copy()
    flat_corner[:, :, :5, :5] = 0.0  # and the neighbours of the 4×4 corner
    assert tool.detail(flat_corner, where) == 0 < tool.detail(flat_corner)


def test_moving_pixels_are_where_the_future_left_the_last_context_frame():
    from presets import load_tool

    past = np.zeros((1, 2, 4, 4, 3), np.float32)
    future = np.zeros((1, 3, 4, 4, 3), np.float32)
    future[0, 1, 2, 3, 1] = 0.5
    future[0, 2, 0, 0, 0] = 0.05  # below the threshold
    moving = load_tool("probe_fvd").moving_pixels(past, future)
    assert moving.shape == (1, 3, 4, 4) and moving.sum() == 1 and moving[0, 1, 2, 3]


@pytest.mark.slow
def test_the_true_future_scores_fvd_zero_and_every_degradation_more(tmp_path, capsys):
    """Random I3D weights: the figures mean nothing, but the true future's row
    is the real clips themselves (FVD 0 up to rounding), and each degraded
    future is farther. The preset's and an end-to-end checkpoint's
    predictions get rows of their own."""
    from ghvae_keras import GHVAE, training, zoo

    rng = np.random.default_rng(0)
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=5,
                  context_length=2, horizon=8, seed=3)
    metadata = tiny_metadata()
    metadata["protocol"] = {"context": 2, "train_future": 8, "eval_future": 8}
    sample = {"frames": rng.random((10, 16, 16, 3)), "actions": rng.uniform(-1, 1, (9, 5))}
    preset = zoo.save_preset(model, tmp_path / "tiny-robonet", metadata, sample=sample)
    baseline = model.clone(latents="all")
    baseline.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in baseline.get_weights()])
    training.CheckpointManager(str(tmp_path / "end_to_end")).save(
        baseline, "end_to_end", 5, complete=True, config=baseline.get_config())

    def moving_episodes(self, **kwargs):
        frames = rng.integers(0, 256, (4, 12, 64, 64, 3), np.uint8)
        video = tf.RaggedTensor.from_row_lengths(frames.reshape(-1, 64, 64, 3), [12] * 4)
        actions = tf.RaggedTensor.from_row_lengths(rng.uniform(-1, 1, (44, 5)).astype(np.float32), [11] * 4)
        return tf.data.Dataset.from_tensor_slices({"video": video, "actions": actions})

    with tfds.testing.mock_data(as_dataset_fn=moving_episodes):
        code, line = run_tool("probe_fvd", [str(preset), "--data", "robonet", "--videos", "3",
                                            "--sigmas", "1", "--random-weights", "--predictions",
                                            "--baseline", str(tmp_path / "end_to_end")], capsys)
    assert code == 0
    result = json.loads(line)
    assert (result["videos"], result["context"], result["horizon"]) == (3, 2, 8)
    rows = result["rows"]
    assert list(rows) == ["true_future", "copy_last_frame", "blur_1", "other_video",
                          "predicted_2_modules", "predicted_end_to_end"]
    assert rows["true_future"]["psnr"] is None  # exact frames
    for name in list(rows)[1:]:
        # Random weights give tiny distances; the true future's is rounding error below them.
        assert 0 <= rows["true_future"]["fvd"] < 1e-3 * rows[name]["fvd"], name
        assert 0 < rows[name]["psnr"] < 60, name
    # Noise frames: blurring keeps each pixel nearer its truth than another video's pixel is,
    # and smooths away most of their detail.
    assert rows["blur_1"]["psnr"] > rows["other_video"]["psnr"]
    assert rows["true_future"]["detail"] == 1 and rows["blur_1"]["detail"] < 0.5
    assert rows["true_future"]["moving_detail"] == 1 and rows["blur_1"]["moving_detail"] < 0.5
    assert rows["true_future"]["moving_psnr"] is None
    assert 0 < rows["other_video"]["moving_psnr"] < rows["blur_1"]["moving_psnr"] < 60
    # The checkpoint's weights, not the preset's, draw the baseline's row.
    assert rows["predicted_end_to_end"] != rows["predicted_2_modules"]


def test_the_baseline_is_read_from_its_checkpoint_and_other_folders_are_refused(tmp_path):
    from ghvae_keras import GHVAE, training
    from presets import load_tool

    tool = load_tool("probe_fvd")
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, latents="all", seed=1)
    rng = np.random.default_rng(0)  # trained weights, which a fresh model of the same seed lacks
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])
    manager = training.CheckpointManager(str(tmp_path / "end_to_end"))
    manager.save(model, "end_to_end", 5, complete=True, config=model.get_config())
    loaded = tool.baseline_model(tmp_path / "end_to_end")
    assert loaded.latents == "all"
    for saved, read in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, read)
    manager.save(model.clone(latents="top"), "stage_2", 5, complete=True, config=model.get_config())
    for folder in (tmp_path / "end_to_end", tmp_path / "empty"):  # a greedy checkpoint; none at all
        with pytest.raises(SystemExit, match="holds no end-to-end checkpoint"):
            tool.baseline_model(folder)


def test_bad_sigmas_are_refused(capsys):
    from presets import load_tool

    with pytest.raises(SystemExit) as stopped:
        load_tool("probe_fvd").main(["kitti-4mod", "--sigmas", "1,-2"])
    assert stopped.value.code == 2
    assert "--sigmas must be positive" in capsys.readouterr().err
