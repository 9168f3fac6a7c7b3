import keras
import numpy as np
import pytest
from keras import ops

from ghvae_keras import layers


def _roundtrip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == config


@pytest.mark.parametrize(
    "layer",
    [
        layers.ResidualBlock(8),
        layers.Encoder(8, num_blocks=2),
        layers.Decoder(8, 3, pixel_output=True),
        layers.Decoder(8, 3, pixel_output=True, warp_skip=True),
        layers.TemporalCore(8, action_dim=4, kernel_size=5),
        layers.TemporalCore(8, action_dim=4, action_film=True),
        layers.GaussianHead(2, 8, sampling="mode", seed=3),
        layers.Predictor(8, num_blocks=2),
        layers.GHVAEModule(8, 3, 2, action_dim=4, pixel_output=True, seed=1),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_roundtrip(layer):
    _roundtrip(layer)


def test_encoder_decoder_shapes():
    encoder, decoder = layers.Encoder(8), layers.Decoder(8, 3, pixel_output=True)
    x = np.random.rand(2, 16, 16, 3).astype("float32")
    h = encoder(x)
    assert tuple(h.shape) == (2, 8, 8, 8)
    y = ops.convert_to_numpy(decoder(h, x))
    assert y.shape == (2, 16, 16, 3)
    assert 0.0 <= y.min() and y.max() <= 1.0
    # Untrained, the decoders return (nearly) the skip: the last observed frame.
    np.testing.assert_allclose(y, 0.982 * x + 0.018 * 0.5, atol=1e-3)
    features = layers.Decoder(4, 8)(h, np.ones((2, 16, 16, 8), "float32"))
    np.testing.assert_array_equal(ops.convert_to_numpy(features), 1.0)


def test_warp_moves_the_image_along_the_flow_bilinearly():
    image = np.random.rand(2, 6, 5, 3).astype("float32")
    flow = np.zeros((2, 6, 5, 2), "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(layers.warp(image, flow)), image, atol=1e-6)
    # Each pixel takes the one 1 to its right and 2 below; beyond the border, the border.
    flow[..., 0], flow[..., 1] = 1.0, 2.0
    moved = ops.convert_to_numpy(layers.warp(image, flow))
    np.testing.assert_allclose(moved[:, :4, :4], image[:, 2:, 1:], atol=1e-6)
    np.testing.assert_allclose(moved[:, 4:, :4], image[:, 5:, 1:].repeat(2, axis=1), atol=1e-6)
    # Half a pixel to the right: the mean of the two neighbours.
    flow[..., 0], flow[..., 1] = 0.5, 0.0
    half = ops.convert_to_numpy(layers.warp(image, flow))
    np.testing.assert_allclose(half[:, :, :4], (image[:, :, :4] + image[:, :, 1:]) / 2, atol=1e-6)


def test_a_warping_decoder_starts_as_the_plain_one_and_learns_its_flow():
    features = np.random.rand(2, 8, 8, 8).astype("float32")
    skip = np.random.rand(2, 16, 16, 3).astype("float32")
    plain = layers.Decoder(8, 3, pixel_output=True)
    warping = layers.Decoder(8, 3, pixel_output=True, warp_skip=True)
    plain.build(features.shape, skip.shape)
    warping.build(features.shape, skip.shape)
    for source, target in zip(plain.weights, warping.weights):
        if source.shape == target.shape:
            target.assign(source)
    np.testing.assert_allclose(ops.convert_to_numpy(warping(features, skip)),
                               ops.convert_to_numpy(plain(features, skip)), atol=1e-6)
    # The flow's two channels follow the colours and the mask, and reach the output.
    kernel = np.array(warping.out.kernel)
    kernel[..., 4:] = np.random.normal(0, 0.5, kernel[..., 4:].shape)
    warping.out.kernel.assign(kernel)
    assert np.abs(ops.convert_to_numpy(warping(features, skip) - plain(features, skip))).max() > 1e-3
    with pytest.raises(ValueError, match="pixel decoder"):
        layers.Decoder(8, 16, warp_skip=True)


@pytest.mark.parametrize("action_dim", [None, 4])
def test_temporal_core_steps(action_dim):
    core = layers.TemporalCore(6, action_dim=action_dim)
    features = np.random.rand(2, 4, 4, 5).astype("float32")
    action = None if action_dim is None else np.ones((2, action_dim), "float32")
    out, state = core(features, action)
    assert tuple(out.shape) == (2, 4, 4, 6)
    out2, _ = core(features, action, state)
    assert not np.allclose(ops.convert_to_numpy(out), ops.convert_to_numpy(out2))


def test_temporal_core_uses_actions():
    core = layers.TemporalCore(6, action_dim=2)
    features = np.random.rand(2, 4, 4, 5).astype("float32")
    a, _ = core(features, np.zeros((2, 2), "float32"))
    b, _ = core(features, np.ones((2, 2), "float32"))
    assert not np.allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b))


def test_an_action_film_starts_as_the_plain_core_and_scales_each_channel_by_the_action():
    rng = np.random.default_rng(0)
    features = rng.random((2, 4, 4, 5)).astype("float32")
    action = rng.uniform(-1, 1, (2, 3)).astype("float32")
    state = tuple(rng.random((2, 4, 4, 6)).astype("float32") for _ in range(2))
    plain = layers.TemporalCore(6, action_dim=3)
    film = layers.TemporalCore(6, action_dim=3, action_film=True)
    plain.build(features.shape)
    film.build(features.shape)
    film.gates.set_weights(plain.gates.get_weights())
    np.testing.assert_allclose(film(features, action, state)[0], plain(features, action, state)[0], atol=1e-6)
    # Scales that double feature channel 0 and zero hidden channel 2 when action[0] = 1:
    # the same as the plain core given those inputs.
    kernel = np.zeros((3, 11), "float32")
    kernel[0, 0], kernel[0, 5 + 2] = 1.0, -1.0
    film.film.set_weights([kernel])
    one = np.array([[1.0, 0.0, 0.0]] * 2, "float32")
    scaled_features, scaled_hidden = features.copy(), state[0].copy()
    scaled_features[..., 0] *= 2
    scaled_hidden[..., 2] = 0
    np.testing.assert_allclose(film(features, one, state)[0],
                               plain(scaled_features, one, (scaled_hidden, state[1]))[0], atol=1e-5)
    assert not layers.TemporalCore(6, action_film=True).action_film  # no actions, nothing to scale by


def test_gaussian_head_modes():
    features = np.random.rand(2, 4, 4, 8).astype("float32")
    head = layers.GaussianHead(3, 8, seed=1)
    mean, log_var = head(features)
    noise = np.random.randn(2, 4, 4, 3).astype("float32")
    z = head.sample(mean, log_var, noise)
    expected = ops.convert_to_numpy(mean) + np.exp(0.5 * ops.convert_to_numpy(log_var)) * noise
    np.testing.assert_allclose(ops.convert_to_numpy(z), expected, rtol=1e-6, atol=1e-6)
    drawn_a = ops.convert_to_numpy(head.sample(mean, log_var))
    drawn_b = ops.convert_to_numpy(head.sample(mean, log_var))
    assert not np.allclose(drawn_a, drawn_b)

    deterministic = layers.GaussianHead(3, 8, sampling="mode")
    mean, log_var = deterministic(features)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(deterministic.sample(mean, log_var)), ops.convert_to_numpy(mean)
    )
    with pytest.raises(ValueError, match="sampling must be"):
        layers.GaussianHead(3, 8, sampling="median")


