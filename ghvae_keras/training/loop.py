"""Greedy (module-by-module) and end-to-end training of GHVAE, resumable,
on any Keras backend: on TensorFlow under any `tf.distribute` strategy, on
JAX under the `keras.distribution` in force (e.g. `DataParallel`).

Greedy stage k trains module k with modules 1..k-1 frozen; the end-to-end
baseline trains every module at once with a latent at every level. Both
write checkpoints (`checkpoints`) and resume from the last one, inside a
stage too; the checkpoint files are the same on every backend, so a run
started on one resumes on another.

Training data is a `tf.data.Dataset` (`data.load`) or, on any backend, an
iterable of numpy batches (`shards.WindowShards.batches`). Either way the
latent noise is added as inputs, a stateless function of (seed, batch
index).
"""

import contextlib
import dataclasses
import inspect
import itertools
import json
import math
import os

import keras
import numpy as np

from ghvae_keras.atomic_files import write_json
from ghvae_keras.errors import InputError, NonFiniteLossError, TrainingCollapsedError
from ghvae_keras.model import GHVAE
from ghvae_keras.training.checkpoints import CheckpointManager
from ghvae_keras.training.strategies import is_chief, multiworker_fit_workaround, on_strategy


@dataclasses.dataclass
class TrainingResult:
    """What `fit_greedy` and `fit_end_to_end` return.

    Attributes:
        model: the trained model (a rebuilt copy when the given model's
            variables were not created under the strategy).
        history: per phase, the Keras history of the run (metrics per
            checkpoint interval).
        resumed_from: `(phase, step)` of the checkpoint training resumed
            from, or `None`.
    """

    model: GHVAE
    history: dict
    resumed_from: tuple | None = None


def fit_greedy(
    model,
    train_data,
    validation_data=None,
    steps_per_stage=1000,
    *,
    strategy=None,
    checkpoint_dir=None,
    checkpoint_every=100,
    optimizer=None,
    stages=None,
    noise_seed=0,
    validation_steps=None,
    callbacks=None,
    verbose="auto",
):
    """Trains a GHVAE greedily: for k = 1..K, freeze modules < k, fit module k.

    Args:
        model: a `GHVAE`, under float32 or a mixed dtype policy
            (`GHVAE(..., dtype="mixed_bfloat16")`: bfloat16 computations,
            float32 weights and loss); a checkpoint resumes under either.
        train_data: batches of `{"frames": [B, T, H, W, 3], "actions":
            [B, T-1, A]}` with a fixed T: a `tf.data.Dataset` (TensorFlow
            backend; it is repeated) or an iterable of dicts of numpy arrays
            (any backend; iterated again when it ends).
        validation_data: an optional dataset of the same form.
        steps_per_stage: optimizer steps per stage (an int or one per stage).
        strategy: a `tf.distribute.Strategy` (default: the one the model
            was created under); TensorFlow backend only. On JAX, set a
            `keras.distribution` instead.
        checkpoint_dir: where checkpoints go; training resumes from it. For
            multi-worker training, a folder that every worker sees.
        checkpoint_every: steps between checkpoints; divides each stage's steps.
        optimizer: a callable returning a fresh Keras optimizer for each
            stage (default: Adam with learning rate 1e-3).
        stages: the stages to run, e.g. `[1, 2]` (default: all).
        noise_seed: seed of the latent noise made in the input pipeline.
        validation_steps: batches of `validation_data` per checkpoint interval.
        callbacks: Keras callbacks for every phase's `Model.fit`; an epoch
            is one checkpoint interval.
        verbose: passed to `Model.fit` (progress bar by default).

    Returns:
        A `TrainingResult`. Its model ends as constructed: every module active
        and trainable, and compiled afresh (so a further `fit` trains them all).

    Raises:
        NonFiniteLossError: a loss became NaN or infinite; the checkpoint
            directory still holds the last good checkpoint.
    """
    strategy, model = _placed(model, strategy)
    stages = list(stages or range(1, model.num_modules + 1))
    steps = stage_steps(steps_per_stage, len(stages))
    phases = [(f"stage_{k}", k, n) for k, n in zip(stages, steps)]
    return _run_phases(
        model, phases, train_data, validation_data, strategy, checkpoint_dir,
        checkpoint_every, optimizer, noise_seed, validation_steps, callbacks, verbose,
        latents="top",
    )


def fit_end_to_end(
    model,
    train_data,
    validation_data=None,
    steps=1000,
    *,
    strategy=None,
    checkpoint_dir=None,
    checkpoint_every=100,
    optimizer=None,
    noise_seed=0,
    validation_steps=None,
    callbacks=None,
    verbose="auto",
):
    """Trains the hierarchical-VAE baseline: every module at once, with a
    latent (core, prior, posterior, predictor) at every level.

    The model's `latents` becomes `"all"`. Arguments are those of
    `fit_greedy`, with `steps` in place of `steps_per_stage`.
    """
    strategy, model = _placed(model, strategy)
    phases = [("end_to_end", None, steps)]
    return _run_phases(
        model, phases, train_data, validation_data, strategy, checkpoint_dir,
        checkpoint_every, optimizer, noise_seed, validation_steps, callbacks, verbose,
        latents="all",
    )



