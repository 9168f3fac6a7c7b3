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


def test_planning_block_averages_each_methods_episodes_per_tier():
    def episode(success, seconds, distance, start, per_plan=None):
        return {"success": success, "seconds": seconds, "distance": distance, "start_distance": start,
                **({} if per_plan is None else {"seconds_per_plan": per_plan})}

    results = {
        "reach": {
            "4_modules": [episode(True, 1.0, 0.1, 0.3, 2.0), episode(False, 3.0, 0.2, 0.1, 1.0)],
            "scripted": [episode(True, 0.5, 0.0, 0.3), episode(True, 0.5, 0.0, 0.1)],
            "random": [episode(False, 0.5, 0.4, 0.3), episode(False, 0.5, 0.3, 0.1)],
        },
        "short_push": {
            "scripted": [episode(True, 0.5, 0.0, 0.1), episode(False, 0.5, 0.1, 0.1)],
            "random": [episode(False, 0.5, 0.4, 0.1), episode(False, 0.5, 0.3, 0.1)],
        },
        "long_push": {"4_modules": [episode(False, 9.0, 0.2, 0.2, 3.0)]},
    }
    settings = {"cost": "pixels", "max_steps": {"reach": 15, "short_push": 30, "long_push": 80},
                "calibration": {"scripted": 0.9, "random": 0.1}}
    block = reports.planning_block(results, {}, settings, "python tools/bench_planning.py")
    reach, short, long = (block["tiers"][t] for t in ("reach", "short_push", "long_push"))
    assert reach["episodes"] == 2 and reach["max_steps"] == 15
    assert reach["success"] == {"4_modules": 0.5, "scripted": 1.0, "random": 0.0}
    assert reach["seconds_per_episode"]["4_modules"] == 2.0
    assert reach["final_distance_m"] == pytest.approx({"4_modules": 0.15, "scripted": 0.0, "random": 0.35})
    assert reach["start_distance_m"] == pytest.approx(0.2)
    # Only planners replan; only a tier with both references is judged.
    assert reach["seconds_per_plan"] == {"4_modules": 1.5}
    assert reach["calibrated"] is True
    assert short["calibrated"] is False  # the scripted policy succeeds in 50%
    assert "calibrated" not in long and long["episodes"] == 1


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
    assert "2 TensorFlow threads" in summary and "ran 7 steps in the same compute (3 CPU minutes)" in summary
    with pytest.raises(ValueError, match="status must be"):
        reports.training_block(dataset="d", command="c", steps_per_stage=1, batch_size=1, status="done")
