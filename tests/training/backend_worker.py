"""Trains a tiny GHVAE greedily from shards on the backend that
KERAS_BACKEND names, in its own process. Prints one JSON line.

    python tests/training/backend_worker.py SHARDS CHECKPOINT_DIR STEPS_PER_STAGE [PHASE:STEP]

With PHASE:STEP the process ends abruptly (`os._exit`) right after the
checkpoint of that step is written, as a killed run would.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ["KERAS_BACKEND"] != "tensorflow":
    sys.modules["tensorflow"] = None  # as on a machine without it: any import fails

import keras  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))  # tests/: tiny_data
from tiny_data import TINY  # noqa: E402

from ghvae_keras import GHVAE  # noqa: E402
from ghvae_keras.shards import WindowShards  # noqa: E402
from ghvae_keras.training import fit_greedy  # noqa: E402


class _DieAfter(keras.callbacks.Callback):
    """Ends the process after the checkpoint of `phase` step `step`."""

    def __init__(self, phase, step):
        super().__init__()
        self.phase, self.step = phase, step

    def on_epoch_end(self, epoch, logs=None):
        phase = f"stage_{self.model.active_modules}"
        if phase == self.phase and epoch + 1 == self.step:
            os._exit(3)  # after the checkpoint callback, which runs first


def main():
    shards, checkpoint_dir, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    callbacks = []
    if len(sys.argv) > 4:
        phase, step = sys.argv[4].split(":")
        callbacks.append(_DieAfter(phase, int(step)))
    model = GHVAE(**TINY, action_dim=3, seed=7)
    result = fit_greedy(
        model, WindowShards(shards).batches(4, seed=0), steps_per_stage=steps,
        checkpoint_dir=checkpoint_dir, checkpoint_every=1, callbacks=callbacks, verbose=0,
    )
    print(json.dumps({
        "backend": keras.backend.backend(),
        "resumed_from": result.resumed_from,
        "steps_run": {phase: len(h["loss"]) for phase, h in result.history.items()},
    }))


if __name__ == "__main__":
    main()
