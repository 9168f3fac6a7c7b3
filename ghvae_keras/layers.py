"""Building blocks of one GHVAE module, written in `keras.ops` only.

A module k maps level-(k-1) features to level-k features (half the spatial
size) and back, and owns the temporal parts (core, prior, posterior,
predictor) that are used while it is the top active module.

Reference: Wu et al., "Greedy Hierarchical Variational Autoencoders for
Large-Scale Video Prediction", CVPR 2021 (arXiv:2103.04174).
"""

import keras
from keras import ops

_PACKAGE = "ghvae_keras"
# Bounds on log-variances keep exp() finite early in training, when the heads
# can output large values.
_LOG_VAR_MIN, _LOG_VAR_MAX = -10.0, 6.0


def _conv(filters, kernel_size=3, strides=1, name=None, **kwargs):
    return keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", name=name, **kwargs
    )


def _with_channels(shape, channels):
    return tuple(shape[:-1]) + (channels,)


def warp(image, flow):
    """`image` `[B, H, W, C]` sampled at each pixel moved by `flow`
    `[B, H, W, 2]` (x then y, in pixels), bilinearly; samples beyond the
    border take the border's value. A zero flow returns `image`."""
    height, width, channels = image.shape[1], image.shape[2], image.shape[3]
    flow = ops.cast(flow, image.dtype)
    rows = ops.cast(ops.arange(height), image.dtype)[None, :, None]
    cols = ops.cast(ops.arange(width), image.dtype)[None, None, :]
    x = ops.clip(cols + flow[..., 0], 0.0, width - 1.0)
    y = ops.clip(rows + flow[..., 1], 0.0, height - 1.0)
    x0, y0 = ops.floor(x), ops.floor(y)
    wx, wy = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = ops.cast(x0, "int32"), ops.cast(y0, "int32")
    x1, y1 = ops.minimum(x0 + 1, width - 1), ops.minimum(y0 + 1, height - 1)
    # One gather from all the batch's pixels: half the time of a gather per
    # example (take_along_axis), most of it in the backward pass.
    first_pixel = ops.arange(ops.shape(image)[0], dtype="int32") * (height * width)
    first_pixel = ops.reshape(first_pixel, (-1, 1, 1))
    pixels = ops.reshape(image, (-1, channels))

    def at(yy, xx):
        return ops.take(pixels, first_pixel + yy * width + xx, axis=0)

    top = at(y0, x0) * (1.0 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1.0 - wx) + at(y1, x1) * wx
    return top * (1.0 - wy) + bottom * wy


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResidualBlock(keras.layers.Layer):
    """Two 3×3 convolutions with SiLU, added to the input.

    Args:
        filters: channels of the input and output.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv_a = _conv(filters, name="conv_a", dtype=self.dtype_policy)
        self.conv_b = _conv(filters, name="conv_b", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.conv_a.build(input_shape)
        self.conv_b.build(_with_channels(input_shape, self.filters))

    def call(self, x):
        y = self.conv_a(ops.silu(x))
        return x + self.conv_b(ops.silu(y))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Encoder(keras.layers.Layer):
    """Level k-1 → level k: a stride-2 convolution and residual blocks.

    Args:
        filters: channels of the level-k features.
        num_blocks: residual blocks after the downsampling.
    """

    def __init__(self, filters, num_blocks=1, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.num_blocks = num_blocks
        self.down = _conv(filters, 4, strides=2, name="down", dtype=self.dtype_policy)
        self.blocks = [
            ResidualBlock(filters, name=f"block_{i}", dtype=self.dtype_policy) for i in range(num_blocks)
        ]

    def build(self, input_shape):
        self.down.build(input_shape)
        shape = self.down.compute_output_shape(input_shape)
        for block in self.blocks:
            block.build(shape)

    def call(self, x):
        x = ops.silu(self.down(x))
        for block in self.blocks:
            x = block(x)
        return x

    def compute_output_shape(self, input_shape):
        return self.down.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "num_blocks": self.num_blocks,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Decoder(keras.layers.Layer):
    """Level k → level k-1: ×2 upsampling, fused with a skip input.

    The skip is the level-(k-1) representation of the last observed frame
    (pixels for module 1), and the output is a change of it: feature decoders
    add a residual to the skip; the pixel decoder blends the skip frame with
    generated colours through a predicted mask. Both start out returning the
    skip unchanged, so static background stays sharp and an untrained model
    repeats the last observed frame.

    Args:
        filters: hidden channels.
        output_channels: channels of the level-(k-1) output (3 for pixels).
        num_blocks: residual blocks after the fusion.
        pixel_output: blend pixels in [0, 1] (module 1) rather than add a
            residual to features.
        action_dim: size of the action fused with the skip (broadcast over
            space), or `None`: the decoder then sees no action.
        warp_skip: the pixel decoder also predicts a flow field and blends
            the skip frame moved along it (`warp`), so what moves can move
            sharp instead of being redrawn; the flow starts at zero.
    """

    def __init__(self, filters, output_channels, num_blocks=1, pixel_output=False,
                 action_dim=None, warp_skip=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.output_channels = output_channels
        self.num_blocks = num_blocks
        self.pixel_output = pixel_output
        self.action_dim = action_dim
        if warp_skip and not pixel_output:
            raise ValueError("warp_skip applies to the pixel decoder (pixel_output=True) only")
        self.warp_skip = bool(warp_skip)
        self.up = keras.layers.UpSampling2D(2, name="up", dtype=self.dtype_policy)
        self.up_conv = _conv(filters, name="up_conv", dtype=self.dtype_policy)
        self.fuse = _conv(filters, name="fuse", dtype=self.dtype_policy)
        self.blocks = [
            ResidualBlock(filters, name=f"block_{i}", dtype=self.dtype_policy) for i in range(num_blocks)
        ]
        if pixel_output:
            # Colours, a mask logit (its bias of 4 starts the mask at
            # sigmoid(4) ≈ 0.98 on the skip frame) and, with warp_skip, a
            # flow of zero.
            bias = [0.0] * output_channels + [4.0] + [0.0] * (2 * self.warp_skip)
            self.out = _conv(
                len(bias),
                kernel_initializer="zeros",
                bias_initializer=keras.initializers.Constant(bias),
                name="out",
                dtype=self.dtype_policy,
            )
        else:
            self.out = _conv(output_channels, kernel_initializer="zeros", name="out", dtype=self.dtype_policy)

    def build(self, features_shape, skip_shape):
        up_shape = self.up.compute_output_shape(features_shape)
        self.up_conv.build(up_shape)
        fused = self.filters + skip_shape[-1] + (self.action_dim or 0)
        self.fuse.build(_with_channels(skip_shape, fused))
        hidden_shape = _with_channels(skip_shape, self.filters)
        for block in self.blocks:
            block.build(hidden_shape)
        self.out.build(hidden_shape)

    def call(self, features, skip, action=None):
        x = ops.silu(self.up_conv(self.up(features)))
        parts = [x, skip]
        if self.action_dim:
            parts.append(ops.ones_like(skip[..., :1]) * action[:, None, None, :])
        x = ops.silu(self.fuse(ops.concatenate(parts, axis=-1)))
        for block in self.blocks:
            x = block(x)
        out = self.out(ops.silu(x))
        if not self.pixel_output:
            return skip + out
        channels = self.output_channels
        colours = ops.sigmoid(out[..., :channels])
        mask = ops.sigmoid(out[..., channels:channels + 1])
        if self.warp_skip:
            skip = warp(skip, out[..., channels + 1:])
        return mask * skip + (1.0 - mask) * colours

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "output_channels": self.output_channels,
            "num_blocks": self.num_blocks,
            "pixel_output": self.pixel_output,
            "action_dim": self.action_dim,
            "warp_skip": self.warp_skip,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TemporalCore(keras.layers.Layer):
    """A ConvLSTM cell over time at one level, conditioned on the action.

    The action of step t is broadcast over space and concatenated to the
    features of frame t. Call it once per time step.

    Args:
        filters: channels of the hidden and cell state (and of the
            features it is given).
        action_dim: size of an action, or `None` for action-free video.
        kernel_size: size of the gate convolution.
        action_film: the action also scales each channel of the features
            and of the hidden state (by 1 + a linear map of it, zero at the
            start), so that it can act where those channels say the arm
            is, not only add the same to every place.
    """

    def __init__(self, filters, action_dim=None, kernel_size=3, action_film=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.action_dim = action_dim
        self.kernel_size = kernel_size
        self.action_film = bool(action_film and action_dim)
        # A forget-gate bias of 1 lets the state persist from the start.
        bias = [0.0] * filters + [1.0] * filters + [0.0] * (2 * filters)
        self.gates = _conv(
            4 * filters,
            kernel_size,
            name="gates",
            bias_initializer=keras.initializers.Constant(bias),
            dtype=self.dtype_policy,
        )

    def build(self, features_shape, action_shape=None, state_shape=None):
        channels = features_shape[-1] + (self.action_dim or 0) + self.filters
        self.gates.build(_with_channels(features_shape, channels))
        if self.action_film:  # one scale per feature channel, then one per hidden channel
            self.film = keras.layers.Dense(
                features_shape[-1] + self.filters, use_bias=False, kernel_initializer="zeros",
                name="film", dtype=self.dtype_policy,
            )
            self.film.build((None, self.action_dim))

    def initial_state(self, features):
        zeros = ops.zeros_like(features[..., :1]) * ops.zeros((self.filters,), dtype=features.dtype)
        return zeros, zeros

    def call(self, features, action=None, state=None):
        if state is None:
            state = self.initial_state(features)
        hidden, cell = state
        parts = [features, hidden]
        if self.action_film:
            scales = 1.0 + self.film(action)[:, None, None, :]
            parts = [part * scale for part, scale in
                     zip(parts, ops.split(scales, [features.shape[-1]], axis=-1))]
        if self.action_dim:
            # Between them: the gates' kernel takes features, action, hidden, in that order.
            parts.insert(1, ops.ones_like(features[..., :1]) * action[:, None, None, :])
        gates = self.gates(ops.concatenate(parts, axis=-1))
        i, f, o, g = ops.split(gates, 4, axis=-1)
        cell = ops.sigmoid(f) * cell + ops.sigmoid(i) * ops.tanh(g)
        hidden = ops.sigmoid(o) * ops.tanh(cell)
        return hidden, (hidden, cell)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "action_dim": self.action_dim,
            "kernel_size": self.kernel_size,
            "action_film": self.action_film,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GaussianHead(keras.layers.Layer):
    """A diagonal Gaussian over a spatial latent, used as prior and posterior.

    `call` returns `(mean, log_var)`; `sample` draws z from them. With
    `sampling="sample"`, `z = mean + std * noise`, `noise` given by the caller
    (so that it can come from the input pipeline, which differs per replica)
    or drawn from the layer's own seed generator; with `sampling="mode"`,
    `z = mean`, which makes outputs deterministic.

    Args:
        latent_channels: channels of z.
        hidden_channels: channels of the hidden convolution.
        sampling: `"sample"` or `"mode"`.
        seed: seed of the layer's generator, used when no noise is given.
    """

    def __init__(self, latent_channels, hidden_channels, sampling="sample", seed=None, **kwargs):
        super().__init__(**kwargs)
        if sampling not in ("sample", "mode"):
            raise ValueError(f"sampling must be 'sample' or 'mode', got {sampling!r}")
        self.latent_channels = latent_channels
        self.hidden_channels = hidden_channels
        self.sampling = sampling
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.hidden = _conv(hidden_channels, name="hidden", dtype=self.dtype_policy)
        self.stats = _conv(2 * latent_channels, name="stats", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.stats.build(_with_channels(input_shape, self.hidden_channels))

    def call(self, features):
        """Returns `(mean, log_var)` of the Gaussian."""
        stats = self.stats(ops.silu(self.hidden(features)))
        mean, log_var = ops.split(stats, 2, axis=-1)
        return mean, ops.clip(log_var, _LOG_VAR_MIN, _LOG_VAR_MAX)

    def sample(self, mean, log_var, noise=None):
        """Draws z; `noise` (standard normal, like `mean`) is drawn if omitted."""
        if self.sampling == "mode":
            return mean
        if noise is None:
            noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * ops.cast(noise, mean.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_channels": self.latent_channels,
            "hidden_channels": self.hidden_channels,
            "sampling": self.sampling,
            "seed": self.seed,
        }


def gaussian_kl(mean_q, log_var_q, mean_p, log_var_p):
    """KL(q ‖ p) of diagonal Gaussians, summed over all but the batch axis."""
    kl = 0.5 * (
        log_var_p
        - log_var_q
        + (ops.exp(log_var_q) + ops.square(mean_q - mean_p)) / ops.exp(log_var_p)
        - 1.0
    )
    return ops.sum(ops.reshape(kl, (ops.shape(kl)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Predictor(keras.layers.Layer):
    """(core state, z) → change of the level features from frame t to t+1.

    The last convolution starts at zero, so an untrained predictor repeats the
    current frame: training starts from the copy-last-frame baseline.

    Args:
        filters: channels of the level features (and of the output).
        num_blocks: residual blocks.
    """

    def __init__(self, filters, num_blocks=1, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.num_blocks = num_blocks
        self.inp = _conv(filters, name="inp", dtype=self.dtype_policy)
        self.blocks = [
            ResidualBlock(filters, name=f"block_{i}", dtype=self.dtype_policy) for i in range(num_blocks)
        ]
        self.out = _conv(filters, kernel_initializer="zeros", name="out", dtype=self.dtype_policy)

    def build(self, state_shape, latent_shape):
        self.inp.build(_with_channels(state_shape, state_shape[-1] + latent_shape[-1]))
        hidden_shape = _with_channels(state_shape, self.filters)
        for block in self.blocks:
            block.build(hidden_shape)
        self.out.build(hidden_shape)

    def call(self, state, latent):
        x = ops.silu(self.inp(ops.concatenate([state, latent], axis=-1)))
        for block in self.blocks:
            x = block(x)
        return self.out(ops.silu(x))

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "num_blocks": self.num_blocks,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GHVAEModule(keras.layers.Layer):
    """One GHVAE module: encoder, decoder, temporal core, prior, posterior
    and predictor at one level of the hierarchy.

    The encoder and decoder are used whenever the module is active; the
    temporal parts only while the module is the top active one (or at every
    level in the end-to-end hierarchical-VAE baseline).

    Args:
        filters: channels of this module's level features.
        output_channels: channels of the level below (3 for module 1).
        latent_channels: channels of the spatial latent z.
        action_dim: size of an action, or `None` for action-free video.
        num_blocks: residual blocks per encoder, decoder and predictor.
        pixel_output: whether the decoder outputs pixels (module 1).
        sampling: `"sample"` or `"mode"` for prior and posterior.
        seed: seed of the prior's and posterior's generators.
        decoder_actions: the decoder sees the action too (not only the
            temporal core), so frozen lower decoders can move what the
            skip shows.
        warp_skip: the pixel decoder moves the skip frame along a flow it
            predicts (`Decoder`); module 1 only.
        action_film: the action also scales the temporal core's channels
            (`TemporalCore`).

    Example:

    >>> module = GHVAEModule(16, output_channels=3, latent_channels=4, pixel_output=True)
    >>> module.build((None, 32, 32, 3))
    >>> module.encoder(keras.ops.zeros((2, 32, 32, 3))).shape
    TensorShape([2, 16, 16, 16])
    """

    def __init__(
        self,
        filters,
        output_channels,
        latent_channels,
        action_dim=None,
        num_blocks=1,
        pixel_output=False,
        sampling="sample",
        seed=None,
        decoder_actions=False,
        warp_skip=False,
        action_film=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.output_channels = output_channels
        self.latent_channels = latent_channels
        self.action_dim = action_dim
        self.num_blocks = num_blocks
        self.pixel_output = pixel_output
        self.sampling = sampling
        self.seed = seed
        self.decoder_actions = bool(decoder_actions)
        self.warp_skip = bool(warp_skip)
        self.action_film = bool(action_film and action_dim)
        self.encoder = Encoder(filters, num_blocks, name="encoder", dtype=self.dtype_policy)
        self.decoder = Decoder(
            filters, output_channels, num_blocks, pixel_output,
            action_dim=action_dim if decoder_actions else None, warp_skip=warp_skip, name="decoder",
            dtype=self.dtype_policy,
        )
        self.core = TemporalCore(
            filters, action_dim, action_film=self.action_film, name="core", dtype=self.dtype_policy
        )
        self.prior = GaussianHead(
            latent_channels, filters, sampling, seed=seed, name="prior", dtype=self.dtype_policy
        )
        posterior_seed = None if seed is None else seed + 1
        self.posterior = GaussianHead(
            latent_channels, filters, sampling, seed=posterior_seed, name="posterior",
            dtype=self.dtype_policy,
        )
        self.predictor = Predictor(filters, num_blocks, name="predictor", dtype=self.dtype_policy)

    def build(self, input_shape):
        """`input_shape`: the level-(k-1) features, `(batch, H, W, C)`."""
        features_shape = self.encoder.compute_output_shape(input_shape)
        self.encoder.build(input_shape)
        self.decoder.build(features_shape, input_shape)
        action_shape = None if not self.action_dim else (None, self.action_dim)
        self.core.build(features_shape, action_shape)
        self.prior.build(features_shape)
        self.posterior.build(_with_channels(features_shape, 2 * self.filters))
        self.predictor.build(
            features_shape, _with_channels(features_shape, self.latent_channels)
        )

    def call(self, inputs, action=None):
        """Autoencodes level-(k-1) features (the skip is the input itself)."""
        return self.decoder(self.encoder(inputs), inputs, action)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "output_channels": self.output_channels,
            "latent_channels": self.latent_channels,
            "action_dim": self.action_dim,
            "num_blocks": self.num_blocks,
            "pixel_output": self.pixel_output,
            "sampling": self.sampling,
            "seed": self.seed,
            "decoder_actions": self.decoder_actions,
            "warp_skip": self.warp_skip,
            "action_film": self.action_film,
        }