def test_gaussian_kl_against_hand_value():
    zeros = np.zeros((1, 1, 1, 2), "float32")
    assert float(layers.gaussian_kl(zeros, zeros, zeros, zeros)[0]) == 0.0
    # KL(N(1, e^0) || N(0, e^{log 4})) per dim = 0.5 * (log 4 - 0 + (1 + 1) / 4 - 1)
    mean_q, log_var_q = np.ones_like(zeros), zeros
    mean_p, log_var_p = zeros, np.full_like(zeros, np.log(4.0))
    per_dim = 0.5 * (np.log(4.0) + 2.0 / 4.0 - 1.0)
    kl = float(layers.gaussian_kl(mean_q, log_var_q, mean_p, log_var_p)[0])
    assert kl == pytest.approx(2 * per_dim, rel=1e-6)


def test_untrained_predictor_outputs_zero():
    predictor = layers.Predictor(8)
    out = predictor(np.random.rand(2, 4, 4, 8).astype("float32"), np.random.rand(2, 4, 4, 2).astype("float32"))
    assert not np.any(ops.convert_to_numpy(out))


def test_module_build_creates_every_part():
    module = layers.GHVAEModule(8, 3, 2, action_dim=4)
    module.build((None, 16, 16, 3))
    for part in ("encoder", "decoder", "core", "prior", "posterior", "predictor"):
        assert getattr(module, part).built, part
        assert getattr(module, part).weights, part
    assert tuple(module(np.zeros((1, 16, 16, 3), "float32")).shape) == (1, 16, 16, 3)
