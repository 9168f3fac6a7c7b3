"""Training GHVAE: greedy and end-to-end (`loop`), resumable from checkpoint
files (`checkpoints`), on any Keras backend; on TensorFlow on the devices a
`tf.distribute` strategy names (`strategies`), on JAX on those of the
`keras.distribution` in force."""

from ghvae_keras.errors import NonFiniteLossError, TrainingCollapsedError
from ghvae_keras.training.checkpoints import (
    POINTER,
    CheckpointManager,
    export_latest,
    import_checkpoint,
    latest_checkpoint,
)
from ghvae_keras.training.loop import (
    TrainingResult,
    add_noise,
    fit_end_to_end,
    fit_greedy,
    prepare_phase,
    set_greedy_stage,
    stage_steps,
    with_noise,
)
from ghvae_keras.training.strategies import (
    STRATEGIES,
    configure_threads,
    describe_processor,
    list_devices,
    make_strategy,
)

__all__ = [
    "POINTER",
    "STRATEGIES",
    "CheckpointManager",
    "NonFiniteLossError",
    "TrainingCollapsedError",
    "TrainingResult",
    "add_noise",
    "configure_threads",
    "describe_processor",
    "export_latest",
    "fit_end_to_end",
    "fit_greedy",
    "import_checkpoint",
    "latest_checkpoint",
    "list_devices",
    "make_strategy",
    "prepare_phase",
    "set_greedy_stage",
    "stage_steps",
    "with_noise",
]
