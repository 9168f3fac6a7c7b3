import logging
import shutil
import tempfile

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from ghvae_keras.data import cityscapes_sequence
from ghvae_keras.data.cityscapes_sequence import CityscapesSequence
from video_archives import frame_colour, write_cityscapes

# (split folder, city, sequence, first frame, frames, colour tag). Frankfurt's
# sequence 0 holds two snippets apart from each other, as the real one does.
RUNS = [
    ("train", "aachen", 0, 0, 30, 1),
    ("val", "frankfurt", 0, 275, 30, 2),
    ("val", "frankfurt", 0, 1000, 30, 3),
    ("test", "berlin", 0, 0, 30, 4),
]


class CityscapesSequenceTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = CityscapesSequence
    SPLITS = {"train": 1, "validation": 2, "test": 1}

    @classmethod
    def setUpClass(cls):
        cls._manual = tempfile.mkdtemp()
        write_cityscapes(epath.Path(cls._manual), RUNS)
        cls.EXAMPLE_DIR = cls._manual  # the manual folder, as users fill it
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls._manual)


def prepare(tmp_path):
    builder = tfds.builder("cityscapes_sequence/64x64", data_dir=tmp_path / "data")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path)))
    return builder


def test_snippets_hold_their_frames_in_order(tmp_path):
    write_cityscapes(tmp_path, RUNS)
    validation = tfds.as_numpy(prepare(tmp_path).as_dataset(split="validation"))
    by_name = {e["snippet"].decode(): e["video"] for e in validation}
    assert sorted(by_name) == ["frankfurt_000000_000275", "frankfurt_000000_001000"]
    for first, tag in ((275, 2), (1000, 3)):
        video = by_name[f"frankfurt_000000_{first:06d}"]
        expected = np.stack([frame_colour(first + t, tag) for t in range(30)])
        np.testing.assert_allclose(
            video / 255, np.broadcast_to(expected[:, None, None], video.shape), atol=1e-6)


def test_snippets_split_runs_at_gaps_and_drop_the_rest(caplog):
    def names(city, sequence, first, count):
        return [f"leftImg8bit_sequence/train/{city}/{city}_{sequence:06d}_{i:06d}_leftImg8bit.png"
                for i in range(first, first + count)]

    caplog.set_level(logging.WARNING, logger=cityscapes_sequence.__name__)
    members = (["README", "license.txt", "leftImg8bit_sequence/train/"]
               + names("ulm", 3, 0, 60)  # two adjacent snippets
               + names("ulm", 3, 100, 35)  # a snippet and 5 frames left over
               + names("bonn", 3, 0, 30))
    snippets = cityscapes_sequence._snippets(members[::-1])
    assert snippets["val"] == [] and snippets["test"] == []
    firsts = [s[0].rsplit("/", 1)[1].removesuffix("_leftImg8bit.png") for s in snippets["train"]]
    assert firsts == ["bonn_000003_000000", "ulm_000003_000000", "ulm_000003_000030",
                      "ulm_000003_000100"]
    assert [len(s) for s in snippets["train"]] == [30] * 4
    assert snippets["train"][3][-1].endswith("ulm_000003_000129_leftImg8bit.png")
    assert "dropped 5 frames" in caplog.text


def test_a_snippet_with_a_corrupt_frame_is_skipped_and_counted(tmp_path, caplog):
    write_cityscapes(tmp_path, RUNS, corrupt={("frankfurt", 0, 1010)})
    caplog.set_level(logging.WARNING, logger=cityscapes_sequence.__name__)
    validation = list(tfds.as_numpy(prepare(tmp_path).as_dataset(split="validation")))
    assert [e["snippet"] for e in validation] == [b"frankfurt_000000_000275"]
    assert "skipped 1 of 2 snippets with unreadable frames" in caplog.text
