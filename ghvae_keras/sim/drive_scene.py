"""The procedural driving scenes of `ghvae_sim_drive`: a dashcam's view
from a car driving down a street of lanes, kerbs, pavements, buildings,
trees, poles, parked and moving cars (and, in town, pedestrians), under a
sky that fades into fog, in MuJoCo.

Each episode builds its own street from its seed. `suburban` (KITTI-like):
two lanes, houses set back behind lawns, many trees, sparse traffic, 5-14
m/s. `urban` (Cityscapes-like): four lanes, continuous tall façades at the
pavement, denser traffic and pedestrians, 2-10 m/s. The ego car's speed,
lane position and heading vary; the episode stores no actions.

TensorFlow-free, like every scene module (see `workers`); MuJoCo is
imported when an episode is made.
"""

import numpy as np

from ghvae_keras.sim import episodes as episodes_lib

__all__ = ["SETTINGS", "make_episode"]

SETTINGS = ("suburban", "urban")
_FRAME_SECONDS = 0.1  # KITTI's 10 frames per second
_STREET = dict(
    suburban=dict(lanes=2, lane_width=3.5, pavement=(1.5, 2.5), setback=(6, 18), height=(4, 9),
                  width=(8, 16), gap=(4, 15), trees=0.6, parked=0.25, cars=(1, 4),
                  pedestrians=(0, 1), speed=(5, 14), ground=((0.2, 0.35), (0.3, 0.5), (0.1, 0.2))),
    urban=dict(lanes=4, lane_width=3.2, pavement=(3, 5), setback=(0, 1), height=(10, 30),
               width=(8, 20), gap=(0, 1), trees=0.3, parked=0.5, cars=(4, 9),
               pedestrians=(3, 10), speed=(2, 10), ground=((0.35, 0.5), (0.35, 0.5), (0.35, 0.5))),
)
_STREET_X = (-15.0, 185.0)  # m of street along x; the ego starts at 0 and drives < 45 m
_PARKING = 2.2  # m: the strip between the outer lane's line and the kerb


def make_episode(seed, setting="suburban"):
    """The episode of `seed` in `setting`: `{"video": uint8 [30, 64, 64, 3],
    "seed": int64, "speed": float32 [30] (m/s)}`."""
    if setting not in _STREET:
        raise ValueError(f"unknown setting {setting!r}: use one of {list(SETTINGS)}")
    mujoco = episodes_lib.import_simulator("mujoco")
    rng = np.random.default_rng(seed)
    street = _STREET[setting]
    ego = _Ego(rng, street)
    xml, movers = _street_xml(rng, street, ego)
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    if "canvas" not in _CANVAS:  # one OpenGL context per process, reused
        _CANVAS["canvas"] = _Canvas(mujoco, episodes_lib.IMAGE_SIZE)
    canvas = _CANVAS["canvas"]
    canvas.use(model)
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_FREE
    length, size = episodes_lib.EPISODE_LENGTH, episodes_lib.IMAGE_SIZE
    video = np.empty((length, size, size, 3), np.uint8)
    speeds = np.empty(length, np.float32)
    for t in range(length):
        for mocap, (start, velocity) in movers.items():
            data.mocap_pos[mocap] = start + velocity * t * _FRAME_SECONDS
        mujoco.mj_kinematics(model, data)
        position, heading, pitch = ego.pose(t)
        speeds[t] = ego.speed(t)
        camera.lookat[:] = position + 0.5 * np.array([np.cos(heading), np.sin(heading), np.sin(pitch)])
        camera.distance = 0.5
        camera.azimuth = np.degrees(heading)
        camera.elevation = np.degrees(pitch)
        video[t] = canvas.render(model, data, camera)
    return {"video": video, "seed": np.int64(seed), "speed": speeds}


_CANVAS = {}


