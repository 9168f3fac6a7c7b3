import imageio.v3 as iio
import pytest

from ghvae_keras import cli


def test_demo_writes_a_prediction_gif(tmp_path):
    out = tmp_path / "prediction.gif"
    assert cli.main(["demo", "--out", str(out), "--steps-per-stage", "2", "--quiet"]) == 0
    video = iio.imread(out)
    assert video.shape[0] == 10 and video.shape[1] == 2 * 32 + 2


def test_help_lists_the_demo(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out
