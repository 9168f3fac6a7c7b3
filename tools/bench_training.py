"""Training speed of a preset's architecture: one step's floating-point
operations and seconds, against the machine's matmul rate and the real loop.

    python tools/bench_training.py
    python tools/bench_training.py --preset kitti-4mod --steps 10 --threads 2
    python tools/bench_training.py --loop --data-dir /work/data/tfds --loop-steps 60

For each greedy stage k = 1..K and the end-to-end baseline, at the preset's
training batch and clip length (`--batch-size`, `--sequence-length` override
them), the bare step is the model's own `train_step` (forward, backward,
Adam update) on one fixed batch in a `tf.function`. Its floating-point
operations are counted from the traced graph by TensorFlow's profiler
(convolutions, their gradients, matmuls and element-wise arithmetic; the
convolutions are >99% of it). The step is timed `--steps` times after two
warm-up calls; the median is reported, with the achieved GFLOP/s and that as
a fraction of the same process's float32 2048x2048 matmul rate.

`--loop` also trains each phase through `ghvae_keras.training` on the
preset's stand-in (the default `data.load` pipeline, checkpoints every
`--checkpoint-every` steps) and reports the steady-state seconds per step of
that run (wall time of the steps after the first checkpoint interval,
checkpoint writes included) and its ratio to the bare step.

`--backend jax` also times the same bare steps on the JAX backend, in a
second process: `train_step` under `jax.jit` on the same batch, its
operations counted by XLA's cost analysis, against that process's
`jnp.matmul` rate (XLA decides its own threads: every core).

Prints one JSON line: `matmul_gflops`, `phases` {phase: {flops,
seconds_per_step, gflops, fraction_of_matmul, [loop_seconds_per_step,
loop_cpu_seconds_per_step, loop_vs_bare]}}, `threads`, `settings`, `versions`,
and with `--backend jax` `jax` {matmul_gflops, phases {phase: {flops,
seconds_per_step, gflops, fraction_of_matmul, vs_tensorflow}}, versions}.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="bair-4mod", help="a folder under --zoo (default bair-4mod)")
    parser.add_argument("--zoo", type=Path, default=ROOT / "zoo")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the preset's training batch")
    parser.add_argument("--sequence-length", type=int, default=None,
                        help="frames per clip (default: the preset's context + train_future)")
    parser.add_argument("--steps", type=int, default=8, help="timed bare steps per phase")
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow intra-op threads (default: every core)")
    parser.add_argument("--phases", default=None,
                        help="comma-separated, e.g. stage_1,end_to_end (default: every stage and end_to_end)")
    parser.add_argument("--profile", action="store_true",
                        help="also time every convolution of the step's graph alone (its kernels' share)")
    parser.add_argument("--loop", action="store_true", help="also time the training loop on the stand-in")
    parser.add_argument("--loop-steps", type=int, default=60, help="loop steps per phase (with --loop)")
    parser.add_argument("--checkpoint-every", type=int, default=20, help="loop checkpoint interval")
    parser.add_argument("--data", default=None, help="the loop's dataset (default: the preset's stand-in)")
    parser.add_argument("--data-dir", default=None, help="the TFDS data folder")
    parser.add_argument("--backend", choices=("tensorflow", "jax"), default="tensorflow",
                        help="jax: also time the bare steps on the JAX backend (default: %(default)s only)")
    parser.add_argument("--jax-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jax_worker:
        return _jax_worker(args)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    if args.loop and args.loop_steps < 2 * args.checkpoint_every:
        parser.error("--loop-steps must be at least twice --checkpoint-every (one warm-up interval)")

    from ghvae_keras import training

    threads = training.configure_threads(args.threads)
    import keras
    import numpy as np
    import tensorflow as tf

    metadata, model, batch_size, length = _architecture(args)
    phases = _phases(model.num_modules, args.phases)

    matmul = _matmul_gflops(tf)
    results = {}
    for phase in phases:
        stage = None if phase == "end_to_end" else int(phase.removeprefix("stage_"))
        latents = "all" if stage is None else "top"
        training.prepare_phase(model, stage, latents)
        batch = _batch(model, batch_size, length, np, tf)
        step = tf.function(model.train_step)
        graph = step.get_concrete_function(batch).graph
        flops = _graph_flops(graph, tf)
        times = _time_steps(step, batch, args.steps)
        seconds = statistics.median(times)
        entry = {
            "flops": flops,
            "seconds_per_step": round(seconds, 4),
            "gflops": round(flops / seconds / 1e9, 1),
            "fraction_of_matmul": round(flops / seconds / 1e9 / matmul, 3),
            "parameters_trained": int(sum(np.prod(v.shape) for v in model.trainable_variables)),
        }
        if args.profile:
            entry["convolutions"] = _conv_profile(graph, seconds, tf)
        if args.loop:
            data_name = args.data or metadata["data"]["stand_in"]["name"]
            loop = _loop_seconds(model, stage, data_name, args, batch_size, length, keras)
            entry.update(loop)
            entry["loop_vs_bare"] = round(loop["loop_seconds_per_step"] / seconds, 3)
        results[phase] = entry
        print(f"{phase}: {json.dumps(entry)}", file=sys.stderr, flush=True)

    on_jax = _run_jax_worker(argv if argv is not None else sys.argv[1:], results) \
        if args.backend == "jax" else None
    print(json.dumps({
        "preset": args.preset,
        **({"jax": on_jax} if on_jax else {}),
        "matmul_gflops": round(matmul, 1),
        "phases": results,
        "threads": threads,
        "settings": {"batch_size": batch_size, "sequence_length": length, "steps": args.steps,
                     **({"loop_steps": args.loop_steps, "checkpoint_every": args.checkpoint_every}
                        if args.loop else {})},
        "machine": {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__,
                     "backend": keras.backend.backend()},
        "command": "python tools/bench_training.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }))
    return 0


def _run_jax_worker(argv, tensorflow_results):
    """The JAX figures, from this script rerun with KERAS_BACKEND=jax."""
    import subprocess

    done = subprocess.run([sys.executable, __file__, *argv, "--jax-worker"], capture_output=True,
                          text=True, env=dict(os.environ, KERAS_BACKEND="jax"))
    if done.returncode:
        sys.exit(f"bench_training: the JAX run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for phase, entry in result["phases"].items():
        entry["vs_tensorflow"] = round(entry["seconds_per_step"] / tensorflow_results[phase]["seconds_per_step"], 3)
    return result


def _jax_worker(args):
    """The bare steps on JAX (this process has KERAS_BACKEND=jax)."""
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    from ghvae_keras import training

    assert keras.backend.backend() == "jax", "run with KERAS_BACKEND=jax"
    _, model, batch_size, length = _architecture(args)

    a = jax.random.normal(jax.random.key(0), (2048, 2048))
    matmul = jax.jit(jnp.matmul)
    matmul(a, a).block_until_ready()
    times = []
    for _ in range(10):
        start = time.perf_counter()
        matmul(a, a).block_until_ready()
        times.append(time.perf_counter() - start)
    matmul_gflops = 2 * 2048**3 / statistics.median(times) / 1e9

    results = {}
    for phase in _phases(model.num_modules, args.phases):
        stage = None if phase == "end_to_end" else int(phase.removeprefix("stage_"))
        training.prepare_phase(model, stage, "all" if stage is None else "top")
        batch = {key: jnp.asarray(value) for key, value in _batch_arrays(model, batch_size, length, np).items()}
        state = tuple([v.value for v in variables] for variables in (
            model.trainable_variables, model.non_trainable_variables, model.optimizer.variables,
            model.metrics_variables))
        step = jax.jit(model.train_step).lower(state, (batch,)).compile()
        cost = step.cost_analysis()
        flops = int((cost[0] if isinstance(cost, list) else cost)["flops"])

        def run(batch):
            logs, _ = step(state, (batch,))
            return logs

        seconds = statistics.median(_time_steps(run, batch, args.steps))
        results[phase] = {"flops": flops, "seconds_per_step": round(seconds, 4),
                          "gflops": round(flops / seconds / 1e9, 1),
                          "fraction_of_matmul": round(flops / seconds / 1e9 / matmul_gflops, 3)}
        print(f"jax {phase}: {json.dumps(results[phase])}", file=sys.stderr, flush=True)
    print(json.dumps({"matmul_gflops": round(matmul_gflops, 1), "phases": results,
                      "versions": {"jax": jax.__version__, "keras": keras.__version__}}))
    return 0


def _architecture(args):
    """`(metadata, model, batch_size, sequence_length)` of the preset benched:
    its architecture (fresh weights), training batch and clip length, unless
    the arguments override them."""
    from ghvae_keras import zoo

    folder = zoo.resolve_preset(str(args.zoo / args.preset), require_weights=False)
    metadata = zoo.read_metadata(folder)
    protocol = metadata["protocol"]
    batch_size = args.batch_size or (metadata.get("training") or {}).get("batch_size") or 8
    length = args.sequence_length or protocol["context"] + protocol["train_future"]
    return metadata, zoo.model_from_config_file(folder / zoo.CONFIG_FILE), batch_size, length


def _phases(num_modules, names):
    known = [f"stage_{k}" for k in range(1, num_modules + 1)] + ["end_to_end"]
    if names is None:
        return known
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        sys.exit(f"bench_training: unknown phase {unknown or names!r}; choose from {', '.join(known)}")
    return chosen


def _matmul_gflops(tf, size=2048, repeats=10):
    """The float32 `size`x`size` matmul rate of this process, GFLOP/s (median)."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    matmul(a, b).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def _batch(model, batch_size, length, np, tf):
    """A fixed batch of random frames, actions and noise, as tensors."""
    return {key: tf.constant(value) for key, value in _batch_arrays(model, batch_size, length, np).items()}


