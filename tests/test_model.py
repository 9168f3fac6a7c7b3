import keras
import numpy as np
import pytest
from tiny_data import TINY, make_clips, perturb_zero_init
from keras import ops

from ghvae_keras import GHVAE


def _weights_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def test_config_roundtrip(tiny_config):
    model = GHVAE(**tiny_config, beta=1e-3, latents="all", active_modules=1)
    config = model.get_config()
    assert GHVAE.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert isinstance(restored, GHVAE) and restored.get_config() == config


@pytest.mark.parametrize("action_dim", [None, 3])
def test_forward_and_prediction_shapes(action_dim):
    model = GHVAE(**TINY, action_dim=action_dim, seed=1)
    clips = make_clips(batch=2, steps=6, action_dim=action_dim)
    out = model(clips, training=True)
    assert tuple(out["frames"].shape) == (2, 4, 16, 16, 3)
    assert tuple(out["reconstruction"].shape) == (2,) and tuple(out["kl"].shape) == (2,)
    assert len(model.losses) == 1 and np.isfinite(float(model.losses[0]))
    actions = None if action_dim is None else clips["actions"][:, :4]
    video = model.predict_video(clips["frames"][:, :2], actions, horizon=3, num_samples=2)
    assert video.shape == (2, 2, 3, 16, 16, 3) and video.dtype == np.float32
    assert video.min() >= 0.0 and video.max() <= 1.0


def test_same_seed_same_samples(tiny_config):
    model = GHVAE(**tiny_config)
    clips = make_clips(batch=1)
    context, actions = clips["frames"][:, :2], clips["actions"][:, :4]
    # Trained-looking weights: make the samples depend on the noise.
    perturb_zero_init(model)
    a = model.predict_video(context, actions, horizon=3, num_samples=3, seed=5)
    b = model.predict_video(context, actions, horizon=3, num_samples=3, seed=5)
    c = model.predict_video(context, actions, horizon=3, num_samples=3, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a[0, 0], a[0, 1]), "samples of one clip should differ"


def test_weights_h5_roundtrip_is_exact(tiny_config, tmp_path):
    model = GHVAE(**tiny_config)
    perturb_zero_init(model)
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    restored = GHVAE.from_config(model.get_config())
    restored.load_weights(path)
    assert _weights_equal(model, restored)
    clips = make_clips(batch=1)
    a = model.predict_video(clips["frames"][:, :2], clips["actions"][:, :4], horizon=3, seed=1)
    b = restored.predict_video(clips["frames"][:, :2], clips["actions"][:, :4], horizon=3, seed=1)
    np.testing.assert_array_equal(a, b)


def test_truncation_keeps_weights(tiny_config):
    model = GHVAE(**tiny_config)
    perturb_zero_init(model)
    small = model.truncated(1)
    assert small.active_modules == 1 and small.num_modules == 2
    assert _weights_equal(model, small)
    clips = make_clips(batch=1)
    model.active_modules = 1
    a = model.predict_video(clips["frames"][:, :2], clips["actions"][:, :3], horizon=2, seed=3)
    b = small.predict_video(clips["frames"][:, :2], clips["actions"][:, :3], horizon=2, seed=3)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="number of modules must be in 1..2"):
        model.truncated(3)


def test_active_modules_change_the_path(tiny_config):
    model = GHVAE(**tiny_config, sampling="mode")
    perturb_zero_init(model)
    clips = make_clips(batch=1)
    two = model.predict_video(clips["frames"][:, :2], clips["actions"][:, :3], horizon=2)
    one = model.truncated(1).predict_video(clips["frames"][:, :2], clips["actions"][:, :3], horizon=2)
    assert not np.allclose(one, two)


def test_end_to_end_latents_use_every_level(tiny_config):
    clips = make_clips(batch=2)
    top = GHVAE(**tiny_config)
    everything = GHVAE(**tiny_config, latents="all")
    everything.set_weights(top.get_weights())
    assert top.latent_levels() == [2] and everything.latent_levels() == [1, 2]
    assert set(everything.noise_shapes(3)) == {"noise_1", "noise_2"}
    assert everything.noise_shapes(3)["noise_1"] == (3, 8, 8, 2)
    kl_top = ops.convert_to_numpy(top(clips)["kl"])
    kl_all = ops.convert_to_numpy(everything(clips)["kl"])
    assert np.all(kl_all > kl_top)


