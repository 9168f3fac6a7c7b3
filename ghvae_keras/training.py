"""Greedy (module-by-module) and end-to-end training of GHVAE, resumable,
under any `tf.distribute` strategy.

Greedy stage k trains module k with modules 1..k-1 frozen; the end-to-end
baseline trains every module at once with a latent at every level. Both write
atomic checkpoints and resume from the last one, inside a stage too.

Checkpoint directory layout::

    checkpoint.json               pointer to the latest good checkpoint
    ckpt-<phase>-<step>.weights.h5  weights and optimizer state
    <phase>.weights.h5            the weights at the end of each phase
    config.json                   the model config

where a phase is `stage_1` .. `stage_K` or `end_to_end`.
"""

import contextlib
import dataclasses
import json
import math
import os
import shutil
import tempfile
import warnings

import keras
import tensorflow as tf

from ghvae_keras.model import GHVAE

POINTER = "checkpoint.json"
_TMP_SUFFIX = ".partial.weights.h5"  # Keras insists on the .weights.h5 ending


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


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
        model: a `GHVAE`.
        train_data: a `tf.data.Dataset` of `{"frames": [B, T, H, W, 3],
            "actions": [B, T-1, A]}` with a fixed T (it is repeated).
        validation_data: an optional dataset of the same form.
        steps_per_stage: optimizer steps per stage (an int or one per stage).
        strategy: a `tf.distribute.Strategy` (default: the one the model
            was created under).
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
    strategy = strategy or model.distribute_strategy
    model = _under_strategy(model, strategy)
    stages = list(stages or range(1, model.num_modules + 1))
    steps = _per_phase(steps_per_stage, len(stages), "steps_per_stage")
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
    strategy = strategy or model.distribute_strategy
    model = _under_strategy(model, strategy)
    phases = [("end_to_end", None, steps)]
    return _run_phases(
        model, phases, train_data, validation_data, strategy, checkpoint_dir,
        checkpoint_every, optimizer, noise_seed, validation_steps, callbacks, verbose,
        latents="all",
    )


def configure_threads(intra_op=None, inter_op=None):
    """Sizes TensorFlow's thread pools; call it before TensorFlow runs an op.

    Args:
        intra_op: threads that one op (a convolution) splits over; default
            `TF_NUM_INTRAOP_THREADS` if set, else every core.
        inter_op: ops run side by side; default `TF_NUM_INTEROP_THREADS` if
            set, else 2 (a training step is a chain of large ops; more only
            makes them compete for the cores).

    Returns:
        `{"intra_op": n, "inter_op": m}`, the numbers in force, for the record.
        Once TensorFlow has started they can no longer change: then a warning
        says so and the numbers returned are those in force.
    """
    cores = os.cpu_count() or 1
    intra_op = intra_op or int(os.environ.get("TF_NUM_INTRAOP_THREADS") or 0) or cores
    inter_op = inter_op or int(os.environ.get("TF_NUM_INTEROP_THREADS") or 0) or 2
    threading = tf.config.threading
    try:
        threading.set_intra_op_parallelism_threads(intra_op)
        threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:  # TensorFlow has started: its pools are fixed
        # 0 stands for TensorFlow's own choice, one thread per core.
        in_force = {"intra_op": threading.get_intra_op_parallelism_threads() or cores,
                    "inter_op": threading.get_inter_op_parallelism_threads() or cores}
        if in_force != {"intra_op": intra_op, "inter_op": inter_op}:
            warnings.warn(f"TensorFlow has started; its thread pools stay at {in_force}", stacklevel=2)
        return in_force
    return {"intra_op": intra_op, "inter_op": inter_op}


STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


