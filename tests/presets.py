"""Helpers for tests of presets and the tools that write them: a tiny
preset's metadata, the offline Hub cache layout, running a tools/ script."""

import importlib.util
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ghvae_keras import zoo
from ghvae_keras.atomic_files import sha256
from ghvae_keras.zoo import registry

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
        blob = repo / "blobs" / sha256(path)
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
    monkeypatch.setattr(registry, "ZOO_DIRS", (zoo_dir,))
    return local


def assert_same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)