class _Canvas:
    """An offscreen OpenGL context that renders one model after another.

    Each episode has its own model; making a new context per model (as
    `mujoco.Renderer` does) costs more than rendering the episode, so only
    MuJoCo's per-model render context is made anew.
    """

    def __init__(self, mujoco, size):
        from mujoco import gl_context

        self.mujoco = mujoco
        self.size = size
        self.gl = gl_context.GLContext(size, size)
        self.gl.make_current()
        self.viewport = mujoco.MjrRect(0, 0, size, size)
        self.option = mujoco.MjvOption()
        self.perturb = mujoco.MjvPerturb()
        self.context = self.scene = None
        self.pixels = np.empty((size, size, 3), np.uint8)

    def use(self, model):
        mujoco = self.mujoco
        self.gl.make_current()
        if self.context is not None:
            self.context.free()
        self.context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self.context)
        self.scene = mujoco.MjvScene(model, maxgeom=model.ngeom + 100)
        self.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        self.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        self.scene.flags[mujoco.mjtRndFlag.mjRND_FOG] = 1

    def render(self, model, data, camera):
        mujoco = self.mujoco
        mujoco.mjv_updateScene(model, data, self.option, self.perturb, camera,
                               mujoco.mjtCatBit.mjCAT_ALL, self.scene)
        mujoco.mjr_render(self.viewport, self.scene, self.context)
        mujoco.mjr_readPixels(self.pixels, None, self.viewport, self.context)
        return self.pixels[::-1]  # OpenGL's rows run bottom to top


class _Ego:
    """The camera car: a speed that drifts, a lane offset that sways or
    changes lane, a heading that follows the motion, a bouncing pitch."""

    def __init__(self, rng, street):
        self.v0 = rng.uniform(*street["speed"])
        self.acceleration = rng.uniform(-1.5, 1.5)
        lane = street["lane_width"]
        lanes_one_way = street["lanes"] // 2
        self.lane0 = -lane * (rng.integers(lanes_one_way) + 0.5)  # right-hand traffic
        self.lane1 = self.lane0 + (lane if lanes_one_way > 1 and rng.uniform() < 0.3 and self.lane0 < -lane else 0)
        self.sway = rng.uniform(0.1, 0.5)
        self.period = rng.uniform(2, 6)
        self.phase = rng.uniform(0, 2 * np.pi)
        self.height = rng.uniform(1.5, 1.75)
        self.pitch0 = np.radians(rng.uniform(-6, 0))
        self.look = np.radians(rng.uniform(-4, 4))  # camera not quite straight ahead

    def top_speed(self):
        return max(self.speed(0), self.speed(episodes_lib.EPISODE_LENGTH))

    def speed(self, t):
        return max(0.5, self.v0 + self.acceleration * t * _FRAME_SECONDS)

    def _distance(self, t):
        seconds = t * _FRAME_SECONDS
        return sum(self.speed(s) * _FRAME_SECONDS for s in range(t)) if seconds else 0.0

    def _lateral(self, seconds):
        change = np.clip(seconds / 3.0, 0, 1)
        return (self.lane0 + (self.lane1 - self.lane0) * (3 * change**2 - 2 * change**3)
                + self.sway * np.sin(2 * np.pi * seconds / self.period + self.phase))

    def pose(self, t):
        seconds = t * _FRAME_SECONDS
        x = self._distance(t)
        y = self._lateral(seconds)
        slope = (self._lateral(seconds + 0.05) - self._lateral(seconds - 0.05)) / (0.1 * self.speed(t))
        heading = np.arctan(slope) + self.look
        pitch = self.pitch0 + np.radians(0.4) * np.sin(2 * np.pi * seconds * 1.3 + self.phase)
        return np.array([x, y, self.height]), heading, pitch


def _grey(rng, low, high):
    value = rng.uniform(low, high)
    return [*(value + rng.uniform(-0.03, 0.03, 3)).clip(0, 1), 1]


