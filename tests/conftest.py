import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPUs, so MirroredStrategy can run two replicas on this machine.
# This must happen before TensorFlow initialises its devices.
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)

TINY = dict(image_size=16, module_channels=(8, 8), latent_channels=2, context_length=2)


@pytest.fixture
def tiny_config():
    return dict(TINY, action_dim=3, seed=7)


def make_clips(batch=4, steps=5, size=16, action_dim=3, seed=0):
    rng = np.random.default_rng(seed)
    clips = {"frames": rng.random((batch, steps, size, size, 3), dtype=np.float32)}
    if action_dim:
        clips["actions"] = rng.uniform(-1, 1, (batch, steps - 1, action_dim)).astype(np.float32)
    return clips


def make_dataset(batch=4, steps=5, size=16, action_dim=3, seed=0, batches=2):
    clips = make_clips(batch * batches, steps, size, action_dim, seed)
    return tf.data.Dataset.from_tensor_slices(clips).batch(batch, drop_remainder=True)
