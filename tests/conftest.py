import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPUs, so MirroredStrategy can run two replicas on this machine.
# This must happen before TensorFlow initialises its devices.
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)

from tiny_data import TINY, make_clips, make_dataset  # noqa: E402, F401


@pytest.fixture
def tiny_config():
    return dict(TINY, action_dim=3, seed=7)


@pytest.fixture(scope="module")
def tiny_model():
    """A 2-module model at 16x16 with random values in every weight, so a
    load that misses any variable shows."""
    import numpy as np

    from ghvae_keras import GHVAE

    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=3,
                  context_length=2, horizon=3, seed=3)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


@pytest.fixture
def preset(tmp_path, tiny_model):
    """`tiny_model` saved as the preset folder `tiny-2mod` with a sample clip."""
    import numpy as np

    from ghvae_keras import zoo
    from presets import tiny_metadata

    rng = np.random.default_rng(1)
    sample = {"frames": rng.random((5, 16, 16, 3)), "actions": rng.uniform(-1, 1, (4, 3))}
    return zoo.save_preset(tiny_model, tmp_path / "tiny-2mod", tiny_metadata(), sample=sample)


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """No test reaches the network: offline mode and an empty cache of its own."""
    from huggingface_hub import constants as hub_constants

    from ghvae_keras.zoo import loading

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(loading, "_fallbacks_announced", set())
    return cache