def _batch_arrays(model, batch_size, length, np):
    rng = np.random.default_rng(0)
    size = model.image_size
    batch = {"frames": rng.random((batch_size, length, size, size, 3), dtype=np.float32)}
    if model.action_dim:
        batch["actions"] = rng.uniform(-1, 1, (batch_size, length - 1, model.action_dim)).astype(np.float32)
    for name, shape in model.noise_shapes(length - model.context_length).items():
        batch[name] = rng.standard_normal((batch_size,) + shape).astype(np.float32)
    return batch


def _graph_flops(graph, tf):
    """Floating-point operations of one call of a traced graph, by TensorFlow's profiler."""
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)


_CONV_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter")


def _conv_profile(graph, step_seconds, tf, repeats=5):
    """Times each convolution of the step's graph (forward and both
    gradients) alone, at its shapes: how much of the step the convolution
    kernels take and at what rate; the rest is everything else (element-wise
    ops, concatenations, resizing, the optimizer)."""
    counts = {}
    for op in graph.get_operations():
        if op.type not in _CONV_OPS:
            continue
        # (image, kernel, output) shapes; the gradients take the missing one as a size.
        image = op.outputs[0] if op.type == "Conv2DBackpropInput" else op.inputs[0]
        kernel = op.outputs[0] if op.type == "Conv2DBackpropFilter" else op.inputs[1]
        output = op.outputs[0] if op.type == "Conv2D" else op.inputs[2]
        shapes = tuple(tuple(t.shape.as_list()) for t in (image, kernel, output))
        key = (op.type, shapes, tuple(op.get_attr("strides")), op.get_attr("padding").decode())
        counts[key] = counts.get(key, 0) + 1
    total_seconds = total_flops = 0.0
    by_op = {}
    for (kind, shapes, strides, padding), count in counts.items():
        seconds = _time_conv(kind, shapes, strides, padding, tf, repeats)
        image, kernel, output = shapes
        flops = 2 * output[0] * output[1] * output[2] * output[3] * kernel[0] * kernel[1] * kernel[2]
        total_seconds += seconds * count
        total_flops += flops * count
        entry = by_op.setdefault(kind, {"ops": 0, "seconds": 0.0, "flops": 0.0})
        entry["ops"] += count
        entry["seconds"] += seconds * count
        entry["flops"] += flops * count
    return {
        "seconds": round(total_seconds, 4),
        "fraction_of_step": round(total_seconds / step_seconds, 3),
        "gflops": round(total_flops / total_seconds / 1e9, 1) if total_seconds else None,
        "by_op": {kind: {"ops": e["ops"], "seconds": round(e["seconds"], 4),
                         "gflops": round(e["flops"] / e["seconds"] / 1e9, 1)} for kind, e in by_op.items()},
    }