@pytest.mark.parametrize("lower_cores", [False, True])
def test_lower_cores_keep_the_lower_modules_predicting(tiny_config, lower_cores):
    """With `lower_cores`, module 1's core and predictor shape the 2-module
    prediction (training and rollout); without, only module 2's do."""
    model = GHVAE(**tiny_config, sampling="mode", lower_cores=lower_cores)
    perturb_zero_init(model)
    assert model.core_levels() == ([1, 2] if lower_cores else [2]) and model.latent_levels() == [2]
    assert set(model.noise_shapes(3)) == {"noise_2"}  # only the top draws
    assert model.truncated(1).core_levels() == [1]
    clips = make_clips(batch=2)

    def outputs():
        trained = ops.convert_to_numpy(model(clips, training=True)["frames"])
        rolled = model.predict_video(clips["frames"][:, :2], clips["actions"][:, :3], horizon=2)
        return trained, rolled

    before = outputs()
    predictor = model.ghvae_modules[0].predictor.out
    predictor.kernel.assign(predictor.kernel * 2.0 + 0.1)
    after = outputs()
    for a, b in zip(before, after):
        assert np.allclose(a, b) != lower_cores
    config = model.get_config()
    assert config["lower_cores"] is lower_cores and GHVAE.from_config(config).get_config() == config


def test_feed_predictions_trains_on_the_rollout_it_will_make(tiny_config):
    """With latents that carry nothing (prior and posterior heads zeroed,
    latent means used), the training forward pass of `feed_predictions` is
    the rollout itself; teacher forcing agrees with it on the first frame only."""
    model = GHVAE(**tiny_config, sampling="mode", feed_predictions=True)
    perturb_zero_init(model)
    for module in model.ghvae_modules:
        for head in (module.prior, module.posterior):
            head.stats.kernel.assign(np.zeros(head.stats.kernel.shape, "float32"))
            head.stats.bias.assign(np.zeros(head.stats.bias.shape, "float32"))
    clips = make_clips(batch=2, steps=6)
    trained = ops.convert_to_numpy(model(clips, training=True)["frames"])
    rolled = model.predict_video(clips["frames"][:, :2], clips["actions"], horizon=4)[:, 0]
    np.testing.assert_allclose(trained, rolled, atol=1e-5)
    forced = ops.convert_to_numpy(model.clone(feed_predictions=False)(clips, training=True)["frames"])
    np.testing.assert_allclose(forced[:, 0], rolled[:, 0], atol=1e-5)
    assert not np.allclose(forced[:, 1:], rolled[:, 1:], atol=1e-4)
    config = model.get_config()
    assert config["feed_predictions"] is True and GHVAE.from_config(config).get_config() == config


def test_render_weight_adds_the_error_of_drawing_each_future_frame_from_its_own_features(tiny_config):
    """The term decodes each future frame from its own top-level features with
    the skips prediction uses; on a still clip that is the context frame's
    reconstruction."""
    model = GHVAE(**tiny_config, render_weight=0.5)
    perturb_zero_init(model)
    clips = make_clips(batch=2, steps=5)
    noise = {name: np.zeros((2,) + shape, "float32") for name, shape in model.noise_shapes(3).items()}
    model({**clips, **noise}, training=True)
    plain = model.clone(render_weight=0.0)
    plain({**clips, **noise}, training=True)
    rendered = ops.convert_to_numpy(model._render_future(model._encode_clips(clips["frames"]), clips["actions"]))
    error = np.mean(np.square(rendered - clips["frames"][:, 2:]))
    assert error > 0
    np.testing.assert_allclose(float(model.losses[0]), float(plain.losses[0]) + 0.5 * error, rtol=1e-5)

    still = np.repeat(clips["frames"][:, 1:2], 5, axis=1)
    rendered = ops.convert_to_numpy(model._render_future(model._encode_clips(still), clips["actions"]))
    context = model._encode(still[:, 1])
    reconstruction = ops.convert_to_numpy(model._decode(context[-1], context[:-1], {}))
    for step in range(3):
        np.testing.assert_allclose(rendered[:, step], reconstruction, atol=1e-5)
    config = model.get_config()
    assert config["render_weight"] == 0.5 and GHVAE.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="render_weight must be >= 0"):
        GHVAE(**tiny_config, render_weight=-1)


