"""Planning robot actions with a video model: the cross-entropy method (CEM)
over action sequences, replanned every few steps (model-predictive control).

`CEMPlanner` scores candidate action sequences by rolling all of them out
at once through an action-conditioned `GHVAE` and comparing the predicted
frames with a goal image; `MPCController` keeps the recent frames and
actions of a running episode and replans as it goes.

Reference: Finn and Levine, "Deep Visual Foresight for Planning Robot
Motion", ICRA 2017; Wu et al., "Greedy Hierarchical Variational
Autoencoders for Large-Scale Video Prediction", CVPR 2021, §5.3.
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from ghvae_keras.model import GHVAE

__all__ = ["COSTS", "CEMPlanner", "MPCController", "Plan"]

COSTS = ("pixels", "changed_pixels", "change_maps", "features")


@dataclasses.dataclass
class Plan:
    """What `CEMPlanner.plan` found.

    Attributes:
        actions: the best action sequence, `[horizon, A]`.
        cost: its cost.
        mean_costs: the mean cost of the candidates of each iteration (it
            falls as the sampling distribution closes in).
    """

    actions: np.ndarray
    cost: float
    mean_costs: list


class CEMPlanner:
    """Cross-entropy-method planning over action sequences with a GHVAE.

    Each iteration draws `candidates` action sequences from a Gaussian per
    step and action dimension (clipped to the bounds), predicts the frames
    each leads to in one batched rollout, scores them against the goal
    image, and refits the Gaussian to the `elite_fraction` lowest costs.
    Two refinements of iCEM (Pinneri et al., CoRL 2020) make the most of few
    rollouts: the noise is coloured (`noise_exponent` 2: smooth sequences
    that hold a direction for a while, as a robot's pushes do, instead of
    jittering each step), and the elites of one iteration compete in the
    next (the rollouts are deterministic, so their costs stand).

    The cost of a candidate is summed over its predicted frames, so sooner
    is better than later:
    - `"pixels"`: mean squared difference of the frames from the goal image;
    - `"changed_pixels"`: the same, each pixel weighted by how much the goal
      image differs there from the last observed frame (smoothed over a few
      pixels): the places where the scene has to change count, the rest of
      the scene, which the actions cannot change, does not;
    - `"change_maps"` (the default): where each frame differs from the last
      observed one against where the goal does, both averaged over squares
      of every size from one pixel to the whole image, weighted by the
      square's side. A pixel cost is flat until the hand overlaps its place
      in the goal (a hand 3 pixels off costs what one 30 pixels off does);
      here a hand nearer its goal's place shares ever finer squares with it,
      so the cost falls all the way there. Like the pixel cost, it still
      prefers the hand out of view to the hand far from its goal;
    - `"features"`: the same in the model's own encoder features, at every
      active level, each level normalised by the goal's feature variance.
      The encoders were trained to keep what the decoders need to redraw a
      scene, so the distance weighs objects by more than their pixel count.

    Rollouts use the latent means of the prior (`sampling="mode"`): every
    candidate is judged on the same, deterministic prediction.

    Args:
        model: an action-conditioned `GHVAE` (its weights are copied; the
            model itself is not changed).
        horizon: planned steps (default: the model's `horizon`).
        candidates: action sequences per iteration, rolled out as one batch.
        iterations: CEM iterations per plan.
        elite_fraction: the share of candidates the Gaussian is refitted to.
        action_low, action_high: bounds of each action dimension (scalars or
            `[A]`); a dimension with equal bounds is held at that value.
        initial_std: the Gaussian's starting spread (default: half the
            range of each dimension).
        cost: one of `COSTS` (see above).
        noise_exponent: β of the noise's 1/f^β spectrum over time (0: white).
        rollout: predicts for the planner instead of the model: a function
            of `(context_frames [N, C, H, W, 3], actions [N, C-1+horizon, A])`
            returning frames `[N, horizon, H, W, 3]` in [0, 1]. A simulator
            that returns the true futures makes a planner with a perfect
            model, the upper bound of what the cost and search can do.
        seed: seed of the candidates' sampling.

    Example:
        >>> model = ghvae_keras.from_pretrained("bair-4mod")
        >>> planner = CEMPlanner(model, candidates=64)
        >>> plan = planner.plan(context_frames, past_actions, goal_image)
        >>> plan.actions.shape                      # (10, 4)
    """

    def __init__(self, model, *, horizon=None, candidates=64, iterations=3, elite_fraction=0.1,
                 action_low=-1.0, action_high=1.0, initial_std=None, cost="change_maps",
                 noise_exponent=2.0, rollout=None, seed=None):
        if not isinstance(model, GHVAE):
            raise TypeError(f"model must be a GHVAE, got {type(model).__name__}")
        if model.action_dim is None:
            raise ValueError("planning needs an action-conditioned model (its action_dim is None)")
        if cost not in COSTS:
            raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
        horizon = model.horizon if horizon is None else horizon
        for name, value, least in [("horizon", horizon, 1), ("candidates", candidates, 2),
                                   ("iterations", iterations, 1)]:
            if not isinstance(value, (int, np.integer)) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        if not 0 < elite_fraction <= 1:
            raise ValueError(f"elite_fraction must be in (0, 1], got {elite_fraction}")
        if not noise_exponent >= 0:
            raise ValueError(f"noise_exponent must be >= 0, got {noise_exponent}")
        action_dim = model.action_dim
        self.action_low = np.broadcast_to(np.asarray(action_low, np.float32), (action_dim,)).copy()
        self.action_high = np.broadcast_to(np.asarray(action_high, np.float32), (action_dim,)).copy()
        if np.any(self.action_low > self.action_high):
            raise ValueError(f"action_low {self.action_low} exceeds action_high {self.action_high}")
        spread = (self.action_high - self.action_low) / 2
        self.initial_std = (spread if initial_std is None else
                            np.broadcast_to(np.asarray(initial_std, np.float32), (action_dim,)).copy())
        self.horizon = int(horizon)
        self.candidates = int(candidates)
        self.iterations = int(iterations)
        self.elite_fraction = elite_fraction
        self.num_elites = max(2, int(round(elite_fraction * candidates)))
        self.cost = cost
        self.noise_exponent = float(noise_exponent)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        # A deterministic copy: the prior's means, the same weights.
        self.model = model.clone(sampling="mode")
        self.rollout = rollout
        if rollout is None:
            # The context is encoded once per plan, for all candidates of all iterations.
            model = self.model

            def predict(start, future):
                return model.rollout_from(model.repeat_context(start, future.shape[0]), future,
                                          horizon=self.horizon)

            self._start = _compile(model.encode_context)
            self._rollout = _compile(predict)
            self._score = _compile(lambda start, future, target: self._frame_costs(
                predict(start, future), target))
        else:
            frame_costs = _compile(self._frame_costs)
            self._start = lambda context, past: (context, past)
            self._rollout = self._simulate
            self._score = lambda start, future, target: frame_costs(self._simulate(start, future), target)

    @property
    def context_length(self):
        return self.model.context_length

    def plan(self, context_frames, past_actions, goal_image, initial_mean=None):
        """Plans `horizon` actions from the current context towards a goal.

        Args:
            context_frames: the last C observed frames, `[C, H, W, 3]` floats
                in [0, 1] (C = the model's `context_length`).
            past_actions: the C - 1 actions taken between them, `[C-1, A]`.
            goal_image: `[H, W, 3]` floats in [0, 1].
            initial_mean: a starting mean `[horizon, A]` (the previous plan,
                shifted); zeros clipped to the bounds by default.

        Returns:
            A `Plan`.
        """
        context_frames, past_actions, goal_image = self._check(context_frames, past_actions,
                                                               goal_image)
        action_dim = self.model.action_dim
        shape = (self.horizon, action_dim)
        if initial_mean is None:
            mean = np.clip(np.zeros(shape, np.float32), self.action_low, self.action_high)
        else:
            mean = np.asarray(initial_mean, np.float32)
            if mean.shape != shape:
                raise ValueError(f"initial_mean must have shape {list(shape)}, got {list(mean.shape)}")
        std = np.broadcast_to(self.initial_std, shape).astype(np.float32)
        start = self._start(context_frames[None], past_actions[None])
        # What the cost compares the predicted frames with.
        target = {"goal": goal_image[None], "last": context_frames[-1:],
                  "weights": _change_weights(context_frames[-1], goal_image)}
        elites = np.zeros((0,) + shape, np.float32)
        elite_costs = np.zeros(0)
        mean_costs = []
        for _ in range(self.iterations):
            noise = _coloured_noise(self.rng, self.noise_exponent, (self.candidates,) + shape)
            samples = np.clip(mean + std * noise, self.action_low, self.action_high)
            samples[0] = np.clip(mean, self.action_low, self.action_high)  # the mean competes too
            costs = ops.convert_to_numpy(self._score(start, samples, target)).astype(np.float64)
            costs[~np.isfinite(costs)] = np.inf
            finite = costs[np.isfinite(costs)]
            mean_costs.append(float(finite.mean()) if finite.size else float("inf"))
            pool = np.concatenate([elites, samples])
            pool_costs = np.concatenate([elite_costs, costs])
            order = np.argsort(pool_costs, kind="stable")[: self.num_elites]
            elites, elite_costs = pool[order], pool_costs[order]
            mean, std = elites.mean(axis=0), elites.std(axis=0)
        best_actions, best_cost = elites[0], float(elite_costs[0])
        return Plan(actions=best_actions, cost=best_cost, mean_costs=mean_costs)

    def predict(self, context_frames, past_actions, actions):
        """The frames `[horizon, H, W, 3]` that the planner's model (or
        `rollout`) predicts for one action sequence `[horizon, A]`, from the
        same inputs as `plan`: what the planner expected of its plan."""
        context_frames, past_actions, _ = self._check(context_frames, past_actions, None)
        actions = np.asarray(actions, np.float32)
        if actions.shape != (self.horizon, self.model.action_dim):
            raise ValueError(f"actions must have shape {[self.horizon, self.model.action_dim]}, "
                             f"got {list(actions.shape)}")
        start = self._start(context_frames[None], past_actions[None])
        return ops.convert_to_numpy(self._rollout(start, actions[None]))[0]

    def _simulate(self, start, future):
        """The `rollout` given: the true futures of each of `future` `[N, horizon, A]`."""
        context, past = start
        count = len(future)
        actions = np.concatenate([np.repeat(past, count, axis=0), future], axis=1)
        frames = np.asarray(self.rollout(np.repeat(context, count, axis=0), actions), np.float32)
        expected = (len(actions), self.horizon) + self.model.level_shape(0)
        if frames.shape != expected:
            raise ValueError(f"rollout returned frames of shape {list(frames.shape)}, "
                             f"expected {list(expected)}")
        return frames

    def _frame_costs(self, predicted, target):
        """The cost of each candidate's frames `[N, T, H, W, 3]`, `[N]`."""
        model = self.model
        frames = ops.reshape(predicted, (-1,) + model.level_shape(0))
        goal = target["goal"]
        per_frame = 0.0
        if self.cost == "pixels":
            per_frame = ops.mean(ops.square(frames - goal), axis=(1, 2, 3))
        elif self.cost == "changed_pixels":
            per_frame = ops.mean(ops.square(frames - goal) * target["weights"], axis=(1, 2, 3))
        elif self.cost == "change_maps":
            # Where each frame differs from the last observed one, against
            # where the goal does, compared at every scale from 1 pixel to
            # the whole image: a hand near its goal's place overlaps it at
            # the coarse scales, so the cost falls all the way there.
            last = target["last"]
            maps = ops.mean(ops.abs(frames - last), axis=-1)
            goal_map = ops.mean(ops.abs(goal - last), axis=-1)
            size = model.image_size
            scale = 1
            while size % scale == 0:  # every power of 2 that divides the size
                cells = size // scale
                pooled = ops.mean(ops.reshape(maps, (-1, cells, scale, cells, scale)), axis=(2, 4))
                goal_pooled = ops.mean(ops.reshape(goal_map, (1, cells, scale, cells, scale)), axis=(2, 4))
                per_frame = per_frame + scale * ops.mean(ops.square(pooled - goal_pooled), axis=(1, 2))
                scale *= 2
        else:
            goal_features = model.encode_features(goal)
            for features, target in zip(model.encode_features(frames), goal_features):
                scale = ops.var(target) + 1e-6
                per_frame = per_frame + ops.mean(ops.square(features - target), axis=(1, 2, 3)) / scale
            per_frame = per_frame / len(goal_features)
        return ops.sum(ops.reshape(per_frame, (-1, self.horizon)), axis=1)

    def _check(self, context_frames, past_actions, goal_image):
        model = self.model
        frame_shape = model.level_shape(0)
        context_frames = np.asarray(context_frames, np.float32)
        past_actions = np.asarray(past_actions, np.float32).reshape(-1, model.action_dim)
        goal_image = None if goal_image is None else np.asarray(goal_image, np.float32)
        expected = (self.context_length,) + frame_shape
        if context_frames.shape != expected:
            raise ValueError(f"context_frames must have shape {list(expected)}, "
                             f"got {list(context_frames.shape)}")
        if past_actions.shape[0] != self.context_length - 1:
            raise ValueError(f"past_actions must hold the {self.context_length - 1} actions "
                             f"between the context frames, got {past_actions.shape[0]}")
        if goal_image is not None and goal_image.shape != frame_shape:
            raise ValueError(f"goal_image must have shape {list(frame_shape)}, "
                             f"got {list(goal_image.shape)}")
        for name, value in [("context_frames", context_frames), ("goal_image", goal_image)]:
            if value is None:
                continue
            if not np.isfinite(value).all() or value.min() < 0 or value.max() > 1:
                raise ValueError(f"{name} must be finite and in [0, 1] (divide uint8 frames by 255)")
        if not np.isfinite(past_actions).all():
            raise ValueError("past_actions contain NaN or inf")
        return context_frames, past_actions, goal_image


