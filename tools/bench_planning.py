"""Success of visual MPC on the simulated push task, in three tiers: bair-4mod,
the same weights truncated to 1 module, random actions, and a scripted
policy that reads the positions (a reference no planner here can see).

    python tools/bench_planning.py --methods scripted,random        # the calibration, stored
    python tools/bench_planning.py --methods 4_modules,1_module --tiers reach,short_push
    python tools/bench_planning.py --methods perfect_model --tiers reach,short_push --episodes 10
    python tools/bench_planning.py --tiers short_push --episodes 4 --no-store --gif runs/planning.gif
    python tools/bench_planning.py --preset robonet-4mod --tiers none --methods 4_modules,1_module
    python tools/bench_planning.py --methods 4_modules --tiers reach --episodes 3 --dtype mixed_bfloat16

The tiers (`PushTask`, on the scenes of `ghvae_sim_push`'s test seeds, which
no preset trained on; `--seed` is the first):

    reach       bring the hand where the goal image shows it (within 4 cm), in the plane
    short_push  push the puck 7-12 cm to its goal, the hand starting just behind it, in the plane
    long_push   the dataset's puck and goal (at least 16 cm apart), the hand above the bin

In the planar tiers every policy holds the hand's height (`PLANAR_TIERS`):
one camera cannot see a move along its line of sight. Each tier has its
step budget (`TIER_STEPS`), chosen so that the scripted policy succeeds in
at least 90% of the episodes and uniformly random actions in at most 10%
(each tier with both rows says whether it is `calibrated`; `--steps`
overrides every tier's budget). A push succeeds by Meta-World's own test
(`info["success"]`: the puck within 5 cm of the goal), as soon as it holds.

The planner (`ghvae_keras.planning`, CEM with model-predictive control) sees
only frames and the goal image. A push's goal image shows the hand just
behind the puck on its goal (`--goal-hand shown`, the default) or no robot
(`hidden`, as a goal photographed with the arm out of view). `--cost`
chooses the planner's cost (`change_maps` by default: the only one with
which a perfect model reaches; see the README). `perfect_model` plans with
the simulator's true futures in place of a model's: what the cost and the
search reach with a perfect model (slow: every candidate is simulated, in
`--simulators` processes kept in step).

The simulator runs in worker processes (`workers.SimulatorProcess`):
MuJoCo's software OpenGL and TensorFlow cannot share one process.

Prints one JSON line: per tier its step budget and one row per method (the
success rate, the mean start and final distance, seconds per episode and,
for a planner, per replan and its settings, and the command); and
`action_response`, what a planner can get out of each model: on the first
`--probe-episodes` scenes, 9 fixed action sequences (the hand pushed down
and held in one of 8 directions, or still) are run in the simulator and
predicted by the model from the first frame. A preset of other actions
than the push task's (robonet-4mod's 5-d ones) can run only this probe,
with `--tiers none`, in the multi-robot scene of its stand-in
(`ghvae_sim_multirobot`'s test seeds). `spread` is how much the
predicted frames differ between the sequences, as a fraction of how much
the real frames do (1 = the model moves the scene as much as the actions
do; 0 = it ignores them); `coarse_spread` is the same on frames averaged
over 8×8 cells of pixels, where a blurred but rightly placed arm counts
as moved (near 1 while `spread` is low: the predictions follow the
actions, blurred); `psnr` is the open-loop PSNR of the predictions
against the real frames, all over the planning horizon. Unless
`--no-store`, the rows are added to the `planning` block in the preset's
metadata.json and card (and MODEL_CARD.md, for a preset of the zoo),
replacing the same method's row of the same tier, so tiers and methods can
be measured run by run. `--gif PATH` writes each tier's first episode of
each planner (goal image | what the robot saw | what the model predicted
for its plan) to PATH_<tier>_<method>.gif.
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# A hand-written policy that reads the puck's, goal's and hand's positions
# from the simulator: what the scene allows in the steps given, as a
# reference (it sees what no planner here sees).
SCRIPTED = "scripted"
MODEL_METHODS = ("4_modules", "1_module")
METHODS = (*MODEL_METHODS, "random", SCRIPTED)
# The same planner with the simulator's true futures in place of a model's
# (the features cost still uses bair-4mod's encoder). Slow (every candidate
# is simulated), so only on request.
PERFECT_MODEL = "perfect_model"
EXTRA_METHODS = (PERFECT_MODEL,)
TIERS = ("reach", "short_push", "long_push")
PUSH_ACTION_DIM = 4  # dx, dy, dz, gripper
# Actions per episode: the scripted policy succeeds in >= 90% of the test
# scenes within them, random actions in <= 10% (`--methods scripted,random`).
TIER_STEPS = {"reach": 20, "short_push": 40, "long_push": 80}
TEST_SEED = 1 << 30  # the first test episode of the stand-ins
GRIPPER = 1.0  # held closed: pushing needs no grasp, open fingers catch on the puck, and CEM searches three dimensions, not four
CALIBRATION = {SCRIPTED: 0.9, "random": 0.1}  # the scripted policy at least, random at most
# Every policy holds the hand's height in these tiers: one camera cannot see
# a move along its line of sight, and neither reach nor a push from just
# behind the puck needs one.
PLANAR_TIERS = ("reach", "short_push")


def main(argv=None):
    args = _parser().parse_args(argv)
    if min(args.episodes, args.simulators, args.steps or 1) < 1:
        sys.exit("bench_planning: --episodes, --steps and --simulators must be at least 1")
    methods = _choose(args.methods, (*METHODS, *EXTRA_METHODS), "methods")
    tiers = [] if args.tiers == "none" else _choose(args.tiers, TIERS, "tiers")
    from ghvae_keras import video_io, zoo
    from ghvae_keras.zoo import reports

    preset = zoo.load_preset(args.preset, dtype=args.dtype)
    preset_dir, model = preset.folder, preset.model
    if tiers and model.action_dim != PUSH_ACTION_DIM:
        sys.exit(f"bench_planning: {args.preset} takes {model.action_dim}-d actions; the push task's "
                 f"are {PUSH_ACTION_DIM}-d: measure only how its predictions follow the actions, "
                 "with --tiers none")
    if model.action_dim not in PROBE_SCENES:
        sys.exit(f"bench_planning: no simulator here takes {model.action_dim}-d actions")
    if not tiers and (set(methods) - set(MODEL_METHODS) or args.probe_episodes < 1):
        sys.exit("bench_planning: --tiers none measures only the action response: "
                 f"methods from {', '.join(MODEL_METHODS)} and --probe-episodes >= 1")
    seeds = list(range(args.seed, args.seed + args.episodes))
    steps = {tier: args.steps or TIER_STEPS[tier] for tier in tiers}
    settings = {
        "preset": args.preset, "max_steps": steps,
        "candidates": args.candidates, "iterations": args.iterations,
        "elite_fraction": args.elite_fraction, "horizon": args.horizon or model.horizon,
        "replan_every": args.replan_every, "cost": args.cost, "goal_hand": args.goal_hand,
        "action_bounds": {tier: [bound.tolist() for bound in _bounds(tier)] for tier in tiers},
        "calibration": CALIBRATION,
    }
    results, response = {tier: {} for tier in tiers}, {}
    probe = PROBE_SCENES[model.action_dim]
    with _Simulators(args.simulators, (probe.module, probe.simulator)) as task:
        for method in methods:
            if method in MODEL_METHODS and args.probe_episodes > 0:
                # All the trained modules: a preset in progress has fewer than K.
                probed = model.truncated(1 if method == "1_module" else model.active_modules)
                response[method] = _action_response(task, probed, seeds[: args.probe_episodes],
                                                    args.horizon or model.horizon)
            for tier in tiers:
                policy = _policy(method, tier, model, task, args)
                goal_hand = "shown" if tier == "reach" else args.goal_hand
                episodes = results[tier].setdefault(method, [])
                for index, seed in enumerate(seeds):
                    gif = args.gif and index == 0 and isinstance(policy, _PlannerPolicy)
                    episode = _run_episode(task, seed, tier, goal_hand, policy, steps[tier], record=gif)
                    episodes.append(episode)
                    if gif:
                        path = Path(args.gif)
                        path = path.with_name(f"{path.stem}_{tier}_{method}{path.suffix}")
                        path.parent.mkdir(parents=True, exist_ok=True)
                        video_io.write_gif(path, episode.pop("video") / 255.0)
                    successes = sum(e["success"] for e in episodes)
                    print(f"{tier}, {method}: episode {index + 1}/{len(seeds)} (seed {seed}) "
                          f"{'success' if episode['success'] else 'failure'} after {episode['steps']} "
                          f"steps, {episode['distance'] * 100:.1f} cm from the goal, "
                          f"{episode['seconds']:.0f} s; {successes}/{index + 1} so far",
                          file=sys.stderr, flush=True)

    command = " ".join(["python tools/bench_planning.py",
                        shlex.join(argv if argv is not None else sys.argv[1:])]).strip()
    report = reports.planning_block(results, response, settings, command)
    if args.dtype is not None:
        report["dtype"] = model.dtype_policy.name
    print(json.dumps(report), flush=True)
    if not args.no_store and args.dtype is None:  # the card's figures are the preset's own dtype's
        metadata = zoo.read_metadata(preset_dir)
        metadata["planning"] = reports.merge_planning(metadata.get("planning"), report)
        zoo.write_card(preset_dir, metadata)
        print(f"stored under 'planning' in {preset_dir / zoo.METADATA_FILE}", file=sys.stderr)
        if preset_dir.resolve().parent == ROOT / "zoo":  # the zoo's own card shows it too
            subprocess.run([sys.executable, str(ROOT / "tools" / "make_model_card.py")], check=True)


def _bounds(tier):
    """The actions' bounds `(low, high)` in `tier`: the gripper held closed,
    and in the planar tiers the height too."""
    low, high = np.array([-1, -1, -1, GRIPPER], np.float32), np.array([1, 1, 1, GRIPPER], np.float32)
    if tier in PLANAR_TIERS:
        low[2] = high[2] = 0.0
    return low, high


def _policy(method, tier, model, task, args):
    """What chooses the actions of `method` in `tier`."""
    from ghvae_keras import planning

    low, high = _bounds(tier)
    if method == "random":
        return _RandomPolicy(low, high)
    if method == SCRIPTED:
        return _ScriptedPolicy(low, high)
    modules = 1 if method == "1_module" else model.active_modules
    rollout = _true_futures(task, model.context_length) if method == PERFECT_MODEL else None
    planner = planning.CEMPlanner(
        model.truncated(modules), horizon=args.horizon, candidates=args.candidates,
        iterations=args.iterations, elite_fraction=args.elite_fraction,
        action_low=low, action_high=high, cost=args.cost, rollout=rollout, seed=args.seed)
    return _PlannerPolicy(planning.MPCController(planner, replan_every=args.replan_every))


class _Simulators:
    """A simulator (`scene`: module and factory) in `count` worker processes
    kept in step: every call goes to all of them, except a `rollout`, whose
    sequences they share out (the perfect model simulates thousands of
    frames per plan); `map` shares independent calls out."""

    def __init__(self, count, scene):
        from ghvae_keras.sim import workers

        self.tasks = [workers.SimulatorProcess(*scene) for _ in range(count)]

    def map(self, method, calls):
        """The results of `method(**kwargs)` for each `kwargs` of `calls`, in order."""
        results = []
        for start in range(0, len(calls), len(self.tasks)):
            batch = list(zip(self.tasks, calls[start:start + len(self.tasks)]))
            for task, kwargs in batch:
                task.submit(method, **kwargs)
            results += [task.result() for task, _ in batch]
        return results

    def call(self, method, **kwargs):
        if method == "rollout":
            shares = np.array_split(np.asarray(kwargs["actions"]), len(self.tasks))
            busy = [(task, share) for task, share in zip(self.tasks, shares) if len(share)]
            for task, share in busy:
                task.submit("rollout", actions=share)
            return {"frames": np.concatenate([task.result()["frames"] for task, _ in busy])}
        for task in self.tasks:
            task.submit(method, **kwargs)
        results = [task.result() for task in self.tasks]
        return results[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for task in self.tasks:
            task.close()


def _choose(text, allowed, what):
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(allowed))
    if unknown or not chosen:
        sys.exit(f"bench_planning: unknown {what} {unknown}; choose from {', '.join(allowed)}")
    return chosen


def _run_episode(task, seed, tier, goal_hand, policy, max_steps, record=False):
    """One episode; success as soon as the tier's test holds."""
    started = time.perf_counter()
    state = task.call("reset", seed=seed, tier=tier, goal_hand=goal_hand)
    start_distance = _distance(tier, state)
    goal = state["goal_image"]
    policy.reset(state, seed, tier, record)
    video = [np.concatenate([goal, state["frame"], state["frame"]], axis=1)] if record else None
    success, steps = False, 0
    while steps < max_steps and not success:
        action, predicted = policy.act(state)
        state = task.call("step", action=action)
        steps += 1
        success = bool(state["success"])
        policy.observe(state)
        if record:
            video.append(np.concatenate([goal, state["frame"], predicted], axis=1))
    episode = {
        "seed": seed, "success": success, "steps": steps, "distance": _distance(tier, state),
        "start_distance": start_distance, "seconds": time.perf_counter() - started,
        **policy.timing(),
    }
    if record:
        episode["video"] = np.stack(video)
    return episode


