"""tools/probe_decoders.py."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from presets import run_tool


@pytest.mark.parametrize("same_actions", [True, False])
def test_a_still_video_renders_its_future_as_well_as_its_context(tmp_path, capsys, same_actions):
    """Where nothing moves, each future frame's features are the context
    frame's: the two probes must agree, for every module count. Predicted
    with another video's actions, the error is the same when all videos
    have the same actions and differs when they do not."""
    from ghvae_keras import GHVAE, zoo
    from presets import tiny_metadata

    rng = np.random.default_rng(0)
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=5,
                  context_length=2, horizon=3, seed=3)
    # Small random weights: large ones saturate every gate, and then no action changes anything.
    model.set_weights([rng.normal(0, 0.3, size=w.shape).astype(w.dtype) for w in model.get_weights()])
    sample = {"frames": rng.random((5, 16, 16, 3)), "actions": rng.uniform(-1, 1, (4, 5))}
    preset = zoo.save_preset(model, tmp_path / "tiny-robonet", tiny_metadata(), sample=sample)

    def still_episodes(self, **kwargs):
        frames = np.repeat(rng.integers(0, 256, (3, 1, 64, 64, 3), np.uint8), 8, axis=1)
        video = tf.RaggedTensor.from_row_lengths(frames.reshape(-1, 64, 64, 3), [8, 8, 8])
        levels = [0.5] * 3 if same_actions else [-0.9, 0.0, 0.9]  # each video's (constant) action
        per_video = np.ones((3, 7, 5), np.float32) * np.array(levels, np.float32)[:, None, None]
        actions = tf.RaggedTensor.from_row_lengths(per_video.reshape(21, 5), [7, 7, 7])
        return tf.data.Dataset.from_tensor_slices({"video": video, "actions": actions})

    with tfds.testing.mock_data(as_dataset_fn=still_episodes):
        code, line = run_tool("probe_decoders", [str(preset), "--data", "robonet", "--videos", "2"], capsys)
    assert code == 0
    result = json.loads(line)
    assert (result["videos"], result["horizon"], sorted(result["modules"])) == (2, 3, ["1", "2"])
    assert result["copy_last_frame"] > 90  # a still video: copying is exact (PSNR of equal frames is inf)
    for scores in result["modules"].values():
        assert 5 < scores["reconstruct_context"] < 90
        assert scores["render_future"] == scores["render_first_future"] == scores["reconstruct_context"]
        # The latent's figures: a KL (>= 0), and two random-weight samples that differ.
        assert scores["kl_per_step"] >= 0 and np.isfinite(scores["kl_per_step"])
        assert 0 < scores["sample_difference"] and 0 < scores["prediction_error"] < 1
        same = scores["shuffled_actions_error"] == scores["prediction_error"]
        assert same == same_actions
