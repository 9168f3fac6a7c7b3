"""The simulated tabletop scenes of `ghvae_sim_multirobot`: one of three
arms (Franka Panda, KUKA iiwa, UFactory xArm6) pushes 3-7 random objects on
a table, filmed from a random viewpoint, in PyBullet.

TensorFlow-free, like every scene module (see `workers`); PyBullet is
imported when a scene is made.
"""

import numpy as np

from ghvae_keras.sim import episodes as episodes_lib

__all__ = ["ACTION_DIM", "MAX_ROTATION", "MAX_STEP", "ROBOTS", "make_episode"]

ACTION_DIM = 5  # dx, dy, dz, rotation about the vertical, gripper; each in [-1, 1]
MAX_STEP = 0.03  # m of hand motion per frame at action 1
MAX_ROTATION = 0.15  # rad of hand rotation per frame at action 1
_SUBSTEPS = 8  # physics steps of 1/240 s per frame: 30 frames per second

# name: (URDF in pybullet_data, hand link, number of arm joints (the first
# movable ones), finger joints, finger travel in m)
ROBOTS = {
    "panda": ("franka_panda/panda.urdf", 11, 7, (9, 10), 0.04),
    "kuka": ("kuka_iiwa/model.urdf", 6, 7, (), 0.0),
    "xarm": ("xarm/xarm6_robot.urdf", 6, 6, (), 0.0),
}
_TABLE_TOP = 0.625  # table/table.urdf's top, m
_WORKSPACE = dict(x=(0.35, 0.7), y=(-0.25, 0.25))  # where objects start, m, robot base at 0
_HAND_LOW = 0.025  # hand height over the table top while pushing, m
_MIN_OBJECTS, _MAX_OBJECTS = 3, 7
_RANDOM_OBJECTS = 1000  # random_urdfs/000 ... 999


