"""Preset folders: writing, reading and checking them."""

import json
import os

import keras
import numpy as np
import pytest

import ghvae_keras
from ghvae_keras import zoo
from presets import assert_same_weights, tiny_metadata


def test_preset_folder_round_trips_bit_exact(preset, tiny_model):
    assert sorted(p.name for p in preset.iterdir()) == sorted(zoo.PRESET_FILES)
    metadata = zoo.read_metadata(preset)
    assert metadata["parameters"] == tiny_model.count_params()
    assert metadata["versions"]["keras"] == keras.__version__
    assert set(metadata["files"]) == set(zoo.PRESET_FILES) - {zoo.METADATA_FILE}
    loaded = ghvae_keras.from_pretrained(preset)
    assert loaded.get_config() == tiny_model.get_config()
    assert_same_weights(loaded, tiny_model)


def test_saved_weights_carry_no_optimizer_state(tmp_path, tiny_model):
    import h5py

    compiled = tiny_model.truncated(2)
    compiled.compile(optimizer="adam")
    compiled.optimizer.build(compiled.trainable_variables)
    folder = zoo.save_preset(compiled, tmp_path / "p", tiny_metadata())
    with h5py.File(folder / zoo.WEIGHTS_FILE) as f:
        assert "optimizer" not in f
    assert not json.loads((folder / zoo.CONFIG_FILE).read_text()).get("compile_config")


def test_save_preset_refuses_to_overwrite_and_leaves_no_partial_folder(preset, tiny_model):
    with pytest.raises(FileExistsError):
        zoo.save_preset(tiny_model, preset, tiny_metadata())
    with pytest.raises(ValueError, match="sample frames"):
        zoo.save_preset(tiny_model, preset.parent / "bad", tiny_metadata(), sample={"frames": np.zeros((4, 8, 8, 3))})
    with pytest.raises(ValueError, match="needs exactly 'context', 'train_future' and 'eval_future'"):
        zoo.save_preset(tiny_model, preset.parent / "bad", {**tiny_metadata(), "protocol": {"context": 2}})
    assert sorted(p.name for p in preset.parent.iterdir() if p.name != "hf-cache") == [preset.name]


def test_sample_clip_and_truncation(preset, tiny_model):
    clip = ghvae_keras.load_sample(preset)
    assert clip["frames"].shape == (1, 5, 16, 16, 3) and clip["frames"].dtype == np.float32
    assert 0.0 <= clip["frames"].min() and clip["frames"].max() <= 1.0
    assert clip["actions"].shape == (1, 4, 3)
    first = ghvae_keras.from_pretrained(preset, num_modules=1)
    assert first.active_modules == 1
    assert_same_weights(first, tiny_model)
    with pytest.raises(ValueError, match="number of modules must be in 1..2, got 3"):
        ghvae_keras.from_pretrained(preset, num_modules=3)


def test_wrong_sha256_names_the_file(preset):
    with open(preset / zoo.WEIGHTS_FILE, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    with pytest.raises(zoo.PresetError, match=r"sha256 mismatch for .*model\.weights\.h5"):
        ghvae_keras.from_pretrained(preset)


def test_refuses_pickles_and_missing_weights(preset, tmp_path):
    import pickle

    (preset / "extra.bin").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(zoo.PresetError, match="extra.bin is a pickle"):
        ghvae_keras.from_pretrained(preset)
    (preset / "extra.bin").unlink()
    # A pickle under an innocent name is found by its content.
    (preset / "notes.txt").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(zoo.PresetError, match="notes.txt is a pickle"):
        ghvae_keras.from_pretrained(preset)
    (preset / "notes.txt").unlink()
    (preset / zoo.WEIGHTS_FILE).unlink()
    with pytest.raises(zoo.PresetError, match="missing model.weights.h5"):
        ghvae_keras.from_pretrained(preset)
    # The architecture alone still loads.
    assert ghvae_keras.from_pretrained(preset, load_weights=False).action_dim == 3


def test_refuses_a_config_of_another_class(preset):
    config = json.loads((preset / zoo.CONFIG_FILE).read_text())
    config["registered_name"] = "builtins>eval"
    (preset / zoo.CONFIG_FILE).write_text(json.dumps(config))
    zoo.write_card(preset)  # consistent hashes, so only the class check can refuse it
    with pytest.raises(zoo.PresetError, match="does not describe a ghvae_keras GHVAE"):
        ghvae_keras.from_pretrained(preset)

