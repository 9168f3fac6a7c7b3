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
def test_the_tiers_start_where_their_names_say_and_goals_show_what_to_reach():
    with workers.SimulatorProcess("push_scene", "PushTask") as task:
        long_push = task.call("reset", seed=6)
        short = task.call("reset", seed=6, tier="short_push", goal_hand="hidden")
        short_shown = task.call("reset", seed=6, tier="short_push", goal_hand="shown")
        reach = task.call("reset", seed=6, tier="reach")
        with pytest.raises(workers.WorkerError, match="tier must be one of"):
            task.call("reset", seed=6, tier="anywhere")
        with pytest.raises(workers.WorkerError, match="cannot be hidden"):
            task.call("reset", seed=6, tier="reach", goal_hand="hidden")
        # Reach: the goal is the hand's own position, so moving there succeeds.
        state = reach
        for _ in range(15):
            move = (reach["goal_hand_pos"] - state["hand_pos"]) * 50
            state = task.call("step", action=np.clip([*move, 1.0], -1, 1))
    # Short push: the puck 7-12 cm from its goal, the hand low just behind it.
    puck, goal, hand = short["object_pos"][:2], short["goal_pos"][:2], short["hand_pos"]
    assert 0.07 <= np.linalg.norm(goal - puck) <= 0.12 + 1e-3
    direction = (goal - puck) / np.linalg.norm(goal - puck)
    offset = hand[:2] - puck
    assert -0.08 < offset @ direction < -0.04, "behind the puck, on the far side from the goal"
    assert np.linalg.norm(offset - (offset @ direction) * direction) < 0.01
    assert hand[2] < 0.08 < long_push["hand_pos"][2]
    assert np.linalg.norm(long_push["goal_pos"][:2] - long_push["object_pos"][:2]) >= 0.15
    # A hidden hand leaves the robot out of the goal image, nothing else.
    assert np.abs(short_shown["goal_image"].astype(int) - short["goal_image"]).mean() > 0.5
    np.testing.assert_array_equal(short_shown["frame"], short["frame"])
    # Reach: the goal 10 cm or more from the hand, shown in the goal image; reached.
    assert np.linalg.norm(reach["goal_hand_pos"] - reach["hand_pos"]) >= 0.1
    assert np.abs(reach["goal_image"].astype(int) - reach["frame"]).mean() > 0.5
    assert state["success"] and np.linalg.norm(state["hand_pos"] - reach["goal_hand_pos"]) <= 0.04