def test_motion_weight_weighs_each_pixels_error_by_how_much_it_changes(tiny_config):
    model = GHVAE(**tiny_config, motion_weight=4.0)
    perturb_zero_init(model)
    clips = make_clips(batch=2, steps=5)
    noise = {name: np.zeros((2,) + shape, "float32") for name, shape in model.noise_shapes(3).items()}
    out = model({**clips, **noise}, training=True)
    frames, predicted = clips["frames"], ops.convert_to_numpy(out["frames"])
    change = np.abs(frames[:, 2:] - frames[:, 1:-1]).mean(axis=-1, keepdims=True)
    squared = np.square(predicted - frames[:, 2:])
    expected = np.mean((1 + 4.0 * change) * squared) + model.beta * np.mean(ops.convert_to_numpy(out["kl"]))
    np.testing.assert_allclose(float(model.losses[0]), expected, rtol=1e-5)
    # The reported reconstruction is the plain error, as without the weight.
    np.testing.assert_allclose(ops.convert_to_numpy(out["reconstruction"]), squared.mean(axis=(1, 2, 3, 4)),
                               rtol=1e-5)
    config = model.get_config()
    assert config["motion_weight"] == 4.0 and GHVAE.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="motion_weight must be >= 0"):
        GHVAE(**tiny_config, motion_weight=-1)


def _predicts_as_then_trains(model, plain):
    """Asserts that `model` predicts as `plain` does, then trains it for a step."""
    clips = make_clips(batch=2, steps=5)
    np.testing.assert_allclose(model.predict_video(clips["frames"][:, :2], clips["actions"], horizon=3),
                               plain.predict_video(clips["frames"][:, :2], clips["actions"], horizon=3),
                               atol=1e-5)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    noise = {name: np.zeros((2,) + shape, "float32") for name, shape in model.noise_shapes(3).items()}
    model.fit({**clips, **noise}, epochs=1, batch_size=2, verbose=0)


def test_warp_skip_gives_the_pixel_decoder_alone_a_flow_that_training_moves(tiny_config):
    model = GHVAE(**tiny_config, warp_skip=True)
    decoders = [module.decoder for module in model.ghvae_modules]
    assert [decoder.warp_skip for decoder in decoders] == [True] + [False] * (len(decoders) - 1)
    config = model.get_config()
    assert config["warp_skip"] and GHVAE.from_config(config).get_config() == config
    # Untrained, the flow is zero: the model predicts as one without the warp.
    plain = GHVAE(**tiny_config)
    for source, target in zip(plain.weights, model.weights):
        value = np.zeros(target.shape, "float32")
        value[..., :source.shape[-1]] = ops.convert_to_numpy(source)
        target.assign(value)
    _predicts_as_then_trains(model, plain)
    flow_kernel = ops.convert_to_numpy(decoders[0].out.kernel)[..., 4:]
    assert np.abs(flow_kernel).max() > 0


def test_action_film_gives_every_core_a_scale_that_starts_at_one_and_training_moves(tiny_config):
    model = GHVAE(**tiny_config, action_film=True)
    assert all(module.core.action_film for module in model.ghvae_modules)
    config = model.get_config()
    assert config["action_film"] and GHVAE.from_config(config).get_config() == config
    assert not GHVAE(**{**tiny_config, "action_dim": None}, action_film=True).action_film
    # Untrained, every scale is 1: the model predicts as one without them.
    plain = GHVAE(**tiny_config)
    for source, target in zip(plain.weights, [w for w in model.weights if "film" not in w.path], strict=True):
        target.assign(source)
    _predicts_as_then_trains(model, plain)
    top = model.ghvae_modules[model.active_modules - 1].core.film
    assert np.abs(ops.convert_to_numpy(top.kernel)).max() > 0


