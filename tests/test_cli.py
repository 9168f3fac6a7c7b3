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


def test_data_show_writes_a_grid_of_mock_bair_sequences(tmp_path, capsys):
    import tensorflow_datasets as tfds

    out = tmp_path / "grid.gif"
    with tfds.testing.mock_data(num_examples=3):
        assert cli.main(["data", "show", "bair", "--out", str(out), "--sequence-length", "5"]) == 0
    video = iio.imread(out)
    assert video.shape[:3] == (5, 3 * 64 + 2 * 2, 64)  # 3 episodes, one per row
    assert "3 sequences of 5 frames from bair (train)" in capsys.readouterr().out


def test_data_show_reads_the_kitti_manual_download(tmp_path):
    from video_archives import write_kitti_drive

    manual = tmp_path / "downloads" / "manual"
    manual.mkdir(parents=True)
    write_kitti_drive(manual, 1, 60, tag=200)
    out = tmp_path / "kitti.gif"
    assert cli.main(["data", "show", "kitti", "--data-dir", str(tmp_path), "--out", str(out)]) == 0
    video = iio.imread(out)
    assert video.shape[:3] == (30, 2 * 64 + 2, 64)  # two whole 30-frame segments
    assert abs(int(video[0, 10, 10, 1]) - 200) <= 2  # the drive's frames, not the white gap


def test_data_show_without_the_manual_download_prints_the_instructions(tmp_path, capsys):
    out = tmp_path / "grid.gif"
    assert cli.main(["data", "show", "cityscapes", "--data-dir", str(tmp_path), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "leftImg8bit_sequence_trainvaltest.zip" in error and str(tmp_path) in error
    assert "Traceback" not in error and not out.exists()