class MPCController:
    """Model-predictive control with a `CEMPlanner`: plan, take the first
    `replan_every` actions, then plan again from the frames they led to.

    Each new plan starts from the rest of the previous one. Before the
    episode has C frames, the context is padded with copies of the first
    frame and zero actions (a robot that has not moved yet).

    Args:
        planner: a `CEMPlanner`.
        replan_every: actions taken from each plan.

    Attributes:
        plans: plans made since `reset`.
        current_plan: the last `Plan` (None before the first).

    Example:
        >>> controller = MPCController(planner, replan_every=3)
        >>> controller.reset(first_frame, goal_image)
        >>> for _ in range(steps):
        ...     frame = robot.step(controller.act())
        ...     controller.observe(frame)
    """

    def __init__(self, planner, replan_every=3):
        if not isinstance(replan_every, (int, np.integer)) or not 1 <= replan_every <= planner.horizon:
            raise ValueError(f"replan_every must be an integer in 1..{planner.horizon} "
                             f"(the planning horizon), got {replan_every!r}")
        self.planner = planner
        self.replan_every = int(replan_every)
        self.plans = 0
        self._goal = None

    def reset(self, first_frame, goal_image):
        """Starts an episode from its first frame (uint8 or [0, 1] floats)."""
        first = _as_unit_float(first_frame)
        self._goal = _as_unit_float(goal_image)
        context = self.planner.context_length
        self._frames = [first] * context
        self._actions = [self._rest_action()] * (context - 1)
        self._queue = []
        self.current_plan = None
        self.plans = 0

    def act(self):
        """The next action, `[A]`; replans when the last plan's turn is over."""
        if self._goal is None:
            raise RuntimeError("call reset(first_frame, goal_image) before act()")
        if not self._queue:
            initial_mean = None
            if self.current_plan is not None:  # the unused rest of the last plan, then rest
                rest = self.current_plan.actions[self.replan_every:]
                pad = np.repeat(self._rest_action()[None], self.replan_every, axis=0)
                initial_mean = np.concatenate([rest, pad], axis=0)
            plan = self.planner.plan(*self.context(), self._goal, initial_mean=initial_mean)
            self.current_plan = plan
            self._queue = list(plan.actions[: self.replan_every])
            self.plans += 1
        action = self._queue.pop(0)
        self._actions.append(action)
        return action

    def context(self):
        """What the next plan starts from: the last C frames `[C, H, W, 3]`
        and the C - 1 actions between them `[C-1, A]`."""
        # `observe` keeps exactly the last C frames and the C - 1 actions between them.
        past = np.asarray(self._actions, np.float32).reshape(-1, self.planner.model.action_dim)
        return np.stack(self._frames), past

    def observe(self, frame):
        """Records the frame the last action led to."""
        self._frames.append(_as_unit_float(frame))
        context = self.planner.context_length
        del self._frames[: len(self._frames) - context]
        del self._actions[: len(self._actions) - (context - 1)]

    def _rest_action(self):
        planner = self.planner
        return np.clip(np.zeros(planner.model.action_dim, np.float32), planner.action_low,
                       planner.action_high)