def test_teacher_forced_rows_of_a_rollout_trained_batch_are_predicted_from_the_true_frames(tiny_config):
    clips = make_clips(batch=2, steps=5)
    models = {}
    for name, options in {"forced": {}, "rollout": {"feed_predictions": True},
                          "half": {"feed_predictions": True, "teacher_forced_fraction": 0.5}}.items():
        models[name] = GHVAE(**tiny_config, **options)
        perturb_zero_init(models[name])
    for model in list(models.values())[1:]:
        model.set_weights(models["forced"].get_weights())
    noise = {name: np.zeros((2,) + shape, "float32") for name, shape in models["forced"].noise_shapes(3).items()}
    frames = {name: ops.convert_to_numpy(model({**clips, **noise}, training=True)["frames"])
              for name, model in models.items()}
    assert not np.allclose(frames["forced"], frames["rollout"], atol=1e-4)
    np.testing.assert_allclose(frames["half"][0], frames["forced"][0], atol=1e-5)
    np.testing.assert_allclose(frames["half"][1], frames["rollout"][1], atol=1e-5)
    assert GHVAE.from_config(models["half"].get_config()).teacher_forced_fraction == 0.5
    with pytest.raises(ValueError, match="feed_predictions"):
        GHVAE(**tiny_config, teacher_forced_fraction=0.5)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        GHVAE(**tiny_config, feed_predictions=True, teacher_forced_fraction=1.5)


def test_noise_input_is_used(tiny_config):
    model = GHVAE(**tiny_config)
    perturb_zero_init(model)
    clips = make_clips(batch=2)
    shape = (2,) + model.noise_shapes(3)["noise_2"]
    rng = np.random.default_rng(0)
    noise_a, noise_b = rng.standard_normal(shape), rng.standard_normal(shape)

    def frames(noise):
        out = model({**clips, "noise_2": noise.astype("float32")}, training=True)
        return ops.convert_to_numpy(out["frames"])

    np.testing.assert_array_equal(frames(noise_a), frames(noise_a))
    assert not np.allclose(frames(noise_a), frames(noise_b))


# -- bad input: a ValueError naming the argument and the expected shape --------


@pytest.fixture
def model(tiny_config):
    return GHVAE(**tiny_config)


@pytest.fixture
def clips():
    return make_clips(batch=2, steps=5)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c, a: (c[0], a), r"context_frames must have shape \[B, C, H=16, W=16, 3\]"),
        (lambda c, a: (c[..., :1], a), r"context_frames must have shape .*got \[2, 2, 16, 16, 1\]"),
        (lambda c, a: (c[:, :, :8], a), r"context_frames must have shape .*got \[2, 2, 8, 16, 3\]"),
        (lambda c, a: ((c * 255).astype("uint8"), a), "context_frames must be a float array"),
        (lambda c, a: (c * 255, a), r"context_frames must be in \[0, 1\]"),
        (lambda c, a: (np.where(c > 0.5, np.nan, c), a), "context_frames contain NaN or inf"),
        (lambda c, a: (c[:, :0], a), r"needs at least one clip and one frame, got shape \[2, 0, 16, 16, 3\]"),
        (lambda c, a: (c, None), r"actions of shape \[B, C \+ horizon - 1, 3\] are required"),
        (lambda c, a: (c, a[..., :2]), r"actions must have shape \[B, C \+ horizon - 1 = 4, A=3\]"),
        (lambda c, a: (c, a[:, :3]), r"actions must have shape .*got \[2, 3, 3\]"),
        (lambda c, a: (c, a[:1]), "actions has batch size 1, context_frames 2"),
        (lambda c, a: (c, np.where(a > 0, np.nan, a)), "actions contain NaN or inf"),
    ],
)
def test_predict_video_rejects_bad_input(model, clips, change, message):
    context, actions = change(clips["frames"][:, :2], clips["actions"])
    with pytest.raises(ValueError, match=message):
        model.predict_video(context, actions, horizon=3)


