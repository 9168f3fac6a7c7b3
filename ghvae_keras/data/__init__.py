"""Video data as `{"frames": [B, T, H, W, 3], "actions": [B, T-1, A]}`.

Importing this package registers the project's TFDS builders
(`kitti_raw_video`, `cityscapes_sequence`, and the simulated stand-ins of
`ghvae_keras.data.sim`) with TFDS.
"""

from ghvae_keras.data.cityscapes_sequence import CityscapesSequence
from ghvae_keras.data.dataset_spec import (
    DATASETS,
    DatasetSpec,
    get_spec,
    list_datasets,
    register_dataset,
)
from ghvae_keras.errors import DataError, DatasetUnavailable, ManualDownloadRequired
from ghvae_keras.data.kitti_raw_video import KittiRawVideo
from ghvae_keras.data.pipeline import iterate, load, preview
from ghvae_keras.data.sim import GhvaeSimDrive, GhvaeSimMultirobot, GhvaeSimPush
from ghvae_keras.data.synthetic import pushed_squares

__all__ = [
    "DATASETS",
    "CityscapesSequence",
    "DataError",
    "DatasetSpec",
    "DatasetUnavailable",
    "GhvaeSimDrive",
    "GhvaeSimMultirobot",
    "GhvaeSimPush",
    "KittiRawVideo",
    "ManualDownloadRequired",
    "get_spec",
    "iterate",
    "list_datasets",
    "load",
    "preview",
    "pushed_squares",
    "register_dataset",
]