def _time_conv(kind, shapes, strides, padding, tf, repeats):
    """Median seconds of one convolution op at these (image, kernel, output) shapes."""
    image, kernel, output = shapes
    ops = tf.raw_ops
    if kind == "Conv2D":
        x, w = tf.random.normal(image), tf.random.normal(kernel)
        run = tf.function(lambda: ops.Conv2D(input=x, filter=w, strides=strides, padding=padding))
    elif kind == "Conv2DBackpropInput":
        sizes, w, dy = tf.constant(image, tf.int32), tf.random.normal(kernel), tf.random.normal(output)
        run = tf.function(lambda: ops.Conv2DBackpropInput(
            input_sizes=sizes, filter=w, out_backprop=dy, strides=strides, padding=padding))
    else:
        x, sizes, dy = tf.random.normal(image), tf.constant(kernel, tf.int32), tf.random.normal(output)
        run = tf.function(lambda: ops.Conv2DBackpropFilter(
            input=x, filter_sizes=sizes, out_backprop=dy, strides=strides, padding=padding))
    run().numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run().numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _time_steps(step, batch, steps, warmup=2):
    for _ in range(warmup):
        _sync(step(batch))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        _sync(step(batch))
        times.append(time.perf_counter() - start)
    return times


def _sync(logs):
    for value in logs.values():
        float(value)


