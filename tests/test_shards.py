import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tiny_data import episodes

from ghvae_keras import cli, shards
from ghvae_keras.errors import DataError, InputError


def windows_of(batch):
    """(episode, start) of each window, checking that its frames and actions
    are consecutive and aligned."""
    found = []
    frames = np.round(batch["frames"] * 255).astype(int)
    for video, actions in zip(frames, batch["actions"]):
        start, episode = video[0, 0, 0, 0], video[0, 0, 0, 1]
        steps = np.arange(len(video))
        np.testing.assert_array_equal(video[:, 0, 0, 0], start + steps)
        np.testing.assert_array_equal(actions[:, 0], episode)
        np.testing.assert_array_equal(actions[:, 1], start + steps[:-1])
        found.append((int(episode), int(start)))
    return found


@pytest.fixture
def exported(tmp_path):
    """8 robonet episodes of 20 frames, 2 windows of 6 frames each, in shards
    of at most 5 windows."""
    out = tmp_path / "shards"
    window_bytes = 6 * 64 * 64 * 3 + 5 * 5 * 4
    with tfds.testing.mock_data(as_dataset_fn=lambda self, **kwargs: episodes([20] * 8)):
        manifest = shards.export_windows("robonet", "train", out, 6, passes=2, seed=3,
                                         max_shard_bytes=5 * window_bytes)
    return out, manifest


def test_export_then_read_gives_back_every_training_window(exported):
    out, manifest = exported
    assert manifest["windows"] == 16 and manifest["sequence_length"] == 6
    assert manifest["action_dim"] == 5 and manifest["image_size"] == 64
    assert len(manifest["shards"]) == 4 and all(s["windows"] <= 5 for s in manifest["shards"])
    assert json.loads((out / shards.MANIFEST_FILE).read_text()) == manifest
    reader = shards.WindowShards(out)
    assert len(reader) == 16
    found = []
    for batch in reader.batches(3, shuffle=False, repeat=False):
        assert batch["frames"].dtype == np.float32 and batch["frames"].shape[1:] == (6, 64, 64, 3)
        found += windows_of(batch)
    assert len(found) == 16  # the last batch is smaller: nothing is left out
    assert Counter(episode for episode, _ in found) == {e: 2 for e in range(8)}
    assert all(0 <= start <= 14 for _, start in found)
    assert len(set(found)) > 8  # the second pass drew new starts


def test_batches_follow_the_seed_and_each_pass_mixes_anew(exported):
    out, _ = exported
    reader = shards.WindowShards(out)

    def first(seed, count):
        iterator = reader.batches(4, seed=seed)
        return [windows_of(next(iterator)) for _ in range(count)]

    one_pass = first(0, 4)  # 16 windows: 4 full batches per pass
    assert first(0, 4) == one_pass
    assert first(1, 4) != one_pass
    assert sorted(sum(one_pass, [])) == sorted(sum(first(1, 4), []))  # a pass sees every window
    two_passes = first(0, 8)
    assert two_passes[:4] == one_pass and two_passes[4:] != one_pass
    assert all(len(batch) == 4 for batch in two_passes)


def test_a_truncated_shard_is_refused_with_a_clear_error(exported):
    out, manifest = exported
    path = out / manifest["shards"][1]["file"]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    reader = shards.WindowShards(out)
    with pytest.raises(DataError, match="truncated or damaged"):
        list(reader.batches(2, shuffle=False, repeat=False))


def test_a_shard_that_holds_a_pickle_is_never_unpickled(tmp_path):
    out = tmp_path / "shards"
    shards.write_shards(out, [{"frames": np.zeros((2, 3, 8, 8, 3), np.uint8)}], dataset="x", split="train")
    manifest = json.loads((out / shards.MANIFEST_FILE).read_text())
    path = out / manifest["shards"][0]["file"]
    np.savez(path, frames=np.array([{"not": "an array"}] * 2, dtype=object))
    manifest["shards"][0]["sha256"] = shards.sha256(path)  # it matches: only loading can refuse it
    (out / shards.MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="cannot be read"):
        shards.WindowShards(out).load_shard(0)


def test_a_folder_without_shards_or_with_missing_ones_is_a_clear_error(exported, tmp_path):
    with pytest.raises(DataError, match="holds no shards"):
        shards.WindowShards(tmp_path / "nothing")
    out, manifest = exported
    (out / manifest["shards"][0]["file"]).unlink()
    with pytest.raises(DataError, match="lacks 1 of its shards"):
        shards.WindowShards(out)
    with pytest.raises(InputError, match="already holds shards"):
        shards.write_shards(out, [], dataset="x", split="train")


def test_windows_of_another_shape_are_refused(tmp_path):
    batches = [{"frames": np.zeros((1, 3, 8, 8, 3))}, {"frames": np.zeros((1, 4, 8, 8, 3))}]
    with pytest.raises(InputError, match="one shape"):
        shards.write_shards(tmp_path / "s", batches, dataset="x", split="train")


def test_reading_shards_imports_no_tensorflow(exported):
    out, _ = exported
    code = ("import sys; from ghvae_keras.shards import WindowShards; "
            f"b = next(WindowShards({str(out)!r}).batches(2, seed=0)); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; print(b['frames'].shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"KERAS_BACKEND": "jax", "PATH": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(2, 6, 64, 64, 3)"


def test_the_export_command_writes_shards(tmp_path, capsys):
    out = tmp_path / "shards"
    with tfds.testing.mock_data(as_dataset_fn=lambda self, **kwargs: episodes([12] * 3)):
        assert cli.main(["data", "export", "robonet", "--out", str(out), "--sequence-length", "4",
                         "--quiet"]) == 0
    assert len(shards.WindowShards(out)) == 3
    assert cli.main(["data", "export", "robonet", "--out", str(out), "--sequence-length", "4"]) == 2
    assert "already holds shards" in capsys.readouterr().err
