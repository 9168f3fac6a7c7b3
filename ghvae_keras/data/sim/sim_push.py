"""TFDS builder `ghvae_sim_push`: a simulated stand-in for BAIR robot pushing."""

import numpy as np
import tensorflow_datasets as tfds

from ghvae_keras.sim import episodes as episodes_lib
from ghvae_keras.data.sim.builder import SimulatedVideoBuilder
from ghvae_keras.sim.push_scene import ACTION_DIM

__all__ = ["GhvaeSimPush"]


class GhvaeSimPush(SimulatedVideoBuilder):
    """Simulated robot pushing, a stand-in for BAIR robot pushing.

    A Sawyer arm in MuJoCo (Meta-World's push task) pushes a puck of random
    colour in a grey bin among 4-7 objects of random shape and colour, seen
    from above and in front (the camera moves a little between episodes).
    A quarter of the episodes follow Meta-World's scripted expert towards a
    random goal, 30% the expert with noise, the rest random pushes held for a
    few frames with the hand low. Episode `seed` is deterministic;
    `push_scene.PushScene().reset(seed)` recreates its start (in a process
    without TensorFlow, where rendering is Mesa's, see `workers`).

    Features: `video` uint8 `[30, 64, 64, 3]`; `actions` float32 `[30, 4]`
    (dx, dy, dz, gripper in [-1, 1]; action t moves frame t to t+1, the last
    one acts after the last frame); `object_pos` and `endeffector_pos`
    `[30, 3]` (m, per frame); `goal_pos` `[3]`; `seed`; `policy`; `success`
    (puck within 5 cm of the goal at the end); `start_qpos`, `start_qvel`
    (the simulator state at the first frame).

    Example:
        >>> import ghvae_keras.data  # registers the builder
        >>> tfds.load("ghvae_sim_push", split="test")
    """

    SCENE = "push_scene"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    DESCRIPTION = "Simulated robot pushing in a cluttered bin (Meta-World Sawyer, MuJoCo), 4-d actions."

    def _features(self):
        length, size = episodes_lib.EPISODE_LENGTH, episodes_lib.IMAGE_SIZE
        return {
            "video": tfds.features.Video(shape=(length, size, size, 3)),
            "actions": tfds.features.Tensor(shape=(length, ACTION_DIM), dtype=np.float32),
            "object_pos": tfds.features.Tensor(shape=(length, 3), dtype=np.float32),
            "goal_pos": tfds.features.Tensor(shape=(3,), dtype=np.float32),
            "endeffector_pos": tfds.features.Tensor(shape=(length, 3), dtype=np.float32),
            "seed": np.int64,
            "policy": tfds.features.Text(),
            "success": np.bool_,
            "start_qpos": tfds.features.Tensor(shape=(None,), dtype=np.float64),
            "start_qvel": tfds.features.Tensor(shape=(None,), dtype=np.float64),
        }
