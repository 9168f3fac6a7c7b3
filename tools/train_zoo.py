"""Trains, evaluates and writes a zoo preset's shipped weights.

    python tools/train_zoo.py bair-4mod --data-dir /work/data/tfds
    python tools/train_zoo.py bair-4mod --data-dir /work/data/tfds --resume   # after an interruption
    python tools/train_zoo.py bair-4mod --data bair --out runs/bair-4mod-real/preset

For the preset's architecture (`zoo/PRESET/config.json`) and protocol, in order:

1. greedy training, module by module (`training.fit_greedy`), on the
   preset's simulated stand-in (or `--data`);
2. the end-to-end baseline (`training.fit_end_to_end`) on the same data at
   the same compute: its step count is the greedy phases' CPU seconds divided
   by its own CPU seconds per step, measured on this machine just before it
   trains;
3. evaluation on the data's test split (`evaluation.evaluate`): 1 to K
   modules of the greedy weights, the end-to-end baseline and copy-last-frame
   on the same videos, best of `--samples` for PSNR and SSIM;
4. the preset folder (`--out`, default `zoo/PRESET` for the stand-in), with
   the figures under `metrics.stand_in_test` (`metrics.test` for other data)
   and the run under `training` in metadata.json, its card, and
   `prediction.gif` in the work folder to look at.

Checkpoints and logs go to `--workdir` (default `runs/PRESET`, kept out of
git); `--resume` continues from them, inside a phase too. Compute is counted
in process CPU seconds, which stay comparable when other work shares the
machine. Set `TF_NUM_INTRAOP_THREADS=1` to run two presets side by side.
"""

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import keras
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROGRESS_FILE = "progress.json"


