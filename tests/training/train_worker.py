"""Trains a tiny GHVAE greedily in its own process (for the kill/resume and
multi-worker tests). Prints one JSON line with the result.

    python tests/training/train_worker.py CHECKPOINT_DIR STEPS_PER_STAGE [WEIGHTS_OUT]

With TF_CONFIG set it trains under MultiWorkerMirroredStrategy.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))  # tests/: tiny_data
from tiny_data import TINY, make_dataset  # noqa: E402

from ghvae_keras import GHVAE  # noqa: E402
from ghvae_keras.training import fit_greedy  # noqa: E402


def main():
    checkpoint_dir, steps = sys.argv[1], int(sys.argv[2])
    weights_out = sys.argv[3] if len(sys.argv) > 3 else None
    multiworker = "TF_CONFIG" in os.environ
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if multiworker else None
    scope = strategy.scope() if strategy else tf.distribute.get_strategy().scope()
    with scope:
        model = GHVAE(**TINY, action_dim=3, seed=7)
    dataset = make_dataset(batch=4, batches=4)
    if weights_out:
        model.save_weights(weights_out.replace(".weights.h5", ".initial.weights.h5"))
    if multiworker:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        dataset = dataset.with_options(options)
    result = fit_greedy(
        model,
        dataset,
        steps_per_stage=steps,
        strategy=strategy,  # default: Adam
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=1,
        stages=[1] if multiworker else None,
        verbose=0,
    )
    if weights_out:
        result.model.save_weights(weights_out)
    print(json.dumps({
        "resumed_from": result.resumed_from,
        "steps_run": {phase: len(h["loss"]) for phase, h in result.history.items()},
    }))


if __name__ == "__main__":
    main()
