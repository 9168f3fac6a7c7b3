import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import huggingface_hub
from huggingface_hub import constants as hub_constants
from huggingface_hub.errors import LocalEntryNotFoundError
import keras
import numpy as np
import pytest

import ghvae_keras
from ghvae_keras import GHVAE, zoo

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def tiny_metadata(name="tiny-2mod", repo_id="org/tiny", revision=None):
    return {
        "name": name,
        "description": "A tiny preset for tests.",
        "license": "apache-2.0",
        "hub": {"repo_id": repo_id, "revision": revision},
        "protocol": {"context": 2, "train_future": 3, "eval_future": 3},
        "data": {
            "stand_in": {"name": "pushed_squares", "description": "squares pushed by the actions"},
            "real": {"name": "bair", "title": "BAIR robot pushing", "tfds": "bair_robot_pushing_small",
                     "access": "downloaded by tfds"},
        },
        "training": {"dataset": "pushed_squares", "command": "python tools/train_zoo.py tiny-2mod"},
        "metrics": {"stand_in_test": {
            "modules": {"1": {"psnr": 20.5, "ssim": 0.78, "fvd": None},
                        "2": {"psnr": 21.5, "ssim": 0.81, "fvd": None, "psnr_per_frame": [22.0, 18.5, 18.0]}},
            "copy_last_frame": {"psnr": 19.0, "ssim": 0.74, "fvd": None, "psnr_per_frame": [21.0, 19.0, 17.0]},
            "end_to_end": {"psnr": 20.0, "ssim": 0.77, "fvd": None,
                           "compute": {"unit": "process CPU seconds", "greedy": 100.0, "end_to_end": 98.0,
                                       "end_to_end_steps": 40}},
            "dataset": "pushed_squares", "split": "test", "samples": 4, "fvd_samples": 4, "videos": 8,
            "context": 2, "horizon": 3, "command": "python tools/train_zoo.py tiny-2mod",
        }},
    }


@pytest.fixture(scope="module")
def tiny_model():
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=3,
                  context_length=2, horizon=3, seed=3)
    rng = np.random.default_rng(0)
    # Random values everywhere, so a load that misses any variable shows.
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


@pytest.fixture
def preset(tmp_path, tiny_model):
    rng = np.random.default_rng(1)
    sample = {"frames": rng.random((5, 16, 16, 3)), "actions": rng.uniform(-1, 1, (4, 3))}
    return zoo.save_preset(tiny_model, tmp_path / "tiny-2mod", tiny_metadata(), sample=sample)


