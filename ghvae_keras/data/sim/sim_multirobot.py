"""TFDS builder `ghvae_sim_multirobot`: a simulated stand-in for RoboNet."""

import numpy as np
import tensorflow_datasets as tfds

from ghvae_keras.sim import episodes as episodes_lib
from ghvae_keras.data.sim.builder import SimulatedVideoBuilder
from ghvae_keras.sim.multirobot_scene import ACTION_DIM

__all__ = ["GhvaeSimMultirobot"]


class GhvaeSimMultirobot(SimulatedVideoBuilder):
    """Simulated tabletop pushing by several arms, a stand-in for RoboNet.

    In PyBullet, a Franka Panda, a KUKA iiwa or a UFactory xArm6 pushes 3-7
    objects drawn from PyBullet's 1,000 random meshes (random colours and
    scales; a tray around them in half the episodes) across a table, filmed
    from a random viewpoint (front or either side, high or low, near or
    far) under random light. The arm makes random pushes: above a point
    behind an object, down to the table, through the object, up.

    Features: `video` uint8 `[30, 64, 64, 3]`; `actions` float32 `[30, 5]`
    (hand motion dx, dy, dz in units of 3 cm, rotation about the vertical in
    units of 0.15 rad, gripper; each in [-1, 1]; action t moves frame t to
    t+1, the last acts after the last frame); `robot`; `num_objects`;
    `object_displacement` (m, the largest distance an object moved);
    `seed`.

    Example:
        >>> import ghvae_keras.data  # registers the builder
        >>> tfds.load("ghvae_sim_multirobot", split="test")
    """

    SCENE = "multirobot_scene"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    DESCRIPTION = ("Simulated tabletop pushing by Panda, KUKA and xArm robots from random "
                   "viewpoints (PyBullet), 5-d actions.")

    def _features(self):
        length, size = episodes_lib.EPISODE_LENGTH, episodes_lib.IMAGE_SIZE
        return {
            "video": tfds.features.Video(shape=(length, size, size, 3)),
            "actions": tfds.features.Tensor(shape=(length, ACTION_DIM), dtype=np.float32),
            "robot": tfds.features.Text(),
            "num_objects": np.int32,
            "object_displacement": np.float32,
            "seed": np.int64,
        }