def prepare_phase(model, stage, latents="top", strategy=None, optimizer=None):
    """Sets `model` up to train one phase and compiles it: greedy stage
    `stage` (modules 1..stage active, only module `stage` trainable), or
    with `stage=None` every module trainable (the end-to-end baseline with
    `latents="all"`).

    Args:
        optimizer: a callable returning a fresh Keras optimizer (default:
            Adam with learning rate 1e-3).
    """
    model.latents = latents
    if stage is None:
        model.active_modules = model.num_modules
        for module in model.ghvae_modules:
            module.trainable = True
    else:
        set_greedy_stage(model, stage)
    _compile(model, strategy if strategy is not None else _default_strategy(model), optimizer)


def _tensorflow():
    return keras.backend.backend() == "tensorflow"


def _default_strategy(model):
    return model.distribute_strategy if _tensorflow() else None


def _placed(model, strategy):
    """`(strategy, model)`: on TensorFlow the strategy (default: the model's)
    and the model with its variables under it; elsewhere `(None, model)`."""
    if not _tensorflow():
        if strategy is not None:
            raise InputError(
                f"a tf.distribute strategy needs the tensorflow backend, not {keras.backend.backend()}; "
                "set keras.distribution (e.g. keras.distribution.DataParallel()) instead")
        return None, model
    strategy = strategy or model.distribute_strategy
    return strategy, on_strategy(model, strategy)


def set_greedy_stage(model, stage):
    """Activates modules 1..stage and makes only module `stage` trainable.

    Recompile afterwards: Keras ignores a changed `trainable` until then.
    """
    model.active_modules = stage
    for index, module in enumerate(model.ghvae_modules):
        module.trainable = index == stage - 1


def add_noise(dataset, model, seed, start=0):
    """Adds the latent noise inputs of `model` to each batch of a `tf.data` `dataset`.

    The noise is a stateless function of `(seed, batch index)`, made before
    the dataset is split across replicas, so every replica gets different
    noise and a resumed run continues the sequence at `start`.
    """
    import tensorflow as tf  # the noise is made in the tf.data pipeline

    shapes = model.noise_shapes(_future_steps(tuple(dataset.element_spec["frames"].shape), model))

    def add(index, batch):
        batch = dict(batch)
        batch_size = tf.shape(batch["frames"])[:1]
        for offset, (name, shape) in enumerate(sorted(shapes.items())):
            batch[name] = tf.random.stateless_normal(
                tf.concat([batch_size, shape], 0),
                seed=tf.stack([tf.constant(seed + offset, tf.int64), index]),
            )
        return batch

    return dataset.enumerate(start=start).map(add, num_parallel_calls=tf.data.AUTOTUNE)



def with_noise(batches, model, seed, start=0):
    """Yields the numpy `batches` (dicts with `frames` `[B, T, H, W, 3]`)
    with the latent noise inputs of `model` added, for any backend.

    The noise of batch `i` is a stateless function of `(seed, start + i)`
    (a counter-based generator keyed by both), so a resumed run continues
    the sequence at `start`. It is not the same noise as `add_noise` draws
    for a `tf.data` pipeline: a run that changes pipelines on resuming
    continues with other, equally distributed noise.
    """
    shapes = None
    for index, batch in enumerate(batches, start=start):
        if shapes is None:
            shapes = model.noise_shapes(_future_steps(np.shape(batch["frames"]), model))
        batch = dict(batch)
        size = np.shape(batch["frames"])[0]
        for offset, (name, shape) in enumerate(sorted(shapes.items())):
            generator = np.random.Generator(np.random.Philox(key=[seed + offset, index]))
            batch[name] = generator.standard_normal((size, *shape), dtype=np.float32)
        yield batch


def _future_steps(frames_shape, model):
    steps = frames_shape[1] if len(frames_shape) > 1 else None
    if steps is None:
        raise ValueError(
            "training data must have a fixed sequence length T "
            f"(frames shape {frames_shape}); batch fixed-length windows"
        )
    if steps <= model.context_length:
        raise ValueError(
            f"training clips have {steps} frames; they need more than "
            f"context_length={model.context_length}"
        )
    return steps - model.context_length


def _as_inputs(batches):
    """Keras takes a generator's items as `(inputs,)` tuples."""
    return ((batch,) for batch in batches)


def _is_tf_dataset(data):
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec")


