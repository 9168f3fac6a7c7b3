"""Loading presets: names, the Hub (offline), fallbacks, verification."""

import json
import logging
import subprocess
import sys
import os
import shutil

import huggingface_hub
import keras
from huggingface_hub import constants as hub_constants
from huggingface_hub.errors import LocalEntryNotFoundError
import pytest

import ghvae_keras
from ghvae_keras import zoo
from ghvae_keras.atomic_files import sha256
from ghvae_keras.errors import InputError
from presets import COMMIT, assert_same_weights, populate_cache, registry_with, tiny_metadata


def test_hf_uri_loads_from_the_offline_cache(preset, tiny_model, offline_hub):
    snapshot = populate_cache(offline_hub, "org/tiny", preset)
    assert zoo.resolve_preset("hf://org/tiny") == snapshot
    assert zoo.resolve_preset(f"hf://org/tiny@{COMMIT}") == snapshot
    assert_same_weights(ghvae_keras.from_pretrained("hf://org/tiny"), tiny_model)
    # Keras' own loader reads the same folder.
    assert_same_weights(keras.saving.load_model("hf://org/tiny"), tiny_model)


def test_hf_uri_errors(preset, offline_hub):
    with pytest.raises(LocalEntryNotFoundError):
        ghvae_keras.from_pretrained("hf://org/absent")
    with pytest.raises(ValueError, match="expected 'hf://org/name'"):
        ghvae_keras.from_pretrained("hf://not-a-repo")
    with pytest.raises(ValueError, match="give the revision once"):
        ghvae_keras.from_pretrained("hf://org/tiny@main", revision="v1")


def test_cached_file_with_wrong_hash_is_refused(preset, offline_hub):
    snapshot = populate_cache(offline_hub, "org/tiny", preset)
    blob = (snapshot / zoo.CONFIG_FILE).resolve()
    blob.write_text(blob.read_text().replace('"seed": 3', '"seed": 4'))
    with pytest.raises(zoo.PresetError, match=r"sha256 mismatch for .*config\.json"):
        ghvae_keras.from_pretrained("hf://org/tiny")


def test_registered_name_loads_its_pinned_revision_from_the_hub_cache(
    preset, tiny_model, offline_hub, monkeypatch, tmp_path, caplog
):
    snapshot = populate_cache(offline_hub, "org/tiny", preset)
    registry_with(monkeypatch, tmp_path, preset, revision=COMMIT)
    with caplog.at_level(logging.WARNING, logger="ghvae_keras.zoo"):
        assert zoo.resolve_preset("tiny-2mod") == snapshot
        assert_same_weights(ghvae_keras.from_pretrained("tiny-2mod"), tiny_model)
    assert not caplog.records
    # The registry's hashes are the reference: a repository whose files and
    # metadata agree with each other but not with the registry is refused.
    config = (snapshot / zoo.CONFIG_FILE).resolve()
    config.write_text(config.read_text() + " ")
    hub_metadata = (snapshot / zoo.METADATA_FILE).resolve()
    metadata = json.loads(hub_metadata.read_text())
    metadata["files"][zoo.CONFIG_FILE] = sha256(config)
    hub_metadata.write_text(json.dumps(metadata))
    zoo.verify_preset(snapshot)  # consistent in itself
    with pytest.raises(zoo.PresetError, match=r"sha256 mismatch for .*config\.json"):
        ghvae_keras.from_pretrained("tiny-2mod")


def test_unreachable_hub_falls_back_to_the_zoo_copy_and_says_so_once(
    preset, tiny_model, monkeypatch, tmp_path, caplog
):
    local = registry_with(monkeypatch, tmp_path, preset, revision=COMMIT)  # nothing cached
    with caplog.at_level(logging.WARNING, logger="ghvae_keras.zoo"):
        assert zoo.resolve_preset("tiny-2mod") == local
        assert_same_weights(ghvae_keras.from_pretrained("tiny-2mod"), tiny_model)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "offline mode" in messages[0] and str(local) in messages[0]
    (local / zoo.WEIGHTS_FILE).unlink()  # a registry copy without the weights file
    with pytest.raises(zoo.PresetError, match=r"offline mode.*does not hold its weights"):
        ghvae_keras.from_pretrained("tiny-2mod")
    assert ghvae_keras.from_pretrained("tiny-2mod", load_weights=False).action_dim == 3


