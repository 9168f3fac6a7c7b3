"""tools/make_sim_data.py."""

import json

import pytest

from ghvae_keras import data
from presets import load_tool


@pytest.mark.slow
def test_a_built_dataset_is_left_alone_unless_overwritten(tmp_path, capsys):
    tool = load_tool("make_sim_data")
    args = ["sim_drive/urban", "--episodes", "2", "--split", "test", "--data-dir", str(tmp_path)]
    assert tool.main(args) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(line)
    assert report["episodes"] == 2 and report["frames"] == 60 and report["splits"] == {"test": 2}
    # The rate is the frames over the build's seconds (both rounded to 0.1).
    assert report["frames_per_s"] == pytest.approx(60 / report["seconds"], rel=0.05, abs=0.1)
    assert tool.main(["sim_drive/urban", "--episodes", "3", "--split", "test",
                      "--data-dir", str(tmp_path)]) == 0
    assert "already prepared" in capsys.readouterr().err
    assert tool.main(["sim_drive/urban", "--episodes", "3", "--split", "test",
                      "--data-dir", str(tmp_path), "--overwrite"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["splits"] == {"test": 3}
    frames = data.preview("sim_drive/urban", "test", num=3, data_dir=str(tmp_path))["frames"]
    assert frames.shape == (3, 30, 64, 64, 3)
