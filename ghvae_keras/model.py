"""GHVAE: a stack of GHVAE modules for action-conditioned video prediction."""

import keras
import numpy as np
from keras import ops

from ghvae_keras.errors import InputError
from ghvae_keras.layers import GHVAEModule, gaussian_kl

_LATENT_MODES = ("top", "all")
_SKIP_SOURCES = ("context", "previous")


@keras.saving.register_keras_serializable(package="ghvae_keras")
class GHVAE(keras.Model):
    """Greedy hierarchical VAE for video prediction.

    Module k encodes level-(k-1) features to level k (half the size) and
    decodes them back. With the first k modules active, the next frame is
    predicted at level k by module k's temporal core, prior (or posterior, in
    training) and predictor, then decoded to pixels through decoders k..1.
    Greedy training fits module k with modules 1..k-1 frozen
    (`ghvae_keras.training.fit_greedy`); all modules are used at test time.

    Calling the model on `{"frames": [B, T, H, W, 3], "actions": [B, T-1, A]}`
    (optionally with the noise of `noise_shapes(T - context_length)`) is the
    training forward pass: it predicts frames `context_length + 1 .. T` from
    the true previous frames (or its own, `feed_predictions`), adds
    `reconstruction + beta * KL` with `add_loss`, and returns `{"frames",
    "reconstruction", "kl", "copy_last_frame", "copied"}`; `copy_last_frame`
    is the error of copying the last context frame on the same clips, logged
    beside `reconstruction` as the floor it must beat, and `copied` is 1 for a
    clip predicted as that frame pixel for pixel (the pixel decoder's blend
    saturated on it: a collapsed model, which no gradient reaches), else 0.

    Args:
        image_size: height and width of the frames; divisible by
            `2 ** num_modules`.
        module_channels: feature channels of each module; its length is the
            number of modules K.
        latent_channels: channels of each module's spatial latent.
        action_dim: size of an action, or `None` for action-free video.
        context_length: context frames C seen before predicting (training).
        horizon: default number of frames `predict_video` predicts.
        beta: weight of the KL term.
        num_blocks: residual blocks per encoder, decoder and predictor.
        active_modules: the modules in use, 1..K (default K).
        latents: `"top"` (GHVAE: only the top active module's prior,
            posterior and core) or `"all"` (the end-to-end hierarchical-VAE
            baseline: a latent at every active level).
        sampling: `"sample"`, or `"mode"` to use latent means (deterministic).
        seed: seed for the model's random generators.
        skip_from: which frame's features every decoder fuses as its skip:
            `"context"` (the last context frame, for every predicted frame)
            or `"previous"` (the frame before the one predicted: the true one
            in training, the last prediction in a rollout).
        decoder_actions: decoders see the action as well as the temporal
            core (action-conditioned models only).
        lower_cores: the modules below the top keep predicting: their
            temporal cores run and their predictors add the change they
            predict (from their prior's mean) at their level, over what the
            module above decodes. Module k then refines the k-1-module
            prediction instead of replacing it (a stage starts where the
            last one ended); only the top draws a latent.
        feed_predictions: training predicts as a rollout does: after the
            context, the temporal cores see the model's own previous
            prediction, encoded, instead of the true frame (the posterior
            still sees the true next frame). Otherwise each frame is
            predicted from the true previous one (teacher forcing).
        teacher_forced_fraction: with `feed_predictions`, this fraction of
            each training batch's clips (its first rows) is still predicted
            from the true previous frames: a rollout-trained model moves
            less than its actions say, a teacher-forced one drifts.
        render_weight: weight of a second reconstruction term in training:
            each future frame decoded from the features the encoders make
            of it, with the skips that prediction gives the decoders, so
            that the decoders draw what the features say rather than copy
            the skips (`tools/probe_decoders.py` measures how much they do).
        motion_weight: in training, each predicted pixel's squared error
            counts `1 + motion_weight * change`, where `change` is how much
            that pixel changes from the true previous frame (mean absolute
            difference over the colours): the arm and what it pushes, a
            small part of a frame, weigh more than the still background.
            The reported `reconstruction` stays the plain mean squared error.
        warp_skip: the pixel decoder also predicts a flow field and blends
            the skip frame moved along it, not the skip frame as it is, so
            what moves can keep its edges (the flow starts at zero).
        action_film: the action also scales each channel of the temporal
            cores' inputs (1 + a linear map of the action, zero at the
            start), so that it can move what those channels locate.

    Example:

    >>> model = GHVAE(image_size=32, module_channels=(8, 16), action_dim=4)
    >>> video = model.predict_video(np.zeros((1, 2, 32, 32, 3)),
    ...                             np.zeros((1, 11, 4)), horizon=10)
    >>> video.shape
    (1, 1, 10, 32, 32, 3)

    Reference: Wu et al., "Greedy Hierarchical Variational Autoencoders for
    Large-Scale Video Prediction", CVPR 2021 (arXiv:2103.04174).
    """

    def __init__(
        self,
        image_size=64,
        module_channels=(32, 64, 96, 128),
        latent_channels=8,
        action_dim=None,
        context_length=2,
        horizon=10,
        beta=1e-4,
        num_blocks=1,
        active_modules=None,
        latents="top",
        sampling="sample",
        seed=None,
        skip_from="context",
        decoder_actions=False,
        lower_cores=False,
        feed_predictions=False,
        teacher_forced_fraction=0.0,
        render_weight=0.0,
        motion_weight=0.0,
        warp_skip=False,
        action_film=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        module_channels = tuple(int(c) for c in module_channels)
        if not module_channels:
            raise ValueError("module_channels must name at least one module")
        if image_size % 2 ** len(module_channels):
            raise ValueError(
                f"image_size={image_size} must be divisible by "
                f"2 ** {len(module_channels)} (one halving per module)"
            )
        if context_length < 1:
            raise ValueError(f"context_length must be >= 1, got {context_length}")
        if skip_from not in _SKIP_SOURCES:
            raise ValueError(f"skip_from must be one of {_SKIP_SOURCES}, got {skip_from!r}")
        self.image_size = image_size
        self.module_channels = module_channels
        self.latent_channels = latent_channels
        self.action_dim = action_dim or None
        self.context_length = context_length
        self.horizon = horizon
        self.beta = beta
        self.num_blocks = num_blocks
        self.latents = latents
        self.sampling = sampling
        self.seed = seed
        self.skip_from = skip_from
        self.decoder_actions = bool(decoder_actions and self.action_dim)
        self.lower_cores = bool(lower_cores)
        self.feed_predictions = bool(feed_predictions)
        if not 0.0 <= teacher_forced_fraction <= 1.0:
            raise ValueError(f"teacher_forced_fraction must be in [0, 1], got {teacher_forced_fraction}")
        if teacher_forced_fraction and not feed_predictions:
            raise ValueError("teacher_forced_fraction splits the batch of a model trained with "
                             "feed_predictions=True; without it every clip is teacher-forced")
        self.teacher_forced_fraction = float(teacher_forced_fraction)
        if render_weight < 0:
            raise ValueError(f"render_weight must be >= 0, got {render_weight}")
        self.render_weight = float(render_weight)
        if motion_weight < 0:
            raise ValueError(f"motion_weight must be >= 0, got {motion_weight}")
        self.motion_weight = float(motion_weight)
        self.warp_skip = bool(warp_skip)
        self.action_film = bool(action_film and self.action_dim)
        self.active_modules = len(module_channels) if active_modules is None else active_modules
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ghvae_modules = [
            GHVAEModule(
                filters,
                output_channels=3 if k == 0 else module_channels[k - 1],
                latent_channels=latent_channels,
                action_dim=self.action_dim,
                num_blocks=num_blocks,
                pixel_output=k == 0,
                sampling=sampling,
                seed=None if seed is None else seed + 2 * k + 1,
                decoder_actions=self.decoder_actions,
                warp_skip=self.warp_skip and k == 0,
                action_film=self.action_film,
                name=f"module_{k + 1}",
                dtype=self.dtype_policy,
            )
            for k, filters in enumerate(module_channels)
        ]
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.copy_tracker = keras.metrics.Mean(name="copy_last_frame")
        self.copied_tracker = keras.metrics.Mean(name="copied")
        # Every module exists from the start, so weights load into any stage.
        self.build()

    # -- structure -----------------------------------------------------------

    @property
    def num_modules(self):
        return len(self.module_channels)

    @property
    def active_modules(self):
        return self._active_modules

    @active_modules.setter
    def active_modules(self, value):
        # The one check of a module count: truncation, loading and the
        # command line all come through here.
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or not 1 <= value <= len(self.module_channels):
            raise InputError(
                f"the number of modules must be in 1..{len(self.module_channels)}, got {value!r}"
            )
        self._active_modules = int(value)

    @property
    def latents(self):
        return self._latents

    @latents.setter
    def latents(self, value):
        if value not in _LATENT_MODES:
            raise ValueError(f"latents must be one of {_LATENT_MODES}, got {value!r}")
        self._latents = value

    def latent_levels(self):
        """Levels whose core, prior and posterior run (1-based)."""
        k = self.active_modules
        return list(range(1, k + 1)) if self.latents == "all" else [k]

    def core_levels(self):
        """Levels whose temporal core and predictor run: those with a latent,
        and with `lower_cores` every active level."""
        k = self.active_modules
        return list(range(1, k + 1)) if self.lower_cores else self.latent_levels()

    def _latent(self, level, core_output, noise=None):
        """The prior's z at `level` (its mean below the top when the lower
        cores run: only the top draws)."""
        prior = self.ghvae_modules[level - 1].prior
        mean, log_var = prior(core_output)
        if level not in self.latent_levels():
            return mean
        return prior.sample(mean, log_var, noise)

    def level_shape(self, level):
        size = self.image_size // 2**level
        channels = 3 if level == 0 else self.module_channels[level - 1]
        return (size, size, channels)

    def noise_shapes(self, steps):
        """Shapes (without batch) of the noise inputs for `steps` predictions.

        Feeding noise as an input (e.g. made in `tf.data`) is how replicas of
        a distributed run draw different noise.
        """
        return {
            f"noise_{level}": (steps,) + self.level_shape(level)[:2] + (self.latent_channels,)
            for level in self.latent_levels()
        }

    def build(self, input_shape=None):
        shape = (None,) + self.level_shape(0)
        for module in self.ghvae_modules:
            module.build(shape)
            shape = module.encoder.compute_output_shape(shape)
        self.built = True

    def clone(self, **overrides):
        """A new model of this config with `overrides` applied (e.g.
        `sampling="mode"`) and a copy of these weights (no optimizer state)."""
        model = type(self).from_config({**self.get_config(), **overrides})
        model.set_weights(self.get_weights())
        return model

    def truncated(self, num_modules):
        """A copy with the same weights and the first `num_modules` active."""
        return self.clone(active_modules=num_modules)

    def encode_features(self, frames):
        """The encoder features of frames `[B, H, W, 3]` at levels 1..k (the
        active modules), a list of `[B, h, w, c]`: the model's own view of a
        scene, which planning compares with a goal's. Float32 under any
        dtype policy, as are the frames every public method returns."""
        return [ops.cast(f, "float32") for f in self._encode(frames)[1:]]

    def decode_features(self, features, skip_frames, actions=None):
        """Frames `[B, H, W, 3]` drawn from the top active level's features
        `[B, h, w, c]` of each (`encode_features(...)[-1]`), with the skips
        of `skip_frames` `[B, H, W, 3]`, the frames the decoders change
        (in prediction, the last context frame); `actions` `[B, A]` lead to
        them, for decoders that see actions."""
        skips = self._encode(skip_frames)[: self.active_modules]
        return ops.cast(self._decode(features, skips, {}, actions), "float32")

    # -- shared pieces of training and rollout -------------------------------

    def _encode(self, frames):
        """Pixels → features at levels 0..k; frozen encoders pass no gradient."""
        features = [frames]
        for module in self.ghvae_modules[: self.active_modules]:
            h = module.encoder(features[-1])
            features.append(h if module.trainable else ops.stop_gradient(h))
        return features

    def _encode_clips(self, frames):
        """`[B, T, H, W, 3]` → features `[B, T, h, w, c]` at levels 0..k."""
        batch, steps = ops.shape(frames)[0], frames.shape[1]
        flat = self._encode(ops.reshape(frames, (-1,) + self.level_shape(0)))
        return [
            ops.reshape(f, (batch, steps) + self.level_shape(level))
            for level, f in enumerate(flat)
        ]

    def _decode(self, top_features, skips, residuals, action=None):
        """Level-k features → pixels through decoders k..1.

        `skips[j]` are the level-j features of the frame that `skip_from`
        names; `residuals[j]` (end-to-end baseline only) is added at level
        j; `action` is the one that leads to the predicted frame.
        """
        x = top_features
        action = action if self.decoder_actions else None
        for level in range(self.active_modules, 0, -1):
            x = self.ghvae_modules[level - 1].decoder(x, skips[level - 1], action)
            if level - 1 in residuals:
                x = x + residuals[level - 1]
        return x

    def _predict_level(self, level, core_output, current, z):
        """Level features of the next frame (a change of the current ones at
        the top; a residual over the decoded features below it)."""
        delta = self.ghvae_modules[level - 1].predictor(core_output, z)
        return current + delta if level == self.active_modules else delta

    def _split_predictions(self, per_level):
        top = per_level[self.active_modules]
        residuals = {l: v for l, v in per_level.items() if l != self.active_modules}
        return top, residuals

    # -- training forward pass ------------------------------------------------

    def call(self, inputs, training=False):
        frames, actions = self._unpack_training_inputs(inputs)
        features = self._encode_clips(frames)
        if self.feed_predictions:
            predicted, kl = self._predict_fed_back(inputs, features, actions)
        else:
            predicted, kl = self._predict_teacher_forced(inputs, features, actions)
        # The loss in float32 under any dtype policy (a bfloat16 sum of
        # thousands of squared errors would lose the small ones).
        frames, predicted = ops.cast(frames, "float32"), ops.cast(predicted, "float32")
        targets = frames[:, self.context_length:]
        squared = ops.square(predicted - targets)
        reconstruction = ops.mean(squared, axis=(1, 2, 3, 4))
        copy_last_frame = ops.mean(ops.square(frames[:, self.context_length - 1:self.context_length] - targets),
                                   axis=(1, 2, 3, 4))
        fit = reconstruction
        if self.motion_weight:
            previous = frames[:, self.context_length - 1:-1]
            change = ops.mean(ops.abs(targets - previous), axis=-1, keepdims=True)
            fit = ops.mean((1.0 + self.motion_weight * change) * squared, axis=(1, 2, 3, 4))
        kl = kl / targets.shape[1]
        loss = ops.mean(fit) + self.beta * ops.mean(kl)
        if self.render_weight:
            rendered = ops.cast(self._render_future(features, actions), "float32")
            loss = loss + self.render_weight * ops.mean(ops.square(rendered - targets))
        self.add_loss(loss)
        copy_last_frame = ops.stop_gradient(copy_last_frame)
        copied = ops.cast(ops.abs(ops.stop_gradient(reconstruction) - copy_last_frame)
                          <= 1e-6 * copy_last_frame, "float32")
        return {"frames": predicted, "reconstruction": reconstruction, "kl": kl,
                "copy_last_frame": copy_last_frame, "copied": copied}

    def _training_level_step(self, level, core_output, current, next_features, inputs, step):
        """Module `level`'s prediction of the next features in training, and
        its KL term: z from the posterior given the true next features where
        the level draws (`step` indexes the noise input), the prior's mean on
        a lower core (no KL)."""
        if level not in self.latent_levels():
            return self._predict_level(level, core_output, current, self._latent(level, core_output)), 0.0
        module = self.ghvae_modules[level - 1]
        posterior = module.posterior(ops.concatenate([core_output, next_features], axis=-1))
        noise = inputs.get(f"noise_{level}")
        z = module.posterior.sample(*posterior, None if noise is None else noise[:, step])
        kl = gaussian_kl(*(ops.cast(x, "float32") for x in (*posterior, *module.prior(core_output))))
        return self._predict_level(level, core_output, current, z), kl

    def _predict_teacher_forced(self, inputs, features, actions):
        """Frames C+1..T, each predicted from the true previous frame; the
        decoders run once over every step."""
        batch, steps = ops.shape(features[0])[0], features[0].shape[1]
        context = self.context_length
        predicted_steps = steps - context
        states = {level: None for level in self.core_levels()}
        predictions = {level: [] for level in self.core_levels()}
        kl = 0.0
        for t in range(steps - 1):
            action = None if actions is None else actions[:, t]
            for level in self.core_levels():
                module = self.ghvae_modules[level - 1]
                out, states[level] = module.core(features[level][:, t], action, states[level])
                if t < context - 1:
                    continue
                prediction, step_kl = self._training_level_step(
                    level, out, features[level][:, t], features[level][:, t + 1], inputs, t - context + 1)
                predictions[level].append(prediction)
                kl = kl + step_kl

        top, residuals = self._split_predictions(
            {level: _merge_time(p) for level, p in predictions.items()}
        )
        predicted = ops.reshape(
            self._decode(top, *self._decoder_inputs(features, actions, residuals)),
            (batch, predicted_steps) + self.level_shape(0),
        )
        return predicted, kl

    def _decoder_inputs(self, features, actions, residuals):
        """`(skips, residuals, action)` for decoding frames C+1..T at once
        (steps merged into the batch): frame t's skip and action lead to
        frame t + 1, t = C-1 .. T-2."""
        steps, context = features[0].shape[1], self.context_length
        if self.skip_from == "previous":
            skips = [_merge_time([features[level][:, t] for t in range(context - 1, steps - 1)])
                     for level in range(self.active_modules)]
        else:
            skips = [_merge_time([features[level][:, context - 1]] * (steps - context))
                     for level in range(self.active_modules)]
        action = None
        if actions is not None:
            action = _merge_time([actions[:, t] for t in range(context - 1, steps - 1)])
        return skips, residuals, action

    def _render_future(self, features, actions):
        """Frames C+1..T decoded from the features the encoders make of them,
        with the skips that prediction gives the decoders (`render_weight`)."""
        batch, steps = ops.shape(features[0])[0], features[0].shape[1]
        context = self.context_length
        top = _merge_time([features[self.active_modules][:, t] for t in range(context, steps)])
        rendered = self._decode(top, *self._decoder_inputs(features, actions, {}))
        return ops.reshape(rendered, (batch, steps - context) + self.level_shape(0))

    def _predict_fed_back(self, inputs, features, actions):
        """Frames C+1..T as a rollout predicts them: after the context, the
        cores see each predicted frame, encoded (it passes no gradient back);
        the posterior sees the true next frame."""
        steps, context = features[0].shape[1], self.context_length
        states = {level: None for level in self.core_levels()}
        kl, frames = 0.0, []
        forced = None  # the rows that see the true frames (`teacher_forced_fraction`)
        if self.teacher_forced_fraction:
            batch = ops.shape(features[0])[0]
            rows = ops.cast(ops.round(self.teacher_forced_fraction * ops.cast(batch, "float32")), "int32")
            forced = ops.reshape(ops.arange(batch) < rows, (-1, 1, 1, 1))
        for t in range(steps - 1):
            action = None if actions is None else actions[:, t]
            if t < context:
                current = [f[:, t] for f in features]
            per_level = {}
            for level in self.core_levels():
                module = self.ghvae_modules[level - 1]
                out, states[level] = module.core(current[level], action, states[level])
                if t < context - 1:
                    continue
                per_level[level], step_kl = self._training_level_step(
                    level, out, current[level], features[level][:, t + 1], inputs, t - context + 1)
                kl = kl + step_kl
            if t < context - 1:
                continue
            top, residuals = self._split_predictions(per_level)
            skips = (current if self.skip_from == "previous"
                     else [f[:, context - 1] for f in features])[: self.active_modules]
            frames.append(self._decode(top, skips, residuals, action))
            if t < steps - 2:
                current = self._encode(ops.stop_gradient(frames[-1]))
                if forced is not None:
                    current = [ops.where(forced, f[:, t + 1], c) for f, c in zip(features, current)]
        return ops.stack(frames, axis=1), kl

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self.reconstruction_tracker.update_state(y_pred["reconstruction"])
        self.kl_tracker.update_state(y_pred["kl"])
        self.copy_tracker.update_state(y_pred["copy_last_frame"])
        self.copied_tracker.update_state(y_pred["copied"])
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def _unpack_training_inputs(self, inputs):
        if not isinstance(inputs, dict) or "frames" not in inputs:
            raise ValueError(
                "GHVAE expects a dict {'frames': [B, T, H, W, 3], 'actions': "
                f"[B, T-1, A]}}, got {type(inputs).__name__}"
            )
        frames = inputs["frames"]
        actions = inputs.get("actions")
        _check_shape("frames", frames.shape, (None, None) + self.level_shape(0))
        steps = frames.shape[1]
        if steps is None or steps <= self.context_length:
            raise ValueError(
                f"frames has {steps} time steps; training needs a fixed number, "
                f"more than context_length={self.context_length}"
            )
        self._check_actions(actions, steps - 1, "T-1")
        for name, value in [("frames", frames), ("actions", actions)]:
            if value is not None and not keras.backend.is_float_dtype(value.dtype):
                dtype = keras.backend.standardize_dtype(value.dtype)
                raise ValueError(f"{name} must be a float tensor, got dtype {dtype}")
        for name, shape in self.noise_shapes(steps - self.context_length).items():
            if name in inputs:
                _check_shape(name, inputs[name].shape, (None,) + shape,
                             names=("B", "T-C", "h", "w", "z"))
        return frames, actions

    def _check_actions(self, actions, length, length_name):
        if self.action_dim is None:
            if actions is not None:
                raise ValueError(
                    "actions were given to an action-free model (action_dim=None)"
                )
            return
        if actions is None:
            raise ValueError(
                f"actions of shape [B, {length_name}, {self.action_dim}] are "
                "required: the model is action-conditioned"
            )
        _check_shape(
            "actions", tuple(actions.shape), (None, length, self.action_dim),
            names=("B", length_name, "A"),
        )

    # -- prediction -----------------------------------------------------------

    def rollout(self, context_frames, actions=None, noise=None, horizon=None):
        """Predicts `horizon` frames autoregressively with the top prior.

        A traceable function of tensors (used by `predict_video` and export):
        `context_frames` `[B, C, H, W, 3]`, `actions` `[B, C + horizon - 1, A]`,
        `noise` a dict shaped like `noise_shapes(horizon)` (drawn from the
        model's generator when omitted). Returns `[B, horizon, H, W, 3]`.
        It is `rollout_from(encode_context(...), ...)`.
        """
        context = context_frames.shape[1]
        start = self.encode_context(context_frames, None if actions is None else actions[:, : context - 1])
        future = None if actions is None else actions[:, context - 1:]
        return self.rollout_from(start, future, noise, horizon)

    def encode_context(self, context_frames, actions=None):
        """Where a rollout starts: `context_frames` `[B, C, H, W, 3]` and the
        C - 1 actions between them `[B, C - 1, A]` encoded, and the top
        module's core run over them. A dict of tensors for `rollout_from`;
        a planner encodes its context once and repeats the result along the
        batch for every candidate (`repeat_context`)."""
        context = context_frames.shape[1]
        features = self._encode_clips(context_frames)
        states = {level: None for level in self.core_levels()}
        for t in range(context - 1):
            for level in self.core_levels():
                _, states[level] = self.ghvae_modules[level - 1].core(
                    features[level][:, t], None if actions is None else actions[:, t], states[level]
                )
        return {"current": [f[:, -1] for f in features],
                "states": {str(level): state for level, state in states.items() if state is not None}}

    @staticmethod
    def repeat_context(start, count):
        """`start` (from `encode_context`, batch 1) repeated `count` times along the batch."""
        return keras.tree.map_structure(lambda x: ops.repeat(x, count, axis=0), start)

    def rollout_from(self, start, actions=None, noise=None, horizon=None):
        """`rollout` from an encoded context (`encode_context`): `actions`
        are the `[B, horizon, A]` that follow the last context frame.
        Returns `[B, horizon, H, W, 3]`."""
        horizon = self.horizon if horizon is None else horizon
        noise = noise or {}
        current = list(start["current"])
        skips = current[: self.active_modules]
        states = {level: start["states"].get(str(level)) for level in self.core_levels()}

        def action_at(step):
            return None if actions is None else actions[:, step]

        frames = []
        for step in range(horizon):
            per_level = {}
            for level in self.core_levels():
                module = self.ghvae_modules[level - 1]
                out, states[level] = module.core(current[level], action_at(step), states[level])
                level_noise = noise.get(f"noise_{level}")
                if level_noise is not None:
                    level_noise = level_noise[:, step]
                per_level[level] = self._predict_level(level, out, current[level],
                                                       self._latent(level, out, level_noise))
            top, residuals = self._split_predictions(per_level)
            if self.skip_from == "previous":
                skips = current[: self.active_modules]
            frame = self._decode(top, skips, residuals, action_at(step))
            frames.append(frame)
            if step < horizon - 1:
                current = self._encode(frame)
        return ops.cast(ops.stack(frames, axis=1), "float32")  # frames in float32 under any dtype policy

    def predict_video(
        self, context_frames, actions=None, horizon=None, num_samples=1, seed=None
    ):
        """Samples futures of a context clip.

        Args:
            context_frames: `[B, C, H, W, 3]` floats in [0, 1].
            actions: `[B, C + horizon - 1, A]` for action-conditioned models.
            horizon: frames to predict (default: the config's `horizon`).
            num_samples: futures per clip.
            seed: the same seed gives the same samples.

        Returns:
            numpy float32 `[B, num_samples, horizon, H, W, 3]` in [0, 1].
        """
        horizon = self.horizon if horizon is None else horizon
        if not isinstance(horizon, (int, np.integer)) or horizon <= 0:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
        context_frames = _float_array("context_frames", context_frames)
        _check_shape(
            "context_frames", context_frames.shape, (None, None) + self.level_shape(0),
            names=("B", "C", "H", "W", "3"),
        )
        if 0 in context_frames.shape[:2]:
            raise ValueError(
                "context_frames needs at least one clip and one frame, got shape "
                f"{list(context_frames.shape)}"
            )
        if not np.isfinite(context_frames).all():
            raise ValueError("context_frames contain NaN or inf")
        if context_frames.min() < 0.0 or context_frames.max() > 1.0:
            raise ValueError(
                "context_frames must be in [0, 1] (divide uint8 frames by 255); got "
                f"values in [{context_frames.min():g}, {context_frames.max():g}]"
            )
        batch, context = context_frames.shape[:2]
        if actions is not None:
            actions = _float_array("actions", actions)
        self._check_actions(actions, context + horizon - 1, "C + horizon - 1")
        if actions is not None:
            if actions.shape[0] != batch:
                raise ValueError(
                    f"actions has batch size {actions.shape[0]}, context_frames {batch}"
                )
            if not np.isfinite(actions).all():
                raise ValueError("actions contain NaN or inf")
            actions = np.repeat(actions, num_samples, axis=0)
        context_frames = np.repeat(context_frames, num_samples, axis=0)

        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(seed)
        noise = {
            name: keras.random.normal((batch * num_samples,) + shape, seed=generator)
            for name, shape in self.noise_shapes(horizon).items()
        }
        video = self.rollout(context_frames, actions, noise, horizon)
        video = ops.convert_to_numpy(video).astype(np.float32)
        return video.reshape((batch, num_samples, horizon) + self.level_shape(0))

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "module_channels": list(self.module_channels),
            "latent_channels": self.latent_channels,
            "action_dim": self.action_dim,
            "context_length": self.context_length,
            "horizon": self.horizon,
            "beta": self.beta,
            "num_blocks": self.num_blocks,
            "active_modules": self.active_modules,
            "latents": self.latents,
            "sampling": self.sampling,
            "seed": self.seed,
            "skip_from": self.skip_from,
            "decoder_actions": self.decoder_actions,
            "lower_cores": self.lower_cores,
            "feed_predictions": self.feed_predictions,
            "teacher_forced_fraction": self.teacher_forced_fraction,
            "render_weight": self.render_weight,
            "motion_weight": self.motion_weight,
            "warp_skip": self.warp_skip,
            "action_film": self.action_film,
        }


def _merge_time(tensors):
    """`T` tensors `[B, ...]` → `[B * T, ...]`, each example's steps together."""
    stacked = ops.stack(tensors, axis=1)
    return ops.reshape(stacked, (-1,) + tuple(stacked.shape[2:]))


def _float_array(name, value):
    array = np.asarray(ops.convert_to_numpy(value))
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must be a float array, got dtype {array.dtype}")
    return array.astype(np.float32, copy=False)


def _check_shape(name, shape, expected, names=None):
    """Raises a ValueError naming `name` unless `shape` matches `expected`
    (`None` in `expected` matches any size)."""
    shape = tuple(shape)
    names = names or ("B", "T", "H", "W", "C")[: len(expected)]
    wanted = "[" + ", ".join(
        n if e is None or n == str(e) else f"{n}={e}" if n.isalpha() else f"{n} = {e}"
        for n, e in zip(names, expected)
    ) + "]"
    if len(shape) != len(expected) or any(
        e is not None and s is not None and s != e for s, e in zip(shape, expected)
    ):
        raise ValueError(f"{name} must have shape {wanted}, got {list(shape)}")