class MultiRobotScene:
    """A PyBullet client that makes episodes from seeds.

    Args:
        image_size: height and width of the rendered frames.
    """

    def __init__(self, image_size=episodes_lib.IMAGE_SIZE):
        self.image_size = image_size
        self.p = episodes_lib.import_simulator("pybullet")
        data = episodes_lib.import_simulator("pybullet_data")
        self.client = self.p.connect(self.p.DIRECT)
        self.p.setAdditionalSearchPath(data.getDataPath(), physicsClientId=self.client)

    def _call(self, name, *args, **kwargs):
        return getattr(self.p, name)(*args, physicsClientId=self.client, **kwargs)

    def episode(self, seed, actions=None):
        """The episode of `seed`: its random scene, filmed while the scripted
        pusher acts; given `actions` (T × `ACTION_DIM`, in [-1, 1]), while the
        hand takes those instead (T frames; action t follows frame t, so the
        last is not taken). The scene depends on the seed only."""
        if actions is not None:
            actions = np.clip(np.asarray(actions, np.float32), -1, 1)
            if actions.ndim != 2 or actions.shape[1] != ACTION_DIM or not len(actions):
                raise ValueError(f"actions must be T x {ACTION_DIM} with T >= 1, not {actions.shape}")
        rng = np.random.default_rng(seed)
        p = self.p
        self._call("resetSimulation")
        self._call("setGravity", 0, 0, -9.81)
        self._call("setPhysicsEngineParameter", numSolverIterations=30)
        floor = self._call("loadURDF", "plane.urdf")
        self._call("changeVisualShape", floor, -1, rgbaColor=[*rng.uniform(0.2, 0.7, 3), 1])
        table = self._call("loadURDF", "table/table.urdf", [0.5, 0, 0], useFixedBase=True)
        tint = rng.uniform(0.6, 1.0, 3)
        self._call("changeVisualShape", table, -1, rgbaColor=[*tint, 1])
        robot_name = list(ROBOTS)[rng.integers(len(ROBOTS))]
        urdf, hand, arm_joints, fingers, travel = ROBOTS[robot_name]
        robot = self._call("loadURDF", urdf, [0, 0, _TABLE_TOP], useFixedBase=True)
        arm = [joint for joint in range(self._call("getNumJoints", robot))
               if self._call("getJointInfo", robot, joint)[2] != p.JOINT_FIXED][:arm_joints]
        if rng.uniform() < 0.5:  # a tray around the objects, as RoboNet's bins
            tray = self._call("loadURDF", "tray/traybox.urdf",
                              [0.53, rng.uniform(-0.03, 0.03), _TABLE_TOP], useFixedBase=True,
                              globalScaling=rng.uniform(1.0, 1.2))
            self._call("changeVisualShape", tray, -1, rgbaColor=[*rng.uniform(0.6, 1.0, 3), 1])
        objects = self._load_objects(rng)

        # Start: the hand above the workspace, pointing down.
        target = np.array([rng.uniform(0.4, 0.6), rng.uniform(-0.15, 0.15), _TABLE_TOP + rng.uniform(0.15, 0.3)])
        yaw = rng.uniform(-np.pi / 2, np.pi / 2)
        grip = 1.0
        joints = self._solve(robot, hand, target, yaw)
        for joint, angle in zip(arm, joints):
            self._call("resetJointState", robot, joint, angle)
        for finger in fingers:
            self._call("resetJointState", robot, finger, travel)
        for _ in range(20):  # let the objects settle on the table
            self._call("stepSimulation")
        view, projection, light = self._camera(rng)

        length = episodes_lib.EPISODE_LENGTH if actions is None else len(actions)
        video = np.empty((length, self.image_size, self.image_size, 3), np.uint8)
        taken = np.empty((length, ACTION_DIM), np.float32)
        start = self._object_positions(objects)
        pusher = _Pusher(rng, hand_low=_TABLE_TOP + _HAND_LOW)
        for t in range(length):
            video[t] = self._render(view, projection, light)
            positions = self._object_positions(objects)
            action = pusher.action(target, positions) if actions is None else actions[t]
            taken[t] = action
            target = target + action[:3] * MAX_STEP
            target[0] = np.clip(target[0], 0.25, 0.8)
            target[1] = np.clip(target[1], -0.35, 0.35)
            target[2] = np.clip(target[2], _TABLE_TOP + _HAND_LOW, _TABLE_TOP + 0.4)
            yaw += action[3] * MAX_ROTATION
            grip = action[4]
            joints = self._solve(robot, hand, target, yaw)
            # Inverse kinematics answers for the movable joints, arm first.
            self._call("setJointMotorControlArray", robot, arm, p.POSITION_CONTROL,
                       targetPositions=list(joints[:arm_joints]), forces=[300] * arm_joints,
                       positionGains=[0.3] * arm_joints)
            for finger in fingers:
                self._call("setJointMotorControl2", robot, finger, p.POSITION_CONTROL,
                           targetPosition=travel * (grip + 1) / 2, force=20)
            for _ in range(_SUBSTEPS):
                self._call("stepSimulation")
        moved = np.nanmax(np.linalg.norm(self._object_positions(objects) - start, axis=-1), initial=0.0)
        return {
            "video": video,
            "actions": taken,
            "robot": robot_name,
            "num_objects": np.int32(len(objects)),
            "object_displacement": np.float32(moved),
            "seed": np.int64(seed),
        }

    def _load_objects(self, rng):
        count = rng.integers(_MIN_OBJECTS, _MAX_OBJECTS + 1)
        objects, placed = [], []
        for _ in range(count):
            for _ in range(20):
                xy = np.array([rng.uniform(*_WORKSPACE["x"]), rng.uniform(*_WORKSPACE["y"])])
                if all(np.linalg.norm(xy - other) > 0.08 for other in placed):
                    break
            placed.append(xy)
            index = rng.integers(_RANDOM_OBJECTS)
            orientation = self._call("getQuaternionFromEuler", [0, 0, rng.uniform(0, 2 * np.pi)])
            body = self._call("loadURDF", f"random_urdfs/{index:03d}/{index:03d}.urdf",
                              [*xy, _TABLE_TOP + 0.05], orientation, globalScaling=rng.uniform(1.2, 2.0))
            self._call("changeVisualShape", body, -1, rgbaColor=[*_colour(rng), 1])
            self._call("changeDynamics", body, -1, lateralFriction=0.6, mass=0.1)
            objects.append(body)
        return objects

    def _object_positions(self, objects):
        return np.array([self._call("getBasePositionAndOrientation", body)[0] for body in objects])

    def _solve(self, robot, hand, target, yaw):
        orientation = self._call("getQuaternionFromEuler", [np.pi, 0, yaw])
        return self._call("calculateInverseKinematics", robot, hand, target.tolist(), orientation,
                          maxNumIterations=20)

    def _camera(self, rng):
        """A random viewpoint on the workspace, as RoboNet's many cameras:
        from the front or either side, high or low, near or far."""
        look_at = [rng.uniform(0.4, 0.55), rng.uniform(-0.08, 0.08), _TABLE_TOP + rng.uniform(0.0, 0.1)]
        # Yaw 90 looks at the robot from the far side of the table; never from behind it.
        view = self._call(
            "computeViewMatrixFromYawPitchRoll", look_at, rng.uniform(0.65, 1.0),
            90 + rng.uniform(-110, 110), rng.uniform(-65, -25), 0, 2)
        projection = self._call("computeProjectionMatrixFOV", rng.uniform(40, 60), 1.0, 0.05, 5.0)
        light = dict(lightDirection=[rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(1, 2)],
                     lightColor=[*rng.uniform(0.8, 1.0, 3)], lightAmbientCoeff=rng.uniform(0.5, 0.7),
                     lightDiffuseCoeff=rng.uniform(0.3, 0.5), lightSpecularCoeff=0.05)
        return view, projection, light

    def _render(self, view, projection, light):
        size = self.image_size
        _, _, rgba, _, _ = self._call(
            "getCameraImage", size, size, view, projection, shadow=0,
            renderer=self.p.ER_TINY_RENDERER, flags=self.p.ER_NO_SEGMENTATION_MASK, **light)
        return np.asarray(rgba, np.uint8).reshape(size, size, 4)[..., :3]


