"""The simulated pushing scene of `ghvae_sim_push`: a Sawyer arm
(Meta-World's push task, MuJoCo) pushes a puck in a low-walled bin among
clutter, filmed from above and in front as BAIR's main camera films its bin.

This module imports no TensorFlow: it runs in the worker processes of
`workers.generate` (Mesa's software OpenGL and TensorFlow crash when loaded
into one process). MuJoCo and Meta-World are imported when a scene is made.
"""

import functools
import pathlib
import tempfile

import numpy as np

from ghvae_keras.sim import episodes as episodes_lib

__all__ = ["ACTION_DIM", "PUSH_TIERS", "REACH_TOLERANCE", "PushScene", "PushTask", "make_episode"]

ACTION_DIM = 4  # dx, dy, dz (hand motion, 1 = 1 cm per control step), gripper
# Each frame holds its action for this many Meta-World steps (5 physics
# steps of 2.5 ms each): the arm moves up to 2 cm between frames, as fast
# as BAIR's.
STEPS_PER_FRAME = 2

# Who acts in an episode, and how often: Meta-World's scripted expert, the
# expert with noise, and pushes in random directions held for a few frames
# with the hand low (uniform random actions would never move the puck).
POLICIES = ("expert", "noisy_expert", "random_push")
POLICY_WEIGHTS = (0.25, 0.3, 0.45)

# The clutter: objects of several shapes and sizes (MuJoCo half-sizes, m),
# of which 4 to 7 are placed in each episode and the rest parked out of
# sight. Flat-bottomed, so they slide when pushed rather than roll away.
_CLUTTER = (
    ("box", (0.035, 0.035, 0.03)),
    ("box", (0.055, 0.025, 0.02)),
    ("box", (0.025, 0.025, 0.045)),
    ("cylinder", (0.04, 0.02)),
    ("cylinder", (0.025, 0.04)),
    ("box", (0.045, 0.018, 0.015)),
    ("cylinder", (0.032, 0.03)),
    ("box", (0.03, 0.05, 0.025)),
)
_MIN_CLUTTER, _MAX_CLUTTER = 4, 7
_BIN = dict(x=(-0.27, 0.27), y=(0.45, 0.93))  # inner walls of the bin, m
_PUCK_RADIUS = 0.035
# Unused clutter rests on the floor beside the table, out of the camera's
# view (below the floor plane, MuJoCo would throw it out, into the scene).
_FLOOR_Z = -0.913
_PARKED_X = 1.2
_PUCK_HEIGHT = 0.02  # the puck's centre when it rests on the bin's floor
# Where the hand is in a goal image: behind the puck as seen from its start,
# low enough to push, as at the end of a push that brought the puck there.
_GOAL_HAND_BEHIND = 0.06
_GOAL_HAND_HEIGHT = 0.05
# The planning tiers of `PushTask`: bring the hand where the goal image shows
# it; push a puck 7-12 cm to its goal from just behind it; push the
# dataset's puck (at least 16 cm from its goal) from where the hand starts.
PUSH_TIERS = ("reach", "short_push", "long_push")
REACH_TOLERANCE = 0.04  # m: reach succeeds with the hand this near its goal
_SHORT_PUSH_DISTANCE = (0.07, 0.12)
# Beyond about y = 0.82 m the arm cannot reach down to pushing height.
_PUSHING_REACH_Y = 0.82


