"""Files that appear complete or not at all (written beside their place,
flushed to disk, then renamed into it), and their sha256. The package's
one way to write a file that others read."""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path


def sha256(path):
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path, folder=False):
    """Yields a temporary path beside `path` to write to.

    When the block ends without an error, the temporary file (or, with
    `folder`, the temporary folder) replaces `path`; otherwise it is removed
    and `path` is left as it was. The temporary name keeps `path`'s suffixes,
    so writers that go by them (`.gif`, `.npy`, `.weights.h5`) see the same.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}."
    if folder:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
    else:
        handle, name = tempfile.mkstemp(prefix=prefix, suffix="".join(path.suffixes), dir=path.parent)
        os.close(handle)
        tmp = Path(name)
    try:
        yield tmp
        if folder:
            for written in tmp.rglob("*"):
                if written.is_file():
                    _fsync(written)
            _replace_folder(tmp, path)
        else:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0o600 would keep the file private
            _fsync(tmp)
            os.replace(tmp, path)
        _fsync(path.parent)  # the rename itself survives a crash
    except BaseException:
        if folder:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise


def remove_unfinished(folder):
    """Removes what an interrupted `atomic_path` left in `folder` (its
    temporaries are the entries whose names start with a dot)."""
    for entry in Path(folder).iterdir():
        if entry.name.startswith("."):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def copy_file(source, destination):
    """Copies a file atomically."""
    with atomic_path(destination) as tmp:
        shutil.copyfile(source, tmp)


def write_json(path, data, indent=2):
    """Writes `data` as UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def _replace_folder(new, target):
    if not target.exists():
        os.replace(new, target)
        return
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old)


def _fsync(path):
    """Flushes a file, or a folder's entries, to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