def _distance(tier, state):
    """How far the tier's test finds the state from its goal (m)."""
    if tier == "reach":
        return float(np.linalg.norm(state["hand_pos"] - state["goal_hand_pos"]))
    return float(np.linalg.norm(state["object_pos"] - state["goal_pos"]))


class _PlannerPolicy:
    """Visual MPC: sees frames and the goal image only."""

    def __init__(self, controller):
        self.controller = controller

    def reset(self, state, seed, tier, record):
        self.controller.reset(state["frame"], state["goal_image"])
        self.record, self.predicted, self.plan_seconds = record, [], 0.0

    def act(self, state):
        controller = self.controller
        plans, context = controller.plans, controller.context()
        started = time.perf_counter()
        action = controller.act()
        if controller.plans > plans:
            self.plan_seconds += time.perf_counter() - started
            if self.record:  # what the model expects of the plan it will follow
                predicted = controller.planner.predict(*context, controller.current_plan.actions)
                self.predicted = list(np.round(predicted * 255).astype(np.uint8))
        return action, (self.predicted.pop(0) if self.record else None)

    def observe(self, state):
        self.controller.observe(state["frame"])

    def timing(self):
        plans = self.controller.plans
        return {"plans": plans, "seconds_per_plan": self.plan_seconds / plans if plans else None}