class PushScene:
    """The simulated pushing scene: reset it from a seed, step it, render it.

    The whole start of an episode (puck, goal, clutter, colours, hand
    position, camera) follows from its seed, so `reset(seed)` recreates the
    start of the dataset's episode `seed` exactly, for planning.

    Args:
        image_size: height and width of the rendered frames.

    Example:
        >>> scene = PushScene()
        >>> frame = scene.reset(0)                  # uint8 [64, 64, 3]
        >>> frame = scene.step([0.5, 0.0, -0.3, 0.0])
        >>> scene.object_pos(), scene.goal_pos()
    """

    def __init__(self, image_size=episodes_lib.IMAGE_SIZE):
        self.image_size = image_size
        self.mujoco = episodes_lib.import_simulator("mujoco")
        push_module = episodes_lib.import_simulator("metaworld.envs.sawyer_push_v3")
        self.env = _make_env(push_module.SawyerPushEnvV3)
        model = self.env.model
        # Software rendering at 64x64: no shadows, no multisampling, no
        # reflections (about 4 ms per frame instead of 50).
        model.vis.quality.shadowsize = 0
        model.vis.quality.offsamples = 0
        self.renderer = self.mujoco.Renderer(model, image_size, image_size)
        for flag in ("mjRND_SHADOW", "mjRND_REFLECTION", "mjRND_SKYBOX"):
            self.renderer.scene.flags[getattr(self.mujoco.mjtRndFlag, flag)] = 0
        self.camera = self.mujoco.MjvCamera()
        self.camera.type = self.mujoco.mjtCamera.mjCAMERA_FREE
        self._clutter_bodies = [model.body(f"clutter{i}").id for i in range(len(_CLUTTER))]
        self._clutter_qpos = [model.jnt_qposadr[model.body_jntadr[b]] for b in self._clutter_bodies]
        self._clutter_geoms = [model.body_geomadr[b] for b in self._clutter_bodies]
        self._puck_geom = model.geom("objGeom").id
        self._table_geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == model.body("tablelink").id
                             and model.geom_group[g] == 1]
        self._wall_geoms = [model.geom(f"binwall{i}").id for i in range(4)]
        self.last_obs = None
        self.rng = None

    def reset(self, seed, goal_distance=None):
        """Starts the episode of `seed`; returns its first frame.

        With `goal_distance` (m), the puck and its goal are drawn again
        (from the seed too): the goal that far from the puck, both where
        the arm reaches down to push from behind them. The rest of the
        scene is the episode's."""
        rng = np.random.default_rng(seed)
        env = self.env
        puck = _sample_xy(rng, margin=0.08)
        goal = _sample_xy(rng, margin=0.08)
        # Meta-World resamples (forever, with the start fixed) a goal nearer than 15 cm.
        while np.linalg.norm(goal - puck) < 0.16:
            goal = _sample_xy(rng, margin=0.08)
        env._last_rand_vec = np.array([*puck, _PUCK_HEIGHT, *goal, _PUCK_HEIGHT])
        if goal_distance is not None:  # placed after Meta-World's reset, which insists on 15 cm
            puck, goal = _near_pair(np.random.default_rng([seed, 1]), goal_distance)
        env.hand_init_pos = np.array([rng.uniform(-0.15, 0.15), rng.uniform(0.5, 0.75),
                                      rng.uniform(0.1, 0.25)])
        self._colour_scene(rng)
        self.last_obs, _ = env.reset()
        self._place_clutter(rng, puck, goal)
        self._aim_camera(rng)
        self.rng = rng
        return self.render()

    def step(self, action):
        """Applies `action` (4 numbers in [-1, 1]) for one frame; returns the frame."""
        action = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        for _ in range(STEPS_PER_FRAME):
            self.last_obs, _, _, _, _ = self.env.step(action)
        return self.render()

    def render(self):
        self.renderer.update_scene(self.env.data, self.camera)
        return self.renderer.render()

    def hand_pos(self):
        return np.array(self.last_obs[:3], np.float32)

    def object_pos(self):
        return np.array(self.env._get_pos_objects(), np.float32)

    def goal_pos(self):
        return np.array(self.env._target_pos, np.float32)

    def success(self):
        """Meta-World's test: the puck's centre within 5 cm of the goal."""
        return bool(np.linalg.norm(self.object_pos() - self.goal_pos()) <= 0.05)

    def state(self):
        """The simulator's `qpos` and `qvel` (arm, puck, clutter)."""
        return self.env.data.qpos.copy(), self.env.data.qvel.copy()

    def _colour_scene(self, rng):
        model = self.env.model
        model.geom_rgba[self._puck_geom] = [*_bright_colour(rng), 1.0]
        model.geom_matid[self._puck_geom] = -1  # flat colour, as BAIR's toys
        # The bin's floor and walls: greys and pale tints, as a lab bin.
        shade = rng.uniform(0.45, 0.8)
        tint = rng.uniform(-0.06, 0.06, 3)
        for geom in self._table_geoms:
            model.geom_rgba[geom] = [*np.clip(shade + tint, 0, 1), 1.0]
            model.geom_matid[geom] = -1
        wall = np.clip(rng.uniform(0.35, 0.9) + rng.uniform(-0.05, 0.05, 3), 0, 1)
        for geom in self._wall_geoms:
            model.geom_rgba[geom] = [*wall, 1.0]
        # The light: brighter or dimmer, from slightly different sides.
        model.vis.headlight.ambient[:] = rng.uniform(0.15, 0.3)
        model.vis.headlight.diffuse[:] = rng.uniform(0.2, 0.4)
        model.light_diffuse[:] = rng.uniform(0.15, 0.35, (model.nlight, 1))

    def _place_clutter(self, rng, puck, goal):
        env, model = self.env, self.env.model
        qpos, qvel = env.data.qpos.copy(), env.data.qvel.copy()
        count = rng.integers(_MIN_CLUTTER, _MAX_CLUTTER + 1)
        chosen = set(rng.choice(len(_CLUTTER), count, replace=False).tolist())
        placed = [puck, goal]
        for index, (address, geom) in enumerate(zip(self._clutter_qpos, self._clutter_geoms)):
            if index in chosen:
                xy = _sample_xy(rng, margin=0.05)
                for _ in range(20):  # keep clear of the puck, the goal and each other
                    if all(np.linalg.norm(xy - other) > 0.09 for other in placed):
                        break
                    xy = _sample_xy(rng, margin=0.05)
                placed.append(xy)
                height = model.geom_size[geom][2 if model.geom_type[geom] == 6 else 1]
                angle = rng.uniform(0, np.pi)
                qpos[address:address + 7] = [*xy, height + 0.001, np.cos(angle / 2), 0, 0, np.sin(angle / 2)]
                model.geom_rgba[geom] = [*_clutter_colour(rng), 1.0]
            else:
                height = model.geom_size[geom][2 if model.geom_type[geom] == 6 else 1]
                qpos[address:address + 7] = [_PARKED_X + 0.15 * index, 0.3, _FLOOR_Z + height + 0.001,
                                             1, 0, 0, 0]
        # The puck and goal where the seed put them, at rest on the bin's
        # floor (Meta-World keeps the height the puck had when the hand
        # moved to its start, which may have knocked the puck about).
        _set_puck(model, qpos, puck)
        env.obj_init_pos = np.array([*puck, _PUCK_HEIGHT])
        env._target_pos = np.array([*goal, _PUCK_HEIGHT])
        model.site("goal").pos = env._target_pos
        qvel[:] = 0
        env.set_state(qpos, qvel)
        # Let the clutter settle onto the bin's floor before the first frame.
        mujoco = self.mujoco
        for _ in range(10):
            mujoco.mj_step(model, env.data)
        self.last_obs = env._get_obs()

    def _aim_camera(self, rng):
        # BAIR's camera looks down into the bin from the front; each episode
        # moves it a little, as a camera that is bumped and put back.
        camera = self.camera
        camera.lookat[:] = [rng.uniform(-0.02, 0.02), rng.uniform(0.68, 0.74), 0.0]
        camera.distance = rng.uniform(0.72, 0.82)
        camera.azimuth = rng.uniform(-96, -84)
        camera.elevation = rng.uniform(-62, -52)


