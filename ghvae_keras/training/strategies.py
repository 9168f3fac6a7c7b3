"""Where training runs: TensorFlow's thread pools, `tf.distribute`
strategies, and what Keras needs to train under them. TensorFlow is
imported by the functions that use it: on the JAX and PyTorch backends
training needs none of them."""

import contextlib
import os
import warnings


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
    import tensorflow as tf

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


def describe_processor():
    """The processor's model name (from /proc/cpuinfo where there is one):
    CPU seconds buy different numbers of steps on different processors, so
    a record of compute names the processor it was spent on."""
    import platform

    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def list_devices():
    """The devices the backend trains on, named as Keras names them
    (`"cpu:0"`, `"gpu:0"`): `keras.distribution.list_devices()` where the
    backend implements the distribution API (JAX, TensorFlow); on PyTorch,
    which it does not in Keras 3, the CUDA devices or the CPU."""
    import keras

    if keras.backend.backend() == "torch":
        import torch

        return [f"gpu:{index}" for index in range(torch.cuda.device_count())] or ["cpu:0"]
    return keras.distribution.list_devices()


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
    import tensorflow as tf

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



@contextlib.contextmanager
def multiworker_fit_workaround(model):
    """Lets `fit` run a built, compiled GHVAE under MultiWorkerMirroredStrategy.

    Keras 3.15's fit fails there (tensorflow/tensorflow#72388): it reduces
    the first batch (a dict) across workers to build the model symbolically,
    and reduces each step's scalar logs with `axis=0`. The model and
    optimizer are already built, so the symbolic build is skipped (fit runs in
    the strategy's scope with the strategy left implicit) and the step
    functions reduce the logs as scalars.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

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


def on_strategy(model, strategy):
    """The model itself if its variables belong to `strategy`, else a copy
    built in its scope (Keras needs variables created under the strategy)."""
    if strategy.extended.variable_created_in_scope(model.weights[0].value):
        return model
    weights = model.get_weights()  # read outside the scope: they may belong to another strategy
    with strategy.scope():
        copy = type(model).from_config(model.get_config())
    copy.set_weights(weights)
    return copy


def is_chief(strategy):
    """Whether this process writes checkpoints: the chief of a multi-worker
    `strategy`, or with none (JAX) process 0."""
    if strategy is None:
        import keras

        if keras.backend.backend() == "jax":
            import jax

            return jax.process_index() == 0
        return True
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return not has_chief and resolver.task_type == "worker" and resolver.task_id == 0