class _RandomPolicy:
    """Uniform random actions within the bounds, seeded per episode."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def reset(self, state, seed, tier, record):
        self.rng = np.random.default_rng(seed)

    def act(self, state):
        return self.rng.uniform(self.low, self.high).astype(np.float32), state["frame"]

    def observe(self, state):
        pass

    def timing(self):
        return {}


class _ScriptedPolicy:
    """Reads the positions. Reach: straight to the goal. Push: over the
    clutter to just behind the puck (on the far side from the goal), down,
    then through the puck's centre towards the goal, re-aiming every step
    as the puck drifts."""

    behind, push_height, clear_height = 0.06, 0.05, 0.12

    def __init__(self, low, high):
        self.low, self.high = low, high

    def reset(self, state, seed, tier, record):
        self.tier = tier

    def act(self, state):
        hand = state["hand_pos"]
        target = state["goal_hand_pos"] if self.tier == "reach" else self._push_target(state)
        # One action unit moves the hand about 1 cm per physics step, 2 per frame.
        move = (np.asarray(target) - hand) * 50
        return np.clip([*move, GRIPPER], self.low, self.high).astype(np.float32), state["frame"]

    def _push_target(self, state):
        hand, puck, goal = state["hand_pos"], state["object_pos"][:2], state["goal_pos"][:2]
        direction = (goal - puck) / (np.linalg.norm(goal - puck) + 1e-9)
        offset = hand[:2] - puck
        along = offset @ direction
        across = offset - along * direction
        behind = puck - self.behind * direction
        if along < -0.02 and np.linalg.norm(across) < 0.03 and hand[2] < self.push_height + 0.03:
            return [*(puck + 0.02 * direction), self.push_height]  # through the puck's centre
        if np.linalg.norm(hand[:2] - behind) < 0.02:
            return [*behind, self.push_height]
        if self.high[2] == 0:  # planar: around the puck at the hand's height
            return [*behind, hand[2]]
        if hand[2] < self.clear_height - 0.03 and np.linalg.norm(offset) < 0.08:
            return [*hand[:2], self.clear_height]  # up first: do not knock the puck away
        return [*behind, self.clear_height]

    def observe(self, state):
        pass

    def timing(self):
        return {}


def _true_futures(task, context_length):
    """A planner's `rollout` that asks the simulator what would happen."""
    def rollout(context, actions):
        return task.call("rollout", actions=actions[:, context_length - 1:])["frames"] / 255.0
    return rollout


