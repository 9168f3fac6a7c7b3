import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from ghvae_keras import data
from ghvae_keras.data import pipeline
from tiny_data import episodes
from video_archives import frame_colour, write_kitti_drive


def mock_robonet(lengths, reads=None):
    """`mock_data` for robonet: episodes of `lengths` frames and one action
    fewer; the arguments of each read are appended to `reads`."""
    def as_dataset(self, **kwargs):
        if reads is not None:
            reads.append(kwargs)
        return episodes(lengths)

    return tfds.testing.mock_data(as_dataset_fn=as_dataset)


def mock_bair(num):
    """`mock_data` for bair: 30 frames and 30 actions per episode, as BAIR stores them."""
    return tfds.testing.mock_data(as_dataset_fn=lambda self, **kwargs: episodes(
        [30] * num, "image_main", "action", actions_per_frame=True))


def windows(dataset):
    """(episode, first frame) of every window, checking on the way that each
    window's frames and actions are consecutive and aligned."""
    found = []
    for batch in dataset:
        frames = np.round(batch["frames"].numpy() * 255).astype(int)
        for b, video in enumerate(frames):
            start, episode = video[0, 0, 0, 0], video[0, 0, 0, 1]
            steps = np.arange(len(video))
            np.testing.assert_array_equal(video[:, 0, 0, 0], start + steps)
            assert np.all(video[..., 1] == episode)
            if "actions" in batch:
                actions = batch["actions"].numpy()[b]
                np.testing.assert_array_equal(actions[:, 0], episode)
                np.testing.assert_array_equal(actions[:, 1], start + steps[:-1])
            found.append((int(episode), int(start)))
    return found


def test_bair_from_mock_data_has_the_batch_format():
    with tfds.testing.mock_data(num_examples=5):
        dataset = data.load("bair", "train", 12, 2, seed=0)
        batches = list(dataset)
    assert len(batches) == 2  # 5 episodes, full batches only
    for batch in batches:
        assert set(batch) == {"frames", "actions"}
        assert batch["frames"].dtype == tf.float32 and batch["frames"].shape == (2, 12, 64, 64, 3)
        assert batch["actions"].dtype == tf.float32 and batch["actions"].shape == (2, 11, 4)
        frames = batch["frames"].numpy()
        assert 0.0 <= frames.min() and frames.max() <= 1.0 and frames.std() > 0.1
    assert dataset.element_spec["frames"].shape == (2, 12, 64, 64, 3)  # static for training


def test_robonet_from_mock_data_has_the_batch_format():
    with mock_robonet([25, 31, 40, 28]):
        (batch,) = list(data.load("robonet", "train", 12, 4, seed=0))
    assert batch["frames"].dtype == tf.float32 and batch["frames"].shape == (4, 12, 64, 64, 3)
    assert batch["actions"].dtype == tf.float32 and batch["actions"].shape == (4, 11, 5)


@pytest.mark.parametrize("name", ["bair", "robonet"])
def test_windows_are_consecutive_frames_with_their_actions(name):
    # BAIR stores one action per frame, RoboNet one fewer: both windows take
    # the T-1 actions from the window's first frame on.
    with mock_bair(8) if name == "bair" else mock_robonet([30] * 8):
        found = windows(data.load(name, "train", 6, 4, seed=3))
    assert sorted(e for e, _ in found) == list(range(8))
    assert all(0 <= start <= 30 - 6 for _, start in found)
    assert len({start for _, start in found}) > 1  # random starts, not always the first


def test_a_seed_fixes_order_and_windows_and_each_pass_draws_anew():
    reads = []
    with mock_robonet([40] * 8, reads):
        first = data.load("robonet", "train", 5, 2, seed=1)
        again = windows(data.load("robonet", "train", 5, 2, seed=1))
        other = windows(data.load("robonet", "train", 5, 2, seed=2))
        first_pass, second_pass = windows(first), windows(first)
    assert first_pass == again
    assert other != first_pass
    assert sorted(second_pass) != sorted(first_pass)  # new windows every epoch, not just a new order
    assert sorted(e for e, _ in second_pass) == list(range(8))
    # Files are shuffled in training, with a seed of their own that follows `seed`.
    file_seeds = [read["read_config"].shuffle_seed for read in reads]
    assert all(read["shuffle_files"] for read in reads)
    assert file_seeds[0] == file_seeds[1] != file_seeds[2] and file_seeds[0] not in (None, 1)