def make_strategy(name="default"):
    """A `tf.distribute` strategy by name.

    Args:
        name: `"default"` (the current one: one device), `"mirrored"` (every
            local GPU, or the CPU), `"multiworker"` (the cluster described by
            the `TF_CONFIG` environment variable, which every worker sets),
            or `"tpu"` (the TPU found by `TPUClusterResolver`, e.g. on a
            Cloud TPU VM).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")


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
    _compile(model, strategy or model.distribute_strategy, optimizer)


def set_greedy_stage(model, stage):
    """Activates modules 1..stage and makes only module `stage` trainable.

    Recompile afterwards: Keras ignores a changed `trainable` until then.
    """
    model.active_modules = stage
    for index, module in enumerate(model.ghvae_modules):
        module.trainable = index == stage - 1


def add_noise(dataset, model, seed, start=0):
    """Adds the latent noise inputs of `model` to each batch of `dataset`.

    The noise is a stateless function of `(seed, batch index)`, made before
    the dataset is split across replicas, so every replica gets different
    noise and a resumed run continues the sequence at `start`.
    """
    spec = dataset.element_spec["frames"]
    steps = spec.shape[1]
    if steps is None:
        raise ValueError(
            "training data must have a fixed sequence length T "
            f"(frames spec {spec.shape}); batch fixed-length windows"
        )
    if steps <= model.context_length:
        raise ValueError(
            f"training clips have {steps} frames; they need more than "
            f"context_length={model.context_length}"
        )
    shapes = model.noise_shapes(steps - model.context_length)

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


def latest_checkpoint(checkpoint_dir):
    """The pointer of the latest checkpoint in a folder that `fit_greedy` or
    `fit_end_to_end` wrote (`phase`, `step`, `complete`, `path`, `config`),
    or None."""
    path = os.path.join(checkpoint_dir, POINTER)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


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
            for name in os.listdir(directory):  # debris of an interrupted save
                if name.endswith((_TMP_SUFFIX, ".tmp")):
                    os.unlink(os.path.join(directory, name))

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
        tmp = final[: -len(".weights.h5")] + _TMP_SUFFIX
        model.save_weights(tmp)  # with the optimizer's state, when compiled
        _fsync(tmp)
        os.replace(tmp, final)
        if complete:
            _atomic_copy(final, os.path.join(self.directory, f"{phase}.weights.h5"))
        _atomic_write_json(
            os.path.join(self.directory, POINTER),
            {"phase": phase, "step": step, "complete": complete, "path": name, "config": config},
        )
        _fsync(self.directory)
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


def _run_phases(
    model, phases, train_data, validation_data, strategy, checkpoint_dir,
    checkpoint_every, optimizer, noise_seed, validation_steps, callbacks, verbose, latents,
):
    intervals = [min(checkpoint_every, steps) for _, _, steps in phases]
    for (phase, _, steps), interval in zip(phases, intervals):
        if steps % interval:
            raise ValueError(
                f"{phase}: steps ({steps}) must be a multiple of checkpoint_every ({interval})"
            )
    config = _comparable_config(model, latents)
    manager = checkpoint = None
    if checkpoint_dir is not None:
        manager = CheckpointManager(checkpoint_dir, write=_is_chief(strategy))
        checkpoint = manager.latest()
    start_index, start_step = _resume_point(checkpoint, phases, config, checkpoint_dir)
    if manager is not None and manager.write:
        _atomic_write_json(
            os.path.join(checkpoint_dir, "config.json"),
            {**model.get_config(), "latents": latents},
        )
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
    with strategy.scope():
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
    if checkpoint["config"] != config:
        raise ValueError(
            f"checkpoint in {checkpoint_dir} was written for another model "
            f"config:\n  checkpoint: {checkpoint['config']}\n  model:      {config}"
        )
    return start


def _fit_phase(
    model, phase, steps, interval, first_step, train_data, validation_data,
    seed, validation_steps, callbacks, verbose, manager, config,
):
    train = add_noise(train_data.repeat(), model, seed, start=first_step)
    validation = None
    if validation_data is not None:
        validation = add_noise(validation_data, model, seed + 500)
        if validation_steps is not None:
            validation = validation.repeat()
    guard = _CheckpointEachInterval(manager, phase, interval, steps, config)
    with _multiworker_fit_workaround(model):
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
    if guard.bad_loss is not None:
        kept = manager.latest() if manager else None
        where = (
            f"the last good checkpoint ({kept['phase']} step {kept['step']}) is kept in "
            f"{manager.directory}"
            if kept else "no checkpoint was written"
        )
        raise NonFiniteLossError(
            f"{phase}: loss became {guard.bad_loss} at step {guard.bad_step}; "
            f"training stopped and {where}"
        )
    return fit.history


class _CheckpointEachInterval(keras.callbacks.Callback):
    """Saves a checkpoint at the end of each interval; stops on a bad loss."""

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

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss) and self.bad_loss is None:
            self.bad_loss = loss
            self.bad_step = self.epoch * self.interval + batch + 1
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.bad_loss is not None or self.manager is None:
            return
        step = (epoch + 1) * self.interval
        self.manager.save(self.model, self.phase, step, step >= self.steps, self.config)


@contextlib.contextmanager
def _multiworker_fit_workaround(model):
    """Lets `fit` run a built, compiled GHVAE under MultiWorkerMirroredStrategy.

    Keras 3.15's fit fails there (tensorflow/tensorflow#72388): it reduces
    the first batch (a dict) across workers to build the model symbolically,
    and reduces each step's scalar logs with `axis=0`. The model and
    optimizer are already built, so the symbolic build is skipped (fit runs in
    the strategy's scope with the strategy left implicit) and the step
    functions reduce the logs as scalars.
    """
    strategy = model.distribute_strategy
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        yield
        return

    def distributed(step):
        @tf.function
        def run(iterator):
            logs = strategy.run(step, args=(next(iterator),))
            return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

        return run

    saved, model._distribute_strategy = model._distribute_strategy, None
    model.train_function = distributed(model.train_step)
    model.test_function = distributed(model.test_step)
    try:
        with strategy.scope():
            yield
    finally:
        model._distribute_strategy = saved


def _under_strategy(model, strategy):
    """The model itself if its variables belong to `strategy`, else a copy
    built in its scope (Keras needs variables created under the strategy)."""
    if strategy.extended.variable_created_in_scope(model.weights[0].value):
        return model
    with strategy.scope():
        copy = GHVAE.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return not has_chief and resolver.task_type == "worker" and resolver.task_id == 0


def _comparable_config(model, latents):
    config = dict(model.get_config())
    # What changes the weights' meaning; the seed only set their initial values.
    for key in ("name", "trainable", "active_modules", "latents", "seed"):
        config.pop(key, None)
    config["latents"] = latents
    return json.loads(json.dumps(config))


def _per_phase(value, count, name):
    values = [value] * count if isinstance(value, int) else list(value)
    if len(values) != count or any(v <= 0 for v in values):
        raise ValueError(f"{name} must be a positive int or {count} positive ints, got {value!r}")
    return values


def _atomic_write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _atomic_copy(source, destination):
    tmp = destination + ".tmp"
    shutil.copyfile(source, tmp)
    _fsync(tmp)
    os.replace(tmp, destination)


def _fsync(path):
    """Flushes a file, or a folder's entries, to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
