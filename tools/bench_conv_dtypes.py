"""Float32 against bfloat16 for the 3×3 convolutions a preset's decoders run.

    python tools/bench_conv_dtypes.py                       # bair-4mod, batch 64 (a planner's batch)
    python tools/bench_conv_dtypes.py --preset kitti-4mod --batch 8 --repeats 30

For each module k, one 3×3 convolution of its decoder's residual blocks
(channels of module k in and out, at the resolution of level k - 1, where
that decoder works) runs in a `tf.function` on the CPU, in float32 and in
bfloat16; the median call time of each and their ratio are printed as one
JSON line with the processor's name and whether it has AMX (Intel's matrix
units, which oneDNN uses for bfloat16). Whether reduced precision pays
depends on the processor: this tells it before anyone changes the model's
dtype policy.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time


def _has_amx():
    """Whether the processor lists AMX's bfloat16 unit (None where /proc/cpuinfo is missing)."""
    try:
        with open("/proc/cpuinfo") as f:
            return "amx_bf16" in f.read()
    except OSError:
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="bair-4mod", help="preset name or folder (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per convolution and dtype")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.repeats < 1:
        parser.error("--batch and --repeats must be positive")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    from ghvae_keras import training, zoo

    model = zoo.from_pretrained(args.preset, load_weights=False)
    rng = np.random.default_rng(0)
    rows = []
    for k, channels in enumerate(model.module_channels, start=1):
        size = model.image_size // 2 ** (k - 1)
        inputs = rng.standard_normal((args.batch, size, size, channels)).astype(np.float32)
        kernel = (rng.standard_normal((3, 3, channels, channels)) * 0.1).astype(np.float32)
        seconds = {}
        for dtype in (tf.float32, tf.bfloat16):
            x, w = tf.constant(inputs, dtype), tf.constant(kernel, dtype)
            conv = tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
            conv(x, w).numpy()  # warm-up: tracing, oneDNN's kernel choice
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                conv(x, w).numpy()
                times.append(time.perf_counter() - start)
            seconds[dtype.name] = statistics.median(times)
        rows.append({"module": k, "input": [args.batch, size, size, channels], "filters": channels,
                     "ms_float32": round(seconds["float32"] * 1e3, 4),
                     "ms_bfloat16": round(seconds["bfloat16"] * 1e3, 4),
                     "bfloat16_over_float32": round(seconds["bfloat16"] / seconds["float32"], 3)})
    print(json.dumps({
        "benchmark": "3x3 convolutions of the decoders, float32 against bfloat16",
        "preset": args.preset, "batch": args.batch, "repeats": args.repeats, "convolutions": rows,
        "processor": training.describe_processor(), "amx": _has_amx(), "cpu_count": os.cpu_count(),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__},
        "command": " ".join(["python tools/bench_conv_dtypes.py", *(sys.argv[1:] if argv is None else argv)])}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
