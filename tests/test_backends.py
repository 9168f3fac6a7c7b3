"""The model code is `keras.ops` only: the same weights give the same
outputs on the JAX backend as on TensorFlow."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from keras import ops
from tiny_data import make_clips, perturb_zero_init

from ghvae_keras import GHVAE

JAX_SCRIPT = """
import json, sys
import numpy as np
import keras
assert keras.config.backend() == "jax", keras.config.backend()
from ghvae_keras import GHVAE
config_path, weights, inputs, out = sys.argv[1:]
model = GHVAE.from_config(json.load(open(config_path)))
model.load_weights(weights)
data = dict(np.load(inputs))
context, actions = data.pop("context"), data.pop("rollout_actions")
training = model(data, training=True)
video = model.predict_video(context, actions, horizon=3)
np.savez(out, frames=np.asarray(training["frames"]), kl=np.asarray(training["kl"]), video=video)
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
@pytest.mark.parametrize(
    "options",
    [{}, {"warp_skip": True}, {"action_film": True, "feed_predictions": True, "teacher_forced_fraction": 0.5}],
    ids=["plain", "warp_skip", "action_film_half_teacher_forced"],
)
def test_jax_forward_pass_matches_tensorflow(tiny_config, tmp_path, options):
    model = GHVAE(**tiny_config, **options, sampling="mode")
    perturb_zero_init(model)
    model.save_weights(str(tmp_path / "model.weights.h5"))
    (tmp_path / "config.json").write_text(json.dumps(model.get_config()))
    clips = make_clips(batch=2, steps=5)
    noise = {
        name: np.random.default_rng(2).standard_normal((2,) + shape).astype("float32")
        for name, shape in model.noise_shapes(3).items()
    }
    np.savez(
        tmp_path / "inputs.npz", **clips, **noise,
        context=clips["frames"][:, :2], rollout_actions=clips["actions"],
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    done = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(tmp_path / "config.json"),
         str(tmp_path / "model.weights.h5"), str(tmp_path / "inputs.npz"), str(tmp_path / "out.npz")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jax_out = np.load(tmp_path / "out.npz")
    tf_out = model({**clips, **noise}, training=True)
    np.testing.assert_allclose(jax_out["frames"], ops.convert_to_numpy(tf_out["frames"]), atol=1e-4)
    np.testing.assert_allclose(jax_out["kl"], ops.convert_to_numpy(tf_out["kl"]), rtol=1e-3, atol=1e-4)
    video = model.predict_video(clips["frames"][:, :2], clips["actions"], horizon=3)
    np.testing.assert_allclose(jax_out["video"], video, atol=1e-4)
    assert np.abs(video[:, 0] - clips["frames"][:, 1:2]).max() > 1e-2, "not a copy of the context"