class PushTask:
    """A planning task on the push scene: the scene of a seed, a goal image,
    and a success test after every step.

    Three tiers (`PUSH_TIERS`), each a scene of `PushScene` from its seed:
    - `"reach"`: the hand starts at a point in full view at the seed's
      height, and the goal image shows it at another (at least 10 cm
      away), the puck where it is; success is the hand within
      `REACH_TOLERANCE` (4 cm) of that point. The goal is level with the
      start because one camera cannot tell a move along its line of
      sight: a planner reaches in the plane it sees.
    - `"short_push"`: the puck 7-12 cm from its goal and the hand just
      behind it, low, on the far side from the goal.
    - `"long_push"`: the dataset's puck and goal (at least 16 cm apart),
      the hand where the seed put it, above the bin: reach, then push.
    A push's goal image shows the puck at rest on the goal and, with
    `goal_hand="shown"`, the hand just behind it, where a push that brought
    it there ends; `"hidden"` draws the goal without the robot (as a goal
    photographed with the arm out of view). A push succeeds by
    Meta-World's own test (`info["success"]` of `SawyerPushEnvV3`): the
    puck's centre within 5 cm of the goal.

    `step(action)` applies one frame's action. `rollout(actions)` renders
    what each of several action sequences would lead to from now, and puts
    the simulator back: the true future, for a planner to compare its
    model's with. All return dicts of numpy arrays, so the task can run in a
    `workers.SimulatorProcess`.
    """

    def __init__(self, image_size=episodes_lib.IMAGE_SIZE):
        self.scene = PushScene(image_size)
        self._metaworld_push = episodes_lib.import_simulator("metaworld.envs.sawyer_push_v3").SawyerPushEnvV3
        model = self.scene.env.model
        robot = model.body("base").id
        self._robot_geoms = [g for g in range(model.ngeom)
                             if model.body_rootid[model.geom_bodyid[g]] == robot]
        self._robot_sites = [s for s in range(model.nsite)
                             if model.body_rootid[model.site_bodyid[s]] == robot]
        self.tier = None
        self._goal_hand = None

    def reset(self, seed, tier="long_push", goal_hand="shown"):
        """Starts the tier's scene of `seed`; returns its first frame, the
        goal image and the positions."""
        if tier not in PUSH_TIERS:
            raise ValueError(f"tier must be one of {PUSH_TIERS}, got {tier!r}")
        if goal_hand not in ("shown", "hidden"):
            raise ValueError(f"goal_hand must be 'shown' or 'hidden', got {goal_hand!r}")
        if tier == "reach" and goal_hand == "hidden":
            raise ValueError("a reach goal is where the hand is: it cannot be hidden")
        scene = self.scene
        self.tier = tier
        if tier == "reach":
            scene.reset(seed)
            start, self._goal_hand = _reach_points(np.random.default_rng([seed, 3]), scene.hand_pos()[2])
            self._place_hand(start)
            frame = scene.render()
            goal_image = self._render_reach_goal()
        else:
            distance = (np.random.default_rng([seed, 2]).uniform(*_SHORT_PUSH_DISTANCE)
                        if tier == "short_push" else None)
            frame = scene.reset(seed, goal_distance=distance)
            puck, goal = scene.object_pos()[:2], scene.goal_pos()[:2]
            self._goal_hand = np.array([*(goal - _GOAL_HAND_BEHIND * _unit(goal - puck)),
                                        _GOAL_HAND_HEIGHT], np.float32)
            goal_image = self._render_push_goal(hide_robot=goal_hand == "hidden")
            if tier == "short_push":
                self._move_hand(puck - _GOAL_HAND_BEHIND * _unit(goal - puck))
                frame = scene.render()
        # The first frame as rendered before the goal: drawing the goal puts
        # the state back, not the renderer's.
        return {"frame": frame, "goal_image": goal_image, **self._positions()}

    def step(self, action):
        scene = self.scene
        if self.tier is None:
            raise RuntimeError("call reset(seed) before step()")
        action = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        frame = scene.step(action)
        _, info = self._metaworld_push.evaluate_state(scene.env, scene.last_obs, action)
        positions = self._positions()
        if self.tier == "reach":
            success = np.linalg.norm(positions["hand_pos"] - self._goal_hand) <= REACH_TOLERANCE
        else:
            success = info["success"]
        return {"frame": frame, "success": bool(success),
                "obj_to_target": np.float32(info["obj_to_target"]), **positions}

    def _positions(self):
        scene = self.scene
        return {"object_pos": scene.object_pos(), "goal_pos": scene.goal_pos(),
                "hand_pos": scene.hand_pos(), "goal_hand_pos": self._goal_hand}

    def rollout(self, actions):
        """`{"frames": uint8 [N, T, H, W, 3]}`: the frames each action
        sequence of `actions` `[N, T, 4]` leads to; the simulator is left
        as it was."""
        actions = np.asarray(actions, np.float64)  # `PushScene.step` clips them
        if actions.ndim != 3 or actions.shape[-1] != ACTION_DIM:
            raise ValueError(f"actions must have shape [N, T, {ACTION_DIM}], got {list(actions.shape)}")
        size = self.scene.image_size
        frames = np.empty(actions.shape[:2] + (size, size, 3), np.uint8)
        saved = self._save()
        for n, sequence in enumerate(actions):
            for t, action in enumerate(sequence):
                frames[n, t] = self.scene.step(action)
            self._restore(saved)
        return {"frames": frames}

    def _move_hand(self, xy):
        """Moves the hand above `xy` at its height, then down to pushing
        height: it does not sweep the clutter on the way."""
        for height in (self.scene.hand_pos()[2], _GOAL_HAND_HEIGHT):
            self._place_hand([*xy, height], steps=25)

    def _save(self):
        env, data = self.scene.env, self.scene.env.data
        return (data.qpos.copy(), data.qvel.copy(), data.mocap_pos.copy(), data.mocap_quat.copy(),
                data.act.copy(), data.qacc_warmstart.copy(), env.hand_init_pos.copy(),
                env.init_tcp.copy(), self.scene.last_obs.copy(), env.curr_path_length)

    def _restore(self, saved):
        env, data = self.scene.env, self.scene.env.data
        (qpos, qvel, data.mocap_pos[:], data.mocap_quat[:], data.act[:], warmstart,
         env.hand_init_pos, env.init_tcp, self.scene.last_obs, env.curr_path_length) = saved
        env.set_state(qpos, qvel)
        data.qacc_warmstart[:] = warmstart  # after set_state, whose forward pass overwrites it

    def _render_push_goal(self, hide_robot):
        """Renders the puck at rest on the goal and the hand behind it (or
        no robot), then puts the simulator back as it was."""
        scene, env = self.scene, self.scene.env
        saved = self._save()
        self._move_hand(self._goal_hand[:2])
        qpos = env.data.qpos.copy()
        _set_puck(env.model, qpos, scene.goal_pos()[:2])
        env.set_state(qpos, np.zeros_like(env.data.qvel))
        model = env.model
        groups = model.geom_group[self._robot_geoms].copy(), model.site_group[self._robot_sites].copy()
        if hide_robot:  # group 5 is not drawn
            model.geom_group[self._robot_geoms] = model.site_group[self._robot_sites] = 5
        image = scene.render()
        model.geom_group[self._robot_geoms], model.site_group[self._robot_sites] = groups
        self._restore(saved)
        return image

    def _place_hand(self, point, steps=50):
        """Moves the hand straight to `point`, in `steps` physics steps."""
        env = self.scene.env
        env.hand_init_pos = np.asarray(point, np.float64)
        env._reset_hand(steps=steps)
        self.scene.last_obs = env._get_obs()

    def _render_reach_goal(self):
        """Renders the hand at the reach goal, then puts the simulator back."""
        saved = self._save()
        self._place_hand(self._goal_hand)
        image = self.scene.render()
        self._restore(saved)
        return image


