"""Checkpoint files of a training run, written so that a crash at any
moment leaves a complete checkpoint to resume from.

    checkpoint.json                 pointer to the latest good checkpoint
    ckpt-<phase>-<step>.weights.h5  weights and optimizer state
    <phase>.weights.h5              the weights at the end of each phase
    config.json                     the model config

where a phase is `stage_1` .. `stage_K` or `end_to_end`.
"""

import json
import os
import tempfile

from ghvae_keras.atomic_files import atomic_path, copy_file, remove_unfinished, write_json

POINTER = "checkpoint.json"


def latest_checkpoint(checkpoint_dir):
    """The pointer of the latest checkpoint in a folder that `fit_greedy` or
    `fit_end_to_end` wrote (`phase`, `step`, `complete`, `path`, `config`),
    or None."""
    path = os.path.join(checkpoint_dir, POINTER)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def export_latest(checkpoint_dir, destination):
    """Copies the latest checkpoint file of `checkpoint_dir` to `destination`
    (atomically) and returns its pointer, or None when there is none: with
    `import_checkpoint`, a run carried to another machine resumes there."""
    pointer = latest_checkpoint(checkpoint_dir)
    if pointer is not None:
        copy_file(os.path.join(checkpoint_dir, pointer["path"]), destination)
    return pointer


def import_checkpoint(checkpoint_dir, source, pointer):
    """Makes the checkpoint file `source` with its `pointer` (both from
    `export_latest`) the latest of `checkpoint_dir`."""
    os.makedirs(checkpoint_dir, exist_ok=True)
    copy_file(source, os.path.join(checkpoint_dir, pointer["path"]))
    write_json(os.path.join(checkpoint_dir, POINTER), pointer, indent=1)


class CheckpointManager:
    """Atomic checkpoints: model weights with the optimizer state, one file each.

    A checkpoint is written under a temporary name and renamed into place;
    only then is the pointer file replaced (also by rename). A crash at any
    moment leaves the pointer on a complete checkpoint.

    Args:
        directory: the checkpoint folder. In a multi-worker run it must be on a
            filesystem that every worker sees: all of them resume from it.
        write: whether this process writes (the chief); the others save to a
            scratch folder, because saving may run collectives all must join.
    """

    def __init__(self, directory, write=True):
        self.directory = directory
        self.write = write
        if write:
            os.makedirs(directory, exist_ok=True)
            remove_unfinished(directory)  # debris of an interrupted save

    def latest(self):
        """The pointer's content (`phase`, `step`, `complete`, `path`, `config`) or None."""
        return latest_checkpoint(self.directory)

    def save(self, model, phase, step, complete, config):
        if not self.write:
            with tempfile.TemporaryDirectory() as scratch:
                model.save_weights(os.path.join(scratch, "model.weights.h5"))
            return
        name = f"ckpt-{phase}-{step:08d}.weights.h5"
        final = os.path.join(self.directory, name)
        with atomic_path(final) as tmp:
            model.save_weights(tmp)  # with the optimizer's state, when compiled
        if complete:
            copy_file(final, os.path.join(self.directory, f"{phase}.weights.h5"))
        write_json(
            os.path.join(self.directory, POINTER),
            {"phase": phase, "step": step, "complete": complete, "path": name, "config": config},
            indent=1,
        )
        # Every other checkpoint goes, not only the previous one: a process
        # killed between the pointer's update and this cleanup left its own.
        for other in os.listdir(self.directory):
            if other.startswith("ckpt-") and other.endswith(".weights.h5") and other != name:
                os.unlink(os.path.join(self.directory, other))

    def restore(self, model, checkpoint, optimizer=True):
        """Loads the checkpoint's weights; its optimizer state too when
        `optimizer` is true (the model must be compiled for the same phase)."""
        path = os.path.join(self.directory, checkpoint["path"])
        if not optimizer and getattr(model, "optimizer", None) is not None:
            model.load_weights(path, objects_to_skip=[model.optimizer])
        else:
            model.load_weights(path)

