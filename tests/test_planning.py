"""Planning: the CEM planner's search, its costs through real rollouts, and
the MPC controller's bookkeeping."""


import numpy as np
import pytest
from tiny_data import perturb_zero_init

from ghvae_keras import GHVAE, planning


@pytest.fixture
def model(tiny_config):
    model = GHVAE(**{**tiny_config, "horizon": 3})
    perturb_zero_init(model)
    return model


def frames(count, size=16, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (count, size, size, 3)).astype(np.float32)


def distance_rollout(target, size=16):
    """A stand-in for a predictor with a known best plan: frame t of a
    candidate is grey at its action's distance from `target[t]`, so the
    pixel cost to a black goal is the summed squared distance / 25."""
    def rollout(context, actions):
        planned = actions[:, context.shape[1] - 1:]
        level = np.linalg.norm(planned - target, axis=-1) / 5
        return np.broadcast_to(level[..., None, None, None], level.shape + (size, size, 3))
    return rollout


def squared_distance(actions, target):
    return float(((actions - target) ** 2).sum())


def test_cem_finds_the_best_action_sequence_within_the_bounds(model):
    target = np.array([[0.6, -0.3, 0.0], [-0.2, 0.9, 0.0], [0.4, 0.4, 0.0]], np.float32)
    planner = planning.CEMPlanner(model, candidates=64, iterations=6, action_low=[-1, -1, 0.5],
                                  action_high=[1, 1, 0.5], cost="pixels",
                                  rollout=distance_rollout(target), seed=0)
    plan = planner.plan(frames(2), np.zeros((1, 3)), np.zeros((16, 16, 3)))
    assert plan.actions.shape == (3, 3)
    np.testing.assert_allclose(plan.actions[:, :2], target[:, :2], atol=0.1)
    np.testing.assert_array_equal(plan.actions[:, 2], 0.5)  # held where the bounds are equal
    assert plan.mean_costs[-1] < plan.mean_costs[0] / 5
    assert plan.cost == pytest.approx(squared_distance(plan.actions, target) / 25, rel=1e-4)


def test_a_target_outside_the_bounds_ends_on_the_bound(model):
    target = np.full((3, 3), 2.0, np.float32)
    planner = planning.CEMPlanner(model, candidates=64, iterations=5, action_low=-0.5,
                                  action_high=0.5, cost="pixels", rollout=distance_rollout(target),
                                  seed=1)
    plan = planner.plan(frames(2), np.zeros((1, 3)), np.zeros((16, 16, 3)))
    assert plan.actions.max() <= 0.5 and plan.actions.min() >= -0.5
    assert np.abs(plan.actions - 0.5).mean() < 0.1


def test_a_rollout_of_the_wrong_shape_is_refused(model):
    planner = planning.CEMPlanner(model, candidates=4, rollout=lambda context, actions: frames(3))
    with pytest.raises(ValueError, match=r"rollout returned frames of shape \[3, 16, 16, 3\]"):
        planner.plan(frames(2), np.zeros((1, 3)), frames(1)[0])


