"""The registry of datasets that `ghvae_keras.data.load` knows by name.

A spec is plain data: which TFDS dataset holds the video, under which
feature keys, and what is known about it before reading it. Later datasets
join with `register_dataset`.
"""

import dataclasses
from typing import Mapping, Optional

import tensorflow_datasets as tfds

from ghvae_keras.data import cityscapes_sequence, kitti_raw_video
from ghvae_keras.sim import episodes as sim_episodes
from ghvae_keras.errors import InputError

TFDS_PREFIX = "tfds:"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Where a video dataset lives in TFDS and how to read it.

    Args:
        name: the short name `load` accepts, e.g. `"bair"`.
        tfds_names: stored frame size (pixels) -> TFDS `name[/config]` holding
            frames of that size. `load` reads the smallest one at least as
            large as the size asked for (else the largest) and resizes.
        frames_key: the feature holding the frames, uint8 `[N, H, W, 3]`.
        actions_key: the feature holding the actions `[N or N-1, A]`, or None
            for action-free video.
        action_dim: A, or None for action-free video.
        episode_length: N when every episode has the same length, else None.
        description: one line for `list_datasets` readers.
    """

    name: str
    tfds_names: Mapping[int, str]
    frames_key: str
    actions_key: Optional[str] = None
    action_dim: Optional[int] = None
    episode_length: Optional[int] = None
    description: str = ""

    def tfds_name_for(self, image_size):
        """The TFDS name whose stored frames suit `image_size` best."""
        sizes = sorted(self.tfds_names)
        large_enough = [size for size in sizes if size >= image_size]
        return self.tfds_names[large_enough[0] if large_enough else sizes[-1]]


DATASETS = {}


def register_dataset(spec):
    """Makes `spec` loadable by its name; replaces a spec of the same name."""
    DATASETS[spec.name] = spec
    return spec


def list_datasets():
    """The names `load` accepts (besides `tfds:NAME[/CONFIG]`), sorted."""
    return sorted(DATASETS)


def get_spec(name, data_dir=None):
    """The spec of a registered name, or one read from the features of a
    `tfds:NAME[/CONFIG]` dataset (which must have a `video` or `frames`
    feature; an `actions` or `action` feature, if any, is used too)."""
    if name in DATASETS:
        return DATASETS[name]
    if not name.startswith(TFDS_PREFIX):
        raise InputError(
            f"unknown dataset {name!r}: use one of {list_datasets()} or "
            f"'{TFDS_PREFIX}NAME[/CONFIG]' for a TFDS dataset with a video feature"
        )
    tfds_name = name[len(TFDS_PREFIX):]
    shapes = tfds.builder(tfds_name, data_dir=data_dir).info.features.shape
    frames_key = next((key for key in ("video", "frames") if key in shapes), None)
    if frames_key is None:
        raise InputError(
            f"{tfds_name} has no 'video' or 'frames' feature (features: {sorted(shapes)})"
        )
    frames_shape = shapes[frames_key]
    actions_key = next(
        (key for key in ("actions", "action") if key in shapes and len(shapes[key]) == 2), None
    )
    return DatasetSpec(
        name=name,
        tfds_names={frames_shape[1] or 0: tfds_name},  # the only choice, whatever its size
        frames_key=frames_key,
        actions_key=actions_key,
        action_dim=shapes[actions_key][1] if actions_key else None,
        episode_length=frames_shape[0],
    )


register_dataset(DatasetSpec(
    name="bair",
    tfds_names={64: "bair_robot_pushing_small"},
    frames_key="image_main",
    actions_key="action",
    action_dim=4,
    episode_length=30,
    description="BAIR robot pushing, 64x64, 4-d actions; TFDS downloads about 30 GiB",
))
register_dataset(DatasetSpec(
    name="robonet",
    tfds_names={64: "robonet/robonet_64", 128: "robonet/robonet_128"},
    frames_key="video",
    actions_key="actions",
    action_dim=5,
    description="RoboNet, 5-d actions; a Beam builder (needs apache-beam) with one 'train' "
    "split: hold out a slice, e.g. 'train[:95%]' / 'train[95%:]'",
))
register_dataset(DatasetSpec(
    name="kitti",
    tfds_names={s: f"kitti_raw_video/{s}x{s}" for s in kitti_raw_video.FRAME_SIZES},
    frames_key="video",
    episode_length=kitti_raw_video.SEGMENT_LENGTH,
    description="KITTI raw driving video, left colour camera; manual download",
))
register_dataset(DatasetSpec(
    name="cityscapes",
    tfds_names={s: f"cityscapes_sequence/{s}x{s}" for s in cityscapes_sequence.FRAME_SIZES},
    frames_key="video",
    episode_length=cityscapes_sequence.SNIPPET_LENGTH,
    description="Cityscapes 30-frame street snippets; manual download",
))

# The simulated stand-ins that the zoo's weights are trained on (the `[sim]`
# extra; `tools/make_sim_data.py` builds them with several workers).
for _name, _tfds_name, _actions, _description in (
    ("sim_push", "ghvae_sim_push", 4,
     "simulated BAIR: Sawyer pushing in a cluttered bin (Meta-World, MuJoCo), 4-d actions"),
    ("sim_multirobot", "ghvae_sim_multirobot", 5,
     "simulated RoboNet: Panda, KUKA and xArm pushing objects, random viewpoints (PyBullet), 5-d actions"),
    ("sim_drive/suburban", "ghvae_sim_drive/suburban", None,
     "simulated KITTI: procedural suburban driving (MuJoCo)"),
    ("sim_drive/urban", "ghvae_sim_drive/urban", None,
     "simulated Cityscapes: procedural dense urban driving (MuJoCo)"),
):
    register_dataset(DatasetSpec(
        name=_name,
        tfds_names={sim_episodes.IMAGE_SIZE: _tfds_name},
        frames_key="video",
        actions_key="actions" if _actions else None,
        action_dim=_actions,
        episode_length=sim_episodes.EPISODE_LENGTH,
        description=_description,
    ))
