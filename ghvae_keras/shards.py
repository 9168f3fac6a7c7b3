"""Training windows in compressed shards: data for any Keras backend, read
without TensorFlow.

    ghvae data export sim_push --out shards/sim_push      # where TensorFlow is
    batches = WindowShards("shards/sim_push").batches(8, seed=0)   # anywhere

A shard folder holds

    manifest.json          what the shards hold: the dataset, split, window
                           length, image size and action size, and per shard
                           its file, window count, size and sha256
    windows-00000.npz ...  `frames` uint8 [N, T, S, S, 3] and, for data with
                           actions, `actions` float32 [N, T-1, A]

Shards are plain `.npz` archives, read with `allow_pickle=False`: loading
one never unpickles. Each is checked against its sha256 before use.
This module imports numpy only; `export_windows` imports TensorFlow when
it runs.
"""

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ghvae_keras.atomic_files import atomic_path, remove_unfinished, sha256, write_json
from ghvae_keras.errors import DataError, InputError

MANIFEST_FILE = "manifest.json"
FORMAT = "ghvae-windows"
FORMAT_VERSION = 1
# Uncompressed bytes per shard: compression only shrinks a shard (and the
# archive's own overhead is a few hundred bytes), so no file exceeds this.
MAX_SHARD_BYTES = 60_000_000


def export_windows(name, split, out, sequence_length, *, passes=1, image_size=64, seed=0,
                   data_dir=None, max_shard_bytes=MAX_SHARD_BYTES, progress=None):
    """Writes training windows of a dataset to a shard folder.

    The windows are those `data.load` trains on: each pass over the split
    gives every episode one window from a random start (new starts each
    pass), windows with non-finite actions are skipped, frames resized to
    `image_size`. With `passes=2` each episode gives two windows, and so on.

    Args:
        name, split, sequence_length, image_size, data_dir: as for `data.load`.
        out: the shard folder; it must not hold shards already.
        passes: windows per episode.
        seed: the windows' starts and order.
        max_shard_bytes: a shard's uncompressed size at most.
        progress: called with the windows written so far, after each shard.

    Returns:
        The manifest (a dict), also written to `out/manifest.json`.

    Raises:
        InputError: `out` already holds shards, or bad sizes.
        DataError: and the other errors of `data.load`.
    """
    from ghvae_keras import data  # TensorFlow: only the export needs it

    if passes < 1:
        raise InputError(f"passes must be >= 1, got {passes}")
    _check_empty(out)
    windows = data.load(name, split, sequence_length, 1, seed=seed, image_size=image_size,
                        data_dir=data_dir)
    # Each pass over `windows` draws new window starts.
    batches = (batch for _ in range(passes) for batch in data.iterate(windows))
    return write_shards(out, batches, dataset=name, split=split, max_shard_bytes=max_shard_bytes,
                        progress=progress, passes=passes, seed=seed)


def write_shards(out, batches, *, dataset, split, max_shard_bytes=MAX_SHARD_BYTES, progress=None,
                 **details):
    """Writes batches of windows (`{"frames": [B, T, S, S, 3]` float in [0, 1]
    or uint8, `"actions": [B, T-1, A]}` as numpy arrays, all of one shape)
    to a shard folder, and its manifest last: a folder without one is
    unfinished. `dataset`, `split` and `details` are recorded in the
    manifest. Returns the manifest."""
    _check_empty(out)
    writer = _ShardWriter(Path(out), max_shard_bytes, progress)
    for batch in batches:
        writer.add(batch)
    shards = writer.close()
    if not shards:
        raise DataError(f"{dataset} gave no windows to write from split {split!r}")
    manifest = {
        "format": FORMAT, "version": FORMAT_VERSION, "dataset": dataset, "split": split,
        "sequence_length": writer.shape[0], "image_size": writer.shape[1],
        "action_dim": writer.action_dim, **details,
        "windows": sum(shard["windows"] for shard in shards), "shards": shards,
    }
    write_json(Path(out) / MANIFEST_FILE, manifest, indent=1)
    return manifest