def _reach_points(rng, height):
    """A start and a goal for the hand at `height`, at least 10 cm apart,
    where the camera sees all of it (nearer the robot, it leaves the top of
    the image)."""
    def point():
        return np.array([rng.uniform(-0.15, 0.15), rng.uniform(0.64, 0.8), height], np.float32)

    start = point()
    while True:
        goal = point()
        if np.linalg.norm(goal - start) >= 0.1:
            return start, goal


def _set_puck(model, qpos, xy):
    """Puts the puck at rest on the bin's floor at `xy`, in `qpos`."""
    address = model.jnt_qposadr[model.joint("objjoint").id]
    qpos[address:address + 7] = [*xy, _PUCK_HEIGHT, 1, 0, 0, 0]


def _near_pair(rng, distance):
    """A puck and a goal `distance` apart, inside the bin, with the points
    just behind both (where a push starts and ends) within the arm's reach."""
    (x0, x1), (y0, y1) = _BIN["x"], _BIN["y"]
    while True:
        puck = np.array([rng.uniform(x0 + 0.1, x1 - 0.1), rng.uniform(y0 + 0.08, _PUSHING_REACH_Y - 0.08)])
        angle = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        goal = puck + distance * direction
        behind = [point - _GOAL_HAND_BEHIND * direction for point in (puck, goal)]
        if (x0 + 0.08 <= goal[0] <= x1 - 0.08 and y0 + 0.08 <= goal[1] <= y1 - 0.08
                and all(point[1] <= _PUSHING_REACH_Y for point in behind)):
            return puck, goal