class _Pusher:
    """Random pushes: pick an object, go above a point behind it, lower the
    hand to the table, push through the object for 10-20 cm, lift; the
    hand turns and the gripper opens and closes at random meanwhile."""

    def __init__(self, rng, hand_low):
        self.rng = rng
        self.hand_low = hand_low
        self.waypoints = []
        self.rotation = 0.0
        self.grip = 1.0

    def action(self, hand, objects):
        rng = self.rng
        if not self.waypoints:
            self._plan(hand, objects)
        goal = self.waypoints[0]
        delta = (goal - hand) / MAX_STEP
        if np.abs(delta).max() <= 1.0:
            self.waypoints.pop(0)
        scale = max(1.0, np.abs(delta).max())
        move = delta / scale + rng.normal(0, 0.05, 3)
        if rng.uniform() < 0.15:
            self.rotation = rng.uniform(-1, 1) if rng.uniform() < 0.5 else 0.0
        if rng.uniform() < 0.05:
            self.grip = -self.grip
        return np.clip(np.array([*move, self.rotation, self.grip]), -1, 1).astype(np.float32)

    def _plan(self, hand, objects):
        rng = self.rng
        # An object whose simulation blew up has a NaN position: push the others
        # (or a point on the table when none is left).
        objects = objects[np.isfinite(objects).all(axis=1)]
        target = objects[rng.integers(len(objects))] if len(objects) else np.array([0.5, 0.0, hand[2]])
        angle = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(angle), np.sin(angle), 0.0])
        behind = target - direction * rng.uniform(0.07, 0.1)
        through = target + direction * rng.uniform(0.1, 0.2)
        above = np.array([behind[0], behind[1], self.hand_low + rng.uniform(0.08, 0.15)])
        low = np.array([behind[0], behind[1], self.hand_low])
        end = np.array([through[0], through[1], self.hand_low])
        self.waypoints = [above, low, end, end + [0, 0, 0.08]]


def _colour(rng):
    hue, saturation, value = rng.uniform(), rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0)
    i = int(hue * 6) % 6
    f = hue * 6 - int(hue * 6)
    p, q, t = value * (1 - saturation), value * (1 - f * saturation), value * (1 - (1 - f) * saturation)
    return [(value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value), (value, p, q)][i]


_SCENES = {}


def make_episode(seed):
    """The episode of `seed`: a dict of numpy arrays matching
    `GhvaeSimMultirobot`'s features."""
    if "scene" not in _SCENES:  # one client per process, reused
        _SCENES["scene"] = MultiRobotScene()
    return _SCENES["scene"].episode(seed)
