"""The simulated stand-ins: episodes from each scene, determinism, seeds,
actions, motion, and a tiny built dataset read through `data.load`.

The simulators run in worker processes (never in this one, which has
imported TensorFlow); the slow tests start them.
"""


import numpy as np
import pytest
import tensorflow_datasets as tfds

from ghvae_keras import data
from ghvae_keras.sim import episodes, workers

SCENES = [
    ("push_scene", {}, 4),
    ("multirobot_scene", {}, 5),
    ("drive_scene", {"setting": "suburban"}, None),
    ("drive_scene", {"setting": "urban"}, None),
]
# Mean absolute change between consecutive frames (0-255) that every episode
# must exceed: a still camera on a still scene gives 0.
MIN_MOTION = 0.5


def test_train_and_test_seeds_are_disjoint_by_construction():
    train = episodes.episode_seeds("train", 10**6)
    test = episodes.episode_seeds("test", 10**6)
    assert train[0] == 0 and test[0] == episodes.MAX_EPISODES
    assert train[-1] < test[0]  # ranges: disjoint for every size allowed
    with pytest.raises(ValueError, match="episodes per split"):
        episodes.episode_seeds("train", episodes.MAX_EPISODES + 1)
    with pytest.raises(ValueError, match="unknown split"):
        episodes.episode_seeds("validation", 1)


def test_a_missing_simulator_says_how_to_install_it():
    with pytest.raises(ImportError, match=r'pip install "ghvae-keras\[sim\]"'):
        episodes.import_simulator("ghvae_no_such_simulator")


def test_a_failing_episode_raises_with_the_workers_traceback():
    with pytest.raises(workers.WorkerError, match="unknown setting 'rural'"):
        list(workers.generate("drive_scene", [0], options={"setting": "rural"}))


@pytest.mark.slow
@pytest.mark.parametrize("scene, options, action_dim", SCENES,
                         ids=["push", "multirobot", "suburban", "urban"])
def test_episodes_are_deterministic_move_and_keep_their_actions_in_bounds(scene, options, action_dim):
    # Seed 0 twice, made by different worker processes; a test-split seed too.
    seeds = [0, 1, episodes.MAX_EPISODES, 0]
    made = list(workers.generate(scene, seeds, options=options, workers=2))
    assert [int(e["seed"]) for e in made] == seeds
    for key in made[0]:
        assert np.asarray(made[0][key]).tobytes() == np.asarray(made[3][key]).tobytes(), key
    assert not np.array_equal(made[0]["video"], made[1]["video"])
    for episode in made:
        video = episode["video"]
        assert video.shape == (30, 64, 64, 3) and video.dtype == np.uint8
        motion = np.abs(np.diff(video.astype(np.float32), axis=0)).mean(axis=(1, 2, 3))
        assert motion.mean() > MIN_MOTION, motion
        assert video.std() > 10  # a scene, not a blank image
        if action_dim is None:
            assert "actions" not in episode
        else:
            actions = episode["actions"]
            assert actions.shape == (30, action_dim) and actions.dtype == np.float32
            assert np.all(np.abs(actions) <= 1.0)
    if scene == "multirobot_scene":  # the pushes move objects
        assert all(e["object_displacement"] > 0.02 for e in made)
    if scene == "push_scene":
        for episode in made:
            assert episode["policy"] in ("expert", "noisy_expert", "random_push")
            assert episode["object_pos"].shape == (30, 3) and episode["goal_pos"].shape == (3,)
            assert episode["start_qpos"].ndim == 1 and episode["start_qvel"].ndim == 1


@pytest.mark.slow
def test_a_tiny_sim_push_build_loads_end_to_end(tmp_path):
    builder = tfds.builder("ghvae_sim_push", data_dir=tmp_path, episodes={"train": 3, "test": 2},
                           workers=2)
    builder.download_and_prepare()
    assert {split: info.num_examples for split, info in builder.info.splits.items()} == {
        "train": 3, "test": 2}
    assert builder.info.metadata["episodes"] == {"train": 3, "test": 2}
    seeds = {split: sorted(int(e["seed"]) for e in tfds.as_numpy(builder.as_dataset(split=split)))
             for split in ("train", "test")}
    assert seeds == {"train": [0, 1, 2], "test": [episodes.MAX_EPISODES, episodes.MAX_EPISODES + 1]}
    assert builder.generation_stats["train"].episodes == 3

    train = data.load("sim_push", "train", sequence_length=12, batch_size=2, seed=0, data_dir=tmp_path)
    batch = next(iter(train))
    assert batch["frames"].shape == (2, 12, 64, 64, 3) and batch["actions"].shape == (2, 11, 4)
    test = list(data.load("sim_push", "test", sequence_length=30, batch_size=4, shuffle=False,
                          data_dir=tmp_path))
    assert [b["frames"].shape[0] for b in test] == [2]
    # The evaluation windows are the stored episodes, in [0, 1].
    stored = sorted(tfds.as_numpy(builder.as_dataset(split="test")), key=lambda e: e["seed"])
    frames = test[0]["frames"].numpy()
    expected = {e["video"].tobytes() for e in stored}
    got = {np.round(f * 255).astype(np.uint8).tobytes() for f in frames}
    assert got == expected


@pytest.mark.slow
def test_a_multirobot_episode_takes_given_actions_in_the_scene_of_its_seed():
    still, down = [0, 0, 0, 0, 1], [0, 0, -0.5, 0, 1]
    left = [still, still, [-1, *down[1:]], [-1, *down[1:]], still]
    right = [still, still, [1, *down[1:]], [1, *down[1:]], still]
    with workers.SimulatorProcess("multirobot_scene", "MultiRobotScene") as scene:
        to_left = scene.call("episode", seed=7, actions=left)
        to_right = scene.call("episode", seed=7, actions=right)
        with pytest.raises(workers.WorkerError, match="actions must be T x 5"):
            scene.call("episode", seed=7, actions=[[0, 0, 0]])
    assert to_left["video"].shape == (5, 64, 64, 3)
    np.testing.assert_array_equal(to_left["actions"], np.float32(left))
    # Action t follows frame t: the same scene up to frame 2, the hand apart from frame 3.
    np.testing.assert_array_equal(to_left["video"][:3], to_right["video"][:3])
    assert np.abs(to_left["video"][3:].astype(int) - to_right["video"][3:]).mean() > MIN_MOTION


@pytest.mark.parametrize("blown_up", [1, 2])
def test_random_pushes_stay_finite_when_an_object_blows_up(blown_up):
    from ghvae_keras.sim import multirobot_scene

    objects = np.array([[0.5, 0.1, 0.64], [0.6, -0.1, 0.64]])
    objects[:blown_up] = np.nan  # PyBullet's position of an object whose simulation diverged
    pusher = multirobot_scene._Pusher(np.random.default_rng(0), hand_low=0.65)
    hand = np.array([0.5, 0.0, 0.8])
    for _ in range(40):
        action = pusher.action(hand, objects)
        assert np.isfinite(action).all()
        hand = hand + action[:3] * multirobot_scene.MAX_STEP