def _endless(batches):
    """An iterator over `batches` that starts it again when it ends (an
    iterator that cannot start again, such as a generator, ends with it)."""
    if iter(batches) is batches:
        return batches
    return itertools.chain.from_iterable(itertools.repeat(batches))


def _run_phases(
    model, phases, train_data, validation_data, strategy, checkpoint_dir,
    checkpoint_every, optimizer, noise_seed, validation_steps, callbacks, verbose, latents,
):
    if model.dtype_policy.variable_dtype != "float32":  # a mixed policy computes in 16 bits, keeps float32
        raise InputError(f"training needs float32 weights; {model.dtype_policy.name} keeps them in "
                         f"{model.dtype_policy.variable_dtype}: train under float32 or a mixed policy "
                         "such as mixed_bfloat16")
    intervals = [min(checkpoint_every, steps) for _, _, steps in phases]
    for (phase, _, steps), interval in zip(phases, intervals):
        if steps % interval:
            raise ValueError(
                f"{phase}: steps ({steps}) must be a multiple of checkpoint_every ({interval})"
            )
    config = _comparable_config(model, latents)
    manager = checkpoint = None
    if checkpoint_dir is not None:
        manager = CheckpointManager(checkpoint_dir, write=is_chief(strategy))
        checkpoint = manager.latest()
    start_index, start_step = _resume_point(checkpoint, phases, config, checkpoint_dir)
    if manager is not None and manager.write:
        write_json(os.path.join(checkpoint_dir, "config.json"),
                   {**model.get_config(), "latents": latents}, indent=1)
    resumed_from = (checkpoint["phase"], checkpoint["step"]) if checkpoint else None

    model.latents = latents
    history = {}
    for index, ((phase, stage, steps), interval) in enumerate(zip(phases, intervals)):
        if index < start_index:
            continue
        prepare_phase(model, stage, latents, strategy, optimizer)
        first_step = 0
        if index == start_index and checkpoint is not None:
            # Mid-phase: the phase's own optimizer state resumes too.
            manager.restore(model, checkpoint, optimizer=start_step > 0)
            first_step = start_step
        if verbose:
            trained = "all modules" if stage is None else f"module {stage} of {model.num_modules}"
            resumed = f", resuming at step {first_step}" if first_step else ""
            print(f"{phase}: training {trained} for {steps} steps{resumed}")
        history[phase] = _fit_phase(
            model, phase, steps, interval, first_step, train_data, validation_data,
            noise_seed + 1000 * (stage or 0), validation_steps, callbacks, verbose, manager, config,
        )
    if checkpoint is not None and start_index >= len(phases):
        manager.restore(model, checkpoint, optimizer=False)  # nothing was left to do
    # Back to the constructed state: every module active and trainable, and a
    # fresh compile, so that a later `fit` trains what `trainable` says.
    model.active_modules = model.num_modules
    for module in model.ghvae_modules:
        module.trainable = True
    _compile(model, strategy, optimizer)
    return TrainingResult(model, history, resumed_from)


def _compile(model, strategy, optimizer):
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model.compile(optimizer=optimizer() if optimizer else keras.optimizers.Adam(1e-3))
        model.optimizer.build(model.trainable_variables)


def _resume_point(checkpoint, phases, config, checkpoint_dir):
    """(phase index, step) to start from, given the latest checkpoint."""
    if checkpoint is None:
        return 0, 0
    names = [name for name, _, _ in phases]
    first_stage = phases[0][1]
    done = checkpoint["phase"].removeprefix("stage_")
    if checkpoint["phase"] in names:
        index = names.index(checkpoint["phase"])
        asked = phases[index][2]
        if checkpoint["complete"] and checkpoint["step"] < asked:
            raise ValueError(
                f"checkpoint in {checkpoint_dir} holds {checkpoint['phase']} finished after "
                f"{checkpoint['step']} steps, not the {asked} asked for; ask for {checkpoint['step']} "
                "or use another checkpoint_dir"
            )
        start = (index + 1, 0) if checkpoint["complete"] else (index, checkpoint["step"])
    elif (
        # Greedy stages may run one call at a time: a finished earlier stage
        # is where a later call starts.
        first_stage is not None and done.isdigit() and int(done) < first_stage
        and checkpoint["complete"]
    ):
        start = (0, 0)
    else:
        raise ValueError(
            f"checkpoint in {checkpoint_dir} is of phase {checkpoint['phase']!r}"
            f"{'' if checkpoint['complete'] else ' (unfinished)'}, which cannot lead to "
            f"{names}; finish it or use another checkpoint_dir"
        )
    recorded = {key: value for key, value in checkpoint["config"].items() if key != "dtype"}
    if _without_new_defaults(config, recorded) != recorded:
        raise ValueError(
            f"checkpoint in {checkpoint_dir} was written for another model "
            f"config:\n  checkpoint: {checkpoint['config']}\n  model:      {config}"
        )
    return start