def test_a_transfer_that_breaks_off_falls_back_too(preset, tiny_model, monkeypatch, tmp_path, caplog):
    import httpx2

    def broken(*args, **kwargs):
        raise httpx2.ReadTimeout("read timed out")

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", broken)
    local = registry_with(monkeypatch, tmp_path, preset, revision=COMMIT)
    with caplog.at_level(logging.WARNING, logger="ghvae_keras.zoo"):
        assert_same_weights(ghvae_keras.from_pretrained("tiny-2mod"), tiny_model)
    assert "the Hub could not be reached (ReadTimeout" in caplog.records[0].getMessage()
    assert str(local) in caplog.records[0].getMessage()


def test_revision_override_is_checked_against_its_own_metadata(preset, tiny_model, offline_hub, monkeypatch, tmp_path):
    other = "f" * 40
    # Another revision with a different (but self-consistent) config.
    changed = tmp_path / "changed"
    shutil.copytree(preset, changed)
    config = json.loads((changed / zoo.CONFIG_FILE).read_text())
    config["config"]["horizon"] = 7
    (changed / zoo.CONFIG_FILE).write_text(json.dumps(config))
    zoo.write_card(changed)
    populate_cache(offline_hub, "org/tiny", changed, commit=other)
    registry_with(monkeypatch, tmp_path, preset, revision=COMMIT)
    assert ghvae_keras.from_pretrained("tiny-2mod", revision=other).horizon == 7


def test_a_bare_registered_name_wins_over_a_folder_of_that_name(preset, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kitti-4mod").mkdir()
    assert ghvae_keras.from_pretrained("kitti-4mod", load_weights=False).context_length == 5
    with pytest.raises(zoo.PresetError, match="has no metadata.json"):
        ghvae_keras.from_pretrained("./kitti-4mod")


def test_metadata_cannot_point_outside_the_preset(preset, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    metadata = zoo.read_metadata(preset)
    metadata["files"]["../secret.txt"] = sha256(secret)
    (preset / zoo.METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(zoo.PresetError, match=r"not part of a preset: \['../secret.txt'\]"):
        ghvae_keras.from_pretrained(preset)


def test_a_file_missing_from_the_metadata_is_refused(preset):
    metadata = zoo.read_metadata(preset)
    del metadata["files"][zoo.SAMPLE_FILE]
    (preset / zoo.METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(zoo.PresetError, match="sample.npz is not listed in the metadata"):
        ghvae_keras.load_sample(preset)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(zoo.PresetError) as error:
        ghvae_keras.from_pretrained("bair-5mod")
    for name in ("bair-4mod", "robonet-4mod", "kitti-4mod", "cityscapes-4mod"):
        assert name in str(error.value)


def test_offline_environment_variables_in_a_fresh_process(preset, tmp_path):
    """`HF_HUB_OFFLINE` and `HF_HUB_CACHE` are read when huggingface_hub is
    imported: set them in the environment of a new process, as users do."""
    cache = tmp_path / "env-cache"
    populate_cache(cache, "org/tiny", preset)
    script = (
        "import numpy as np, ghvae_keras\n"
        "from ghvae_keras import zoo\n"
        f"model = ghvae_keras.from_pretrained('hf://org/tiny')\n"
        f"reference = ghvae_keras.from_pretrained({str(preset)!r})\n"
        "assert all((a == b).all() for a, b in zip(model.get_weights(), reference.get_weights()))\n"
        "print('loaded', zoo.resolve_preset('hf://org/tiny'))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"loaded {cache}" in result.stdout



def test_registered_preset_without_weights_says_so(tiny_model, tmp_path, monkeypatch):
    bare = zoo.save_preset(tiny_model, tmp_path / "bare" / "tiny-2mod", tiny_metadata(revision=None),
                           include_weights=False)
    registry_with(monkeypatch, tmp_path, bare)
    with pytest.raises(zoo.PresetError, match="has no weights yet.*load_weights=False"):
        ghvae_keras.from_pretrained("tiny-2mod")
    assert ghvae_keras.from_pretrained("tiny-2mod", load_weights=False).count_params() == tiny_model.count_params()



def test_a_preset_loads_for_inference_in_another_dtype(preset, tiny_model):
    fast = ghvae_keras.from_pretrained(str(preset), dtype="mixed_bfloat16", num_modules=1)
    assert fast.active_modules == 1 and fast.dtype_policy.name == "mixed_bfloat16"
    assert fast.ghvae_modules[0].decoder.out.compute_dtype == "bfloat16"  # every layer, nested too
    assert fast.ghvae_modules[1].core.gates.compute_dtype == "bfloat16"
    assert_same_weights(fast, tiny_model)  # float32 weights, unchanged
    with pytest.raises(InputError, match="dtype must be a Keras dtype policy"):
        ghvae_keras.from_pretrained(str(preset), dtype="bfloat17")
