import logging
import shutil
import tempfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from etils import epath

from ghvae_keras.data import kitti_raw_video
from ghvae_keras.data.kitti_raw_video import KittiRawVideo
from video_archives import frame_colour, write_kitti_calibration, write_kitti_drive

TRAIN_TAG, VALIDATION_TAG, TEST_TAG = 1, 2, 3


def write_drives(folder):
    """One drive per split, as named in the real split; the train drive has
    two whole segments and 5 frames that make no segment."""
    write_kitti_drive(folder, 1, 65, tag=TRAIN_TAG)
    write_kitti_drive(folder, 5, 30, tag=VALIDATION_TAG)
    write_kitti_drive(folder, 70, 30, tag=TEST_TAG)
    write_kitti_calibration(folder)


class KittiRawVideoTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = KittiRawVideo
    SPLITS = {"train": 2, "validation": 1, "test": 1}

    @classmethod
    def setUpClass(cls):
        cls._manual = tempfile.mkdtemp()
        write_drives(epath.Path(cls._manual))
        cls.EXAMPLE_DIR = cls._manual  # the manual folder, as users fill it
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls._manual)


def prepare(tmp_path, config="64x64"):
    builder = tfds.builder(f"kitti_raw_video/{config}", data_dir=tmp_path / "data")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path)))
    return builder


def test_segments_are_the_left_colour_camera_in_order(tmp_path):
    write_drives(tmp_path)
    builder = prepare(tmp_path)
    train = sorted(tfds.as_numpy(builder.as_dataset(split="train")), key=lambda e: e["first_frame"])
    assert [e["first_frame"] for e in train] == [0, 30]
    for example in train:
        assert example["drive"] == b"2011_09_26_drive_0001"
        assert example["video"].shape == (30, 64, 64, 3)
        # Every pixel has the colour of image_02's frame: right camera, right
        # frame, and the white sides of the wide frame cropped away.
        expected = np.stack([frame_colour(example["first_frame"] + t, TRAIN_TAG) for t in range(30)])
        np.testing.assert_allclose(example["video"] / 255, np.broadcast_to(
            expected[:, None, None], example["video"].shape), atol=1e-6)
    (test,) = tfds.as_numpy(builder.as_dataset(split="test"))
    assert test["drive"] == b"2011_09_26_drive_0070"
    assert np.all(test["video"][..., 1] == TEST_TAG)


def test_a_segment_with_a_corrupt_frame_is_skipped_and_counted(tmp_path, caplog):
    write_kitti_drive(tmp_path, 1, 90, tag=TRAIN_TAG, corrupt={40})
    caplog.set_level(logging.WARNING, logger=kitti_raw_video.__name__)
    builder = prepare(tmp_path)
    train = tfds.as_numpy(builder.as_dataset(split="train"))
    assert sorted(e["first_frame"] for e in train) == [0, 60]
    assert "skipped 1 of 3 segments with unreadable frames" in caplog.text
    assert "frames 30-59" in caplog.text


def test_a_damaged_zip_is_skipped(tmp_path, caplog):
    write_kitti_drive(tmp_path, 1, 30, tag=TRAIN_TAG)
    (tmp_path / "2011_09_26_drive_0002_sync.zip").write_bytes(b"PK\x03\x04 cut short")
    caplog.set_level(logging.WARNING, logger=kitti_raw_video.__name__)
    builder = prepare(tmp_path)
    assert builder.info.splits["train"].num_examples == 1
    assert "2011_09_26_drive_0002_sync.zip, not a readable zip" in caplog.text


def test_128_config_stores_128_pixel_frames(tmp_path):
    write_kitti_drive(tmp_path, 1, 30, tag=TRAIN_TAG)
    (example,) = tfds.as_numpy(prepare(tmp_path, "128x128").as_dataset(split="train"))
    assert example["video"].shape == (30, 128, 128, 3)


def test_drives_are_split_as_prednet_split_them():
    assert kitti_raw_video._split_of("2011_09_26_drive_0005_sync.zip") == "validation"
    for drive in ("0070", "0079", "0104"):
        assert kitti_raw_video._split_of(f"2011_09_26_drive_{drive}_sync.zip") == "test"
    assert kitti_raw_video._split_of("2011_09_26_drive_0001_sync.zip") == "train"
    assert kitti_raw_video._split_of("2011_09_28_drive_0005_sync.zip") == "train"


def test_no_drive_zips_gives_the_instructions(tmp_path):
    write_kitti_calibration(tmp_path)
    with pytest.raises(FileNotFoundError, match="synced\\+rectified data"):
        prepare(tmp_path)