def main(argv=None):
    args = _parser().parse_args(argv)
    from ghvae_keras import GHVAE
    from ghvae_keras import data as datasets
    from ghvae_keras import evaluation, training, video_io, zoo
    from ghvae_keras.files import write_json

    preset_dir = Path(args.zoo) / args.preset
    if not (preset_dir / zoo.CONFIG_FILE).is_file():
        sys.exit(f"train_zoo: no preset {args.preset!r} in {args.zoo} "
                 f"(known: {', '.join(zoo.list_models(args.zoo))})")
    metadata = zoo.read_metadata(preset_dir)
    stand_in = metadata["data"]["stand_in"]["name"]
    data_name = args.data or stand_in
    out = Path(args.out) if args.out else (preset_dir if data_name == stand_in else None)
    if out is None:
        sys.exit("train_zoo: --out is required with --data other than the stand-in "
                 "(the zoo's folder holds the stand-in weights)")
    workdir = Path(args.workdir or ROOT / "runs" / args.preset)
    progress_path = workdir / PROGRESS_FILE
    if workdir.exists() and any(workdir.iterdir()) and not args.resume:
        sys.exit(f"train_zoo: {workdir} holds an earlier run; pass --resume to continue it "
                 "or remove the folder")
    workdir.mkdir(parents=True, exist_ok=True)
    progress = json.loads(progress_path.read_text()) if progress_path.is_file() else {}
    plan = {key: getattr(args, key) for key in
            ("steps_per_stage", "batch_size", "checkpoint_every", "seed", "videos", "samples",
             "fvd_samples", "no_fvd")}
    plan["data"] = data_name
    if progress.setdefault("plan", plan) != plan:
        sys.exit(f"train_zoo: {workdir} was started with {progress['plan']}, not {plan}; "
                 "use the same options or another --workdir")

    def save_progress():
        write_json(progress_path, progress)

    keras.utils.set_random_seed(args.seed)
    protocol = metadata["protocol"]
    model = zoo.from_pretrained(str(preset_dir), load_weights=False)
    sequence_length = protocol["context"] + protocol["train_future"]
    train_data = datasets.load(data_name, "train", sequence_length, args.batch_size,
                               seed=args.seed, image_size=model.image_size, data_dir=args.data_dir)
    ledger = CpuLedger(progress.setdefault("seconds", {}), save_progress)
    progress.setdefault("device", _device())  # where training started

    model = training.fit_greedy(
        model, train_data, steps_per_stage=args.steps_per_stage, checkpoint_dir=workdir / "greedy",
        checkpoint_every=args.checkpoint_every, noise_seed=args.seed, callbacks=[ledger], verbose=2,
    ).model

    if "end_to_end_steps" not in progress:
        greedy_cpu = sum(progress["seconds"][f"stage_{k}"]["cpu"] for k in range(1, model.num_modules + 1))
        probe = GHVAE.from_config(model.get_config())  # a throwaway copy: the probe trains it
        per_step = _cpu_seconds_per_step(probe, train_data, args.seed)
        steps = max(1, round(greedy_cpu / per_step / args.checkpoint_every)) * args.checkpoint_every
        progress.update(end_to_end_steps=steps, end_to_end_probe_cpu_per_step=per_step)
        save_progress()
    baseline = training.fit_end_to_end(
        GHVAE.from_config(model.get_config()), train_data, steps=progress["end_to_end_steps"],
        checkpoint_dir=workdir / "end_to_end", checkpoint_every=args.checkpoint_every,
        noise_seed=args.seed, callbacks=[ledger], verbose=2,
    ).model

    evaluation_path = workdir / "evaluation.json"
    if evaluation_path.is_file() and args.resume:
        result = json.loads(evaluation_path.read_text())
    else:
        result = evaluation.evaluate(
            model, data_name, "test", num_samples=args.samples,
            num_modules=list(range(1, model.num_modules + 1)), max_videos=args.videos,
            fvd=not args.no_fvd, fvd_samples=args.fvd_samples, seed=args.seed, data_dir=args.data_dir,
            protocol=protocol, others={"end_to_end": baseline},
        )
        evaluation.write_json(result, evaluation_path)
    print(evaluation.format_table(result), flush=True)

    test = next(iter(datasets.load(data_name, "test", protocol["context"] + protocol["eval_future"], 1,
                                   shuffle=False, image_size=model.image_size, data_dir=args.data_dir)))
    sample = {key: np.asarray(value[0]) for key, value in test.items()}
    _write_prediction_gif(model, sample, protocol, workdir / "prediction.gif", video_io)

    command = "python tools/train_zoo.py " + shlex.join(
        [args.preset] + (["--data", args.data] if args.data else [])
        + [word for key, value in plan.items() if key != "data"
           for word in ([f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)]))
           if value is not None and value is not False])
    seconds = progress["seconds"]
    greedy_phases = [f"stage_{k}" for k in range(1, model.num_modules + 1)]
    compute = {
        "unit": "process CPU seconds",
        "greedy": round(sum(seconds[p]["cpu"] for p in greedy_phases), 1),
        "end_to_end": round(seconds["end_to_end"]["cpu"], 1),
        "end_to_end_steps": progress["end_to_end_steps"],
    }
    block = evaluation.metrics_block(result, command)
    block["end_to_end"]["compute"] = compute
    metrics_key = "stand_in_test" if data_name == stand_in else "test"
    own = {} if out.resolve() == preset_dir.resolve() else {"name": out.name, "hub": None}  # not the registry's copy
    metadata = {
        **{key: value for key, value in metadata.items() if key not in ("files",)},
        **own,
        "training": {
            "dataset": data_name,
            "command": command,
            "seed": args.seed,
            "steps_per_stage": args.steps_per_stage,
            "end_to_end_steps": progress["end_to_end_steps"],
            "batch_size": args.batch_size,
            "sequence_length": sequence_length,
            "optimizer": "Adam, learning rate 1e-3, a fresh one per phase",
            "seconds": seconds,
            "device": progress["device"],
        },
        "metrics": {
            **{key: value for key, value in (metadata.get("metrics") or {}).items() if key != metrics_key},
            metrics_key: block,
        },
    }
    zoo.save_preset(model, out, metadata, sample=sample, overwrite=True)
    print(json.dumps({"preset": str(out), "metrics": metadata["metrics"][metrics_key],
                      "training": {key: metadata["training"][key]
                                   for key in ("steps_per_stage", "end_to_end_steps", "seconds")}}))
    return 0


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="a folder name under zoo/, e.g. bair-4mod")
    parser.add_argument("--data", help="train on this dataset (default: the preset's stand-in)")
    parser.add_argument("--data-dir", help="the TFDS data folder")
    parser.add_argument("--out", help="the preset folder to write (default: zoo/PRESET for the stand-in)")
    parser.add_argument("--workdir", help="checkpoints and logs (default: runs/PRESET)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --workdir")
    parser.add_argument("--steps-per-stage", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--videos", type=int, default=48, help="test videos evaluated")
    parser.add_argument("--samples", type=int, default=10, help="N of best of N")
    parser.add_argument("--fvd-samples", type=int, default=1, help="samples per video embedded for FVD")
    parser.add_argument("--no-fvd", action="store_true", help="leave FVD out (no I3D weights needed)")
    parser.add_argument("--zoo", type=Path, default=ROOT / "zoo", help="the presets folder")
    return parser


def _cpu_seconds_per_step(model, train_data, seed, steps=3):
    """CPU seconds of one end-to-end step, after a step that traces the graph."""
    from ghvae_keras import training

    model.latents = "all"
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch = next(iter(training.add_noise(train_data.take(1), model, seed)))
    model.train_on_batch(batch)
    start = time.process_time()
    for _ in range(steps):
        model.train_on_batch(batch)
    return (time.process_time() - start) / steps


def _write_prediction_gif(model, sample, protocol, path, video_io):
    frames, context = sample["frames"], protocol["context"]
    actions = sample["actions"][None] if "actions" in sample else None
    predicted = model.predict_video(frames[None, :context], actions, horizon=protocol["eval_future"],
                                    num_samples=2, seed=0)
    video_io.write_video(path, video_io.prediction_grid(frames[:context], predicted[0], frames[context:]))


def _device():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS")
    return {
        "backend": keras.backend.backend(),
        "device": f"{len(gpus)} GPU" if gpus else f"CPU, {os.cpu_count()} cores",
        "processor": platform.processor() or platform.machine(),
        "intra_op_threads": int(threads) if threads else None,
    }


class CpuLedger(keras.callbacks.Callback):
    """Adds each checkpoint interval's CPU and wall seconds, steps and last
    loss to `seconds[phase]` and saves them, so a resumed run keeps counting
    (an interrupted interval is not counted: its steps are redone)."""

    def __init__(self, seconds, save):
        super().__init__()
        self.seconds, self.save = seconds, save

    def on_epoch_begin(self, epoch, logs=None):
        self.cpu, self.wall = time.process_time(), time.time()

    def on_epoch_end(self, epoch, logs=None):
        phase = "end_to_end" if self.model.latents == "all" else f"stage_{self.model.active_modules}"
        entry = self.seconds.setdefault(phase, {"cpu": 0.0, "wall": 0.0, "steps": 0})
        entry["cpu"] = round(entry["cpu"] + time.process_time() - self.cpu, 2)
        entry["wall"] = round(entry["wall"] + time.time() - self.wall, 2)
        entry["steps"] += self.params["steps"]
        entry["loss"] = float(logs["loss"]) if logs and "loss" in logs else None
        self.save()


if __name__ == "__main__":
    sys.exit(main())