def test_evaluation_takes_each_episodes_first_window_in_order_and_drops_nothing():
    reads = []
    with mock_robonet([20, 31, 25, 40, 12], reads):
        dataset = data.load("robonet", "test", 10, 2, shuffle=False)
        sizes = [len(batch["frames"]) for batch in dataset]
        found = windows(dataset)
    assert reads[0]["split"] == "test" and reads[0]["shuffle_files"] is False
    assert sizes == [2, 2, 1]
    assert found == [(e, 0) for e in range(5)]


def test_frames_are_resized_to_image_size():
    with mock_robonet([20, 20]):
        (batch,) = list(data.load("robonet", "train", 4, 2, seed=0, image_size=32))
    frames = batch["frames"].numpy()
    assert frames.shape == (2, 4, 32, 32, 3)
    # The frames are flat colours, which resizing keeps.
    np.testing.assert_allclose(frames, np.broadcast_to(frames[:, :, :1, :1], frames.shape), atol=1e-6)


def test_wide_frames_are_cropped_to_their_centre_square():
    wide = np.full((1, 2, 4, 8, 3), 255, np.uint8)
    wide[:, :, :, 2:6] = 100
    frames = pipeline._to_float({"frames": tf.constant(wide)}, 2, 16)["frames"].numpy()
    assert frames.shape == (1, 2, 16, 16, 3)
    np.testing.assert_allclose(frames, 100 / 255, atol=1e-6)


def test_a_sequence_longer_than_the_episodes_names_both_lengths():
    with tfds.testing.mock_data(num_examples=2):
        with pytest.raises(ValueError, match="sequence_length 31 .* bair \\(30 frames\\)"):
            data.load("bair", "train", 31, 2)


def test_an_episode_shorter_than_the_sequence_stops_with_both_lengths():
    with mock_robonet([20, 8, 30]):
        dataset = data.load("robonet", "train", 10, 1, shuffle=False)
        with pytest.raises(tf.errors.InvalidArgumentError, match="sequence_length 10 .*\\[8\\] \\[frames\\]"):
            list(dataset)


def test_a_record_that_fails_to_decode_costs_one_episode():
    def as_dataset(self, **kwargs):
        good = tf.io.encode_png(tf.zeros((64, 64, 3), tf.uint8))
        encoded = tf.data.Dataset.from_tensor_slices([good, b"not a png", good])
        return encoded.map(lambda png: {
            "video": tf.stack([tf.io.decode_png(png, channels=3)] * 6),
            "actions": tf.zeros((5, 5)),
        })

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        batches = list(data.load("robonet", "train", 4, 1, shuffle=False))
    assert len(batches) == 2


def test_unknown_names_list_the_known_ones():
    assert data.list_datasets() == ["bair", "cityscapes", "kitti", "robonet", "sim_drive/suburban",
                                    "sim_drive/urban", "sim_multirobot", "sim_push"]
    with pytest.raises(ValueError, match="'bair', 'cityscapes', 'kitti', 'robonet', 'sim_drive.*tfds:NAME"):
        data.load("bari", "train", 12, 2)


def test_tfds_names_are_read_from_their_features():
    video_only = data.get_spec("tfds:ucf101")
    assert (video_only.frames_key, video_only.actions_key) == ("video", None)
    robonet = data.get_spec("tfds:robonet/robonet_128")
    assert (robonet.frames_key, robonet.actions_key, robonet.action_dim) == ("video", "actions", 5)
    assert robonet.tfds_name_for(64) == "robonet/robonet_128"
    with pytest.raises(ValueError, match="no 'video' or 'frames' feature"):
        data.get_spec("tfds:mnist")


