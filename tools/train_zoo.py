"""Trains, evaluates and writes a zoo preset's shipped weights.

    python tools/train_zoo.py bair-4mod --data-dir /work/data/tfds
    python tools/train_zoo.py bair-4mod --data-dir /work/data/tfds --resume   # after an interruption
    python tools/train_zoo.py bair-4mod --data bair --out runs/bair-4mod-real/preset
    KERAS_BACKEND=jax python tools/train_zoo.py bair-4mod --data shards/sim_push --train-only

For the preset's architecture (`zoo/PRESET/config.json`) and protocol, in order:

1. greedy training, module by module (`training.fit_greedy`), on the
   preset's simulated stand-in (or `--data`);
2. the end-to-end baseline (`training.fit_end_to_end`) on the same data at
   the same compute, priced on one machine: just before it trains, one step
   of each greedy stage and of the baseline is timed here (process CPU
   seconds), and its step count is the greedy steps taken, at their prices,
   divided by its own (greedy stages resumed on another processor cost
   other CPU seconds there; `metrics.*.end_to_end.compute` records both);
3. evaluation on the data's test split (`evaluation.evaluate`): 1 to K
   modules of the greedy weights, the end-to-end baseline and copy-last-frame
   on the same videos, best of `--samples` for PSNR and SSIM;
4. the preset folder (`--out`, default `zoo/PRESET` for the stand-in), with
   the figures under `metrics.stand_in_test` (`metrics.test` for other data)
   and the run under `training` in metadata.json, its card, and
   `prediction.gif` in the work folder to look at.

Checkpoints and logs go to `--workdir` (default `runs/PRESET`, kept out of
git); `--resume` continues from them, inside a phase too. After each greedy
stage, the preset folder itself is written with the stages trained so far
(`model.weights.h5`, its config with those modules active,
`training.status: "in progress"` and `stages_trained` in metadata.json, no
metrics, a card that says so and that `push_to_hub` refuses); during the
end-to-end baseline, as long again, each checkpoint is copied there too
(`end_to_end.checkpoint.h5`, weights and optimizer state, recorded
under `training.end_to_end_run`; gone when the run completes). Commit the
folder after a `committable:` line, and the same command continues from it
(at the next stage, or at the baseline's step) on a machine without the
work folder. A baseline that stops with `TrainingCollapsedError` (its
predictions became the last context frame) trains again from another
initialization, by itself up to `--baseline-retries` times and on demand
with `--resume --retrain-baseline` (the greedy modules stay; its restarts
are recorded); an interrupted retrain continues with `--resume`.
A stage found short of steps trains again, longer, with `--resume
--retrain-from-stage K --steps-per-stage 2500,2500,2500,6600` (one count per
stage; those of stages 1..K-1 as they ran): modules 1..K-1 stay, K onwards
start from their initialization, and the baseline trains again at the new
equal compute.
Compute is counted in process CPU seconds, which stay comparable
when other work shares the machine; training uses every core
(`training.configure_threads`, recorded in the metadata). Set
`TF_NUM_INTRAOP_THREADS=1` to run two presets side by side.

The recipe: `--steps-per-stage` (one count, or one per stage), `--batch-size`,
`--lr-schedule constant|cosine` (Adam from 1e-3, constant or decaying to 0
over each phase), `--train-future N`
(predicted frames per training clip; the preset's protocol otherwise), and
`--set KEY=VALUE` for the architecture (a `GHVAE` argument, e.g.
`--set skip_from=previous`), written into the preset's config.json.

On a machine without TensorFlow (JAX on a GPU or TPU), `--data` names a
shard folder of `ghvae data export` (windows of the protocol's training
length, from the preset's stand-in or other data) and `--train-only` stops
after the end-to-end baseline: copy the work folder and the preset folder
back and run the same command without `--train-only`, with `--resume`, on a
machine with TensorFlow, which evaluates (TFDS test split, FVD's I3D) and
writes the card. The plan records the dataset the shards came from, so a
run may change between its TFDS pipeline and its shards when it resumes.
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROGRESS_FILE = "progress.json"
# What fixes the end-to-end baseline's length, recorded once it is priced.
_END_TO_END_KEYS = ("end_to_end_steps", "probe_cpu_per_step", "probe_processor", "baseline_restarts")


def main(argv=None):
    args = _parser().parse_args(argv)
    from ghvae_keras import training

    threads = _configure_threads(training)
    from ghvae_keras import GHVAE, shards, video_io, zoo
    from ghvae_keras.atomic_files import write_json
    from ghvae_keras.zoo import reports

    preset_dir = Path(args.zoo) / args.preset
    if not (preset_dir / zoo.CONFIG_FILE).is_file():
        sys.exit(f"train_zoo: no preset {args.preset!r} in {args.zoo} "
                 f"(known: {', '.join(zoo.list_models(args.zoo))})")
    metadata = zoo.read_metadata(preset_dir)
    stand_in = metadata["data"]["stand_in"]["name"]
    windows = shards.WindowShards(args.data) if args.data and shards.is_shard_folder(args.data) else None
    data_name = windows.manifest["dataset"] if windows else args.data or stand_in
    out = Path(args.out) if args.out else (preset_dir if data_name == stand_in else None)
    if out is None:
        sys.exit("train_zoo: --out is required with --data other than the stand-in "
                 "(the zoo's folder holds the stand-in weights)")
    workdir = Path(args.workdir or ROOT / "runs" / args.preset)
    progress_path = workdir / PROGRESS_FILE
    baseline_dir = workdir / "end_to_end"  # the end-to-end baseline's checkpoints
    if workdir.exists() and any(workdir.iterdir()) and not args.resume:
        sys.exit(f"train_zoo: {workdir} holds an earlier run; pass --resume to continue it "
                 "or remove the folder")
    workdir.mkdir(parents=True, exist_ok=True)
    progress = json.loads(progress_path.read_text()) if progress_path.is_file() else {}
    protocol = dict(metadata["protocol"])
    if args.train_future is not None:
        protocol["train_future"] = args.train_future
    plan = {key: getattr(args, key) for key in
            ("steps_per_stage", "batch_size", "checkpoint_every", "seed", "videos", "samples",
             "fvd_samples", "no_fvd", "lr_schedule")}
    plan.update(data=data_name, train_future=protocol["train_future"], set=_overrides(args.set))
    num_modules = len(zoo.read_config(preset_dir / zoo.CONFIG_FILE)["module_channels"])
    try:
        stage_steps = training.stage_steps(args.steps_per_stage, num_modules)
    except ValueError as error:
        sys.exit(f"train_zoo: --steps-per-stage: {error}")
    retrain_from = args.retrain_from_stage
    if retrain_from is not None and not 1 <= retrain_from <= num_modules:
        sys.exit(f"train_zoo: --retrain-from-stage must be a stage of {args.preset}, 1 to {num_modules}")
    kept_stages = retrain_from - 1 if retrain_from else num_modules
    # A run that the preset folder itself records (committed stage by stage)
    # continues from there, also on a machine without the work folder.
    out_metadata = zoo.read_metadata(out) if (out / zoo.METADATA_FILE).is_file() else {}
    committed = _committed_run(reports, out_metadata, out, plan, num_modules, kept_stages,
                               complete_too=args.retrain_baseline or bool(retrain_from))
    if retrain_from and (not args.resume or not committed or committed["stages_trained"] < kept_stages):
        sys.exit(f"train_zoo: --retrain-from-stage {retrain_from} continues a run: pass --resume, with "
                 f"{out} holding stages 1..{kept_stages} trained")
    if committed and not progress:
        progress = {"plan": plan, "seconds": committed["seconds"], "device": committed["device"],
                    **({"baseline_restarts": committed["baseline_restarts"]}
                       if "baseline_restarts" in committed else {})}
        baseline_run = committed.get("end_to_end_run")
        if baseline_run:  # the end-to-end baseline too, part way through
            progress.update({key: baseline_run[key] for key in _END_TO_END_KEYS if key in baseline_run})
            training.import_checkpoint(baseline_dir, out / zoo.TRAINING_STATE_FILE,
                                       baseline_run["checkpoint"])
    if not _same_run(progress.setdefault("plan", plan), plan, num_modules, kept_stages):
        sys.exit(f"train_zoo: {workdir} was started with {progress['plan']}, not {plan}; "
                 "use the same options or another --workdir")

    def save_progress():
        write_json(progress_path, progress)

    def discard_baseline():
        shutil.rmtree(baseline_dir, ignore_errors=True)
        (workdir / "evaluation.json").unlink(missing_ok=True)
        (out / zoo.TRAINING_STATE_FILE).unlink(missing_ok=True)
        progress["seconds"].pop("end_to_end", None)

    def restart_baseline(reason):
        discard_baseline()
        progress["baseline_restarts"] = progress.get("baseline_restarts", 0) + 1
        save_progress()
        print(f"train_zoo: the end-to-end baseline starts again from another initialization "
              f"(restart {progress['baseline_restarts']}): {reason}", flush=True)

    if args.retrain_baseline:
        if not args.resume or not progress.get("seconds"):
            sys.exit("train_zoo: --retrain-baseline continues a run: pass --resume, with its work folder "
                     "or its committed preset folder")
        restart_baseline("--retrain-baseline")
    if retrain_from:
        # Stages K onwards and the baseline, whose equal compute they set, go.
        shutil.rmtree(workdir / "greedy", ignore_errors=True)
        discard_baseline()
        for stage in range(retrain_from, num_modules + 1):
            progress["seconds"].pop(f"stage_{stage}", None)
        for key in _END_TO_END_KEYS:
            progress.pop(key, None)
        progress["plan"] = plan
        save_progress()
        print(f"train_zoo: stages {retrain_from}..{num_modules} train again, "
              f"{', '.join(map(str, stage_steps[retrain_from - 1:]))} steps, then the baseline", flush=True)

    keras.utils.set_random_seed(args.seed)
    config = {**zoo.read_config(preset_dir / zoo.CONFIG_FILE), **plan["set"]}
    config.pop("active_modules", None)
    model = GHVAE.from_config(config)
    sequence_length = protocol["context"] + protocol["train_future"]
    if windows:
        if (windows.sequence_length, windows.image_size) != (sequence_length, model.image_size):
            sys.exit(f"train_zoo: {args.data} holds windows of {windows.sequence_length} frames of "
                     f"{windows.image_size} pixels; {args.preset} trains on {sequence_length} of "
                     f"{model.image_size}: export them with --sequence-length {sequence_length}")
        train_data = windows.batches(args.batch_size, seed=args.seed)
        # The preset's sample is the stand-in's first test clip: no TFDS needed.
        test_sample = zoo.read_sample(preset_dir) if data_name == stand_in else None
    else:
        from ghvae_keras import data as datasets

        train_data = datasets.load(data_name, "train", sequence_length, args.batch_size,
                                   seed=args.seed, image_size=model.image_size, data_dir=args.data_dir)
        test_sample = _sample(datasets, data_name, protocol, model, args.data_dir)
    ledger = CpuLedger(progress.setdefault("seconds", {}), save_progress)
    progress.setdefault("device", _device(threads))  # where training started
    optimizer = _optimizer_factory(args.lr_schedule)

    def training_block(status, stages_trained):
        return reports.training_block(
            dataset=data_name, command=_command(args, plan), steps_per_stage=plan["steps_per_stage"],
            batch_size=args.batch_size, status=status, stages_trained=stages_trained, plan=plan,
            seed=args.seed, sequence_length=sequence_length, optimizer=_OPTIMIZERS[args.lr_schedule],
            seconds=progress["seconds"], device=progress["device"])

    first = 1
    if committed and retrain_from:  # modules from K onwards keep their fresh initialization
        trained = GHVAE.from_config(config)
        trained.load_weights(out / zoo.WEIGHTS_FILE)
        for module, source in zip(model.ghvae_modules[:kept_stages], trained.ghvae_modules):
            module.set_weights(source.get_weights())
        first = retrain_from
    elif committed:
        model.load_weights(out / zoo.WEIGHTS_FILE)  # every module's weights, trained or not
        first = committed["stages_trained"] + 1
    if committed:
        print(f"resuming from {out}: stages 1..{first - 1} trained", flush=True)
    pointer = training.latest_checkpoint(workdir / "greedy")
    if pointer is not None:  # the work folder may be further on: it resumes mid-stage too
        done = int(pointer["phase"].removeprefix("stage_"))
        # A finished last stage is run again as a no-op that restores its weights.
        first = max(first, done + 1 if pointer["complete"] and done < model.num_modules else done)
    for stage in range(first, model.num_modules + 1):
        steps = stage_steps[stage - 1]
        model = training.fit_greedy(
            model, train_data, steps_per_stage=steps, stages=[stage],
            checkpoint_dir=workdir / "greedy", checkpoint_every=args.checkpoint_every,
            optimizer=optimizer(steps), noise_seed=args.seed, callbacks=[ledger],
            verbose=2,
        ).model
        # The last stage too: the end-to-end baseline that follows takes as
        # long again, and a session may end before it does.
        _commit_in_progress(zoo, model, out, out_metadata or metadata, protocol,
                            training_block("in progress", stage), test_sample, stage)

    if "end_to_end_steps" not in progress:
        # Equal compute, priced on this machine: the greedy stages may have
        # run on other processors (a resumed run), whose CPU seconds buy
        # other numbers of steps. Each phase's step is timed here, on a
        # throwaway copy, and the greedy steps taken are priced at them.
        probe = GHVAE.from_config(model.get_config())
        per_step = {f"stage_{k}": _cpu_seconds_per_step(probe, train_data, args.seed, stage=k)
                    for k in range(1, model.num_modules + 1)}
        per_step["end_to_end"] = _cpu_seconds_per_step(probe, train_data, args.seed, stage=None)
        greedy_here = sum(progress["seconds"][phase]["steps"] * per_step[phase]
                          for phase in per_step if phase != "end_to_end")
        steps = max(1, round(greedy_here / per_step["end_to_end"] / args.checkpoint_every)) * args.checkpoint_every
        progress.update(end_to_end_steps=steps, probe_cpu_per_step=per_step,
                        probe_processor=training.describe_processor())
        save_progress()

    def commit_end_to_end(epoch, logs):
        pointer = training.export_latest(baseline_dir, out / zoo.TRAINING_STATE_FILE)
        record = zoo.read_metadata(out)
        record["metrics"] = {}  # a retrained baseline's earlier figures no longer hold
        record["training"] = {**training_block("in progress", model.num_modules),
                              "end_to_end_run": {**{key: progress[key] for key in _END_TO_END_KEYS
                                                    if key in progress},
                                                 "checkpoint": pointer}}
        zoo.write_card(out, record)  # the card tells the compute so far
        print(f"committable: {out} holds the end-to-end baseline at step {pointer['step']} "
              f"of {progress['end_to_end_steps']}", flush=True)

    retries = args.baseline_retries
    while True:
        if progress.get("baseline_restarts") and training.latest_checkpoint(baseline_dir) is None:
            # Another initial draw than the run before it, repeatable from the seed.
            keras.utils.set_random_seed(args.seed + progress["baseline_restarts"])
        try:
            baseline = training.fit_end_to_end(
                GHVAE.from_config(model.get_config()), train_data, steps=progress["end_to_end_steps"],
                checkpoint_dir=baseline_dir, checkpoint_every=args.checkpoint_every,
                optimizer=optimizer(progress["end_to_end_steps"]), noise_seed=args.seed,
                callbacks=[ledger, keras.callbacks.LambdaCallback(on_epoch_end=commit_end_to_end)],
                verbose=2,
            ).model
            break
        except training.TrainingCollapsedError as collapse:
            if retries == 0:
                raise
            retries -= 1
            restart_baseline(collapse)
    if args.train_only:
        print(f"train_zoo: trained; evaluate and write the card with the same command, --resume and "
              f"without --train-only, where TensorFlow is installed (work folder {workdir})", flush=True)
        return 0

    from ghvae_keras import evaluation  # TFDS and I3D: TensorFlow from here on

    evaluation_path = workdir / "evaluation.json"
    if evaluation_path.is_file() and args.resume:
        result = json.loads(evaluation_path.read_text())
    else:
        result = evaluation.evaluate(
            model, data_name, "test", num_samples=args.samples,
            num_modules=list(range(1, model.num_modules + 1)), max_videos=args.videos,
            fvd=not args.no_fvd, fvd_samples=args.fvd_samples, seed=args.seed, data_dir=args.data_dir,
            protocol=protocol, others={reports.END_TO_END: baseline},
        )
        write_json(evaluation_path, result)
    print(evaluation.format_table(result), flush=True)
    _write_prediction_gif(model, test_sample, protocol, workdir / "prediction.gif", video_io)

    seconds = progress["seconds"]
    greedy_phases = [f"stage_{k}" for k in range(1, model.num_modules + 1)]
    compute = {
        "unit": "process CPU seconds",
        "greedy": round(sum(seconds[p]["cpu"] for p in greedy_phases), 1),
        "end_to_end": round(seconds["end_to_end"]["cpu"], 1),
        "end_to_end_steps": progress["end_to_end_steps"],
    }
    if "probe_cpu_per_step" in progress:  # the rule that set end_to_end_steps
        per_step = progress["probe_cpu_per_step"]
        compute["priced_on"] = {
            "processor": progress["probe_processor"],
            "cpu_per_step": {phase: round(value, 4) for phase, value in per_step.items()},
            "greedy": round(sum(seconds[p]["steps"] * per_step[p] for p in greedy_phases), 1),
            "end_to_end": round(progress["end_to_end_steps"] * per_step["end_to_end"], 1),
        }
    block = reports.metrics_block(result, _command(args, plan))
    block[reports.END_TO_END]["compute"] = compute
    metrics_key = reports.STAND_IN_TEST if data_name == stand_in else "test"
    own = {} if out.resolve() == preset_dir.resolve() else {"name": out.name, "hub": None}  # not the registry's copy
    training_metadata = {**training_block("complete", model.num_modules),
                         "end_to_end_steps": progress["end_to_end_steps"],
                         **({"baseline_restarts": progress["baseline_restarts"]}
                            if progress.get("baseline_restarts") else {})}
    if "priced_on" in compute:
        training_metadata["priced_on"] = compute["priced_on"]
    # Earlier metrics and planning results described the weights this run replaces.
    metadata = {
        **{key: value for key, value in (out_metadata or metadata).items()
           if key not in ("files", "metrics", "planning")},
        **own,
        "protocol": protocol,
        "training": training_metadata,
        "metrics": {metrics_key: block},
    }
    zoo.save_preset(model, out, metadata, sample=test_sample, overwrite=True)
    print(json.dumps({"preset": str(out), "metrics": metadata["metrics"][metrics_key],
                      "training": {key: metadata["training"][key]
                                   for key in ("steps_per_stage", "end_to_end_steps", "seconds")}}))
    return 0


_OPTIMIZERS = {
    "constant": "Adam, learning rate 1e-3, a fresh one per phase",
    "cosine": "Adam, learning rate 1e-3 decaying to 0 along a cosine over each phase, a fresh one per phase",
}


def _optimizer_factory(schedule):
    """`steps -> (() -> a fresh optimizer)` for a phase of that many steps."""
    def for_steps(steps):
        def make():
            if schedule == "cosine":
                return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps))
            return keras.optimizers.Adam(1e-3)
        return make
    return for_steps


def _overrides(pairs):
    """`["skip_from=previous", "beta=0.001"]` -> `{"beta": 0.001, "skip_from": "previous"}`
    (values are JSON where they parse as JSON, else strings)."""
    overrides = {}
    for pair in pairs or ():
        key, equals, value = pair.partition("=")
        if not equals or not key:
            sys.exit(f"train_zoo: --set takes KEY=VALUE, got {pair!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return dict(sorted(overrides.items()))


def _committed_run(reports, metadata, out, plan, num_modules, kept_stages, complete_too=False):
    """The preset folder's record of a run with this plan (up to the steps of
    stages after `kept_stages`) that is part way through greedy training
    (or, with `complete_too`, finished), or None."""
    training = metadata.get("training") or {}
    wanted = reports.in_progress(training) or (complete_too and training.get("status") == "complete")
    if not wanted or not (out / "model.weights.h5").is_file():
        return None
    if not _same_run(training.get("plan"), plan, num_modules, kept_stages):
        sys.exit(f"train_zoo: {out} records a run in progress with {training.get('plan')}, not {plan}; "
                 "use the same options to continue it")
    return training


def _same_run(recorded, plan, num_modules, kept_stages):
    """Whether a recorded plan is `plan`, but for the steps of the stages
    after `kept_stages` (those a `--retrain-from-stage` changes)."""
    from ghvae_keras.training import stage_steps

    if recorded is None or {**recorded, "steps_per_stage": None} != {**plan, "steps_per_stage": None}:
        return False
    return (stage_steps(recorded["steps_per_stage"], num_modules)[:kept_stages]
            == stage_steps(plan["steps_per_stage"], num_modules)[:kept_stages])


def _steps_argument(text):
    """`"2500"` -> 2500; `"2500,2500,2500,6600"` -> that list."""
    try:
        counts = [int(word) for word in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a step count or counts separated by commas, got {text!r}")
    if min(counts) < 1:
        raise argparse.ArgumentTypeError(f"step counts must be positive, got {text!r}")
    return counts[0] if len(counts) == 1 else counts


def _commit_in_progress(zoo, model, out, metadata, protocol, training_metadata, sample, stage):
    """Writes the preset folder with the stages trained so far, active, and
    no metrics (earlier ones describe other weights): committable, so that
    a run continues from it, and refused for publishing."""
    partial = model.clone(active_modules=stage)
    record = {**{key: value for key, value in metadata.items() if key not in ("files", "metrics", "planning")},
              "protocol": protocol, "training": training_metadata, "metrics": {}}
    zoo.save_preset(partial, out, record, sample=sample, overwrite=True)
    print(f"committable: {out} holds stages 1..{stage} of {model.num_modules}", flush=True)


def _sample(datasets, data_name, protocol, model, data_dir):
    """The first test clip of the evaluation length, as the preset's sample."""
    length = protocol["context"] + protocol["eval_future"]
    test = next(iter(datasets.load(data_name, "test", length, 1, shuffle=False,
                                   image_size=model.image_size, data_dir=data_dir)))
    return {key: np.asarray(value[0]) for key, value in test.items()}