@pytest.mark.parametrize("horizon", [0, -1, 2.5])
def test_predict_video_rejects_bad_horizon(model, clips, horizon):
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        model.predict_video(clips["frames"][:, :2], clips["actions"], horizon=horizon)


@pytest.mark.parametrize("num_samples", [0, -3])
def test_predict_video_rejects_bad_num_samples(model, clips, num_samples):
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        model.predict_video(clips["frames"][:, :2], clips["actions"], horizon=3, num_samples=num_samples)


def test_action_free_model_refuses_actions(clips):
    model = GHVAE(**TINY)
    with pytest.raises(ValueError, match="actions were given to an action-free model"):
        model.predict_video(clips["frames"][:, :2], clips["actions"], horizon=3)
    with pytest.raises(ValueError, match="actions were given to an action-free model"):
        model(clips)


def test_training_call_rejects_bad_input(model, clips):
    with pytest.raises(ValueError, match="needs a fixed number, more than context_length=2"):
        model({"frames": clips["frames"][:, :2], "actions": clips["actions"][:, :1]})
    with pytest.raises(ValueError, match=r"actions must have shape \[B, T-1 = 4, A=3\]"):
        model({"frames": clips["frames"], "actions": clips["actions"][:, :3]})
    with pytest.raises(ValueError, match=r"frames must have shape \[B, T, H=16, W=16, C=3\]"):
        model({"frames": clips["frames"][..., :2], "actions": clips["actions"]})
    with pytest.raises(ValueError, match="expects a dict"):
        model(clips["frames"])
    with pytest.raises(ValueError, match="frames must be a float tensor, got dtype uint8"):
        model({"frames": (clips["frames"] * 255).astype("uint8"), "actions": clips["actions"]})
    with pytest.raises(ValueError, match=r"noise_2 must have shape \[B, T-C = 3, h=4, w=4, z=2\], got \[2, 2, 4, 4, 2\]"):
        model({**clips, "noise_2": np.zeros((2, 2, 4, 4, 2), "float32")})


def test_constructor_rejects_bad_config():
    with pytest.raises(ValueError, match="divisible by 2 \\*\\* 3"):
        GHVAE(image_size=20, module_channels=(4, 4, 4))
    with pytest.raises(ValueError, match="latents must be one of"):
        GHVAE(**TINY, latents="some")
    with pytest.raises(ValueError, match="number of modules must be in 1..2"):
        GHVAE(**TINY, active_modules=0)


def _untrained_blend(frame):
    """What an untrained pixel decoder makes of its skip frame: the skip
    blended with grey by the initial mask sigmoid(4)."""
    mask = 1.0 / (1.0 + np.exp(-4.0))
    return mask * frame + (1.0 - mask) * 0.5


@pytest.mark.parametrize("skip_from", ["context", "previous"])
def test_skip_source_is_the_frame_it_names(skip_from):
    model = GHVAE(**TINY, action_dim=3, skip_from=skip_from, seed=1)
    clips = make_clips(batch=2, steps=6)
    predicted = ops.convert_to_numpy(model(clips, training=True)["frames"])
    # Frame t + 1 is drawn from the skip of frame t (previous) or of frame C (context).
    sources = clips["frames"][:, 1:5] if skip_from == "previous" else clips["frames"][:, [1] * 4]
    np.testing.assert_allclose(predicted, _untrained_blend(sources), atol=1e-5)
    video = model.predict_video(clips["frames"][:, :2], clips["actions"][:, :4], horizon=3)[:, 0]
    expected, last = [], clips["frames"][:, 1]
    for _ in range(3):  # a rollout feeds each prediction back as the next skip
        expected.append(_untrained_blend(last))
        last = expected[-1] if skip_from == "previous" else last
    np.testing.assert_allclose(video, np.stack(expected, axis=1), atol=1e-5)


