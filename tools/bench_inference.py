"""Inference latency per predicted frame: Keras, SavedModel and TFLite (LiteRT).

    python tools/bench_inference.py                                   # bair-4mod, batch 1 and 64
    python tools/bench_inference.py --preset path/to/preset --batches 1 8 64 --repeats 5
    python tools/bench_inference.py --config config.json --horizon 10 --out bench_inference.json

The model comes from a preset (its weights when it has them, else its
architecture with random weights: the speed is the same) or a JSON config
(`ghvae_keras.zoo.model_from_config_file`). Random weights are the initial
ones, with the zero-initialised output convolutions drawn small and random so
that the parity figures below compare real outputs. For each batch size,
the same inputs and latent noise go to

- `keras`: `GHVAE.predict_video`, the Python API (eager, noise drawn inside);
- `keras_function`: `GHVAE.rollout` in a `tf.function`, as a server would run it;
- `saved_model`: the `predict_with_noise` signature of `ghvae export --format saved_model`;
- `tflite`: `ghvae export --format tflite` (builtin ops, static batch, noise as
  input) in the LiteRT interpreter with one thread per CPU core.

Each is called once to warm up, then `--repeats` times; the median call time
is reported, divided by the horizon (`ms_per_frame`: one predicted time step
of the whole batch) and by horizon × batch (`ms_per_frame_per_clip`). The
largest difference to Keras' frames is reported as a check. Prints one JSON
line (also written to `--out`).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

from ghvae_keras.atomic_files import write_json


def timed(function, repeats):
    function()  # warm-up: tracing, allocation
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", default="bair-4mod", help="preset name or folder (default: %(default)s)")
    source.add_argument("--config", help="a JSON config instead of a preset")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--horizon", type=int, help="frames to predict (default: the model's)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measurement")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from ghvae_keras import export, zoo

    rng = np.random.default_rng(0)
    if args.config:
        model, weights, source_name = zoo.model_from_config_file(args.config), "initial (random)", args.config
    else:
        has_weights = zoo.list_models().get(args.preset, {}).get("has_weights", True)
        model = zoo.from_pretrained(args.preset, load_weights=has_weights)
        weights, source_name = ("preset" if has_weights else "initial (random)"), args.preset
    if weights != "preset":
        # Output convolutions start at zero, which would make every frame the
        # same and the differences below trivially 0: draw them small instead.
        for variable in model.weights:
            if not np.any(variable.numpy()):
                variable.assign(rng.normal(0, 0.02, variable.shape).astype("float32"))
    context, horizon = model.context_length, args.horizon or model.horizon
    rollout = tf.function(lambda frames, actions, noise: model.rollout(frames, actions, noise, horizon))
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        saved = tf.saved_model.load(str(export.export_saved_model(
            model, os.path.join(scratch, "saved"), context=context, horizon=horizon)))
        with_noise = saved.signatures[export.NOISE_SIGNATURE]
        for batch in args.batches:
            inputs = {name: rng.standard_normal(spec.shape).astype(np.float32)
                      for name, spec in export.input_specs(model, batch, context, horizon).items()}
            inputs["context_frames"] = rng.random(inputs["context_frames"].shape, dtype=np.float32)
            actions = inputs.get("actions")
            noise = {name: value for name, value in inputs.items() if name.startswith("noise_")}
            start = time.perf_counter()
            path = export.export_tflite(model, os.path.join(scratch, f"b{batch}.tflite"), batch=batch,
                                        context=context, horizon=horizon)
            convert_s = time.perf_counter() - start
            interpreter = Interpreter(model_path=str(path), num_threads=os.cpu_count())
            runner = interpreter.get_signature_runner(export.SERVING_SIGNATURE)

            reference = np.asarray(rollout(inputs["context_frames"], actions, noise))
            outputs = {
                "keras": lambda: model.predict_video(inputs["context_frames"], actions, horizon=horizon, seed=0),
                "keras_function": lambda: np.asarray(rollout(inputs["context_frames"], actions, noise)),
                "saved_model": lambda: with_noise(**inputs)["frames"].numpy(),
                "tflite": lambda: runner(**inputs)["frames"],
            }
            for runtime, call in outputs.items():
                seconds = timed(call, args.repeats)
                entry = {
                    "runtime": runtime, "batch": batch, "horizon": horizon,
                    "ms_per_call": round(seconds * 1e3, 2),
                    "ms_per_frame": round(seconds * 1e3 / horizon, 3),
                    "ms_per_frame_per_clip": round(seconds * 1e3 / (horizon * batch), 4),
                }
                if runtime != "keras":  # predict_video draws its own noise
                    entry["max_abs_diff_to_keras"] = float(np.abs(np.asarray(call()).reshape(reference.shape) - reference).max())
                if runtime == "tflite":
                    entry["convert_s"] = round(convert_s, 1)
                results.append(entry)
                print(f"{runtime} batch {batch}: {entry['ms_per_frame']} ms per predicted frame",
                      file=sys.stderr)
    report = {
        "benchmark": "inference latency per predicted frame",
        "model": source_name, "weights": weights, "parameters": int(model.count_params()),
        "image_size": model.image_size, "num_modules": model.num_modules,
        "context": context, "horizon": horizon, "repeats": args.repeats,
        "results": results,
        "device": {"cpu_count": os.cpu_count(), "machine": platform.machine(),
                   "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]},
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__},
        "command": "python tools/bench_inference.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if args.out:
        write_json(args.out, report)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
