"""Success rate of visual MPC on simulated pushing: bair-4mod, the same
weights truncated to 1 module, random actions, and a scripted pusher that
reads the positions (a reference no planner here can see).

    python tools/bench_planning.py                          # 20 episodes, stored in the preset
    python tools/bench_planning.py --episodes 4 --no-store --gif runs/planning.gif
    python tools/bench_planning.py --methods 4_modules --cost pixels --no-store
    python tools/bench_planning.py --methods perfect_model --episodes 10 --no-store
    python tools/bench_planning.py --methods scripted --steps 100 --no-store

Each episode is the Meta-World push scene of `ghvae_sim_push` from a fixed
seed (`--seed`, then the next ones; the default seeds are those of the
dataset's test split, which no preset trained on). The goal image is
rendered by the simulator: the same scene with the puck on the goal and the
hand just behind it. With `--start seed` the hand starts where the seed put
it, above the bin, and must first reach the puck; with `--start
behind_puck` it starts just behind the puck, low, and the task is the push
alone. The planner (`ghvae_keras.planning`, CEM with
model-predictive control) sees only frames and the goal image; an episode
ends at Meta-World's `info["success"]` (the puck within 5 cm of the goal,
as Meta-World's own evaluation stops at success) or after `--steps` actions.

The simulator runs in a worker process (`workers.SimulatorProcess`):
MuJoCo's software OpenGL and TensorFlow cannot share one process.

Prints one JSON line: `episodes`, `success` and `seconds_per_episode` per
method, with the mean final puck-goal distance and the settings; unless
`--no-store`, it is also written under `planning` in the preset's
metadata.json and card (and MODEL_CARD.md, for a preset of the zoo).

The line also holds `action_response`, what a planner can get out of each
model: on the first `--probe-episodes` scenes, 9 fixed action sequences
(the hand pushed down and held in one of 8 directions, or still) are run in
the simulator and predicted by the model from the first frame. `spread` is
how much the predicted frames differ between the sequences, as a fraction
of how much the real frames do (1 = the model moves the scene as much as
the actions do; 0 = it ignores the actions); `psnr` is the open-loop PSNR
of the predictions against the real frames, both over the planning horizon.
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# A hand-written pusher that reads the puck's, goal's and hand's positions
# from the simulator: what the scene allows in the steps given, as a
# reference (it sees what no planner here sees).
SCRIPTED = "scripted"
METHODS = ("4_modules", "1_module", "random", SCRIPTED)
# The same planner with the simulator's true futures in place of a model's
# (the cost still uses bair-4mod's encoder): what the cost and the search
# can reach with a perfect model. Slow (every candidate is simulated), so
# only on request.
PERFECT_MODEL = "perfect_model"
EXTRA_METHODS = (PERFECT_MODEL,)
TEST_SEED = 1 << 30  # the first test episode of the stand-ins
GRIPPER = -1.0  # held open: pushing needs no grasp, and CEM searches three dimensions, not four


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.episodes < 1 or args.steps < 1:
        sys.exit("bench_planning: --episodes and --steps must be at least 1")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - {*METHODS, *EXTRA_METHODS})
    if unknown or not methods:
        sys.exit(f"bench_planning: unknown methods {unknown}; "
                 f"choose from {', '.join((*METHODS, *EXTRA_METHODS))}")
    from ghvae_keras import planning, video_io, zoo
    from ghvae_keras.sim import workers
    from ghvae_keras.zoo import reports

    preset = zoo.load_preset(args.preset)
    preset_dir, model = preset.folder, preset.model
    if model.action_dim != 4:
        sys.exit(f"bench_planning: {args.preset} takes {model.action_dim}-d actions; "
                 "the push task's are 4-d (dx, dy, dz, gripper)")
    low = np.array([-1, -1, -1, GRIPPER], np.float32)
    high = np.array([1, 1, 1, GRIPPER], np.float32)
    seeds = list(range(args.seed, args.seed + args.episodes))
    settings = {
        "preset": args.preset, "seeds": [seeds[0], seeds[-1]], "start": args.start,
        "max_steps": args.steps,
        "candidates": args.candidates, "iterations": args.iterations,
        "elite_fraction": args.elite_fraction, "horizon": args.horizon or model.horizon,
        "replan_every": args.replan_every, "cost": args.cost, "action_low": low.tolist(),
        "action_high": high.tolist(),
    }
    results, response = {}, {}
    with workers.SimulatorProcess("push_scene", "PushTask") as task:
        for method in methods:
            if method == "random":
                policy = _RandomPolicy(low, high)
            elif method == SCRIPTED:
                policy = _ScriptedPusher()
            else:
                # All the trained modules: a preset in progress has fewer than K.
                modules = 1 if method == "1_module" else model.active_modules
                rollout = _true_futures(task, model.context_length) if method == PERFECT_MODEL else None
                planner = planning.CEMPlanner(
                    model.truncated(modules), horizon=args.horizon, candidates=args.candidates,
                    iterations=args.iterations, elite_fraction=args.elite_fraction,
                    action_low=low, action_high=high, cost=args.cost, rollout=rollout, seed=args.seed)
                policy = _PlannerPolicy(planning.MPCController(planner, replan_every=args.replan_every))
                if method != PERFECT_MODEL and args.probe_episodes > 0:
                    response[method] = _action_response(task, planner.model, seeds[: args.probe_episodes],
                                                        planner.horizon, args.start)
            episodes = []
            for index, seed in enumerate(seeds):
                gif = args.gif and index == 0
                episode = _run_episode(task, seed, args.start, policy, args.steps, record=gif)
                episodes.append(episode)
                if gif:
                    path = Path(args.gif)
                    path = path.with_name(f"{path.stem}_{method}{path.suffix}")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    video_io.write_gif(path, episode.pop("video") / 255.0)
                successes = sum(e["success"] for e in episodes)
                print(f"{method}: episode {index + 1}/{len(seeds)} (seed {seed}) "
                      f"{'success' if episode['success'] else 'failure'} after {episode['steps']} steps, "
                      f"puck {episode['distance']:.3f} m from the goal, {episode['seconds']:.0f} s; "
                      f"{successes}/{index + 1} so far", file=sys.stderr, flush=True)
            results[method] = episodes

    command = " ".join(["python tools/bench_planning.py",
                        shlex.join(argv if argv is not None else sys.argv[1:])]).strip()
    report = reports.planning_block(results, response, settings, command)
    print(json.dumps(report), flush=True)
    if not args.no_store:
        metadata = zoo.read_metadata(preset_dir)
        metadata["planning"] = report
        zoo.write_card(preset_dir, metadata)
        print(f"stored under 'planning' in {preset_dir / zoo.METADATA_FILE}", file=sys.stderr)
        if preset_dir.resolve().parent == ROOT / "zoo":  # the zoo's own card shows it too
            subprocess.run([sys.executable, str(ROOT / "tools" / "make_model_card.py")], check=True)


def _run_episode(task, seed, start, policy, max_steps, record=False):
    """One episode; success as soon as Meta-World reports it."""
    started = time.perf_counter()
    state = task.call("reset", seed=seed, start=start)
    start_distance = float(np.linalg.norm(state["object_pos"] - state["goal_pos"]))
    goal = state["goal_image"]
    video = [np.concatenate([state["frame"], goal], axis=1)] if record else None
    policy.reset(state, seed)
    success, steps = False, 0
    while steps < max_steps and not success:
        state = task.call("step", action=policy.act(state))
        steps += 1
        success = bool(state["success"])
        policy.observe(state)
        if record:
            video.append(np.concatenate([state["frame"], goal], axis=1))
    episode = {
        "seed": seed, "success": success, "steps": steps,
        "distance": float(np.linalg.norm(state["object_pos"] - state["goal_pos"])),
        "start_distance": start_distance, "seconds": time.perf_counter() - started,
    }
    if record:
        episode["video"] = np.stack(video)
    return episode


class _PlannerPolicy:
    """Visual MPC: sees frames and the goal image only."""

    def __init__(self, controller):
        self.controller = controller

    def reset(self, state, seed):
        self.controller.reset(state["frame"], state["goal_image"])

    def act(self, state):
        return self.controller.act()

    def observe(self, state):
        self.controller.observe(state["frame"])


class _RandomPolicy:
    """Uniform random actions within the bounds, seeded per episode."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def reset(self, state, seed):
        self.rng = np.random.default_rng(seed)

    def act(self, state):
        return self.rng.uniform(self.low, self.high).astype(np.float32)

    def observe(self, state):
        pass