def _unit(vector):
    return vector / (np.linalg.norm(vector) + 1e-9)


def _sample_xy(rng, margin):
    (x0, x1), (y0, y1) = _BIN["x"], _BIN["y"]
    return np.array([rng.uniform(x0 + margin, x1 - margin), rng.uniform(y0 + margin, y1 - margin)])


def _bright_colour(rng):
    hue = rng.uniform()
    return _hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0))


def _clutter_colour(rng):
    return _hsv_to_rgb(rng.uniform(), rng.uniform(0.2, 0.9), rng.uniform(0.25, 0.95))


def _hsv_to_rgb(h, s, v):
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


@functools.cache
def _scene_xml():
    """Meta-World's push scene with a larger puck, a hidden goal marker, the
    bin's walls and the clutter. It is written into a temporary copy of
    Meta-World's asset tree made of links, so that the relative paths of its
    includes, meshes and textures resolve as in the original."""
    from metaworld.asset_path_utils import full_V3_path_for

    source = pathlib.Path(full_V3_path_for("sawyer_xyz/sawyer_push_v3.xml"))
    xml = source.read_text()
    xml = xml.replace('size="0.02 0.02" rgba="1 0 0 1"', f'size="{_PUCK_RADIUS} 0.02" rgba="1 0 0 1"')
    xml = xml.replace('size="0.02"\n            rgba="0 0.8 0 1"', 'size="0.02"\n            rgba="0 0.8 0 0"')
    (x0, x1), (y0, y1) = _BIN["x"], _BIN["y"]
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    walls = [(cx, y0 - 0.01, hx + 0.02, 0.01), (cx, y1 + 0.01, hx + 0.02, 0.01),
             (x0 - 0.01, cy, 0.01, hy), (x1 + 0.01, cy, 0.01, hy)]
    extra = [
        f'<geom name="binwall{i}" type="box" pos="{x} {y} 0.03" size="{sx} {sy} 0.03" '
        f'rgba="0.8 0.8 0.8 1" contype="1" conaffinity="1"/>'
        for i, (x, y, sx, sy) in enumerate(walls)
    ]
    for i, (shape, size) in enumerate(_CLUTTER):
        extra.append(
            f'<body name="clutter{i}" pos="{_PARKED_X + 0.15 * i} 0.3 {_FLOOR_Z + 0.1}"><freejoint/>'
            # Meta-World's compiler takes inertias from the file, not the geoms.
            f'<inertial pos="0 0 0" mass="0.3" diaginertia="2e-4 2e-4 2e-4"/>'
            f'<geom type="{shape}" size="{" ".join(map(str, size))}" '
            f'friction="1 0.1 0.002" condim="4" rgba="0.5 0.5 0.5 1"/></body>'
        )
    xml = xml.replace("</worldbody>", "\n".join(extra) + "\n</worldbody>", 1)
    assets = source.parent.parent
    tree = pathlib.Path(tempfile.mkdtemp(prefix="ghvae_sim_push_"))
    for entry in assets.iterdir():
        if entry.is_dir() and entry.name != source.parent.name:
            (tree / entry.name).symlink_to(entry)
    (tree / source.parent.name).mkdir()
    path = tree / source.parent.name / "push_scene.xml"
    path.write_text(xml)
    return str(path)


