import hashlib
import os
import stat

import pytest

from ghvae_keras import atomic_files


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path):
    target = tmp_path / "out.gif"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_files.atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.name.endswith(".gif")
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.gif"]


def test_a_written_file_replaces_the_target_with_the_usual_permissions(tmp_path):
    target = tmp_path / "sub" / "model.weights.h5"
    with atomic_files.atomic_path(target) as tmp:
        assert tmp.name.endswith(".weights.h5")
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_a_folder_replaces_the_old_folder_whole(tmp_path):
    target = tmp_path / "preset"
    target.mkdir()
    (target / "stale.txt").write_text("stale")
    with atomic_files.atomic_path(target, folder=True) as tmp:
        (tmp / "config.json").write_text("{}")
    assert [p.name for p in target.iterdir()] == ["config.json"]
    with pytest.raises(ValueError):
        with atomic_files.atomic_path(target, folder=True) as tmp:
            (tmp / "other.json").write_text("{}")
            raise ValueError
    assert [p.name for p in target.iterdir()] == ["config.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["preset"]


def test_sha256_and_json(tmp_path):
    path = tmp_path / "data.json"
    atomic_files.write_json(path, {"name": "bair-4mod", "psnr": 24.7})
    assert path.read_text() == '{\n  "name": "bair-4mod",\n  "psnr": 24.7\n}\n'
    assert atomic_files.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
