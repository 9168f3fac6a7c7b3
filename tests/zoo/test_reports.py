"""The metadata blocks that measurements write and cards read."""

import pytest

from ghvae_keras.zoo import reports


def test_planning_labels_name_the_modules_and_mark_a_truncation():
    assert reports.planning_label("4_modules", num_modules=4) == "GHVAE, 4 modules"
    assert reports.planning_label("1_module", num_modules=4) == "GHVAE, 1 module (truncated)"
    assert reports.planning_label("3_modules", num_modules=3) == "GHVAE, 3 modules"
    assert reports.planning_label("random") == "random actions"
    assert reports.planning_label("my_policy") == "my_policy"
    assert [reports.modules_method(k) for k in (1, 4)] == ["1_module", "4_modules"]


def _episode(seed, success, seconds, distance, start, per_plan=None):
    return {"seed": seed, "success": success, "seconds": seconds, "distance": distance,
            "start_distance": start, **({} if per_plan is None else {"seconds_per_plan": per_plan})}


_SETTINGS = {"preset": "bair-4mod", "cost": "pixels", "goal_hand": "shown", "candidates": 64,
             "iterations": 3, "horizon": 10, "replan_every": 3,
             "max_steps": {"reach": 15, "short_push": 30, "long_push": 80},
             "action_bounds": {"reach": [[-1, -1, 0, 1], [1, 1, 0, 1]],
                               "short_push": [[-1, -1, 0, 1], [1, 1, 0, 1]],
                               "long_push": [[-1, -1, -1, 1], [1, 1, 1, 1]]},
             "calibration": {"scripted": 0.9, "random": 0.1}}


def test_planning_block_averages_each_methods_episodes_per_tier():
    results = {
        "reach": {
            "4_modules": [_episode(5, True, 1.0, 0.1, 0.3, 2.0), _episode(6, False, 3.0, 0.2, 0.1, 1.0)],
            "scripted": [_episode(5, True, 0.5, 0.0, 0.3), _episode(6, True, 0.5, 0.0, 0.1)],
            "random": [_episode(5, False, 0.5, 0.4, 0.3), _episode(6, False, 0.5, 0.3, 0.1)],
        },
        "short_push": {
            "scripted": [_episode(5, True, 0.5, 0.0, 0.1), _episode(6, False, 0.5, 0.1, 0.1)],
            "random": [_episode(5, False, 0.5, 0.4, 0.1), _episode(6, False, 0.5, 0.3, 0.1)],
        },
        "long_push": {"4_modules": [_episode(5, False, 9.0, 0.2, 0.2, 3.0)]},
    }
    block = reports.planning_block(results, {}, _SETTINGS, "python tools/bench_planning.py")
    reach, short, long = (block["tiers"][t] for t in ("reach", "short_push", "long_push"))
    assert reach["max_steps"] == 15 and reach["action_bounds"] == [[-1, -1, 0, 1], [1, 1, 0, 1]]
    planner = reach["rows"]["4_modules"]
    assert planner["episodes"] == 2 and planner["seeds"] == [5, 6]
    assert planner["success"] == 0.5 and planner["seconds_per_episode"] == 2.0
    assert planner["final_distance_m"] == pytest.approx(0.15)
    assert planner["start_distance_m"] == pytest.approx(0.2)
    # Only planners replan and carry the planner's settings.
    assert planner["seconds_per_plan"] == 1.5 and planner["planner"]["cost"] == "pixels"
    assert "seconds_per_plan" not in reach["rows"]["scripted"] and "planner" not in reach["rows"]["random"]
    assert reach["rows"]["random"]["command"] == "python tools/bench_planning.py"
    # Only a tier with both references is judged.
    assert reach["calibrated"] is True
    assert short["calibrated"] is False  # the scripted policy succeeds in 50%
    assert "calibrated" not in long and long["rows"]["4_modules"]["episodes"] == 1


def test_a_later_run_adds_its_rows_and_a_changed_budget_replaces_the_tier():
    def run(tier, method, success, steps=15, command="first"):
        settings = {**_SETTINGS, "max_steps": {**_SETTINGS["max_steps"], tier: steps}}
        episodes = [_episode(5, success, 1.0, 0.1, 0.2, None if method in ("scripted", "random") else 1.0)]
        return reports.planning_block({tier: {method: episodes}}, {}, settings, command)

    stored = reports.merge_planning(None, run("reach", "scripted", True))
    assert reports.merge_planning({"tiers": {"reach": {"success": {}}}}, stored) == stored  # old layout
    stored = reports.merge_planning(stored, run("reach", "random", False, command="second"))
    stored = reports.merge_planning(stored, run("short_push", "4_modules", True))
    reach = stored["tiers"]["reach"]
    assert set(reach["rows"]) == {"scripted", "random"} and reach["calibrated"] is True
    assert reach["rows"]["random"]["command"] == "second" and "short_push" in stored["tiers"]
    # The same method again replaces its row; a new budget starts the tier afresh.
    stored = reports.merge_planning(stored, run("reach", "random", True))
    assert stored["tiers"]["reach"]["calibrated"] is False
    stored = reports.merge_planning(stored, run("reach", "random", False, steps=20))
    assert set(stored["tiers"]["reach"]["rows"]) == {"random"} and "calibrated" not in stored["tiers"]["reach"]
    assert set(stored["tiers"]["short_push"]["rows"]) == {"4_modules"}


def test_training_block_and_its_summary():
    seconds = {"stage_2": {"cpu": 120.0, "wall": 90.0, "steps": 10},
               "stage_1": {"cpu": 60.0, "wall": 30.0, "steps": 10},
               "end_to_end": {"cpu": 180.0, "wall": 120.0, "steps": 7}}
    block = reports.training_block(dataset="sim_push", command="python tools/train_zoo.py x",
                                   steps_per_stage=10, batch_size=8, status="in progress",
                                   stages_trained=2, sequence_length=12, seconds=seconds,
                                   device={"device": "CPU, 2 cores", "backend": "tensorflow",
                                           "intra_op_threads": 2})
    assert reports.in_progress(block) and not reports.in_progress({"status": "complete"})
    assert reports.greedy_phases(seconds) == ["stage_1", "stage_2"]
    summary = reports.training_summary(block)
    assert "10 steps per module at batch 8 of 12-frame clips: 3 CPU minutes (2 minutes" in summary
    assert "2 TensorFlow threads" in summary and "baseline has run 7 steps so far (3 CPU minutes)" in summary
    running = {**block, "end_to_end_run": {"end_to_end_steps": 20}}
    assert "baseline has run 7 of its 20 steps so far" in reports.training_summary(running)
    complete = {**block, "status": "complete"}
    assert "ran 7 steps in the same compute (3 CPU minutes)" in reports.training_summary(complete)
    assert "own previous prediction" not in summary
    fed = {**block, "plan": {"set": {"feed_predictions": True}}}
    assert "each frame predicted from the model's own previous prediction" in reports.training_summary(fed)
    with pytest.raises(ValueError, match="status must be"):
        reports.training_block(dataset="d", command="c", steps_per_stage=1, batch_size=1, status="done")