def test_the_stored_size_nearest_above_is_read():
    kitti = data.DATASETS["kitti"]
    assert kitti.tfds_name_for(32) == "kitti_raw_video/64x64"
    assert kitti.tfds_name_for(64) == "kitti_raw_video/64x64"
    assert kitti.tfds_name_for(96) == "kitti_raw_video/128x128"
    assert kitti.tfds_name_for(256) == "kitti_raw_video/128x128"


def test_registered_specs_are_loadable(monkeypatch):
    spec = data.DatasetSpec(name="pushing", tfds_names={64: "robonet/robonet_64"},
                            frames_key="video", actions_key="actions", action_dim=5)
    monkeypatch.setattr(data.dataset_spec, "DATASETS", dict(data.DATASETS))  # undone after the test
    assert "pushing" not in data.list_datasets()
    assert data.register_dataset(spec) is spec and "pushing" in data.list_datasets()
    with mock_robonet([12, 12]):
        (batch,) = list(data.load("pushing", "train", 12, 2, seed=0))
    assert batch["actions"].shape == (2, 11, 5)


def test_a_missing_manual_download_raises_the_instructions(tmp_path):
    with pytest.raises(data.ManualDownloadRequired) as error:
        data.load("kitti", "train", 10, 2, data_dir=tmp_path)
    assert isinstance(error.value, FileNotFoundError)
    message = str(error.value)
    assert str(tmp_path / "downloads" / "manual") in message
    assert textwrap.dedent(data.KittiRawVideo.MANUAL_DOWNLOAD_INSTRUCTIONS).strip() in message


def test_a_hosted_dataset_that_cannot_be_downloaded_is_a_clear_error(tmp_path, monkeypatch):
    def offline(self, *args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(data.DatasetUnavailable, match="bair_robot_pushing_small .* ConnectionError"):
        data.load("bair", "train", 12, 2, data_dir=tmp_path)


def test_kitti_windows_come_from_the_manual_zips_without_actions(tmp_path):
    manual = tmp_path / "downloads" / "manual"
    manual.mkdir(parents=True)
    write_kitti_drive(manual, 1, 60, tag=7)
    (batch,) = list(data.load("kitti", "train", 10, 2, shuffle=False, image_size=32, data_dir=tmp_path))
    assert set(batch) == {"frames"}
    assert batch["frames"].shape == (2, 10, 32, 32, 3)
    firsts = sorted(float(v) for v in batch["frames"][:, 0, 0, 0, 0])
    np.testing.assert_allclose(firsts, [frame_colour(0, 7)[0], frame_colour(30, 7)[0]], atol=1e-6)
    assert (tmp_path / "kitti_raw_video" / "64x64").is_dir()  # the stored size nearest above 32
    # No test drive among the zips: a split it lacks says how to rebuild.
    with pytest.raises(data.DataError, match=r"has no split 'test'.*delete .*kitti_raw_video/64x64"):
        data.load("kitti", "test", 10, 2, data_dir=tmp_path)


def test_training_skips_windows_with_nan_actions_and_evaluation_keeps_them():
    def as_dataset(self, **kwargs):
        # Action values are (e, t, 0, ...): dividing by e - 1 leaves episode 1
        # with infinite and NaN actions only.
        return episodes([6, 6, 6]).map(
            lambda episode: {**episode, "actions": episode["actions"] / (episode["actions"][:, :1] - 1)})

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        train = data.load("robonet", "train", 6, 1, seed=0, image_size=64)
        evaluation = data.load("robonet", "test", 6, 1, shuffle=False, image_size=64)
        trained_on = sorted(int(b["frames"][0, 0, 0, 0, 1] * 255 + 0.5) for b in train.take(2))
        evaluated = [np.isfinite(b["actions"].numpy()).all() for b in evaluation]
    assert trained_on == [0, 2]
    assert evaluated == [True, False, True]