class _ProbeScene(NamedTuple):
    """Where the action-response probe runs for one action size, and how:
    the simulator (module and class), the action of the context frames (the
    hand still), the action that pushes the hand down and along (dx, dy),
    and `frames(task, seed, context_length, actions)`: the context and real
    future frames, uint8, of each sequence of `actions`."""
    module: str
    simulator: str
    still: tuple
    push: Callable
    frames: Callable


def _push_task_frames(task, seed, context_length, actions):
    # From the long push's start (the hand above the bin); its first frame
    # stands for the whole context, and the simulator runs the probed actions.
    first = task.call("reset", seed=seed, tier="long_push")["frame"]
    real = task.call("rollout", actions=actions[:, context_length - 1:])["frames"]
    return np.repeat(np.stack([first] * context_length)[None], len(actions), axis=0), real


def _multirobot_frames(task, seed, context_length, actions):
    # Each sequence from the episode's start, one more (unused) action for the last frame.
    episodes = task.map("episode", [{"seed": seed, "actions": np.concatenate([a, a[-1:]])}
                                    for a in actions])
    videos = np.stack([episode["video"] for episode in episodes])
    return videos[:, :context_length], videos[:, context_length:]


# By the preset's action size: the push task (bair-4mod; dx, dy, dz,
# gripper) or the multi-robot tabletop (robonet-4mod; dx, dy, dz, rotation,
# gripper, open as the scene starts).
PROBE_SCENES = {
    PUSH_ACTION_DIM: _ProbeScene("push_scene", "PushTask", (0.0, 0.0, 0.0, 0.0),
                                 lambda dx, dy: (dx, dy, -0.5, GRIPPER), _push_task_frames),
    5: _ProbeScene("multirobot_scene", "MultiRobotScene", (0.0, 0.0, 0.0, 0.0, 1.0),
                   lambda dx, dy: (dx, dy, -0.5, 0.0, 1.0), _multirobot_frames),
}