def _coloured_noise(rng, exponent, shape):
    """Standard normal noise `[N, T, A]` with a 1/f^exponent power spectrum
    along T (iCEM's coloured noise; exponent 0 is white noise)."""
    count, steps, dims = shape
    if exponent == 0 or steps < 2:
        return rng.standard_normal(shape).astype(np.float32)
    frequencies = np.fft.rfftfreq(steps)
    frequencies[0] = frequencies[1]  # the constant part weighs as the slowest wave
    amplitude = frequencies ** (-exponent / 2)
    spectrum = amplitude * (rng.standard_normal((count, dims, len(frequencies)))
                            + 1j * rng.standard_normal((count, dims, len(frequencies))))
    noise = np.fft.irfft(spectrum, n=steps, axis=-1)
    noise /= noise.std()
    return np.transpose(noise, (0, 2, 1)).astype(np.float32)


def _change_weights(frame, goal, radius=2):
    """`[1, H, W, 1]`: how much `goal` differs from `frame` at each pixel,
    averaged over a (2 radius + 1)² square and scaled to mean 1."""
    change = np.abs(goal - frame).mean(axis=-1)
    padded = np.pad(change, radius, mode="edge")
    size = 2 * radius + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    smooth = windows.mean(axis=(-1, -2))
    return (smooth / (smooth.mean() + 1e-8))[None, :, :, None].astype(np.float32)


def _as_unit_float(frame):
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / 255.0
    return frame.astype(np.float32)


def _compile(function):
    """The backend's graph compiler around `function` (eager elsewhere)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(function)
    return function
