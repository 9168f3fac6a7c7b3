"""The push task that planning drives, in a simulator process of its own."""

import numpy as np
import pytest

from ghvae_keras.sim import workers


def test_a_simulator_process_reports_a_failing_call_and_keeps_serving():
    with workers.SimulatorProcess("push_scene", "NoSuchTask") as task:
        with pytest.raises(workers.WorkerError, match="has no attribute 'NoSuchTask'"):
            task.call("reset", seed=0)
        with pytest.raises(workers.WorkerError, match="has no attribute 'NoSuchTask'"):
            task.call("reset", seed=0)
    with pytest.raises(workers.WorkerError, match="ended"):
        task.call("reset", seed=0)


@pytest.mark.slow
def test_the_push_task_replays_the_datasets_episode_and_renders_a_distinct_goal_and_futures():
    seed = 3
    (episode,) = workers.generate("push_scene", [seed])
    with workers.SimulatorProcess("push_scene", "PushTask") as task:
        start = task.call("reset", seed=seed)
        # Rendering the goal image leaves the simulator as it was: the
        # dataset's actions give the dataset's frames.
        np.testing.assert_array_equal(start["frame"], episode["video"][0])
        # A rollout shows the true futures of several sequences, then puts it back.
        other = np.tile([[0.0, 1.0, -1.0, -1.0]], (5, 1))
        futures = task.call("rollout", actions=np.stack([episode["actions"][:5], other]))["frames"]
        assert futures.shape == (2, 5, 64, 64, 3)
        np.testing.assert_array_equal(futures[0], episode["video"][1:6])
        assert np.abs(futures[1].astype(int) - futures[0]).mean() > 1.0
        for t in range(5):
            state = task.call("step", action=episode["actions"][t])
            np.testing.assert_array_equal(state["frame"], episode["video"][t + 1])
        np.testing.assert_allclose(state["goal_pos"], episode["goal_pos"])
        # Meta-World's own test, on the puck the simulator reports.
        distance = np.linalg.norm(state["object_pos"] - state["goal_pos"])
        assert state["obj_to_target"] == pytest.approx(distance, abs=1e-5)
        assert state["success"] == (distance <= 0.05)
        again = task.call("reset", seed=seed)
    np.testing.assert_array_equal(again["goal_image"], start["goal_image"])
    change = np.abs(start["goal_image"].astype(int) - start["frame"]).mean()
    assert change > 1.0, "the goal image shows the puck and hand elsewhere"


@pytest.mark.slow
def test_the_push_alone_starts_with_the_hand_low_behind_the_puck():
    with workers.SimulatorProcess("push_scene", "PushTask") as task:
        # Seed 6's puck is within the arm's reach at pushing height (far from
        # the robot, beyond y = 0.84 m, the hand stops short).
        reach = task.call("reset", seed=6)
        push = task.call("reset", seed=6, start="behind_puck")
        with pytest.raises(workers.WorkerError, match="start must be one of"):
            task.call("reset", seed=6, start="anywhere")
    np.testing.assert_array_equal(push["goal_image"], reach["goal_image"])
    puck, goal, hand = push["object_pos"][:2], push["goal_pos"][:2], push["hand_pos"]
    direction = (goal - puck) / np.linalg.norm(goal - puck)
    offset = hand[:2] - puck
    assert -0.08 < offset @ direction < -0.04, "behind the puck, on the far side from the goal"
    assert np.linalg.norm(offset - (offset @ direction) * direction) < 0.01
    assert hand[2] < 0.07 < reach["hand_pos"][2]
    np.testing.assert_allclose(push["object_pos"], reach["object_pos"], atol=0.01)