def action_response(models, seeds, horizon=None, simulators=2):
    """`{name: {"spread", "coarse_spread", "psnr"}}` of each of `models` (`{name: GHVAE}`,
    of one action size) on fixed pushes from the scenes of `seeds` (see the
    docstring above), in one pool of simulators of its own."""
    action_dims = {model.action_dim for model in models.values()}
    if len(action_dims) != 1 or not action_dims <= PROBE_SCENES.keys():
        raise ValueError(f"the models take actions of sizes {sorted(action_dims, key=str)}; the simulators "
                         f"here take one of {sorted(PROBE_SCENES)}")
    probe = PROBE_SCENES[action_dims.pop()]
    with _Simulators(simulators, (probe.module, probe.simulator)) as task:
        return {name: _action_response(task, model, seeds, horizon or model.horizon)
                for name, model in models.items()}


def _action_response(task, model, seeds, horizon):
    """`{"spread", "coarse_spread", "psnr"}` of `model` on fixed pushes (see the docstring
    above), in its action size's `PROBE_SCENES` entry."""
    scene = PROBE_SCENES[model.action_dim]
    angles = np.arange(8) * np.pi / 4
    moves = [(np.cos(a), np.sin(a)) for a in angles] + [(0.0, 0.0)]
    sequences = np.repeat(np.array([scene.push(dx, dy) for dx, dy in moves], np.float32)[:, None],
                          horizon, axis=1)
    past = np.broadcast_to(np.array(scene.still, np.float32),
                           (len(sequences), model.context_length - 1, model.action_dim))
    actions = np.concatenate([past, sequences], axis=1)
    # A spread is how much the frames differ between the sequences; on 8×8 cells, a blurred arm counts.
    views = {"spread": lambda videos: videos, "coarse_spread": _cells}
    spreads, errors = {key: [] for key in views}, []
    for seed in seeds:
        context, real = (frames.astype(np.float32) / 255.0
                         for frames in scene.frames(task, seed, model.context_length, actions))
        predicted = model.predict_video(context, actions, horizon=horizon)[:, 0]
        for key, view in views.items():
            spreads[key].append([view(videos).std(axis=0).mean() for videos in (predicted, real)])
        errors.append(((predicted - real) ** 2).mean())
    return {**{key: round(float(np.divide(*np.mean(pairs, axis=0))), 3) for key, pairs in spreads.items()},
            "psnr": round(float(-10 * np.log10(np.mean(errors))), 2)}