@pytest.fixture(autouse=True)
def offline_hub(tmp_path, monkeypatch):
    """No test reaches the network: offline mode and an empty cache of its own."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(zoo, "_fallbacks_announced", set())
    return cache


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(name, argv, capsys):
    """Runs a tools/ script in this process: (exit code, last printed line)."""
    capsys.readouterr()
    code = load_tool(name).main(argv)
    lines = capsys.readouterr().out.strip().splitlines()
    return code, lines[-1] if lines else ""


def populate_cache(cache, repo_id, folder, commit=COMMIT):
    """Lays `folder` out as huggingface_hub does: content-addressed blobs,
    snapshot symlinks, and `refs/main` holding the commit without a newline."""
    repo = Path(cache) / f"models--{repo_id.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for path in Path(folder).iterdir():
        blob = repo / "blobs" / zoo.sha256(path)
        shutil.copyfile(path, blob)
        (snapshot / path.name).symlink_to(os.path.relpath(blob, snapshot))
    return snapshot


def registry_with(monkeypatch, tmp_path, folder, **hub):
    zoo_dir = tmp_path / "zoo"
    local = zoo_dir / folder.name
    shutil.copytree(folder, local)
    metadata = zoo.read_metadata(local)
    metadata["hub"].update(hub)
    (local / zoo.METADATA_FILE).write_text(json.dumps(metadata))
    monkeypatch.setattr(zoo, "_ZOO_DIRS", (zoo_dir,))
    return local


def assert_same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)


# -- preset folders -------------------------------------------------------------


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
    with pytest.raises(ValueError, match="num_modules must be in 1..2"):
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


# -- the Hub, offline -----------------------------------------------------------


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
    metadata["files"][zoo.CONFIG_FILE] = zoo.sha256(config)
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
    metadata["files"]["../secret.txt"] = zoo.sha256(secret)
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


# -- the registry -------------------------------------------------------------


def test_registry_lists_the_four_presets_with_their_configs():
    models = ghvae_keras.list_models()
    assert set(models) >= {"bair-4mod", "robonet-4mod", "kitti-4mod", "cityscapes-4mod"}
    expected_actions = {"bair-4mod": 4, "robonet-4mod": 5, "kitti-4mod": None, "cityscapes-4mod": None}
    for name, action_dim in expected_actions.items():
        metadata = models[name]
        assert metadata["hub"]["repo_id"] == f"ghvae-keras/{name}"
        model = ghvae_keras.from_pretrained(name, load_weights=False)
        assert model.action_dim == action_dim == metadata["action_dim"]
        assert model.context_length == metadata["protocol"]["context"]
        assert model.count_params() == metadata["parameters"]
        assert (model.image_size, model.num_modules) == (64, 4)


def test_registered_preset_without_weights_says_so(tiny_model, tmp_path, monkeypatch):
    bare = zoo.save_preset(tiny_model, tmp_path / "bare" / "tiny-2mod", tiny_metadata(revision=None),
                           include_weights=False)
    registry_with(monkeypatch, tmp_path, bare)
    with pytest.raises(zoo.PresetError, match="has no weights yet.*load_weights=False"):
        ghvae_keras.from_pretrained("tiny-2mod")
    assert ghvae_keras.from_pretrained("tiny-2mod", load_weights=False).count_params() == tiny_model.count_params()


def test_model_cards_are_generated_from_metadata(capsys):
    """MODEL_CARD.md and every zoo/*/README.md match their metadata."""
    code, stale = run_tool("make_model_card", ["--check"], capsys)
    assert code == 0, stale


def test_card_check_notices_an_edited_figure(preset, tmp_path, capsys):
    zoo_dir = tmp_path / "zoo"
    shutil.copytree(preset, zoo_dir / preset.name)
    shutil.copy(ROOT / "zoo" / "reference_results.json", zoo_dir)
    argv = ["--zoo", str(zoo_dir), "--out", str(tmp_path / "MODEL_CARD.md")]
    assert run_tool("make_model_card", argv, capsys)[0] == 0
    summary = "| `tiny-2mod` | `pushed_squares` | 2 → 3 | 20.50 | 21.50 | 20.00 | 19.00 | – | – | – | – |"
    assert summary in (tmp_path / "MODEL_CARD.md").read_text()
    assert run_tool("make_model_card", argv + ["--check"], capsys)[0] == 0
    card = zoo_dir / preset.name / zoo.CARD_FILE
    card.write_text(card.read_text().replace("21.5", "31.5"))
    code, stale = run_tool("make_model_card", argv + ["--check"], capsys)
    assert code == 1 and stale.endswith("README.md")


def test_wheel_ships_every_package_and_the_zoo():
    """pyproject lists the packages explicitly (to map zoo/ into the wheel):
    every folder of Python modules must be listed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = set(config["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "ghvae_keras").rglob("__init__.py")
    }
    assert found <= packages, f"add to [tool.setuptools] packages: {sorted(found - packages)}"
    assert config["package-dir"]["ghvae_keras.zoo_presets"] == "zoo"


# -- publishing -----------------------------------------------------------------


def test_card_front_matter(preset):
    card = huggingface_hub.ModelCard.load(preset / zoo.CARD_FILE)
    assert card.data.library_name == "keras"
    assert {"video-prediction", "ghvae"} <= set(card.data.tags)
    assert card.data.datasets == ["pushed_squares"]
    assert {(r.metric_type, r.metric_value) for r in card.data.eval_results} == {
        ("psnr", 20.5), ("ssim", 0.78), ("psnr", 21.5), ("ssim", 0.81)}
    assert "python tools/train_zoo.py tiny-2mod" in card.text
    assert zoo.validate_card(preset) == []


def test_card_tables_every_module_count_the_baseline_and_the_floor(preset):
    text = (preset / zoo.CARD_FILE).read_text()
    assert "`pushed_squares` (test), 8 videos, 2 context frames → 3 predicted" in text
    assert "best of 4 samples per video; FVD (I3D, Kinetics-400) is over 4 samples per video" in text
    assert ("the 2-module model's PSNR is above copy-last-frame's on 2 of 3 frames (frames 1, 3); "
            "frame 1: 22.00 vs 21.00 dB, frame 3: 18.00 vs 17.00 dB.") in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "PSNR" not in line]
    assert table == [
        "| GHVAE, 1 module | 20.50 | 0.7800 | – |",
        "| GHVAE, 2 modules | 21.50 | 0.8100 | – |",
        "| end-to-end baseline, same compute (98 process CPU seconds; greedy 100) | 20.00 | 0.7700 | – |",
        "| copy last frame | 19.00 | 0.7400 | – |",
    ]


def test_card_tables_the_planning_benchmark(preset):
    metadata = zoo.read_metadata(preset)
    metadata["planning"] = {
        "episodes": 20, "success": {"4_modules": 0.55, "1_module": 0.3, "random": 0.05},
        "seconds_per_episode": {"4_modules": 61.0, "1_module": 38.5, "random": 0.4},
        "final_distance_m": {"4_modules": 0.081, "1_module": 0.15, "random": 0.24},
        "start_distance_m": 0.25,
        "action_response": {"4_modules": {"spread": 0.8, "psnr": 21.5}, "1_module": {}},
        "settings": {"candidates": 64, "iterations": 3, "horizon": 10, "cost": "features",
                     "replan_every": 3, "max_steps": 40},
        "command": "python tools/bench_planning.py --episodes 20",
    }
    zoo.write_card(preset, metadata)
    text = (preset / zoo.CARD_FILE).read_text()
    assert ("20 episodes from fixed test seeds; the puck starts 25 cm from the goal on average, the hand "
            "above the bin: the task is to reach the puck and push it)") in text
    assert "| GHVAE, 4 modules | 55% | 8.1 cm | 61.0 |" in text
    assert "| random actions | 5% | 24.0 cm | 0.4 |" in text
    assert "GHVAE, 4 modules: spread 0.80, PSNR 21.50 dB." in text
    assert "python tools/bench_planning.py --episodes 20" in text
    assert zoo.read_metadata(preset)["planning"] == metadata["planning"]
    zoo.verify_preset(preset)


def test_card_problems_are_listed(preset, tiny_model, tmp_path):
    metadata = tiny_metadata()
    metadata.update(training=None, metrics={})
    bare = zoo.save_preset(tiny_model, tmp_path / "bare", metadata)
    problems = zoo.validate_card(bare)
    assert "card: no datasets" in problems
    assert "card: no metrics with values (model-index)" in problems
    assert "metadata: no training command" in problems


def test_publish_dry_run_builds_and_validates_the_upload_folder(preset, tmp_path, capsys):
    (preset / "notes.txt").write_text("not part of the upload")
    out = tmp_path / "upload"
    code, line = run_tool("publish", [str(preset), "--dry-run", "--out", str(out)], capsys)
    report = json.loads(line)
    assert code == 0 and report["problems"] == [] and report["repo_id"] == "org/tiny"
    assert sorted(report["files"]) == sorted(zoo.PRESET_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(zoo.PRESET_FILES)
    # Another repository: the card is rendered for it.
    other = tmp_path / "other"
    code, line = run_tool("publish", [str(preset), "--dry-run", "--repo-id", "org/other", "--out", str(other)], capsys)
    assert code == 0 and json.loads(line)["problems"] == []
    assert "hf://org/other" in (other / zoo.CARD_FILE).read_text()
    assert zoo.read_metadata(other)["hub"]["repo_id"] == "org/other"
    # An existing folder is never emptied.
    code, _ = run_tool("publish", [str(preset), "--dry-run", "--out", str(preset)], capsys)
    assert code == 2
    assert (preset / zoo.WEIGHTS_FILE).is_file()
    # A registered preset without weights is not ready.
    if not ghvae_keras.list_models()["kitti-4mod"]["has_weights"]:
        code, line = run_tool("publish", ["kitti-4mod", "--dry-run"], capsys)
        assert code == 2 and "missing model.weights.h5" in json.loads(line)["problems"][0]


class RecordingApi:
    """Stands in for `HfApi` where a test cannot reach the Hub: records calls."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        files = sorted(p.name for p in Path(kwargs["folder_path"]).iterdir())
        self.calls.append(("upload_folder", files, kwargs))
        return huggingface_hub.CommitInfo(
            commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/{COMMIT}",
            commit_message=kwargs["commit_message"], commit_description="", oid=COMMIT,
        )


def test_push_to_hub_creates_the_repo_and_uploads_the_preset(preset, tiny_model):
    api = RecordingApi()
    commit = ghvae_keras.push_to_hub(preset, "org/tiny", api=api)
    assert commit.oid == COMMIT
    (create, repo_id, create_args), (upload, files, upload_args) = api.calls
    assert (create, repo_id, create_args["exist_ok"]) == ("create_repo", "org/tiny", True)
    assert upload == "upload_folder" and files == sorted(zoo.PRESET_FILES)
    assert upload_args["repo_id"] == "org/tiny" and upload_args["allow_patterns"] == list(zoo.PRESET_FILES)
    assert upload_args["delete_patterns"] == list(zoo.PRESET_FILES)
    # Privacy and the branch pass through; the branch is created first.
    api = RecordingApi()
    ghvae_keras.push_to_hub(preset, "org/tiny", private=True, revision="v2", api=api)
    assert [call[0] for call in api.calls] == ["create_repo", "create_branch", "upload_folder"]
    assert api.calls[0][2]["private"] is True
    assert api.calls[1][2]["branch"] == "v2" and api.calls[2][2]["revision"] == "v2"
    # A folder made for another repository is refused: its card names that one.
    with pytest.raises(zoo.PresetError, match="made for the repository 'org/tiny', not 'org/other'"):
        ghvae_keras.push_to_hub(preset, "org/other", api=RecordingApi())
    # A model is saved as a preset first.
    api = RecordingApi()
    sample = {"frames": np.zeros((5, 16, 16, 3)), "actions": np.zeros((4, 3))}
    ghvae_keras.push_to_hub(tiny_model, "org/tiny", metadata=tiny_metadata(), sample=sample, api=api)
    assert api.calls[1][1] == sorted(zoo.PRESET_FILES)


def test_push_to_hub_refuses_an_incomplete_preset(preset):
    (preset / zoo.WEIGHTS_FILE).unlink()
    api = RecordingApi()
    with pytest.raises(zoo.PresetError, match="not ready to publish"):
        ghvae_keras.push_to_hub(preset, "org/tiny", api=api)
    assert api.calls == []


# -- train_zoo -----------------------------------------------------------------


@pytest.mark.slow  # five training phases and an evaluation, at 16x16
def test_train_zoo_trains_the_baseline_at_equal_compute_evaluates_and_resumes(tmp_path, capsys):
    import tensorflow_datasets as tfds

    zoo_dir, workdir = tmp_path / "zoo", tmp_path / "run"
    metadata = tiny_metadata(name="tiny-bair")
    metadata["data"]["stand_in"]["name"] = "bair"  # TFDS mock data stands in for the simulator
    metadata.update(training=None, metrics={})
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3)
    zoo.save_preset(model, zoo_dir / "tiny-bair", metadata, include_weights=False)
    argv = ["tiny-bair", "--zoo", str(zoo_dir), "--workdir", str(workdir), "--steps-per-stage", "2",
            "--checkpoint-every", "1", "--batch-size", "2", "--videos", "3", "--samples", "2", "--no-fvd"]
    with tfds.testing.mock_data(num_examples=4):
        code, line = run_tool("train_zoo", argv, capsys)
        assert code == 0
        written = zoo.read_metadata(zoo_dir / "tiny-bair")
        block = written["metrics"]["stand_in_test"]
        assert sorted(block["modules"]) == ["1", "2"] and block["copy_last_frame"]["psnr"] > 0
        assert (block["samples"], block["videos"], block["context"], block["horizon"]) == (2, 3, 2, 3)
        compute = block["end_to_end"]["compute"]
        seconds = written["training"]["seconds"]
        assert [seconds[p]["steps"] for p in ("stage_1", "stage_2")] == [2, 2]
        assert seconds["end_to_end"]["steps"] == compute["end_to_end_steps"] >= 1
        assert compute["greedy"] == pytest.approx(seconds["stage_1"]["cpu"] + seconds["stage_2"]["cpu"], abs=0.1)
        assert written["training"]["command"] == (  # every option of the plan, defaults too
            "python tools/train_zoo.py tiny-bair --steps-per-stage 2 --batch-size 2 --checkpoint-every 1 "
            "--seed 0 --videos 3 --samples 2 --fvd-samples 1 --no-fvd --lr-schedule constant "
            "--train-future 3")
        assert (written["training"]["status"], written["training"]["stages_trained"]) == ("complete", 2)
        assert json.loads(line)["metrics"] == block
        assert (workdir / "prediction.gif").is_file()
        card = (zoo_dir / "tiny-bair" / zoo.CARD_FILE).read_text()
        assert "Greedy training ran 2 steps per module at batch 2 of 5-frame clips" in card
        assert f"The end-to-end baseline ran {compute['end_to_end_steps']} steps in the same compute" in card
        trained = zoo.from_pretrained(str(zoo_dir / "tiny-bair"))  # hashes checked
        assert trained.count_params() == model.count_params()

        with pytest.raises(SystemExit, match="pass --resume"):
            load_tool("train_zoo").main(argv)
        code, _ = run_tool("train_zoo", argv + ["--resume"], capsys)  # nothing left: rewrites the preset
        assert code == 0
        again = zoo.read_metadata(zoo_dir / "tiny-bair")
        assert again["metrics"] == written["metrics"] and again["training"]["seconds"] == seconds
        assert again["files"]["model.weights.h5"] == written["files"]["model.weights.h5"]
        with pytest.raises(SystemExit, match="was started with"):
            load_tool("train_zoo").main(argv + ["--resume", "--samples", "3"])


@pytest.mark.slow  # two greedy stages, the baseline and an evaluation, at 16x16
def test_train_zoo_commits_each_stage_and_continues_from_the_preset_folder(tmp_path, capsys, monkeypatch):
    """A run stopped after stage 1 leaves a loadable, unpublishable preset with
    stage 1 active; a run on a machine without the work folder (a fresh
    --workdir) continues at stage 2 with the architecture it was started with."""
    import tensorflow_datasets as tfds

    from ghvae_keras import training

    zoo_dir = tmp_path / "zoo"
    metadata = tiny_metadata(name="tiny-bair")
    metadata["data"]["stand_in"]["name"] = "bair"  # TFDS mock data stands in for the simulator
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3)
    zoo.save_preset(model, zoo_dir / "tiny-bair", metadata, include_weights=False)
    argv = ["tiny-bair", "--zoo", str(zoo_dir), "--steps-per-stage", "2", "--checkpoint-every", "1",
            "--batch-size", "2", "--videos", "3", "--samples", "2", "--no-fvd", "--lr-schedule", "cosine",
            "--set", "skip_from=previous", "--set", "beta=0.001"]
    fit_greedy = training.fit_greedy

    def stop_at_stage_2(model, data, **kwargs):
        if kwargs["stages"] == [2]:
            raise KeyboardInterrupt("the session ended")
        return fit_greedy(model, data, **kwargs)

    with tfds.testing.mock_data(num_examples=4):
        monkeypatch.setattr(training, "fit_greedy", stop_at_stage_2)
        with pytest.raises(KeyboardInterrupt):
            load_tool("train_zoo").main(argv + ["--workdir", str(tmp_path / "first")])
        partial = zoo.read_metadata(zoo_dir / "tiny-bair")
        assert (partial["training"]["status"], partial["training"]["stages_trained"]) == ("in progress", 1)
        assert partial["metrics"] == {} and "planning" not in partial
        assert "Training in progress" in (zoo_dir / "tiny-bair" / zoo.CARD_FILE).read_text()
        assert any("in progress" in problem for problem in zoo.validate_card(zoo_dir / "tiny-bair"))
        loaded = zoo.from_pretrained(str(zoo_dir / "tiny-bair"))  # hashes checked
        assert (loaded.active_modules, loaded.skip_from, loaded.beta) == (1, "previous", 0.001)
        stage_1 = loaded.ghvae_modules[0].get_weights()

        with pytest.raises(SystemExit, match="records a run in progress"):
            load_tool("train_zoo").main(argv[:-2] + ["--workdir", str(tmp_path / "other")])
        monkeypatch.setattr(training, "fit_greedy", fit_greedy)
        capsys.readouterr()
        assert load_tool("train_zoo").main(argv + ["--workdir", str(tmp_path / "fresh")]) == 0
        assert "resuming from" in capsys.readouterr().out
    done = zoo.read_metadata(zoo_dir / "tiny-bair")
    assert (done["training"]["status"], done["training"]["stages_trained"]) == ("complete", 2)
    assert done["training"]["seconds"]["stage_1"] == partial["training"]["seconds"]["stage_1"]
    assert "stage_2" in done["training"]["seconds"] and done["metrics"]["stand_in_test"]["modules"]
    final = zoo.from_pretrained(str(zoo_dir / "tiny-bair"))
    assert final.active_modules == 2
    # Module 1 is frozen in stage 2: its weights are those committed after stage 1.
    assert all(np.array_equal(a, b) for a, b in zip(final.ghvae_modules[0].get_weights(), stage_1))


# -- the shipped zoo -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(zoo.list_models()))
def test_shipped_preset_loads_verified_and_predicts_its_sample(name):
    metadata = zoo.list_models()[name]
    if not metadata["has_weights"]:
        pytest.skip(f"{name} ships no weights")
    model = ghvae_keras.from_pretrained(name)  # every file's sha256 checked
    clip = ghvae_keras.load_sample(name)
    context = clip["frames"][:, :model.context_length]
    actions = clip.get("actions")
    video = model.predict_video(context, None if actions is None else actions[:, :model.context_length + 1],
                                horizon=2, num_samples=2, seed=0)
    assert video.shape == (1, 2, 2, 64, 64, 3) and np.isfinite(video).all()
    training = metadata["training"]
    if training.get("status") == "in progress":  # committed stage by stage: no metrics yet
        assert model.active_modules == training["stages_trained"] < model.num_modules
        assert metadata["metrics"] == {}
        return
    block = metadata["metrics"]["stand_in_test"]
    assert sorted(block["modules"], key=int) == [str(k) for k in range(1, model.num_modules + 1)]
    assert block["samples"] >= 10 and block["dataset"] == metadata["data"]["stand_in"]["name"]
    assert {"psnr", "ssim", "fvd", "compute"} <= set(block["end_to_end"]) and block["copy_last_frame"]["fvd"]
    assert metadata["training"]["command"].startswith(f"python tools/train_zoo.py {name} ")