def _make_env(push_env_class):
    class _PushEnv(push_env_class):
        @property
        def model_name(self):
            return _scene_xml()

        def evaluate_state(self, obs, action):
            # No reward: Meta-World's shaping terms raise on some states a
            # push can reach (a negative margin), and episodes need none.
            return 0.0, {}

        def _reset_hand(self, steps=50):
            # The hand reaches its start in 20 steps; Meta-World's 50 cost a
            # third of an episode's time.
            super()._reset_hand(steps=min(steps, 20))

    env = _PushEnv(width=episodes_lib.IMAGE_SIZE, height=episodes_lib.IMAGE_SIZE)
    # What Meta-World's task setting would do: the start comes from
    # `_last_rand_vec`, which `PushScene.reset` sets from the seed.
    env._set_task_called = True
    # Known quirk, kept because the built datasets depend on it: the cached
    # `sawyer_observation_space` still has the zero goal bounds of a partially
    # observable task, and `step` clips observations to it, so the goal slot
    # reads (0, 0, 0) after every step and the scripted expert pushes towards
    # the front wall rather than the goal. `PushTask` judges success on the
    # true positions.
    env._partially_observable = False
    env._freeze_rand_vec = True
    env.max_path_length = 10**9
    return env


def _policy_action(scene, policy, expert, plan):
    """The action of `policy` now; `plan` holds a random push's target and
    how many frames are left of it."""
    rng = scene.rng
    if policy in ("expert", "noisy_expert"):
        action = expert.get_action(scene.last_obs)
        if policy == "noisy_expert":
            action = action + rng.normal(0, 0.4, ACTION_DIM)
        return np.clip(action, -1, 1)
    if plan["frames_left"] <= 0:
        hand, puck = scene.hand_pos(), scene.object_pos()
        if rng.uniform() < 0.6:  # through the puck, from where the hand is
            direction = puck[:2] - hand[:2]
            direction /= np.linalg.norm(direction) + 1e-6
            target = puck[:2] + direction * rng.uniform(0.05, 0.15) + rng.normal(0, 0.02, 2)
        else:
            target = _sample_xy(rng, margin=0.02)
        plan.update(target=np.array([*target, rng.uniform(0.03, 0.06)]),
                    gripper=rng.choice([-1.0, 1.0]), frames_left=rng.integers(4, 11))
    plan["frames_left"] -= 1
    delta = (plan["target"] - scene.hand_pos()) * 100 / STEPS_PER_FRAME
    # Go down first, then across: a low hand sweeps the bin floor.
    if scene.hand_pos()[2] > plan["target"][2] + 0.04:
        delta[:2] *= 0.3
    action = np.clip(np.append(delta, plan["gripper"]) + rng.normal(0, 0.15, ACTION_DIM), -1, 1)
    return action


