"""TFDS builder `kitti_raw_video`: KITTI raw driving video for video prediction."""

import logging
import re
import zipfile

import numpy as np
import tensorflow_datasets as tfds

from ghvae_keras.data.frames import DECODE_ERRORS, FRAME_SIZES, frame_size_configs, square_frame

__all__ = ["FRAME_SIZES", "KittiRawVideo", "SEGMENT_LENGTH"]

# Each drive (10 frames per second) is cut into consecutive, non-overlapping
# 30-frame segments, one example each; the frames after the last whole
# segment are dropped. 30 frames cover the 5 -> 25 evaluation protocol of
# the video-prediction literature; `load` draws shorter training windows.
SEGMENT_LENGTH = 30

# Split by drive, as PredNet (Lotter, Kreiman & Cox, ICLR 2017, the
# `process_kitti.py` script of coxlab/prednet) chose it: one City drive for
# validation, one drive each of City, Residential and Road for testing, every
# other drive (PredNet: of the categories City, Residential and Road) for
# training. Later KITTI video-prediction work evaluates on this split; the
# GHVAE paper released no code, so we cannot confirm it used these drives.
VALIDATION_DRIVES = frozenset({"2011_09_26_drive_0005"})
TEST_DRIVES = frozenset({"2011_09_26_drive_0070", "2011_09_26_drive_0079", "2011_09_26_drive_0104"})

# Inside `2011_09_26_drive_0001_sync.zip`: the left colour camera's frames.
_FRAME = re.compile(
    r"^(?P<date>\d{4}_\d\d_\d\d)/(?P<drive>(?P=date)_drive_\d{4})_sync/image_02/data/(?P<index>\d+)\.png$"
)
_log = logging.getLogger(__name__)


class KittiRawVideo(tfds.core.GeneratorBasedBuilder):
    """KITTI raw "synced+rectified" drives, left colour camera (`image_02`),
    as 30-frame clips of centre-cropped square frames.

    Source: Geiger, Lenz, Stiller & Urtasun, "Vision meets Robotics: The
    KITTI Dataset", IJRR 2013, https://www.cvlibs.net/datasets/kitti/raw_data.php.
    License: Creative Commons Attribution-NonCommercial-ShareAlike 3.0; the
    drives must be downloaded by each user from the KITTI website.

    Features: `video` uint8 `[30, S, S, 3]`, `drive` (e.g.
    `2011_09_26_drive_0001`) and `first_frame` (index of the clip's first
    frame in the drive). Configs `64x64` and `128x128` give S.

    Example:
        >>> import ghvae_keras.data  # registers the builder
        >>> tfds.load("kitti_raw_video/64x64", split="test")
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: PredNet's drive split, 30-frame segments."}
    BUILDER_CONFIGS = frame_size_configs()
    # The files `load` looks for in the manual folder before preparing.
    ARCHIVE_PATTERN = "*_drive_*_sync.zip"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    KITTI raw data is distributed by its authors only. Register at
    https://www.cvlibs.net/datasets/kitti/ (free for non-commercial use), open
    https://www.cvlibs.net/datasets/kitti/raw_data.php and download, for each
    drive you want, its "[synced+rectified data]" zip, named like
    `2011_09_26_drive_0001_sync.zip`. Put the zips as they are (do not
    extract them) in the TFDS manual folder: `<data_dir>/downloads/manual/`,
    by default `~/tensorflow_datasets/downloads/manual/`.

    The video-prediction split (PredNet's) uses the drives of the categories
    City, Residential and Road. It needs at least the validation drive
    2011_09_26_drive_0005 and the test drives 2011_09_26_drive_0070, _0079
    and _0104; every other drive goes to the train split. Only the left
    colour camera (image_02) is read.
    """

    def _info(self):
        size = self.builder_config.image_size
        return tfds.core.DatasetInfo(
            builder=self,
            description="KITTI raw driving video (left colour camera) in 30-frame clips, "
            "for video prediction.",
            features=tfds.features.FeaturesDict({
                "video": tfds.features.Video(shape=(SEGMENT_LENGTH, size, size, 3)),
                "drive": tfds.features.Text(),
                "first_frame": np.int32,
            }),
            homepage="https://www.cvlibs.net/datasets/kitti/raw_data.php",
            citation=(
                "@article{Geiger2013IJRR, author = {Andreas Geiger and Philip Lenz and "
                "Christoph Stiller and Raquel Urtasun}, title = {Vision meets Robotics: "
                "The KITTI Dataset}, journal = {International Journal of Robotics "
                "Research (IJRR)}, year = {2013}}"
            ),
        )

    def _split_generators(self, dl_manager):
        manual_dir = dl_manager.manual_dir
        archives = sorted(manual_dir.glob(self.ARCHIVE_PATTERN))
        if not archives:
            raise FileNotFoundError(
                f"no KITTI drive zips ({self.ARCHIVE_PATTERN}) in {manual_dir}.\n"
                f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}"
            )
        by_split = {}
        for archive in archives:
            by_split.setdefault(_split_of(archive.name), []).append(archive)
        for split in ("train", "validation", "test"):
            if split not in by_split:
                _log.warning("kitti_raw_video: no drives for the %s split in %s", split, manual_dir)
        return {split: self._generate_examples(paths) for split, paths in by_split.items()}

    def _generate_examples(self, archives):
        size = self.builder_config.image_size
        segments = skipped = 0
        for archive in archives:
            try:
                with archive.open("rb") as file, zipfile.ZipFile(file) as drive_zip:
                    for key, example in _drive_segments(drive_zip, size):
                        segments += 1
                        if example is None:
                            skipped += 1
                        else:
                            yield key, example
            except zipfile.BadZipFile as error:
                _log.warning("kitti_raw_video: skipped %s, not a readable zip (%s); "
                             "download it again", archive.name, error)
        if skipped:
            _log.warning("kitti_raw_video: skipped %d of %d segments with unreadable frames",
                         skipped, segments)


def _split_of(archive_name):
    drive = archive_name.removesuffix("_sync.zip")
    if drive in TEST_DRIVES:
        return "test"
    if drive in VALIDATION_DRIVES:
        return "validation"
    return "train"


def _drive_segments(drive_zip, size):
    """Yields `(key, example)` per whole segment of the drive in
    `drive_zip`; the example is None where a frame could not be read."""
    frames = sorted(
        (int(match["index"]), match["drive"], name)
        for name in drive_zip.namelist()
        if (match := _FRAME.match(name))
    )
    for start in range(0, len(frames) - SEGMENT_LENGTH + 1, SEGMENT_LENGTH):
        segment = frames[start : start + SEGMENT_LENGTH]
        first, drive, _ = segment[0]
        key = f"{drive}_{first:010d}"
        try:
            video = np.stack([square_frame(drive_zip.read(name), size) for _, _, name in segment])
        except DECODE_ERRORS as error:
            _log.warning("kitti_raw_video: skipped %s, frames %d-%d: %s",
                         drive, first, segment[-1][0], error)
            yield key, None
            continue
        yield key, {"video": video, "drive": drive, "first_frame": first}
