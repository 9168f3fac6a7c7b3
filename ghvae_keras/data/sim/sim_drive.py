"""TFDS builder `ghvae_sim_drive`: simulated stand-ins for KITTI (`suburban`)
and Cityscapes (`urban`)."""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from ghvae_keras.sim import episodes as episodes_lib
from ghvae_keras.data.sim.builder import SimulatedVideoBuilder

__all__ = ["DriveConfig", "GhvaeSimDrive"]


@dataclasses.dataclass
class DriveConfig(tfds.core.BuilderConfig):
    """A kind of street.

    Args:
        setting: `"suburban"` or `"urban"` (see `drive_scene`).
    """

    setting: str = "suburban"


class GhvaeSimDrive(SimulatedVideoBuilder):
    """Simulated dashcam driving, a stand-in for KITTI and Cityscapes.

    Procedural streets in MuJoCo, seen from a camera 1.5-1.75 m above the
    road: lanes with dashed and solid markings, kerbs, pavements, buildings
    with rows of windows, trees, poles, parked cars, moving and oncoming
    cars, a sky fading into fog. The ego car's speed, lane, sway and
    heading vary; no actions are stored (the model is not told them).

    Configs: `suburban` (KITTI-like: two lanes, houses behind lawns, many
    trees, light traffic, 5-14 m/s) and `urban` (Cityscapes-like: four
    lanes, continuous tall façades, dense traffic, pedestrians, 2-10 m/s).

    Features: `video` uint8 `[30, 64, 64, 3]` (10 frames per second);
    `speed` float32 `[30]` (m/s, the ego car's); `seed`.

    Example:
        >>> import ghvae_keras.data  # registers the builder
        >>> tfds.load("ghvae_sim_drive/urban", split="test")
    """

    SCENE = "drive_scene"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        DriveConfig(name="suburban", setting="suburban",
                    description="KITTI-like: two lanes, houses, trees, light traffic"),
        DriveConfig(name="urban", setting="urban",
                    description="Cityscapes-like: four lanes, tall façades, dense traffic, pedestrians"),
    ]
    DESCRIPTION = "Simulated first-person driving video (procedural streets, MuJoCo), no actions."

    def _features(self):
        length, size = episodes_lib.EPISODE_LENGTH, episodes_lib.IMAGE_SIZE
        return {
            "video": tfds.features.Video(shape=(length, size, size, 3)),
            "speed": tfds.features.Tensor(shape=(length,), dtype=np.float32),
            "seed": np.int64,
        }

    def _scene_options(self):
        return {"setting": self.builder_config.setting}