def _colour(rng, saturation=(0.1, 0.6), value=(0.3, 0.9)):
    hue, s, v = rng.uniform(), rng.uniform(*saturation), rng.uniform(*value)
    i = int(hue * 6) % 6
    f = hue * 6 - int(hue * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [*[(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i], 1]


def _rgba(colour):
    return " ".join(f"{c:.3f}" for c in colour)


def _box(pos, size, colour, euler=None):
    rotation = f' euler="0 0 {euler:.3f}"' if euler is not None else ""
    return (f'<geom type="box" pos="{pos[0]:.2f} {pos[1]:.2f} {pos[2]:.3f}" '
            f'size="{size[0]:.3f} {size[1]:.3f} {size[2]:.3f}" rgba="{_rgba(colour)}"{rotation}/>')


def _car(rng, name, pos, heading, mocap=False):
    colour = _colour(rng, (0.0, 0.8), (0.15, 0.95)) if rng.uniform() < 0.6 else _grey(rng, 0.05, 0.95)
    length, width = rng.uniform(1.9, 2.4), rng.uniform(0.85, 1.0)
    glass = [0.1, 0.12, 0.15, 1]
    moving = ' mocap="true"' if mocap else ""
    body = f'<body name="{name}" pos="{pos[0]:.2f} {pos[1]:.2f} 0" euler="0 0 {heading:.3f}"{moving}>'
    parts = [
        _box((0, 0, 0.6), (length, width, 0.32), colour),
        _box((-0.2, 0, 1.15), (length * 0.55, width * 0.92, 0.25), glass),
        _box((-0.2, 0, 1.42), (length * 0.5, width * 0.88, 0.03), colour),
        _box((length, 0, 0.6), (0.02, width * 0.8, 0.1), [0.9, 0.9, 0.8, 1]),
        _box((-length, 0, 0.7), (0.02, width * 0.8, 0.08), [0.6, 0.05, 0.05, 1]),
    ]
    for x in (-0.65 * length, 0.65 * length):  # an axle with its two wheels
        parts.append(f'<geom type="cylinder" pos="{x:.2f} 0 0.33" size="0.33 {width + 0.02:.2f}" '
                     f'euler="1.571 0 0" rgba="0.05 0.05 0.05 1"/>')
    return body + "".join(parts) + "</body>"


def _street_xml(rng, street, ego):
    """The MJCF of a random street, and the moving bodies: `{mocap index:
    (start position, velocity)}`."""
    lanes, lane_width = street["lanes"], street["lane_width"]
    half_lanes = lanes * lane_width / 2
    half_road = half_lanes + _PARKING
    pavement = rng.uniform(*street["pavement"])
    x0, x1 = _STREET_X
    centre, half = (x0 + x1) / 2, (x1 - x0) / 2
    geoms = []
    ground = [rng.uniform(*band) for band in street["ground"]] + [1]
    asphalt = _grey(rng, 0.18, 0.35)
    geoms.append(_box((centre, 0, -0.05), (half, half_road, 0.05), asphalt))
    # Lane markings: dashed between lanes, a solid or double line in the middle, solid edges.
    line = [0.85, 0.85, 0.8, 1]
    centre_line = [0.85, 0.7, 0.15, 1] if rng.uniform() < 0.3 else line
    for lane in range(1, lanes):
        y = -half_road + lane * lane_width
        if lane == lanes // 2:
            geoms.append(_box((centre, y, 0.002), (half, 0.08, 0.002), centre_line))
        else:
            dash, gap = rng.uniform(2, 3.5), rng.uniform(4, 8)
            x = x0 + rng.uniform(0, dash + gap)
            while x < x1:
                geoms.append(_box((x, y, 0.002), (dash / 2, 0.07, 0.002), line))
                x += dash + gap
    for side in (-1, 1):
        geoms.append(_box((centre, side * half_lanes, 0.002), (half, 0.06, 0.002), line))
        kerb = _grey(rng, 0.55, 0.75)
        geoms.append(_box((centre, side * (half_road + 0.1), 0.07), (half, 0.1, 0.07), kerb))
        geoms.append(_box((centre, side * (half_road + 0.2 + pavement / 2), 0.06),
                          (half, pavement / 2, 0.06), _grey(rng, 0.45, 0.65)))
        geoms += _roadside(rng, street, side, half_road + 0.2 + pavement, x0, x1)
    # Parked cars along both kerbs.
    bodies = []
    count = 0
    for side in (-1, 1):
        x = x0 + rng.uniform(0, 10)
        while x < x1:
            if rng.uniform() < street["parked"]:
                y = side * (half_lanes + _PARKING / 2)
                bodies.append(_car(rng, f"parked{count}", (x, y), rng.uniform(-0.05, 0.05)
                                   + (0 if side < 0 else np.pi * (rng.uniform() < 0.5))))
                count += 1
            x += rng.uniform(5.5, 8)
    # Moving cars: ahead or behind in the ego's direction, and oncoming.
    movers, mocap = {}, 0
    lanes_one_way = lanes // 2
    for _ in range(rng.integers(street["cars"][0], street["cars"][1] + 1)):
        oncoming = rng.uniform() < 0.5
        lane = rng.integers(lanes_one_way)
        y = (lane + 0.5) * lane_width * (1 if oncoming else -1)
        y += rng.uniform(-0.3, 0.3)
        x = rng.uniform(8, 120)
        speed = rng.uniform(*street["speed"]) * (1 if not oncoming else -1)
        if not oncoming and min(abs(y - ego.lane0), abs(y - ego.lane1)) < lane_width:
            # In the ego's lane: far enough ahead and no slower, never driven into.
            x = rng.uniform(15, 120)
            speed = ego.top_speed() + rng.uniform(0.5, 3)
        heading = 0.0 if not oncoming else np.pi
        bodies.append(_car(rng, f"car{mocap}", (x, y), heading, mocap=True))
        movers[mocap] = (np.array([x, y, 0.0]), np.array([speed, 0.0, 0.0]))
        mocap += 1
    for index in range(rng.integers(street["pedestrians"][0], street["pedestrians"][1] + 1)):
        side = rng.choice([-1, 1])
        y = side * (half_road + 0.4 + rng.uniform(0.3, pavement - 0.3))
        x = rng.uniform(5, 80)
        clothes, skin = _colour(rng, (0.0, 0.7), (0.1, 0.8)), [*rng.uniform([0.45, 0.3, 0.2], [0.9, 0.75, 0.6]), 1]
        bodies.append(
            f'<body name="pedestrian{index}" pos="{x:.2f} {y:.2f} 0" mocap="true">'
            f'<geom type="capsule" fromto="0 0 0.45 0 0 1.35" size="0.22" rgba="{_rgba(clothes)}"/>'
            f'<geom type="sphere" pos="0 0 1.65" size="0.13" rgba="{_rgba(skin)}"/></body>')
        movers[mocap] = (np.array([x, y, 0.0]), np.array([rng.uniform(-1.5, 1.5), 0.0, 0.0]))
        mocap += 1
    sky_top = rng.uniform([0.25, 0.4, 0.6], [0.5, 0.65, 0.9])
    haze = np.clip(sky_top + rng.uniform(0.25, 0.45), 0, 1)
    fog_start, fog_end = rng.uniform(0.3, 0.6), rng.uniform(1.0, 1.6)  # x extent (100 m)
    sun = rng.uniform(0.5, 0.9)
    light_dir = [rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), -1]
    xml = f"""
<mujoco>
  <statistic extent="100" center="60 0 0"/>
  <visual>
    <global fovy="{rng.uniform(45, 55):.1f}" offwidth="64" offheight="64"/>
    <quality shadowsize="0" offsamples="0"/>
    <map znear="0.002" zfar="3" fogstart="{fog_start:.2f}" fogend="{fog_end:.2f}"/>
    <rgba fog="{_rgba([*haze, 1])}" haze="{_rgba([*haze, 1])}"/>
    <headlight ambient="{rng.uniform(0.35, 0.5):.2f} {rng.uniform(0.35, 0.5):.2f} {rng.uniform(0.35, 0.5):.2f}" diffuse="0.2 0.2 0.2" specular="0 0 0"/>
  </visual>
  <asset>
    <texture type="skybox" builtin="gradient" rgb1="{_rgba(haze)}" rgb2="{_rgba(sky_top)}" width="32" height="32"/>
  </asset>
  <worldbody>
    <light directional="true" castshadow="false" dir="{light_dir[0]:.2f} {light_dir[1]:.2f} -1" diffuse="{sun:.2f} {sun:.2f} {sun * 0.95:.2f}" specular="0 0 0"/>
    <geom type="plane" size="400 400 1" pos="60 0 -0.11" rgba="{_rgba(ground)}"/>
    {"".join(geoms)}
    {"".join(bodies)}
  </worldbody>
</mujoco>"""
    return xml, movers


def _roadside(rng, street, side, edge, x0, x1):
    """Buildings, trees and poles on one side of the street, beyond `edge` (m from the centre)."""
    geoms = []
    x = x0 + rng.uniform(-5, 5)
    while x < x1:
        width = rng.uniform(*street["width"])
        depth = rng.uniform(8, 15)
        height = rng.uniform(*street["height"])
        setback = rng.uniform(*street["setback"])
        y = side * (edge + setback + depth / 2)
        wall = _colour(rng, (0.05, 0.45), (0.35, 0.9))
        geoms.append(_box((x + width / 2, y, height / 2), (width / 2 - 0.1, depth / 2, height / 2), wall))
        face = side * (edge + setback) - side * 0.02
        window = [*rng.uniform(0.08, 0.25, 3), 1]
        floors = int(height // 3)
        for floor in range(floors):  # a band of windows per floor on the street side
            z = 3 * floor + 1.8
            if z + 0.7 < height:
                geoms.append(_box((x + width / 2, face, z), (width / 2 - 0.8, 0.03, 0.6), window))
        if street["setback"][1] > 2:  # a house: a pitched roof of two slabs
            roof = [*rng.uniform([0.25, 0.1, 0.08], [0.55, 0.3, 0.25]), 1]
            geoms.append(
                f'<geom type="box" pos="{x + width / 2:.2f} {y:.2f} {height + 0.8:.2f}" '
                f'size="{width / 2:.2f} {depth / 2 * 0.75:.2f} 0.12" euler="{0.5 * side:.2f} 0 0" '
                f'rgba="{_rgba(roof)}"/>')
        x += width + rng.uniform(*street["gap"])
    x = x0 + rng.uniform(0, 6)
    while x < x1:
        if rng.uniform() < street["trees"]:
            y = side * (edge - 0.6 if street["setback"][1] <= 2 else edge + rng.uniform(1, 4))
            crown = [*rng.uniform([0.1, 0.25, 0.05], [0.3, 0.5, 0.15]), 1]
            radius = rng.uniform(1.2, 2.6)
            trunk = rng.uniform(2, 4)
            geoms.append(f'<geom type="cylinder" pos="{x:.2f} {y:.2f} {trunk / 2:.2f}" '
                         f'size="0.15 {trunk / 2:.2f}" rgba="0.3 0.2 0.12 1"/>')
            geoms.append(f'<geom type="ellipsoid" pos="{x:.2f} {y:.2f} {trunk + radius * 0.8:.2f}" '
                         f'size="{radius:.2f} {radius:.2f} {radius * 1.2:.2f}" rgba="{_rgba(crown)}"/>')
        if rng.uniform() < 0.15:  # a street light or sign pole
            y = side * (edge - 0.4)
            geoms.append(f'<geom type="cylinder" pos="{x + 1:.2f} {y:.2f} 3" size="0.07 3" '
                         f'rgba="0.35 0.35 0.35 1"/>')
            geoms.append(_box((x + 1, y - side * 0.8, 6), (0.15, 0.8, 0.06), [0.3, 0.3, 0.3, 1]))
        x += rng.uniform(6, 12)
    return geoms