@pytest.mark.parametrize("cost", planning.COSTS)
def test_costs_are_summed_over_the_predicted_frames_of_each_candidate(model, cost):
    planner = planning.CEMPlanner(model, candidates=4, iterations=1, cost=cost, seed=0)
    context, goal, past = frames(2), frames(1, seed=1)[0], np.full((1, 3), 0.3, np.float32)
    future = np.random.default_rng(3).uniform(-1, 1, (4, 3, 3)).astype(np.float32)
    weights = planning._change_weights(context[-1], goal)
    target = {"goal": goal[None], "last": context[-1:], "weights": weights}
    # The context is encoded once, for every candidate.
    start = planner._start(context[None], past[None])
    costs = np.asarray(planner._score(start, future, target))
    # The same candidates through the public, eager prediction (latent means).
    deterministic = model.clone(sampling="mode")
    actions = np.concatenate([np.repeat(past[None], 4, 0), future], axis=1)
    video = deterministic.predict_video(np.repeat(context[None], 4, 0), actions)[:, 0]
    np.testing.assert_allclose(planner.predict(context, past, future[2]), video[2], atol=1e-5)
    if cost == "pixels":
        expected = ((video - goal) ** 2).mean(axis=(2, 3, 4)).sum(axis=1)
    elif cost == "changed_pixels":
        expected = ((video - goal) ** 2 * weights).mean(axis=(2, 3, 4)).sum(axis=1)
    elif cost == "change_maps":
        maps, goal_map = np.abs(video - context[-1]).mean(-1), np.abs(goal - context[-1]).mean(-1)
        expected = 0.0
        for scale in (1, 2, 4, 8, 16):
            def pooled(x):
                return x.reshape(x.shape[:-2] + (16 // scale, scale, 16 // scale, scale)).mean(axis=(-3, -1))
            expected = expected + scale * ((pooled(maps) - pooled(goal_map)) ** 2).mean(axis=(-2, -1))
        expected = expected.sum(axis=1)
    else:
        goal_features = [np.asarray(f) for f in deterministic.encode_features(goal[None])]
        per_level = [
            ((np.asarray(f).reshape((4, 3) + f.shape[1:]) - g) ** 2).mean(axis=(2, 3, 4)) / (g.var() + 1e-6)
            for f, g in zip(deterministic.encode_features(video.reshape((-1, 16, 16, 3))), goal_features)
        ]
        expected = np.mean(per_level, axis=0).sum(axis=1)
    np.testing.assert_allclose(costs, expected, rtol=1e-4)
    assert np.ptp(costs) > 0, "the actions change the prediction"


def test_changed_pixels_weigh_where_the_goal_differs_from_the_last_frame():
    frame = np.zeros((16, 16, 3), np.float32)
    goal = frame.copy()
    goal[4, 10] = 1.0  # one pixel changes
    weights = planning._change_weights(frame, goal, radius=2)[0, :, :, 0]
    assert weights.shape == (16, 16) and weights.mean() == pytest.approx(1.0, rel=1e-4)
    assert weights[4, 10] == weights.max() and weights[2:7, 8:13].min() > 0  # spread over 5 x 5
    assert weights[12, 3] == 0, "the scene the actions need not change counts nothing"


def test_change_maps_fall_all_the_way_to_the_goal_where_pixels_are_flat(model):
    def scene(column):  # an arm reaching in from the top edge, at `column`
        frame = np.full((16, 16, 3), 0.5, np.float32)
        frame[0:9, column:column + 3] = [0.9, 0.1, 0.1]
        return frame

    where = [12, 11, 9, 6, 3]  # at its goal, then farther and farther off
    # A rollout that shows each candidate's arm at the place its first action names.
    planner = planning.CEMPlanner(model, candidates=5, iterations=1, horizon=1, cost="change_maps",
                                  rollout=lambda context, actions: np.stack(
                                      [[scene(where[int(a)])] for a in actions[:, -1, 0]]))
    costs = np.asarray(planner._score(
        planner._start(np.stack([scene(1)] * 2)[None], np.zeros((1, 1, 3))),
        np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 1, 3), np.float32),
        {"goal": scene(12)[None], "last": scene(1)[None], "weights": np.ones((1, 16, 16, 1))}))
    assert costs[0] == pytest.approx(0.0, abs=1e-7)
    assert np.all(np.diff(costs) > 0), "every step nearer the goal is cheaper"
    # Pixels cannot tell an arm 3 pixels off from one 9 off: no overlap, the same cost.
    pixels = [((scene(w) - scene(12)) ** 2).mean() for w in where]
    assert pixels[2] == pixels[3] == pixels[4]


def test_the_planner_leaves_the_model_as_it_was(model):
    before = [w.copy() for w in model.get_weights()]
    planner = planning.CEMPlanner(model, candidates=4, iterations=1, seed=0)
    planner.plan(frames(2), np.zeros((1, 3)), frames(1)[0])
    assert model.sampling == "sample"
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("exponent", [0.0, 2.0])
def test_coloured_noise_is_standard_and_smoother_with_a_larger_exponent(exponent):
    noise = planning._coloured_noise(np.random.default_rng(0), exponent, (512, 10, 3))
    assert noise.shape == (512, 10, 3) and noise.dtype == np.float32
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1) < 0.05
    lag_one = np.mean(noise[:, 1:] * noise[:, :-1])
    assert (lag_one > 0.5) if exponent else (abs(lag_one) < 0.05)