def _loop_seconds(model, stage, data_name, args, batch_size, length, keras):
    """Steady-state seconds per step of a real training run of one phase."""
    from ghvae_keras import GHVAE
    from ghvae_keras import data as datasets
    from ghvae_keras import training

    class StepClock(keras.callbacks.Callback):
        """Wall and process-CPU seconds from the end of the first `warmup`
        steps to the end of training (checkpoint writes included)."""

        def __init__(self, warmup):
            super().__init__()
            self.warmup, self.seen = warmup, 0
            self.start_wall = self.start_cpu = None
            self.wall = self.cpu = 0.0

        def on_train_batch_end(self, batch, logs=None):
            self.seen += 1
            if self.seen == self.warmup:
                self.start_wall, self.start_cpu = time.perf_counter(), time.process_time()

        def on_train_end(self, logs=None):
            self.wall = time.perf_counter() - self.start_wall
            self.cpu = time.process_time() - self.start_cpu

    fresh = GHVAE.from_config({**model.get_config(), "active_modules": model.num_modules})
    data = datasets.load(data_name, "train", length, batch_size, seed=0,
                         image_size=fresh.image_size, data_dir=args.data_dir)
    clock = StepClock(warmup=args.checkpoint_every)
    with tempfile.TemporaryDirectory() as checkpoints:
        kwargs = dict(checkpoint_dir=checkpoints, checkpoint_every=args.checkpoint_every,
                      callbacks=[clock], verbose=0)
        if stage is None:
            training.fit_end_to_end(fresh, data, steps=args.loop_steps, **kwargs)
        else:
            training.fit_greedy(fresh, data, steps_per_stage=args.loop_steps, stages=[stage], **kwargs)
    steps = args.loop_steps - args.checkpoint_every
    return {"loop_seconds_per_step": round(clock.wall / steps, 4),
            "loop_cpu_seconds_per_step": round(clock.cpu / steps, 4)}


if __name__ == "__main__":
    sys.exit(main())
