"""Peak training memory and step time: greedy stage K versus end to end.

The same K-module GHVAE is trained for a few steps (a) greedily at stage K
(modules 1..K-1 frozen, only the top module's latent) and (b) end to end
(every module trainable, a latent at every level), each in a fresh process
with the same batch and sequence length. Prints one JSON line.

    python tools/bench_memory.py
    python tools/bench_memory.py --batch 16 --sequence-length 12 --steps 5 \
        --image-size 64 --module-channels 32,64,96,128 --out bench_memory.json

The defaults are the shipped bair-4mod's architecture (channels 16/32/48/64)
and training batch (8 clips of 12 frames).

Memory is the peak resident set size while training (Linux VmHWM, reset once
the model, optimizer and batch are loaded) minus the resident size of that
idle loaded process; it includes the first step, which traces the graph.
Where a GPU is present, TensorFlow's peak device memory over the idle
process is reported too.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time


def _read_status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0  # kB → MiB
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss():
    """Makes VmHWM restart from the current RSS (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def measure(variant, args):
    """Runs in a child process: loads, then trains `args.steps` steps."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    from ghvae_keras import GHVAE
    from ghvae_keras.training import set_greedy_stage

    channels = tuple(int(c) for c in args.module_channels.split(","))
    model = GHVAE(
        image_size=args.image_size,
        module_channels=channels,
        latent_channels=args.latent_channels,
        action_dim=args.action_dim or None,
        context_length=args.context_length,
        seed=0,
    )
    if variant == "greedy":
        set_greedy_stage(model, model.num_modules)
    else:
        model.latents = "all"
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    model.optimizer.build(model.trainable_variables)

    rng = np.random.default_rng(0)
    size, steps = args.image_size, args.sequence_length
    batch = {"frames": rng.random((args.batch, steps, size, size, 3), dtype=np.float32)}
    if args.action_dim:
        batch["actions"] = rng.uniform(-1, 1, (args.batch, steps - 1, args.action_dim)).astype(np.float32)
    for name, shape in model.noise_shapes(steps - args.context_length).items():
        batch[name] = rng.standard_normal((args.batch,) + shape).astype(np.float32)
    batch = {k: tf.constant(v) for k, v in batch.items()}

    gpus = tf.config.list_physical_devices("GPU")
    idle_mb = _read_status("VmRSS")
    _reset_peak_rss()
    if gpus:
        tf.config.experimental.reset_memory_stats("GPU:0")
        idle_gpu_mb = tf.config.experimental.get_memory_info("GPU:0")["current"] / 2**20
    step_seconds = []
    for _ in range(args.steps + 1):  # the first step also traces the graph
        start = time.perf_counter()
        logs = model.train_on_batch(batch, return_dict=True)
        step_seconds.append(time.perf_counter() - start)
    peak_mb = _read_status("VmHWM") - idle_mb
    result = {
        "peak_mb": round(peak_mb, 1),
        "idle_mb": round(idle_mb, 1),
        "params_trained": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "params_total": int(model.count_params()),
        "step_s": round(float(np.median(step_seconds[1:])), 4),
        "first_step_s": round(step_seconds[0], 3),
        "loss": float(logs["loss"]),
    }
    if gpus:
        info = tf.config.experimental.get_memory_info("GPU:0")
        result["gpu_peak_mb"] = round(info["peak"] / 2**20 - idle_gpu_mb, 1)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The defaults are bair-4mod's: its architecture and training batch.
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--sequence-length", type=int, default=12)
    parser.add_argument("--context-length", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed steps after the first")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--module-channels", default="16,32,48,64")
    parser.add_argument("--latent-channels", type=int, default=8)
    parser.add_argument("--action-dim", type=int, default=4, help="0 for action-free")
    parser.add_argument("--out", help="also write the JSON here")
    parser.add_argument("--variant", choices=["greedy", "end_to_end"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variant:  # child process
        print(json.dumps(measure(args.variant, args)))
        return

    results = {}
    for variant in ("greedy", "end_to_end"):
        print(f"measuring {variant} training ({args.steps + 1} steps)...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--variant", variant],
            capture_output=True, text=True,
        )
        if done.returncode:
            sys.exit(f"{variant} run failed:\n{done.stderr[-3000:]}")
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])

    import keras
    import tensorflow as tf

    greedy, e2e = results["greedy"], results["end_to_end"]
    report = {
        "greedy_peak_mb": greedy["peak_mb"],
        "end_to_end_peak_mb": e2e["peak_mb"],
        "peak_ratio": round(greedy["peak_mb"] / e2e["peak_mb"], 3),
        "greedy_params_trained": greedy["params_trained"],
        "end_to_end_params_trained": e2e["params_trained"],
        "greedy_step_s": greedy["step_s"],
        "end_to_end_step_s": e2e["step_s"],
        "details": results,
        "config": {
            "batch": args.batch,
            "sequence_length": args.sequence_length,
            "context_length": args.context_length,
            "image_size": args.image_size,
            "module_channels": args.module_channels,
            "latent_channels": args.latent_channels,
            "action_dim": args.action_dim,
            "timed_steps": args.steps,
        },
        "device": tf.config.list_physical_devices("GPU") and "GPU" or f"CPU ({os.cpu_count()} cores)",
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
    }
    line = json.dumps(report)
    print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
