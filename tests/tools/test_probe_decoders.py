"""tools/probe_decoders.py."""

import json

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from presets import run_tool


def test_a_still_video_renders_its_future_as_well_as_its_context(preset, capsys):
    """Where nothing moves, each future frame's features are the context
    frame's: the two probes must agree, for every module count."""
    rng = np.random.default_rng(0)

    def still_episodes(self, **kwargs):
        frames = np.repeat(rng.integers(0, 256, (3, 1, 64, 64, 3), np.uint8), 8, axis=1)
        video = tf.RaggedTensor.from_row_lengths(frames.reshape(-1, 64, 64, 3), [8, 8, 8])
        actions = tf.RaggedTensor.from_row_lengths(np.zeros((21, 5), np.float32), [7, 7, 7])
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