def _cells(videos, size=8):
    """`videos` `[..., H, W, C]` averaged over `size`×`size` cells of pixels."""
    *lead, height, width, channels = videos.shape
    cells = videos.reshape(*lead, height // size, size, width // size, size, channels)
    return cells.mean(axis=(-4, -2))


def _parser():
    from ghvae_keras.planning import COSTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="episodes per tier and method")
    parser.add_argument("--seed", type=int, default=TEST_SEED, help="the first episode's scene seed")
    parser.add_argument("--tiers", default=",".join(TIERS),
                        help=f"comma-separated, from {', '.join(TIERS)}; none: only the action-response "
                             "probe (a preset whose actions are not the push task's)")
    parser.add_argument("--steps", type=int, default=None,
                        help="actions per episode at most, in every tier (default: each tier's budget, "
                             + ", ".join(f"{tier} {steps}" for tier, steps in TIER_STEPS.items()) + ")")
    parser.add_argument("--preset", default="bair-4mod", help="preset name or folder")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated, from {', '.join(METHODS)} ({SCRIPTED}: a policy "
                             f"that reads the positions) and {PERFECT_MODEL} (the simulator as the "
                             "planner's model)")
    parser.add_argument("--candidates", type=int, default=64, help="action sequences per CEM iteration")
    parser.add_argument("--iterations", type=int, default=3, help="CEM iterations per plan")
    parser.add_argument("--elite-fraction", type=float, default=0.1)
    parser.add_argument("--horizon", type=int, default=None, help="planned steps (default: the model's)")
    parser.add_argument("--replan-every", type=int, default=3, help="actions taken from each plan")
    parser.add_argument("--cost", default="change_maps", choices=COSTS)
    parser.add_argument("--goal-hand", default="shown", choices=("hidden", "shown"),
                        help="a push's goal image without the robot, or with the hand behind the puck")
    parser.add_argument("--probe-episodes", type=int, default=4,
                        help="scenes of the action-response probe (0: skip it)")
    parser.add_argument("--gif", default=None,
                        help="write each tier's first planned episode to PATH_<tier>_<method>.gif")
    parser.add_argument("--simulators", type=int, default=2,
                        help="simulator processes (the perfect model's rollouts are shared among them)")
    parser.add_argument("--no-store", action="store_true", help="print only; leave the preset alone")
    parser.add_argument("--dtype", default=None,
                        help="the model's Keras dtype policy, e.g. mixed_bfloat16 (then print only: the "
                             "card's figures are the preset's own dtype's)")
    return parser


if __name__ == "__main__":
    main()
