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


def test_planning_block_averages_each_methods_episodes():
    episodes = {
        "4_modules": [{"success": True, "seconds": 1.0, "distance": 0.1, "start_distance": 0.3},
                      {"success": False, "seconds": 3.0, "distance": 0.2, "start_distance": 0.1}],
        "random": [{"success": False, "seconds": 0.5, "distance": 0.4, "start_distance": 0.3},
                   {"success": False, "seconds": 0.5, "distance": 0.3, "start_distance": 0.1}],
    }
    block = reports.planning_block(episodes, {}, {"cost": "pixels"}, "python tools/bench_planning.py")
    assert block["episodes"] == 2
    assert block["success"] == {"4_modules": 0.5, "random": 0.0}
    assert block["seconds_per_episode"] == {"4_modules": 2.0, "random": 0.5}
    assert block["final_distance_m"] == pytest.approx({"4_modules": 0.15, "random": 0.35})
    assert block["start_distance_m"] == pytest.approx(0.2)


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