def _command(args, plan):
    """The command line that repeats this run, every option of the plan spelled out."""
    words = [args.preset] + (["--data", args.data] if args.data else [])
    for key, value in plan.items():
        if key in ("data", "set") or value is None or value is False:
            continue
        value = ",".join(map(str, value)) if isinstance(value, list) else value
        words += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    for key, value in plan["set"].items():
        words += ["--set", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    return "python tools/train_zoo.py " + shlex.join(words)


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="a folder name under zoo/, e.g. bair-4mod")
    parser.add_argument("--data", help="train on this dataset, or on a shard folder of `ghvae data export` "
                                       "(default: the preset's stand-in)")
    parser.add_argument("--data-dir", help="the TFDS data folder")
    parser.add_argument("--out", help="the preset folder to write (default: zoo/PRESET for the stand-in)")
    parser.add_argument("--workdir", help="checkpoints and logs (default: runs/PRESET)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --workdir")
    retrain = parser.add_mutually_exclusive_group()  # a retrained stage retrains the baseline too
    retrain.add_argument("--retrain-baseline", action="store_true",
                         help="with --resume: discard the end-to-end baseline trained so far (its checkpoints, "
                              "compute and evaluation) and train it again from another initialization, "
                              "keeping the greedy modules (after a TrainingCollapsedError)")
    retrain.add_argument("--retrain-from-stage", type=int, metavar="K",
                         help="with --resume: train greedy stages K onwards again from their initialization "
                              "(new step counts for them in --steps-per-stage), then the baseline at the new "
                              "equal compute; modules 1..K-1 stay")
    parser.add_argument("--baseline-retries", type=int, default=3, metavar="N",
                        help="how many times an end-to-end baseline that collapses (TrainingCollapsedError) "
                             "starts again from another initialization before train_zoo gives up (default 3)")
    parser.add_argument("--train-only", action="store_true",
                        help="stop after the end-to-end baseline (evaluate later with --resume)")
    parser.add_argument("--steps-per-stage", type=_steps_argument, default=300,
                        help="optimizer steps per greedy stage: one count, or one per stage (2500,2500,2500,6600)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--lr-schedule", choices=sorted(_OPTIMIZERS), default="constant",
                        help="Adam at 1e-3 throughout, or decaying along a cosine over each phase")
    parser.add_argument("--train-future", type=int, default=None,
                        help="predicted frames per training clip (default: the preset's protocol)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="change the preset's architecture, e.g. --set skip_from=previous "
                             "(a GHVAE argument; the value is JSON where it parses)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--videos", type=int, default=96, help="test videos evaluated")
    parser.add_argument("--samples", type=int, default=10, help="N of best of N")
    parser.add_argument("--fvd-samples", type=int, default=1, help="samples per video embedded for FVD")
    parser.add_argument("--no-fvd", action="store_true", help="leave FVD out (no I3D weights needed)")
    parser.add_argument("--zoo", type=Path, default=ROOT / "zoo", help="the presets folder")
    return parser