_SCENES = {}


def make_episode(seed):
    """The episode of `seed`: video, actions, positions and the start state.

    Returns a dict of numpy arrays matching `GhvaeSimPush`'s features.
    """
    if "scene" not in _SCENES:  # one scene per process, reused
        _SCENES["scene"] = PushScene()
        _SCENES["expert"] = episodes_lib.import_simulator("metaworld.policies").SawyerPushV3Policy()
    scene, expert = _SCENES["scene"], _SCENES["expert"]
    first = scene.reset(seed)
    policy = POLICIES[scene.rng.choice(len(POLICIES), p=POLICY_WEIGHTS)]
    qpos, qvel = scene.state()
    length = episodes_lib.EPISODE_LENGTH
    video = np.empty((length, scene.image_size, scene.image_size, 3), np.uint8)
    actions = np.empty((length, ACTION_DIM), np.float32)
    object_pos = np.empty((length, 3), np.float32)
    hand_pos = np.empty((length, 3), np.float32)
    video[0] = first
    plan = {"frames_left": 0}
    for t in range(length):
        object_pos[t], hand_pos[t] = scene.object_pos(), scene.hand_pos()
        actions[t] = _policy_action(scene, policy, expert, plan)
        if t + 1 < length:
            video[t + 1] = scene.step(actions[t])
    return {
        "video": video,
        "actions": actions,
        "object_pos": object_pos,
        "goal_pos": scene.goal_pos(),
        "endeffector_pos": hand_pos,
        "seed": np.int64(seed),
        "policy": policy,
        "success": scene.success(),
        "start_qpos": qpos,
        "start_qvel": qvel,
    }
