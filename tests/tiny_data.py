"""Tiny configs and random clips shared by the tests and their worker scripts."""

import numpy as np

TINY = dict(image_size=16, module_channels=(8, 8), latent_channels=2, context_length=2)


def make_clips(batch=4, steps=5, size=16, action_dim=3, seed=0):
    rng = np.random.default_rng(seed)
    clips = {"frames": rng.random((batch, steps, size, size, 3), dtype=np.float32)}
    if action_dim:
        clips["actions"] = rng.uniform(-1, 1, (batch, steps - 1, action_dim)).astype(np.float32)
    return clips


def make_dataset(batch=4, steps=5, size=16, action_dim=3, seed=0, batches=2):
    import tensorflow as tf  # the JAX workers use make_clips only

    clips = make_clips(batch * batches, steps, size, action_dim, seed)
    return tf.data.Dataset.from_tensor_slices(clips).batch(batch, drop_remainder=True)


def episodes(lengths, frames_key="video", actions_key="actions", actions_per_frame=False):
    """Episodes whose frame t of episode e has red = t and green = e, and whose
    action t is (e, t, 0, ...): a window's offset can be read from its values
    (a `tf.data.Dataset` of ragged episodes, as TFDS gives them)."""
    import tensorflow as tf

    videos, actions = [], []
    for e, n in enumerate(lengths):
        video = np.zeros((n, 64, 64, 3), np.uint8)
        video[..., 0] = np.arange(n)[:, None, None]
        video[..., 1] = e
        videos.append(video)
        steps = n if actions_per_frame else n - 1
        dim = 4 if actions_per_frame else 5
        actions.append(np.stack([np.full(steps, e), np.arange(steps)] + [np.zeros(steps)] * (dim - 2), -1))
    ragged = lambda parts, dtype: tf.RaggedTensor.from_row_lengths(  # noqa: E731
        np.concatenate(parts).astype(dtype), [len(p) for p in parts])
    return tf.data.Dataset.from_tensor_slices(
        {frames_key: ragged(videos, np.uint8), actions_key: ragged(actions, np.float32)})


def perturb_zero_init(model, scale=0.2, seed=0):
    """Gives the zero-initialised output convolutions (predictors, decoders)
    and action films random kernels, and the pixel mask an even start, so
    that latents, actions and predictions reach the frames."""
    rng = np.random.default_rng(seed)
    for module in model.ghvae_modules:
        if module.core.action_film:
            film = module.core.film.kernel
            film.assign(rng.normal(0, scale, film.shape).astype("float32"))
        for conv in (module.predictor.out, module.decoder.out):
            conv.kernel.assign(rng.normal(0, scale, conv.kernel.shape).astype("float32"))
            conv.bias.assign(np.zeros(conv.bias.shape, "float32"))