def test_decode_features_changes_the_skip_frames_by_the_features():
    model = GHVAE(**TINY, action_dim=3, seed=1)
    frames = make_clips(batch=2, steps=2)["frames"][:, 0]
    other = make_clips(batch=2, steps=2, seed=5)["frames"][:, 0]
    features = model.encode_features(frames)[-1]
    # Untrained, the decoders return their skip frames (blended), whatever the features.
    np.testing.assert_allclose(ops.convert_to_numpy(model.decode_features(features, other)),
                               _untrained_blend(other), atol=1e-5)
    perturb_zero_init(model)
    drawn = ops.convert_to_numpy(model.decode_features(features, frames))
    assert drawn.shape == frames.shape
    assert not np.allclose(drawn, model.decode_features(model.encode_features(other)[-1], frames))


def test_decoder_actions_reach_every_decoder():
    model = GHVAE(**TINY, action_dim=3, decoder_actions=True, seed=1)
    perturb_zero_init(model)
    for level, module in enumerate(model.ghvae_modules):
        assert module.decoder.action_dim == 3
        features = ops.ones((2,) + model.level_shape(level))  # the module's input level
        push, pull = ops.ones((2, 3)), -ops.ones((2, 3))
        assert not np.allclose(module(features, push), module(features, pull))
    config = model.get_config()
    assert config["decoder_actions"] is True and GHVAE.from_config(config).get_config() == config
    # An action-free model has nothing to feed its decoders.
    assert GHVAE(**TINY, decoder_actions=True).decoder_actions is False
    with pytest.raises(ValueError, match="skip_from"):
        GHVAE(**TINY, skip_from="first")


def test_clone_copies_weights_and_applies_overrides(tiny_config):
    model = GHVAE(**tiny_config)
    perturb_zero_init(model)
    copy = model.clone(sampling="mode", active_modules=1)
    assert (copy.sampling, copy.active_modules) == ("mode", 1)
    assert _weights_equal(model, copy) and copy is not model
    assert model.sampling == "sample" and model.active_modules == 2


@pytest.mark.parametrize("context", [1, 3])
def test_a_context_encoded_once_serves_every_candidate(context):
    model = GHVAE(**{**TINY, "context_length": context}, action_dim=3, sampling="mode", seed=2)
    perturb_zero_init(model)
    clip = make_clips(batch=1, steps=context + 3, action_dim=3)
    past = clip["actions"][:, : context - 1]
    future = np.random.default_rng(0).uniform(-1, 1, (4, 3, 3)).astype(np.float32)
    frames = clip["frames"][:, :context]
    start = model.repeat_context(model.encode_context(frames, past), 4)
    shared = ops.convert_to_numpy(model.rollout_from(start, future, horizon=3))
    each = ops.convert_to_numpy(model.rollout(
        np.repeat(frames, 4, axis=0), np.concatenate([np.repeat(past, 4, axis=0), future], axis=1), horizon=3))
    np.testing.assert_allclose(shared, each, atol=1e-5)
    assert np.ptp(shared[:, -1]) > 0, "each candidate's actions lead elsewhere"


def test_a_bfloat16_policy_computes_the_same_frames_within_its_rounding():
    model = GHVAE(**TINY, action_dim=3, horizon=3, seed=5)
    perturb_zero_init(model)
    fast = model.clone(dtype="mixed_bfloat16")
    clips = make_clips(batch=2, steps=2)
    actions = np.random.default_rng(1).uniform(-1, 1, (2, 4, 3)).astype(np.float32)
    noise = {name: np.random.default_rng(2).standard_normal((2,) + shape).astype(np.float32)
             for name, shape in model.noise_shapes(3).items()}
    reference = np.asarray(model.rollout(clips["frames"], actions, noise, 3))
    predicted = fast.rollout(clips["frames"], actions, noise, 3)
    assert keras.backend.standardize_dtype(predicted.dtype) == "float32"  # frames out in float32
    difference = np.abs(np.asarray(predicted) - reference)
    assert 0 < difference.mean() < 0.01 and difference.max() < 0.1  # computed in bfloat16, 8 bits
    features = fast.encode_features(clips["frames"][:, 0])
    assert [keras.backend.standardize_dtype(f.dtype) for f in features] == ["float32", "float32"]
