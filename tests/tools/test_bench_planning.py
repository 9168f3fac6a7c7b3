"""tools/bench_planning.py on a copy of bair-4mod."""

import json
import shutil
import subprocess
import sys

import pytest

from ghvae_keras import zoo
from presets import ROOT


@pytest.mark.slow
def test_bench_planning_stores_its_report_in_the_preset(tmp_path):
    preset = tmp_path / "bair-4mod"
    shutil.copytree(ROOT / "zoo" / "bair-4mod", preset)
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_planning.py"), "--preset", str(preset),
         "--episodes", "2", "--steps", "2", "--candidates", "8", "--iterations", "1",
         "--probe-episodes", "1", "--replan-every", "2", "--methods", "4_modules,random,scripted",
         "--tiers", "reach,short_push", "--gif", str(tmp_path / "run.gif")],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(report["tiers"]) == {"reach", "short_push"}
    for tier in report["tiers"].values():
        assert tier["episodes"] == 2 and tier["max_steps"] == 2
        assert set(tier["success"]) == set(tier["seconds_per_episode"]) == {"4_modules", "random", "scripted"}
        # Rates are fractions of the 2 episodes; only the planner replans.
        assert all(rate * 2 in (0, 1, 2) for rate in tier["success"].values())
        assert set(tier["seconds_per_plan"]) == {"4_modules"}
        assert "calibrated" in tier
    assert set(report["action_response"]) == {"4_modules"}
    assert report["action_response"]["4_modules"]["spread"] > 0
    metadata = json.loads((preset / "metadata.json").read_text())
    assert metadata["planning"] == report
    assert "## Planning" in (preset / "README.md").read_text()
    zoo.verify_preset(preset)
    # A planner's episode: goal | what the robot saw | what the model expected, per step.
    gifs = sorted(path.name for path in tmp_path.glob("run_*.gif"))
    assert gifs == ["run_reach_4_modules.gif", "run_short_push_4_modules.gif"]
