"""tools/bench_planning.py on a copy of bair-4mod."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ghvae_keras import zoo
from presets import ROOT


def _bench(preset, *arguments):
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_planning.py"), "--preset", str(preset),
         "--episodes", "2", "--steps", "2", "--candidates", "8", "--iterations", "1",
         "--replan-every", "2", *arguments],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_bench_planning_stores_its_rows_in_the_preset_run_by_run(tmp_path):
    preset = tmp_path / "bair-4mod"
    shutil.copytree(ROOT / "zoo" / "bair-4mod", preset)
    # A stored block with a tier this run does not measure (whatever the zoo's copy holds now).
    long_push = {"max_steps": 80, "action_bounds": [], "rows": {"random": {
        "episodes": 5, "seeds": [0, 4], "success": 0.0, "final_distance_m": 0.22, "start_distance_m": 0.22,
        "seconds_per_episode": 9.0, "command": "python tools/bench_planning.py --tiers long_push"}}}
    metadata = zoo.read_metadata(preset)
    metadata["planning"] = {"tiers": {"long_push": long_push}, "action_response": {},
                            "calibration": {"scripted": 0.9, "random": 0.1}, "preset": "bair-4mod"}
    zoo.write_card(preset, metadata)
    report = _bench(preset, "--probe-episodes", "1", "--methods", "4_modules,random,scripted",
                    "--tiers", "reach,short_push", "--gif", str(tmp_path / "run.gif"))
    assert set(report["tiers"]) == {"reach", "short_push"}
    for tier in report["tiers"].values():
        assert tier["max_steps"] == 2 and set(tier["rows"]) == {"4_modules", "random", "scripted"}
        # Rates are fractions of the 2 episodes; only the planner replans.
        assert all(row["episodes"] == 2 and row["success"] * 2 in (0, 1, 2) for row in tier["rows"].values())
        assert [m for m, row in tier["rows"].items() if "seconds_per_plan" in row] == ["4_modules"]
        assert "calibrated" in tier
    assert set(report["action_response"]) == {"4_modules"}
    assert report["action_response"]["4_modules"]["spread"] > 0
    stored = json.loads((preset / "metadata.json").read_text())["planning"]
    # Its tiers replace the stored ones of another step budget; the long push, not run, is kept.
    assert {tier: stored["tiers"][tier] for tier in report["tiers"]} == report["tiers"]
    assert stored["tiers"]["long_push"] == long_push
    # A later run adds its rows to the stored tiers.
    later = _bench(preset, "--probe-episodes", "0", "--methods", "1_module", "--tiers", "reach")
    stored = json.loads((preset / "metadata.json").read_text())["planning"]
    assert stored["tiers"]["reach"]["rows"] == {**report["tiers"]["reach"]["rows"],
                                                **later["tiers"]["reach"]["rows"]}
    assert stored["tiers"]["short_push"] == report["tiers"]["short_push"]
    card = (preset / "README.md").read_text()
    assert "## Planning" in card and "GHVAE, 1 module (truncated)" in card
    zoo.verify_preset(preset)
    # A planner's episode: goal | what the robot saw | what the model expected, per step.
    gifs = sorted(path.name for path in tmp_path.glob("run_*.gif"))
    assert gifs == ["run_reach_4_modules.gif", "run_short_push_4_modules.gif"]


@pytest.mark.slow
def test_a_preset_of_other_actions_than_the_push_tasks_runs_only_the_action_response_probe(tmp_path):
    preset = tmp_path / "robonet-4mod"
    shutil.copytree(ROOT / "zoo" / "robonet-4mod", preset)
    refused = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_planning.py"), "--preset", str(preset), "--tiers", "reach"],
        capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and "takes 5-d actions" in refused.stderr and "--tiers none" in refused.stderr
    report = _bench(preset, "--tiers", "none", "--methods", "4_modules", "--probe-episodes", "1",
                    "--horizon", "3")
    assert report["tiers"] == {}
    response = report["action_response"]["4_modules"]
    assert response["spread"] > 0 and response["coarse_spread"] > 0
    assert response["command"].endswith("--horizon 3")
    stored = json.loads((preset / "metadata.json").read_text())["planning"]
    # Its row replaces the stored one of the same method; the others are kept.
    assert stored["tiers"] == {} and stored["action_response"]["4_modules"] == response
    card = (preset / "README.md").read_text()
    assert "takes other actions than this model's" in card and "spread" in card


def test_cells_average_blocks_of_pixels():
    from presets import load_tool

    videos = np.arange(2 * 16 * 16 * 3, dtype=np.float32).reshape(1, 2, 16, 16, 3)
    cells = load_tool("bench_planning")._cells(videos)
    assert cells.shape == (1, 2, 2, 2, 3)
    np.testing.assert_allclose(cells[0, 1, 1, 0], videos[0, 1, 8:, :8].mean(axis=(0, 1)))