class _ScriptedPusher:
    """Reads the positions: over the clutter to just behind the puck (on the
    far side from the goal), down, then pushes through the puck's centre
    towards the goal, re-aiming every step as the puck drifts."""

    behind, push_height, clear_height = 0.06, 0.05, 0.12

    def reset(self, state, seed):
        pass

    def act(self, state):
        hand, puck, goal = state["hand_pos"], state["object_pos"][:2], state["goal_pos"][:2]
        direction = (goal - puck) / (np.linalg.norm(goal - puck) + 1e-9)
        offset = hand[:2] - puck
        along = offset @ direction
        across = offset - along * direction
        behind = puck - self.behind * direction
        if along < -0.02 and np.linalg.norm(across) < 0.03 and hand[2] < self.push_height + 0.03:
            target = [*(puck + 0.02 * direction), self.push_height]  # through the puck's centre
        elif np.linalg.norm(hand[:2] - behind) < 0.02:
            target = [*behind, self.push_height]
        elif hand[2] < self.clear_height - 0.03 and np.linalg.norm(offset) < 0.08:
            target = [*hand[:2], self.clear_height]  # up first: do not knock the puck away
        else:
            target = [*behind, self.clear_height]
        # One action unit moves the hand about 1 cm per physics step, 2 per frame.
        move = (np.asarray(target) - hand) * 50
        return np.clip([*move, GRIPPER], -1, 1).astype(np.float32)

    def observe(self, state):
        pass