def _fit_phase(
    model, phase, steps, interval, first_step, train_data, validation_data,
    seed, validation_steps, callbacks, verbose, manager, config,
):
    if _is_tf_dataset(train_data):
        train = add_noise(train_data.repeat(), model, seed, start=first_step)
    else:
        train = _as_inputs(with_noise(_endless(train_data), model, seed, start=first_step))
    validation = None
    if validation_data is not None:
        if _is_tf_dataset(validation_data):
            validation = add_noise(validation_data, model, seed + 500)
            if validation_steps is not None:
                validation = validation.repeat()
        else:
            validation = _as_inputs(with_noise(_endless(validation_data) if validation_steps is not None
                                               else validation_data, model, seed + 500))
    guard = _CheckpointEachInterval(manager, phase, interval, steps, config)
    with multiworker_fit_workaround(model):
        fit = model.fit(
            train,
            validation_data=validation,
            validation_steps=validation_steps,
            steps_per_epoch=interval,
            epochs=steps // interval,
            initial_epoch=first_step // interval,
            callbacks=[guard, *(callbacks or ())],
            shuffle=False,  # the dataset shuffles, not Keras
            verbose=verbose,
        )
    if guard.bad_loss is not None or guard.collapsed_at is not None:
        kept = manager.latest() if manager else None
        where = (
            f"the last good checkpoint ({kept['phase']} step {kept['step']}) is kept in "
            f"{manager.directory}"
            if kept else "no checkpoint was written"
        )
        if guard.bad_loss is not None:
            raise NonFiniteLossError(
                f"{phase}: loss became {guard.bad_loss} at step {guard.bad_step}; "
                f"training stopped and {where}"
            )
        raise TrainingCollapsedError(
            f"{phase}: from step {guard.collapsed_at - interval + 1} to {guard.collapsed_at}, "
            f"{guard.copied:.0%} of the training clips were predicted as their last context frame, "
            "pixel for pixel (the pixel decoder's blend saturated on it, so no gradient reaches the "
            f"model); training stopped and {where}. Resume from it, or start again from another seed "
            "or with a lower learning rate"
        )
    return fit.history


class _CheckpointEachInterval(keras.callbacks.Callback):
    """Saves a checkpoint at the end of each interval; stops on a bad loss
    and on an interval in which any training clip was predicted as its last
    context frame pixel for pixel (`copied`: a run that cannot learn any
    more), without saving that interval's weights."""

    def __init__(self, manager, phase, interval, steps, config):
        super().__init__()
        self.manager = manager
        self.phase = phase
        self.interval = interval
        self.steps = steps
        self.config = config
        self.epoch = 0
        self.bad_loss = None
        self.bad_step = None
        self.collapsed_at = None
        self.copied = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss) and self.bad_loss is None:
            self.bad_loss = loss
            self.bad_step = self.epoch * self.interval + batch + 1
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.interval
        logs = logs or {}
        # A collapse is for good, so the interval's weights are not saved if
        # any of its clips copied: the checkpoint kept is from before it.
        if self.bad_loss is None and logs.get("copied", 0.0) > 0.0:
            self.collapsed_at = step
            self.copied = logs["copied"]
            self.model.stop_training = True
        if self.bad_loss is not None or self.collapsed_at is not None or self.manager is None:
            return
        self.manager.save(self.model, self.phase, step, step >= self.steps, self.config)




def _comparable_config(model, latents):
    config = dict(model.get_config())
    # What changes the weights' meaning; the seed only set their initial
    # values, and the dtype policy is how they are computed with.
    for key in ("name", "trainable", "active_modules", "latents", "seed", "dtype"):
        config.pop(key, None)
    config["latents"] = latents
    return json.loads(json.dumps(config))


def _without_new_defaults(config, recorded):
    """`config` less the GHVAE options that `recorded` (a checkpoint's) lacks
    and that are at their defaults: options added since the checkpoint was
    written, which leave the model it describes unchanged."""
    defaults = {name: parameter.default
                for name, parameter in inspect.signature(GHVAE.__init__).parameters.items()}
    new = {key for key in config.keys() - recorded.keys()
           if key in defaults and json.loads(json.dumps(defaults[key])) == config[key]}
    return {key: value for key, value in config.items() if key not in new}


def stage_steps(steps_per_stage, num_stages):
    """One step count per stage, from one count for all or a list of them."""
    values = [steps_per_stage] * num_stages if isinstance(steps_per_stage, int) else list(steps_per_stage)
    if len(values) != num_stages or any(v <= 0 for v in values):
        raise ValueError(f"steps_per_stage must be a positive int or {num_stages} positive ints, "
                         f"got {steps_per_stage!r}")
    return values