def test_bad_planner_arguments_are_refused(model, tiny_config):
    with pytest.raises(ValueError, match="action-conditioned"):
        planning.CEMPlanner(GHVAE(**{**tiny_config, "action_dim": None}))
    with pytest.raises(ValueError, match="cost must be one of"):
        planning.CEMPlanner(model, cost="reward")
    with pytest.raises(ValueError, match="candidates must be an integer >= 2"):
        planning.CEMPlanner(model, candidates=1)
    with pytest.raises(ValueError, match="elite_fraction"):
        planning.CEMPlanner(model, elite_fraction=0)
    with pytest.raises(ValueError, match="noise_exponent"):
        planning.CEMPlanner(model, noise_exponent=-1)
    with pytest.raises(ValueError, match="exceeds action_high"):
        planning.CEMPlanner(model, action_low=1, action_high=0)
    with pytest.raises(TypeError, match="must be a GHVAE"):
        planning.CEMPlanner("bair-4mod")
    planner = planning.CEMPlanner(model, candidates=4, iterations=1)
    with pytest.raises(ValueError, match=r"context_frames must have shape \[2, 16, 16, 3\]"):
        planner.plan(frames(3), np.zeros((1, 3)), frames(1)[0])
    with pytest.raises(ValueError, match="past_actions must hold the 1 actions"):
        planner.plan(frames(2), np.zeros((2, 3)), frames(1)[0])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        planner.plan(frames(2) * 255, np.zeros((1, 3)), frames(1)[0])
    with pytest.raises(ValueError, match="goal_image must have shape"):
        planner.plan(frames(2), np.zeros((1, 3)), frames(1))
    with pytest.raises(ValueError, match="initial_mean must have shape"):
        planner.plan(frames(2), np.zeros((1, 3)), frames(1)[0], initial_mean=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="replan_every"):
        planning.MPCController(planner, replan_every=4)


def test_mpc_replans_on_schedule_from_the_latest_frames_and_actions(model):
    planner = planning.CEMPlanner(model, candidates=8, iterations=1, seed=0)
    calls = []
    plans = iter([np.full((3, 3), 0.1 * (k + 1), np.float32) for k in range(10)])

    def plan(context, past, goal, initial_mean=None):
        calls.append((context.copy(), past.copy(), initial_mean))
        return planning.Plan(actions=next(plans), cost=0.0, mean_costs=[0.0])

    planner.plan = plan
    controller = planning.MPCController(planner, replan_every=2)
    with pytest.raises(RuntimeError, match="reset"):
        controller.act()
    observed = (frames(6) * 255).astype(np.uint8)
    controller.reset(observed[0], observed[5])
    taken = []
    for t in range(5):
        taken.append(controller.act())
        controller.observe(observed[t + 1])
    assert controller.plans == 3  # steps 0, 2 and 4
    np.testing.assert_allclose(controller.current_plan.actions, 0.3)
    context, past = controller.context()  # what the next plan would start from
    np.testing.assert_allclose(context, observed[[4, 5]] / 255.0)
    np.testing.assert_allclose(past, [[0.3] * 3])
    np.testing.assert_allclose(taken, [[0.1] * 3, [0.1] * 3, [0.2] * 3, [0.2] * 3, [0.3] * 3], atol=1e-6)
    first_context, first_past, first_mean = calls[0]
    np.testing.assert_allclose(first_context, observed[[0, 0]] / 255.0)  # padded: a robot at rest
    np.testing.assert_array_equal(first_past, np.zeros((1, 3)))
    assert first_mean is None
    context, past, initial_mean = calls[2]  # before the fifth action: frames 3, 4 and the action between
    np.testing.assert_allclose(context, observed[[3, 4]] / 255.0)
    np.testing.assert_allclose(past, [[0.2] * 3])
    # The last plan's unused step, then the rest action.
    np.testing.assert_allclose(initial_mean, [[0.2] * 3, [0.0] * 3, [0.0] * 3], atol=1e-6)