def _check_empty(out):
    out = Path(out)
    if (out / MANIFEST_FILE).exists():
        raise InputError(f"{out} already holds shards ({MANIFEST_FILE}); choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    remove_unfinished(out)


class _ShardWriter:
    """Collects windows and writes a shard whenever the next would not fit."""

    def __init__(self, folder, max_bytes, progress):
        self.folder, self.max_bytes, self.progress = folder, max_bytes, progress
        self.shape = self.action_dim = None  # (T, S) and A of the first batch
        self.frames, self.actions, self.shards = [], [], []

    def add(self, batch):
        frames = np.asarray(batch["frames"])
        if frames.dtype != np.uint8:
            frames = np.round(np.clip(frames, 0, 1) * 255).astype(np.uint8)
        if frames.ndim != 5 or frames.shape[-1] != 3 or frames.shape[2] != frames.shape[3]:
            raise InputError(f"frames must be [B, T, S, S, 3], got {list(frames.shape)}")
        shape = (frames.shape[1], frames.shape[2])
        action_dim = np.shape(batch["actions"])[-1] if "actions" in batch else None
        if self.shape is None:
            self.shape, self.action_dim = shape, action_dim
        elif (shape, action_dim) != (self.shape, self.action_dim):
            raise InputError(f"windows of {shape} frames and {action_dim}-d actions after "
                             f"{self.shape} and {self.action_dim}-d: a shard folder holds one shape")
        window_bytes = frames[0].nbytes + (4 * (shape[0] - 1) * action_dim if action_dim else 0)
        if (self._count() + len(frames)) * window_bytes > self.max_bytes:
            self._flush()
        self.frames.append(frames)
        if action_dim:
            self.actions.append(np.asarray(batch["actions"], np.float32))

    def close(self):
        self._flush()
        return self.shards

    def _count(self):
        return sum(len(f) for f in self.frames)

    def _flush(self):
        if not self.frames:
            return
        arrays = {"frames": np.concatenate(self.frames)}
        if self.actions:
            arrays["actions"] = np.concatenate(self.actions)
        path = self.folder / f"windows-{len(self.shards):05d}.npz"
        with atomic_path(path) as tmp:
            np.savez_compressed(tmp, **arrays)
        self.shards.append({"file": path.name, "windows": len(arrays["frames"]), "bytes": path.stat().st_size,
                            "sha256": sha256(path)})
        self.frames, self.actions = [], []
        if self.progress:
            self.progress(sum(shard["windows"] for shard in self.shards))


class WindowShards:
    """A shard folder written by `export_windows`, as batches for `Model.fit`
    on any backend (or for `training.fit_greedy`, which adds the noise).

    Args:
        folder: the shard folder.

    Raises:
        DataError: no manifest, a manifest of another format, or a shard
            file missing.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        path = self.folder / MANIFEST_FILE
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise DataError(f"{self.folder} holds no shards: {MANIFEST_FILE} is missing "
                            "(write them with `ghvae data export`)") from None
        except json.JSONDecodeError as error:
            raise DataError(f"{path} is not valid JSON: {error}") from None
        if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
            raise DataError(f"{path} is not a {FORMAT} manifest of version {FORMAT_VERSION}")
        missing = [shard["file"] for shard in manifest["shards"]
                   if not (self.folder / shard["file"]).is_file()]
        if missing:
            raise DataError(f"{self.folder} lacks {len(missing)} of its shards: {', '.join(missing[:3])}")
        self.manifest = manifest
        self.sequence_length = manifest["sequence_length"]
        self.image_size = manifest["image_size"]
        self.action_dim = manifest["action_dim"]
        self._verified = set()

    def __len__(self):
        """The number of windows."""
        return self.manifest["windows"]

    def __repr__(self):
        return (f"WindowShards({str(self.folder)!r}: {len(self)} windows of {self.sequence_length} "
                f"frames from {self.manifest['dataset']} {self.manifest['split']})")

    def load_shard(self, index):
        """`{"frames": uint8 [N, T, S, S, 3], "actions": float32 [N, T-1, A]}`
        of shard `index`, its sha256 checked on first use.

        Raises:
            DataError: the file does not match the manifest (truncated,
                damaged, or replaced).
        """
        shard = self.manifest["shards"][index]
        path = self.folder / shard["file"]
        if index not in self._verified:
            digest = sha256(path)
            if digest != shard["sha256"]:
                raise DataError(
                    f"{path} does not match its manifest (sha256 {digest[:12]}…, expected "
                    f"{shard['sha256'][:12]}…; {path.stat().st_size} bytes, expected {shard['bytes']}): "
                    "the file is truncated or damaged; copy or export it again")
            self._verified.add(index)
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
            raise DataError(f"{path} cannot be read: {error}") from None
        expected = (shard["windows"], self.sequence_length, self.image_size, self.image_size, 3)
        if arrays.get("frames") is None or arrays["frames"].shape != expected \
                or arrays["frames"].dtype != np.uint8:
            raise DataError(f"{path}: frames are not uint8 {list(expected)}")
        if self.action_dim is not None:
            actions = arrays.get("actions")
            wanted = (shard["windows"], self.sequence_length - 1, self.action_dim)
            if actions is None or actions.shape != wanted:
                raise DataError(f"{path}: actions are not float32 {list(wanted)}")
        return arrays

    def batches(self, batch_size, *, seed=None, shuffle=True, repeat=True, shards_in_memory=4):
        """Yields `{"frames": float32 [B, T, S, S, 3] in [0, 1], "actions":
        float32 [B, T-1, A]}` as numpy arrays.

        Training (`shuffle=True`): each pass visits the shards in a new
        order, `shards_in_memory` at a time, and mixes their windows; every
        batch is full. The order is a function of `seed` and the pass, so
        two runs with one seed see the same batches. Evaluation
        (`shuffle=False`): the windows in stored order, the last batch
        possibly smaller. `repeat` passes over the data without end.
        """
        if batch_size < 1 or shards_in_memory < 1:
            raise InputError(f"batch_size and shards_in_memory must be >= 1, got "
                             f"{batch_size} and {shards_in_memory}")
        if shuffle and batch_size > len(self):
            raise InputError(f"batch_size {batch_size} exceeds the {len(self)} windows of {self.folder}")
        entropy = np.random.SeedSequence(seed).entropy if seed is None else seed
        count = len(self.manifest["shards"])
        epoch = 0
        while True:
            rng = np.random.default_rng([entropy, epoch])
            order = rng.permutation(count) if shuffle else np.arange(count)
            carry = None
            for start in range(0, len(order), shards_in_memory):
                group = [self.load_shard(i) for i in order[start:start + shards_in_memory]]
                if carry is not None:
                    group.insert(0, carry)
                pool = {key: np.concatenate([g[key] for g in group]) for key in group[0]}
                if shuffle:
                    permutation = rng.permutation(len(pool["frames"]))
                    pool = {key: value[permutation] for key, value in pool.items()}
                full = len(pool["frames"]) // batch_size * batch_size
                for begin in range(0, full, batch_size):
                    yield _to_float({key: value[begin:begin + batch_size] for key, value in pool.items()})
                carry = {key: value[full:] for key, value in pool.items()}
            if not shuffle and len(carry["frames"]):
                yield _to_float(carry)  # evaluation leaves no window out
            epoch += 1
            if not repeat:
                return


def _to_float(batch):
    return {**batch, "frames": batch["frames"].astype(np.float32) / 255.0}


def is_shard_folder(path):
    """Whether `path` is a folder with a shard manifest (a `data.load` name is not)."""
    return os.path.isfile(os.path.join(os.fspath(path), MANIFEST_FILE))