def _true_futures(task, context_length):
    """A planner's `rollout` that asks the simulator what would happen."""
    def rollout(context, actions):
        return task.call("rollout", actions=actions[:, context_length - 1:])["frames"] / 255.0
    return rollout


def _action_response(task, model, seeds, horizon, probe_start):
    """`{"spread", "psnr"}` of `model` on fixed pushes (see the docstring above)."""
    angles = np.arange(8) * np.pi / 4
    moves = [(np.cos(a), np.sin(a)) for a in angles] + [(0.0, 0.0)]
    sequences = np.array([[[dx, dy, -0.5, GRIPPER]] * horizon for dx, dy in moves], np.float32)
    spreads, errors = [], []
    for seed in seeds:
        first = task.call("reset", seed=seed, start=probe_start)["frame"]
        real = task.call("rollout", actions=sequences)["frames"].astype(np.float32) / 255.0
        context = np.repeat((np.stack([first] * model.context_length) / 255.0)[None],
                            len(sequences), axis=0).astype(np.float32)
        past = np.zeros((len(sequences), model.context_length - 1, model.action_dim), np.float32)
        predicted = model.predict_video(context, np.concatenate([past, sequences], axis=1),
                                        horizon=horizon)[:, 0]
        spreads.append((predicted.std(axis=0).mean(), real.std(axis=0).mean()))
        errors.append(((predicted - real) ** 2).mean())
    predicted_spread, real_spread = np.mean(spreads, axis=0)
    return {"spread": round(float(predicted_spread / real_spread), 3),
            "psnr": round(float(-10 * np.log10(np.mean(errors))), 2)}


def _parser():
    from ghvae_keras.sim.push_scene import PUSH_STARTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="episodes per method")
    parser.add_argument("--seed", type=int, default=TEST_SEED, help="the first episode's scene seed")
    parser.add_argument("--steps", type=int, default=40, help="actions per episode at most")
    parser.add_argument("--start", default="seed", choices=PUSH_STARTS,
                        help="where the hand starts: as the seed put it, or just behind the puck")
    parser.add_argument("--preset", default="bair-4mod", help="preset name or folder")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated, from {', '.join(METHODS)} ({SCRIPTED}: a pusher "
                             f"that reads the positions) and {PERFECT_MODEL} (the simulator as the "
                             "planner's model)")
    parser.add_argument("--candidates", type=int, default=64, help="action sequences per CEM iteration")
    parser.add_argument("--iterations", type=int, default=3, help="CEM iterations per plan")
    parser.add_argument("--elite-fraction", type=float, default=0.1)
    parser.add_argument("--horizon", type=int, default=None, help="planned steps (default: the model's)")
    parser.add_argument("--replan-every", type=int, default=3, help="actions taken from each plan")
    parser.add_argument("--cost", default="features", choices=("pixels", "features"))
    parser.add_argument("--probe-episodes", type=int, default=4,
                        help="scenes of the action-response probe (0: skip it)")
    parser.add_argument("--gif", default=None,
                        help="write each method's first episode (frame | goal) to PATH_<method>.gif")
    parser.add_argument("--no-store", action="store_true", help="print only; leave the preset alone")
    return parser


if __name__ == "__main__":
    main()
