import json
import shutil

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow_datasets as tfds

from ghvae_keras import GHVAE, cli, video_io, zoo
from ghvae_keras.zoo import registry
from tiny_data import TINY, perturb_zero_init

SUBCOMMANDS = [["list"], ["predict"], ["train"], ["export"], ["publish"], ["demo"], ["data", "show"]]


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
    assert cli.main(["data", "show", "cityscapes", "--data-dir", str(tmp_path), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "leftImg8bit_sequence_trainvaltest.zip" in error and str(tmp_path) in error
    assert "Traceback" not in error and not out.exists()


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(command + ["--help"])
    assert exit_info.value.code == 0
    assert f"usage: ghvae {' '.join(command)}" in capsys.readouterr().out


def test_list_shows_the_registered_presets(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name, metadata in zoo.list_models().items():
        assert f"{name}  ({metadata['parameters']:,} parameters" in out
    assert "stand-in for BAIR robot pushing, `--data bair`" in out
    for metadata in zoo.list_models().values():
        for block in (metadata.get("metrics") or {}).values():
            assert f"metrics on {block['dataset']} ({block['context']} → {block['horizon']}" in out
    assert cli.main(["list", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == set(zoo.list_models())



def test_list_says_which_presets_are_still_training(tmp_path, monkeypatch, capsys):
    model = GHVAE(**TINY, action_dim=ACTION_DIM, horizon=HORIZON)
    metadata = {**tiny_metadata(), "metrics": {},
                "training": {"status": "in progress", "stages_trained": 1, "dataset": "random",
                             "command": "python tools/train_zoo.py tiny"}}
    zoo.save_preset(model.truncated(1), tmp_path / "zoo" / "tiny", metadata)
    monkeypatch.setattr(registry, "ZOO_DIRS", (tmp_path / "zoo",))
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "training in progress: 1 of 2 greedy stages trained" in out and "metrics" not in out


# -- predict --------------------------------------------------------------------

CONTEXT, HORIZON, ACTION_DIM = 2, 3, 3


def tiny_metadata():
    return {
        "name": "tiny", "description": "A tiny preset for tests.", "license": "apache-2.0",
        "hub": {"repo_id": "org/tiny", "revision": None},
        "protocol": {"context": CONTEXT, "train_future": HORIZON, "eval_future": HORIZON},
        "data": {"stand_in": {"name": "random", "description": "random frames"}},
        "training": {"dataset": "random", "command": "ghvae train tiny.json --data random --out tiny"},
        "metrics": {"stand_in_test": {
            "modules": {"2": {"psnr": 10.0, "ssim": 0.1, "fvd": None}},
            "copy_last_frame": {"psnr": 9.0, "ssim": 0.05, "fvd": None},
            "dataset": "random", "split": "test", "samples": 2, "fvd_samples": 2, "videos": 4,
            "context": CONTEXT, "horizon": HORIZON}},
    }


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    model = GHVAE(**TINY, action_dim=ACTION_DIM, horizon=HORIZON, seed=1)
    perturb_zero_init(model)
    rng = np.random.default_rng(0)
    sample = {"frames": rng.random((6, 16, 16, 3)), "actions": rng.uniform(-1, 1, (5, ACTION_DIM))}
    return zoo.save_preset(model, tmp_path_factory.mktemp("zoo") / "tiny", tiny_metadata(), sample=sample)


def test_predict_writes_a_gif_from_the_sample_clip(preset, tmp_path, capsys):
    out = tmp_path / "prediction.gif"
    assert cli.main(["predict", str(preset), "--out", str(out), "--samples", "2"]) == 0
    assert "2 context frames, then 3 predicted; 2 samples, true frames above" in capsys.readouterr().out
    video = iio.imread(out)
    # Context + horizon frames; rows: the truth, then one per sample.
    assert video.shape == (CONTEXT + HORIZON, 3 * 16 + 2 * 2, 16, 3)
    truth = zoo.load_sample(preset)["frames"][0, :CONTEXT + HORIZON]
    assert np.abs(video[:, :16] / 255.0 - truth).mean() < 0.05  # GIF palette error only
    assert not np.array_equal(video[:, 18:34], video[:, 36:52])  # two different futures
    again = tmp_path / "again.gif"
    assert cli.main(["predict", str(preset), "--out", str(again), "--samples", "2", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(iio.imread(again), video)  # same seed, same futures


def test_predict_reads_mp4_and_frame_folders_and_writes_npy_and_mp4(preset, tmp_path, capsys):
    rng = np.random.default_rng(1)
    video_io.write_mp4(tmp_path / "input.mp4", rng.random((4, 16, 16, 3)))
    actions = rng.uniform(-1, 1, (CONTEXT + 5 - 1, ACTION_DIM)).astype(np.float32)
    np.save(tmp_path / "actions.npy", actions)
    out = tmp_path / "prediction.npy"
    assert cli.main(["predict", str(preset), "--input", str(tmp_path / "input.mp4"), "--actions",
                     str(tmp_path / "actions.npy"), "--horizon", "5", "--samples", "3",
                     "--out", str(out)]) == 0
    predicted = np.load(out)
    assert predicted.shape == (3, 5, 16, 16, 3) and predicted.dtype == np.float32
    assert 0.0 <= predicted.min() and predicted.max() <= 1.0

    # Grayscale frames of another size: converted and resized, with warnings.
    frames = tmp_path / "frames"
    frames.mkdir()
    for t in range(3):
        iio.imwrite(frames / f"{t:03d}.png", rng.integers(0, 256, (24, 24), dtype=np.uint8))
    np.savetxt(tmp_path / "actions.csv", actions[:CONTEXT + HORIZON - 1], delimiter=",")
    out = tmp_path / "prediction.mp4"
    assert cli.main(["predict", str(preset), "--input", str(frames), "--actions",
                     str(tmp_path / "actions.csv"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ghvae predict: warning:" in err and "grayscale frames, converted to RGB" in err
    assert "resized to 16x16" in err
    # A true frame after the context: a truth row above the sample row.
    assert iio.imread(out, plugin="pyav").shape == (CONTEXT + HORIZON, 2 * 16 + 2, 16, 3)


def write_bad_input(tmp_path, case):
    """The arguments of a `ghvae predict` call with one kind of bad input."""
    rng = np.random.default_rng(2)
    good_actions = tmp_path / "actions.npy"
    np.save(good_actions, rng.uniform(-1, 1, (CONTEXT + HORIZON - 1, ACTION_DIM)).astype(np.float32))
    clip = tmp_path / "clip.npy"
    np.save(clip, rng.random((4, 16, 16, 3)).astype(np.float32))
    if case == "missing file":
        return ["--input", str(tmp_path / "missing.gif"), "--actions", str(good_actions)]
    if case == "corrupt gif":
        (tmp_path / "broken.gif").write_bytes(b"GIF89a\x10\x00 cut short")
        return ["--input", str(tmp_path / "broken.gif"), "--actions", str(good_actions)]
    if case == "corrupt mp4":
        (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom cut short")
        return ["--input", str(tmp_path / "broken.mp4"), "--actions", str(good_actions)]
    if case == "too few frames":
        np.savez(tmp_path / "one.npz", frames=np.zeros((1, 16, 16, 3), np.uint8))
        return ["--input", str(tmp_path / "one.npz"), "--actions", str(good_actions)]
    if case == "two channels":
        np.save(tmp_path / "two.npy", np.zeros((4, 16, 16, 2), np.uint8))
        return ["--input", str(tmp_path / "two.npy"), "--actions", str(good_actions)]
    if case == "nan action":
        actions = np.load(good_actions)
        actions[2, 0] = np.nan
        np.save(tmp_path / "nan.npy", actions)
        return ["--input", str(clip), "--actions", str(tmp_path / "nan.npy")]
    if case == "inf action":
        np.savetxt(tmp_path / "inf.csv", [[0, 0, 0]] * 3 + [[0, float("inf"), 0]], delimiter=",")
        return ["--input", str(clip), "--actions", str(tmp_path / "inf.csv")]
    if case == "wrong action dimension":
        np.save(tmp_path / "wide.npy", np.zeros((CONTEXT + HORIZON - 1, ACTION_DIM + 1), np.float32))
        return ["--input", str(clip), "--actions", str(tmp_path / "wide.npy")]
    if case == "too few actions":
        np.save(tmp_path / "short.npy", np.zeros((2, ACTION_DIM), np.float32))
        return ["--input", str(clip), "--actions", str(tmp_path / "short.npy")]
    if case == "no actions":
        return ["--input", str(clip)]
    raise AssertionError(case)


BAD_INPUTS = {
    "missing file": "missing.gif: no such file",
    "corrupt gif": "broken.gif: cannot read it as GIF",
    "corrupt mp4": "broken.mp4: cannot read it as MP4",
    "too few frames": "has 1 frame; the context needs 2",
    "two channels": "frames have 2 channels",
    "nan action": "actions contain NaN or inf (first in row 2)",
    "inf action": "actions contain NaN or inf (first in row 3)",
    "wrong action dimension": "actions have 4 values per step; the model takes 3",
    "too few actions": "2 actions, but 2 context frames and 3 predicted need 4",
    "no actions": "the model is action-conditioned: give --actions FILE with 4 rows of 3",
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_exits_2_with_one_line_and_no_output(case, preset, tmp_path, capsys):
    arguments = write_bad_input(tmp_path, case)
    before = sorted(tmp_path.iterdir())
    out = tmp_path / "prediction.gif"
    assert cli.main(["predict", str(preset), "--out", str(out)] + arguments) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("ghvae predict: ")
    assert BAD_INPUTS[case] in captured.err and "Traceback" not in captured.err
    assert sorted(tmp_path.iterdir()) == before  # no output, no temporary file


@pytest.mark.parametrize("preset_name, message", [
    ("no-such-preset", "unknown preset 'no-such-preset'"),
    ("bair-4mod", "preset 'bair-4mod' has no weights yet"),
])
def test_presets_that_cannot_predict(preset_name, message, tmp_path, monkeypatch, capsys):
    # A registry whose bair-4mod holds its configuration only, as before training.
    config_only = tmp_path / "zoo" / "bair-4mod"
    shutil.copytree(zoo.resolve_preset("bair-4mod"), config_only)
    (config_only / zoo.WEIGHTS_FILE).unlink()
    metadata = zoo.read_metadata(config_only)
    del metadata["files"][zoo.WEIGHTS_FILE]
    (config_only / zoo.METADATA_FILE).write_text(json.dumps(metadata))
    monkeypatch.setattr(registry, "ZOO_DIRS", (config_only.parent,))
    out = tmp_path / "prediction.gif"
    assert cli.main(["predict", preset_name, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not out.exists()
    if preset_name == "bair-4mod":
        assert "ghvae train bair-4mod --data bair" in err



def test_predict_verifies_each_preset_file_once(preset, tmp_path, monkeypatch):
    from ghvae_keras.zoo import folder

    hashed, real = [], folder.sha256

    def counting(path):
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(folder, "sha256", counting)
    assert cli.main(["predict", str(preset), "--out", str(tmp_path / "p.gif"), "--quiet"]) == 0
    assert {zoo.CONFIG_FILE, zoo.WEIGHTS_FILE, zoo.SAMPLE_FILE} <= set(hashed)
    assert len(hashed) == len(set(hashed)), f"hashed more than once: {sorted(hashed)}"


# -- train, export, publish -------------------------------------------------------


def test_train_on_mock_bair_resumes_and_writes_a_preset_that_predicts(preset, tmp_path, capsys):
    import tensorflow_datasets as tfds

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(dict(TINY, action_dim=4, horizon=HORIZON, seed=0)))
    checkpoints = tmp_path / "checkpoints"
    arguments = ["--data", "bair", "--steps-per-stage", "2", "--batch-size", "2",
                 "--checkpoint-dir", str(checkpoints)]
    with tfds.testing.mock_data(num_examples=4):
        assert cli.main(["train", str(config), "--out", str(tmp_path / "trained")] + arguments) == 0
        out = capsys.readouterr().out
        assert "stage_2: training module 2 of 2 for 2 steps" in out and "loss:" in out  # progress
        assert "wrote" in out and "2 greedy stages of 2 steps on clips of 5 frames" in out
        assert (checkpoints / "stage_2.weights.h5").is_file()
        # The same checkpoints again: training resumes after its last stage.
        assert cli.main(["train", str(config), "--out", str(tmp_path / "again"), "--quiet"] + arguments) == 0
        assert capsys.readouterr().out == ""
        # A preset's architecture on data with other actions is refused before training.
        assert cli.main(["train", str(preset), "--out", str(tmp_path / "other")] + arguments[:-2]) == 2
        assert "bair has 4 values per action; the model takes 3" in capsys.readouterr().err
    metadata = zoo.read_metadata(tmp_path / "trained")
    assert metadata["training"]["dataset"] == "bair"
    assert metadata["training"]["command"].startswith("ghvae train ")
    assert metadata["protocol"] == {"context": 2, "train_future": HORIZON, "eval_future": HORIZON}
    trained = zoo.from_pretrained(tmp_path / "trained")
    again = zoo.from_pretrained(tmp_path / "again")
    for a, b in zip(trained.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    out = tmp_path / "prediction.gif"
    assert cli.main(["predict", str(tmp_path / "trained"), "--out", str(out), "--quiet"]) == 0
    assert iio.imread(out).shape == (CONTEXT + HORIZON, 2 * 64 // 4 + 2, 16, 3)


def test_export_writes_saved_model_and_tflite(preset, tmp_path, capsys):
    saved = tmp_path / "saved"
    assert cli.main(["export", str(preset), "--format", "saved_model", "--out", str(saved)]) == 0
    assert "context_frames [B, 2, 16, 16, 3]" in capsys.readouterr().out
    assert (saved / "saved_model.pb").is_file()
    tflite = tmp_path / "model.tflite"
    assert cli.main(["export", str(preset), "--format", "tflite", "--out", str(tflite),
                     "--batch", "2", "--horizon", "4", "--noise", "random"]) == 0
    assert "actions [2, 5, 3]" in capsys.readouterr().out and tflite.is_file()
    assert cli.main(["export", "no-such-preset", "--format", "tflite", "--out", str(tmp_path / "x.tflite")]) == 2
    assert "unknown preset" in capsys.readouterr().err


def test_publish_dry_run(preset, tmp_path, capsys):
    upload = tmp_path / "upload"
    assert cli.main(["publish", str(preset), "--dry-run", "--out", str(upload)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [] and report["repo_id"] == "org/tiny"
    assert sorted(p.name for p in upload.iterdir()) == sorted(p.name for p in preset.iterdir())
    assert {zoo.CONFIG_FILE, zoo.WEIGHTS_FILE, zoo.CARD_FILE, zoo.METADATA_FILE} <= set(
        p.name for p in upload.iterdir()) <= set(zoo.PRESET_FILES)
    assert cli.main(["publish", str(preset), "--dry-run", "--out", str(upload)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err


# -- evaluate -------------------------------------------------------------------


@pytest.fixture
def tiny_bair(tmp_path):
    """A preset of BAIR's action size that evaluates 2 → 4 frames."""
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3, seed=3)
    perturb_zero_init(model)
    metadata = {"name": "tiny-bair", "description": "A tiny preset for tests.",
                "protocol": {"context": 2, "train_future": 3, "eval_future": 4}}
    return zoo.save_preset(model, tmp_path / "tiny-bair", metadata)


def test_evaluate_prints_a_table_and_writes_json(tiny_bair, tmp_path, capsys):
    out = tmp_path / "results" / "eval.json"
    with tfds.testing.mock_data(num_examples=3):
        code = cli.main(["evaluate", str(tiny_bair), "--data", "bair", "--samples", "2",
                         "--num-modules", "1,2", "--no-fvd", "--json", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    lines = printed.out.splitlines()
    assert lines[0] == "bair (test), 3 videos, 2 → 4 frames, best of 2"
    assert [line.split("  ")[0] for line in lines[2:5]] == ["1 module", "2 modules", "copy last frame"]
    result = json.loads(out.read_text())
    assert [entry["num_modules"] for entry in result["metrics"]] == [1, 2]
    assert result["metrics"][0]["command"] == (
        f"ghvae evaluate {tiny_bair} --data bair --split test --samples 2 --context 2 --horizon 4 "
        "--num-modules 1,2 --no-fvd")
    # The JSON entries are what a preset's metadata lists under `metrics`.
    assert f"{result['metrics'][1]['psnr']:.2f}" in lines[3]


def test_evaluate_with_shuffled_actions_adds_their_psnr_per_module_count(tiny_bair, tmp_path, capsys):
    out = tmp_path / "eval.json"
    with tfds.testing.mock_data(num_examples=3):
        code = cli.main(["evaluate", str(tiny_bair), "--data", "bair", "--num-modules", "1,2", "--no-fvd",
                         "--shuffled-actions", "--json", str(out), "--quiet"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["model", "PSNR", "SSIM", "FVD", "PSNR,", "others'", "actions"]
    result = json.loads(out.read_text())
    for line, entry in zip(lines[2:4], result["metrics"]):
        assert line.split()[-1] == f"{entry['psnr_shuffled_actions']:.2f}"
    assert lines[4].split()[-1] == "–"  # copy last frame
    assert result["metrics"][0]["command"].endswith("--no-fvd --shuffled-actions")


def test_evaluate_defaults_to_the_stand_in_the_preset_was_trained_on(tiny_bair, capsys):
    with tfds.testing.mock_data(num_examples=2):
        assert cli.main(["evaluate", str(tiny_bair), "--no-fvd", "--quiet"]) == 2
        assert "names no stand-in dataset in its metadata: pass --data" in capsys.readouterr().err
        metadata = zoo.read_metadata(tiny_bair)
        metadata["data"] = {"stand_in": {"name": "bair"}}
        (tiny_bair / zoo.METADATA_FILE).write_text(json.dumps(metadata))
        assert cli.main(["evaluate", str(tiny_bair), "--no-fvd", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("bair (test), 2 videos")


@pytest.mark.parametrize("argv, message", [
    (["--num-modules", "5", "--no-fvd"], "number of modules must be in 1..2, got 5"),
    (["--horizon", "3"], "FVD needs at least 9 frames"),
    (["--horizon", "7"], "make them with `python -m ghvae_keras.metrics.convert_i3d`"),
])
def test_evaluate_bad_input_exits_2_with_one_line(tiny_bair, tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.setenv("GHVAE_KERAS_CACHE", str(tmp_path / "empty"))
    with tfds.testing.mock_data(num_examples=2):
        code = cli.main(["evaluate", str(tiny_bair), "--data", "bair", "--quiet"] + argv)
    error = capsys.readouterr().err
    assert code == 2
    assert message in error and "Traceback" not in error and len(error.strip().splitlines()) == 1


def test_evaluate_refuses_a_malformed_module_list(tiny_bair, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", str(tiny_bair), "--data", "bair", "--num-modules", "1,x"])
    assert exit_info.value.code == 2
    assert "expected module counts like 4 or 1,2,3,4" in capsys.readouterr().err


def test_evaluate_too_short_episodes_exit_2(tiny_bair, capsys):
    import tensorflow as tf

    def short_episodes(self, **kwargs):
        video = tf.RaggedTensor.from_row_lengths(np.zeros((6, 64, 64, 3), np.uint8), [3, 3])
        actions = tf.RaggedTensor.from_row_lengths(np.zeros((4, 5), np.float32), [2, 2])
        return tf.data.Dataset.from_tensor_slices({"video": video, "actions": actions})

    with tfds.testing.mock_data(as_dataset_fn=short_episodes):
        code = cli.main(["evaluate", str(tiny_bair), "--data", "robonet", "--no-fvd", "--quiet"])
    error = capsys.readouterr().err
    assert code == 2 and "Traceback" not in error
    assert "sequence_length 6 is longer than an episode of robonet" in error


def test_the_command_prints_only_its_own_lines(preset, tmp_path):
    """No TensorFlow start-up logging unless asked for: a fresh process, with
    the environment a user has (no TF_CPP_MIN_LOG_LEVEL)."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    out = tmp_path / "p.gif"
    done = subprocess.run([sys.executable, "-m", "ghvae_keras.cli", "predict", str(preset), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == [f"wrote {out}: 2 context frames, then 3 predicted; 1 sample, "
                                        "true frames above (3)"]
