"""Export for serving and devices: TensorFlow SavedModel and TFLite (LiteRT).

Both exports run `GHVAE.rollout`, the model's prediction, with the time loop
unrolled for a fixed number of context frames C and predicted frames H:

    inputs   context_frames  float32 [B, C, H_img, W_img, 3] in [0, 1]
             actions         float32 [B, C + H - 1, A]   (action-conditioned models)
             noise_<level>   float32 [B, *noise_shapes(H)[level]]   (standard normal)
    output   frames          float32 [B, H, H_img, W_img, 3]

A SavedModel has two signatures: `serving_default` draws the latent noise
itself (`tf.random.normal`), `predict_with_noise` takes it as inputs (the same
noise gives the same frames as Keras). A TFLite model holds builtin ops only,
so that the LiteRT runtime runs it without the Flex delegate; its batch size is
static (a dynamic batch does not convert), and the noise is either an input
(`noise="input"`, exact) or drawn by the builtin `RANDOM_STANDARD_NORMAL` op
(`noise="random"`).
"""

import re
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from ghvae_keras.atomic_files import atomic_path
from ghvae_keras.errors import ExportError

SERVING_SIGNATURE = "serving_default"
NOISE_SIGNATURE = "predict_with_noise"
_NOISE_MODES = ("input", "random")


def input_specs(model, batch=None, context=None, horizon=None, noise=True):
    """The `tf.TensorSpec`s of an export's inputs, by name (see the module docstring)."""
    context, horizon = _lengths(model, context, horizon)
    image = model.level_shape(0)
    specs = {"context_frames": tf.TensorSpec((batch, context) + image, tf.float32, "context_frames")}
    if model.action_dim:
        specs["actions"] = tf.TensorSpec(
            (batch, context + horizon - 1, model.action_dim), tf.float32, "actions"
        )
    if noise:
        for name, shape in model.noise_shapes(horizon).items():
            specs[name] = tf.TensorSpec((batch,) + shape, tf.float32, name)
    return specs


def export_saved_model(model, path, batch=None, context=None, horizon=None):
    """Writes `model` as a TensorFlow SavedModel folder.

    Args:
        model: a `GHVAE` (its active modules are exported).
        path: the folder to write; it appears complete or not at all, and an
            existing one is replaced.
        batch: a fixed batch size, or `None` for any.
        context: context frames C (default: the model's `context_length`).
        horizon: frames to predict H (default: the model's `horizon`).

    Returns:
        `path`. Load it with `tf.saved_model.load(path)` and call
        `.signatures["serving_default"](context_frames=..., actions=...)`;
        both signatures return `{"frames": [B, H, ...]}`.
    """
    context, horizon = _lengths(model, context, horizon)
    with_noise = input_specs(model, batch, context, horizon, noise=True)
    without = input_specs(model, batch, context, horizon, noise=False)
    archive = keras.export.ExportArchive()
    archive.track(model)
    # The first endpoint is also the default signature.
    archive.add_endpoint(SERVING_SIGNATURE, _serving_function(model, without, horizon, draw_noise=True),
                         input_signature=list(without.values()))
    archive.add_endpoint(NOISE_SIGNATURE, _serving_function(model, with_noise, horizon),
                         input_signature=list(with_noise.values()))
    with atomic_path(path, folder=True) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return Path(path)


def export_tflite(model, path, batch=1, context=None, horizon=None, noise="input"):
    """Writes `model` as a TFLite flatbuffer of builtin ops.

    Args:
        model: a `GHVAE` (its active modules are exported).
        path: the `.tflite` file to write; it appears complete or not at all.
        batch: the static batch size.
        context: context frames C (default: the model's `context_length`).
        horizon: frames to predict H (default: the model's `horizon`).
        noise: `"input"` (noise tensors are inputs: exact) or `"random"`
            (drawn inside with the builtin random op).

    Returns:
        `path`. Run it with `ai_edge_litert.interpreter.Interpreter`; its
        signature `serving_default` takes the inputs by name.

    Raises:
        ExportError: the model needs ops that are not TFLite builtins (a
            model that does not compute in float32 does).
    """
    if noise not in _NOISE_MODES:
        raise ExportError(f"noise must be one of {_NOISE_MODES}, got {noise!r}")
    if not isinstance(batch, int) or batch < 1:
        raise ExportError(f"a TFLite model needs a static batch size >= 1, got {batch!r}")
    if model.dtype_policy.name != "float32":
        raise ExportError(f"TFLite builtins compute in float32, and this model in {model.dtype_policy.name}: "
                          "export model.clone(dtype='float32')")
    context, horizon = _lengths(model, context, horizon)
    specs = input_specs(model, batch, context, horizon, noise=noise == "input")

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SERVING_SIGNATURE,
                         _serving_function(model, specs, horizon, draw_noise=noise == "random"),
                         input_signature=list(specs.values()))
    with tempfile.TemporaryDirectory() as scratch:
        # Through a SavedModel written by Keras, the converter freezes the
        # weights into constants.
        archive.write_out(scratch, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(scratch, [SERVING_SIGNATURE])
        flatbuffer = _convert(converter)
    with atomic_path(path) as tmp:
        tmp.write_bytes(flatbuffer)
    return Path(path)


def _convert(converter):
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        return converter.convert()
    except Exception as error:  # the converter raises its own ConverterError types
        message = str(error)
    ops = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", message)))
    if ops:
        raise ExportError(
            f"the model needs TensorFlow ops that are not TFLite builtins ({', '.join(ops)}); "
            "the LiteRT runtime cannot run them without the Flex delegate"
        )
    raise ExportError(f"TFLite conversion failed: {_first_error_line(message)}")


def _lengths(model, context, horizon):
    context = model.context_length if context is None else context
    horizon = model.horizon if horizon is None else horizon
    for name, value in (("context", context), ("horizon", horizon)):
        if not isinstance(value, int) or value < 1:
            raise ExportError(f"{name} must be a positive integer, got {value!r}")
    return context, horizon


def _serving_function(model, specs, horizon, draw_noise=False):
    """A function of the tensors of `specs` (in order) returning `{"frames"}`;
    signatures name their inputs after the specs."""
    names = list(specs)

    def serve(*tensors):
        inputs = dict(zip(names, tensors))
        if draw_noise:
            inputs = _with_random_noise(model, inputs, horizon)
        return {"frames": _rollout(model, inputs, horizon)}

    return serve


def _rollout(model, inputs, horizon):
    noise = {name: value for name, value in inputs.items() if name.startswith("noise_")}
    return model.rollout(inputs["context_frames"], inputs.get("actions"), noise, horizon)


def _with_random_noise(model, inputs, horizon):
    # tf.random.normal converts to TFLite's builtin RANDOM_STANDARD_NORMAL;
    # keras.random (stateless ops) does not.
    batch = tf.shape(inputs["context_frames"])[:1]
    inputs = dict(inputs)
    for name, shape in model.noise_shapes(horizon).items():
        inputs[name] = tf.random.normal(tf.concat([batch, shape], 0))
    return inputs


def _first_error_line(message):
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if "error:" in line.lower():
            return line[line.lower().index("error:") + len("error:"):].strip()
    return lines[0] if lines else "no message"