def _cpu_seconds_per_step(model, train_data, seed, stage, steps=3):
    """CPU seconds of one training step of greedy stage `stage` (None: the
    end-to-end baseline), after a step that traces the graph."""
    from ghvae_keras import training

    training.prepare_phase(model, stage, latents="all" if stage is None else "top")
    batch = next(training.with_noise([next(_batches(train_data))], model, seed))
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


def _batches(train_data):
    """An iterator of numpy batches over a `tf.data` dataset or shard batches."""
    if hasattr(train_data, "as_numpy_iterator"):
        return train_data.as_numpy_iterator()
    return iter(train_data)


def _configure_threads(training):
    """Every core for TensorFlow (unless TF_NUM_*_THREADS say otherwise);
    other backends size their own pools."""
    if keras.backend.backend() == "tensorflow":
        return training.configure_threads()
    return {}


def _device(threads):
    from ghvae_keras import training

    devices = training.list_devices()
    accelerators = [device for device in devices if not device.lower().startswith("cpu")]
    device = {
        "backend": keras.backend.backend(),
        "device": f"{len(accelerators)} {accelerators[0].split(':')[0].upper()}" if accelerators
        else f"CPU, {os.cpu_count()} cores",
        "processor": training.describe_processor(),
    }
    device.update({f"{pool}_threads": count for pool, count in threads.items()})
    return device


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
        if self.model.stop_training:  # a bad loss or a collapse: no checkpoint keeps these steps
            return
        phase = "end_to_end" if self.model.latents == "all" else f"stage_{self.model.active_modules}"
        entry = self.seconds.setdefault(phase, {"cpu": 0.0, "wall": 0.0, "steps": 0})
        entry["cpu"] = round(entry["cpu"] + time.process_time() - self.cpu, 2)
        entry["wall"] = round(entry["wall"] + time.time() - self.wall, 2)
        entry["steps"] += self.params["steps"]
        entry["loss"] = float(logs["loss"]) if logs and "loss" in logs else None
        self.save()


if __name__ == "__main__":
    sys.exit(main())
