import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from ghvae_keras import GHVAE, export
from ghvae_keras.errors import ExportError
from tiny_data import TINY, perturb_zero_init

HORIZON = 3


def tiny_model(action_dim=3, **options):
    model = GHVAE(**TINY, action_dim=action_dim, horizon=HORIZON, seed=5, **options)
    perturb_zero_init(model)  # so that latents and actions reach the frames
    return model


def inputs_for(model, batch, seed=0):
    rng = np.random.default_rng(seed)
    inputs = {"context_frames": rng.random((batch, 2, 16, 16, 3), dtype=np.float32)}
    if model.action_dim:
        inputs["actions"] = rng.uniform(-1, 1, (batch, 2 + HORIZON - 1, model.action_dim)).astype(np.float32)
    for name, shape in model.noise_shapes(HORIZON).items():
        inputs[name] = rng.standard_normal((batch,) + shape).astype(np.float32)
    return inputs


def keras_frames(model, inputs):
    noise = {name: value for name, value in inputs.items() if name.startswith("noise_")}
    return np.asarray(model.rollout(inputs["context_frames"], inputs.get("actions"), noise, HORIZON))


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def test_saved_model_matches_keras_on_the_same_noise(model, tmp_path):
    path = export.export_saved_model(model, tmp_path / "saved")
    loaded = tf.saved_model.load(str(path))
    assert set(loaded.signatures) == {export.SERVING_SIGNATURE, export.NOISE_SIGNATURE}
    for batch in (1, 3):  # any batch size
        inputs = inputs_for(model, batch, seed=batch)
        expected = keras_frames(model, inputs)
        got = loaded.signatures[export.NOISE_SIGNATURE](**inputs)["frames"].numpy()
        assert got.shape == (batch, HORIZON, 16, 16, 3)
        np.testing.assert_allclose(got, expected, atol=1e-4)
    # The default signature draws its own noise: different futures of one context.
    inputs = inputs_for(model, 2)
    del inputs["noise_2"]
    first = loaded.signatures[export.SERVING_SIGNATURE](**inputs)["frames"].numpy()
    second = loaded.signatures[export.SERVING_SIGNATURE](**inputs)["frames"].numpy()
    assert first.shape == (2, HORIZON, 16, 16, 3) and np.isfinite(first).all()
    assert not np.allclose(first, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]  # no staging folder left


def run_tflite(path, inputs):
    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")
    return runner(**inputs)["frames"]


def test_tflite_matches_keras_on_the_same_noise(model, tmp_path):
    path = export.export_tflite(model, tmp_path / "model.tflite", batch=2)
    inputs = inputs_for(model, 2)
    got = run_tflite(path, inputs)
    assert got.shape == (2, HORIZON, 16, 16, 3)
    np.testing.assert_allclose(got, keras_frames(model, inputs), atol=1e-4)
    # Builtin ops only: no Flex (TensorFlow) custom ops in the flatbuffer.
    assert b"Flex" not in path.read_bytes()


def test_tflite_of_a_model_that_warps_its_skip_frame_matches_keras(tmp_path):
    model = tiny_model(warp_skip=True)  # the flow's gathers must convert to builtin ops too
    path = export.export_tflite(model, tmp_path / "model.tflite", batch=2)
    inputs = inputs_for(model, 2)
    np.testing.assert_allclose(run_tflite(path, inputs), keras_frames(model, inputs), atol=1e-4)
    assert b"Flex" not in path.read_bytes()


def test_tflite_with_builtin_random_noise(tmp_path):
    model = tiny_model(action_dim=None)  # action-free: no actions input
    tf.random.set_seed(0)  # fixes the op's seed; its calls still draw new noise
    path = export.export_tflite(model, tmp_path / "random.tflite", batch=1, noise="random")
    interpreter = Interpreter(model_path=str(path))
    signature = interpreter.get_signature_list()["serving_default"]
    assert signature["inputs"] == ["context_frames"]
    runner = interpreter.get_signature_runner("serving_default")
    context = inputs_for(model, 1)["context_frames"]
    first = runner(context_frames=context)["frames"].copy()
    second = runner(context_frames=context)["frames"]
    assert first.shape == (1, HORIZON, 16, 16, 3) and np.isfinite(first).all()
    assert not np.allclose(first, second)  # new noise on every call


def test_tflite_refuses_ops_that_are_not_builtins(model, tmp_path, monkeypatch):
    def rollout_with_a_tf_only_op(model, inputs, horizon):
        frames = inputs["context_frames"][:, -1:]
        return tf.repeat(tf.math.lgamma(frames + 1.0) + tf.linalg.svd(frames[..., 0])[0][..., None, None, None],
                         horizon, axis=1)

    monkeypatch.setattr(export, "_rollout", rollout_with_a_tf_only_op)
    out = tmp_path / "model.tflite"
    with pytest.raises(ExportError, match="not TFLite builtins"):
        export.export_tflite(model, out, batch=1)
    assert list(tmp_path.iterdir()) == []


def test_tflite_needs_a_static_batch(model, tmp_path):
    with pytest.raises(ExportError, match="static batch"):
        export.export_tflite(model, tmp_path / "model.tflite", batch=None)
    with pytest.raises(ExportError, match="noise"):
        export.export_tflite(model, tmp_path / "model.tflite", noise="seeded")
    assert list(tmp_path.iterdir()) == []


def test_tflite_refuses_a_model_that_does_not_compute_in_float32(model, tmp_path):
    with pytest.raises(ExportError, match="TFLite builtins compute in float32, and this model in mixed_bfloat16"):
        export.export_tflite(model.clone(dtype="mixed_bfloat16"), tmp_path / "model.tflite")
    assert list(tmp_path.iterdir()) == []
