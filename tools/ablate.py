"""Which model and training choices buy quality, at equal compute.

    python tools/ablate.py --preset bair-4mod --data-dir /work/data/tfds
    python tools/ablate.py --preset cityscapes-4mod --data-dir /work/data/tfds \
        --variants base,skip_previous,long_clips --budget 800 --videos 96 --samples 4

Every variant starts from the preset's architecture (`zoo/PRESET/config.json`,
with the options the variants turn on at GHVAE's defaults, whatever the
preset ships with) and training recipe (batch 8, clips of context +
train_future frames, Adam at 1e-3, a fresh optimizer per stage) and changes
one thing. Each is trained
greedily on the preset's stand-in for the same process-CPU seconds
(`--budget`, split equally over the K stages: a stage stops when its share is
spent, so a costlier step means fewer steps; the clock starts after the
first step, which traces the graph), then evaluated on the first
`--videos` test videos, best of `--samples`, over the preset's evaluation
horizon, with 1 to K modules and copy-last-frame on the same videos. For an
action-conditioned preset, every video is also predicted with the next
video's actions and the same noise: "actions worth" is how much PSNR that
loses (near 0 dB when the predictions ignore the actions); and, where a
simulator takes its actions, `tools/bench_planning.py`'s action-response
probe runs on 1 and K modules: the "spread" of their predictions over 9
fixed pushes, as a fraction of the real frames' (1 = the scene moves as
much as the actions move it). `--fvd` adds the FVD of K modules and of
copy-last-frame (one sample per video; the I3D weights of `python -m
ghvae_keras.metrics.convert_i3d`).

Variants (`--variants`, comma-separated; default all that apply):

    base             the recipe as it is
    skip_previous    decoders fuse the previous frame's features, not the last context frame's
    decoder_actions  decoders see the action too (action-conditioned presets)
    long_clips       train on context + eval_future frames (the evaluated horizon)
    cosine_lr        learning rate 1e-3 decaying to 0 along a cosine over each stage's budget
    batch_16         batch 16
    beta_1e-3        beta 1e-3 (default 1e-4)
    beta_3e-4        beta 3e-4
    beta_1e-5        beta 1e-5
    wide             twice the channels in every module
    lower_cores      the modules below the top keep predicting (GHVAE(lower_cores=True))
    feed_predictions training predicts from the model's own previous frames, as a rollout does
    render_future    decoders also trained to draw each future frame from its own features
                     with prediction's skips (GHVAE(render_weight=1))
    open_blend       the pixel decoder's blend starts at half skip frame, half generated
                     colours (its mask logit's bias 0, not 4: sigmoid(4) = 0.98 on the skip)
    motion_loss      each pixel's squared error weighted by 1 + 10 x how much it changes
                     from the previous frame (GHVAE(motion_weight=10))
    warp             the pixel decoder blends the skip frame moved along a flow field it
                     predicts (GHVAE(warp_skip=True))
    action_film      the action also scales each channel of the temporal cores' inputs
                     (GHVAE(action_film=True); action-conditioned presets)
    half_teacher_forced  feed_predictions for half of each batch's clips; the other half
                     predicted from the true previous frames
                     (GHVAE(feed_predictions=True, teacher_forced_fraction=0.5))
    curriculum       each stage predicts from the true previous frames for the first half of
                     its budget, then from its own (feed_predictions), with one optimizer

Variants combine with `+`: `skip_previous+cosine_lr`.

`--top-stage` asks what the top module needs: every variant starts from the
preset's shipped modules 1..K-1 (`zoo/PRESET/model.weights.h5`) and trains
only module K, from a fresh initialization, for the whole `--budget`. The
lower modules run as they were trained (the preset's `skip_from`,
`decoder_actions` and `lower_cores`), so the variants that change those or
their weights' shapes (`skip_previous`, `decoder_actions`, `lower_cores`,
`wide`) do not apply.

Results go to `--out` (default `runs/ablation-PRESET.json`), one entry per
variant, written as each finishes; a rerun skips the variants already there
(`--redo` trains them again). Prints one JSON line per variant and, at the
end, the table as Markdown.
"""

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]

CHANGES = {
    "base": "the recipe as it is",
    "skip_previous": "decoders fuse the previous frame's features, not the last context frame's",
    "decoder_actions": "decoders see the action too",
    "long_clips": "clips of context + eval_future frames",
    "cosine_lr": "cosine learning-rate decay over each stage",
    "batch_16": "batch 16",
    "beta_1e-3": "beta 1e-3",
    "beta_3e-4": "beta 3e-4",
    "beta_1e-5": "beta 1e-5",
    "wide": "twice the channels",
    "lower_cores": "the modules below the top keep predicting",
    "feed_predictions": "training predicts from the model's own previous frames",
    "render_future": "decoders also trained to draw each future frame from its own features",
    "open_blend": "the pixel decoder's blend starts at half skip, half generated colours",
    "motion_loss": "each pixel's error weighted by how much it changes",
    "motion_loss_30": "each pixel's error weighted three times as much by how much it changes",
    "bfloat16": "training computes in bfloat16 (mixed_bfloat16: weights, loss and evaluation in float32)",
    "warp": "the pixel decoder blends the skip frame moved along a flow field it predicts",
    "action_film": "the action also scales the temporal cores' channels",
    "half_teacher_forced": "training predicts half of each batch's clips from the model's own previous "
                           "frames, half from the true ones",
    "curriculum": "each stage trains teacher-forced for half its budget, then on its own rollout",
}
# The variants that change how the model uses actions.
ACTION_VARIANTS = ("decoder_actions", "action_film")
# A moving arm changes its pixels by about 0.2-0.5: they weigh 3-6 times the still background.
MOTION_WEIGHT = 10.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="bair-4mod")
    parser.add_argument("--zoo", type=Path, default=ROOT / "zoo")
    parser.add_argument("--data", default=None, help="default: the preset's stand-in")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--variants", default=None, help="comma-separated (default: all that apply)")
    parser.add_argument("--budget", type=float, default=800.0,
                        help="process-CPU seconds of greedy training per variant (default 800)")
    parser.add_argument("--videos", type=int, default=96, help="test videos evaluated")
    parser.add_argument("--samples", type=int, default=4, help="N of best of N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--redo", action="store_true", help="train variants already in --out again")
    parser.add_argument("--fvd", action="store_true",
                        help="also the FVD of K modules and of copy-last-frame (one sample per video)")
    parser.add_argument("--top-stage", action="store_true",
                        help="train only the top module, over the preset's shipped modules below it")
    args = parser.parse_args(argv)

    from ghvae_keras import training

    threads = training.configure_threads()
    from ghvae_keras import zoo
    from ghvae_keras.atomic_files import write_json  # makes the folder, writes atomically

    folder = zoo.resolve_preset(str(args.zoo / args.preset), require_weights=False)
    metadata = zoo.read_metadata(folder)
    config = json.loads((folder / zoo.CONFIG_FILE).read_text())["config"]
    action_conditioned = bool(config.get("action_dim"))
    names = (args.variants.split(",") if args.variants else
             [name for name in CHANGES if action_conditioned or name not in ACTION_VARIANTS])
    for name in names:
        for part in name.split("+"):
            if part not in CHANGES:
                parser.error(f"unknown variant {part!r}; choose from {', '.join(CHANGES)}")
            if part in ACTION_VARIANTS and not action_conditioned:
                parser.error(f"{args.preset} has no actions: {part} does not apply")
            if args.top_stage and part in LOWER_MODULE_VARIANTS:
                parser.error(f"{part} changes how the shipped lower modules run: it does not apply "
                             "with --top-stage")
    out = args.out or ROOT / "runs" / f"ablation-{args.preset}.json"
    results = json.loads(out.read_text()) if out.is_file() else {}
    settings = {"preset": args.preset, "data": args.data or metadata["data"]["stand_in"]["name"],
                "budget_cpu_seconds": args.budget, "videos": args.videos, "samples": args.samples,
                "seed": args.seed, "threads": threads, **({"top_stage": True} if args.top_stage else {})}
    if results.get("settings", settings) != settings:
        sys.exit(f"ablate: {out} holds results for {results['settings']}, not {settings}; "
                 "use the same options or another --out")
    results["settings"] = settings
    results.setdefault("variants", {})
    results["command"] = "python tools/ablate.py " + shlex.join(sys.argv[1:] if argv is None else argv)

    for name in names:
        if name in results["variants"] and not args.redo:
            continue
        entry = run_variant(name, config, metadata, settings, args, folder)
        results["variants"][name] = entry
        write_json(out, results)
        print(json.dumps({"variant": name, **entry}), flush=True)
    print(markdown_table(results))
    return 0


# The GHVAE options that variants change: each starts at GHVAE's default, so
# that a variant's name says everything it changes (robonet-4mod ships with
# feed_predictions).
VARIANT_OPTIONS = ("skip_from", "decoder_actions", "lower_cores", "feed_predictions", "render_weight",
                   "motion_weight", "warp_skip", "action_film", "teacher_forced_fraction")
# The options that say how the modules below the top run (`--top-stage` keeps the preset's),
# and the variants that change them or the shapes of those modules' weights.
LOWER_MODULE_OPTIONS = ("skip_from", "decoder_actions", "lower_cores", "warp_skip", "action_film")
LOWER_MODULE_VARIANTS = ("skip_previous", "decoder_actions", "lower_cores", "wide", "warp", "action_film")


def recipe(name, config, protocol, keep=()):
    """The model config and training settings of a variant; the options in
    `keep` stay as `config` has them."""
    import inspect

    from ghvae_keras import GHVAE

    defaults = inspect.signature(GHVAE.__init__).parameters
    config = {**config, **{option: defaults[option].default for option in VARIANT_OPTIONS
                           if option not in keep or option not in config}}
    settings = {"batch_size": 8, "sequence_length": protocol["context"] + protocol["train_future"],
                "cosine_lr": False, "blend_bias": None, "rollout_from": None}
    for part in name.split("+"):
        if part == "skip_previous":
            config["skip_from"] = "previous"
        elif part == "decoder_actions":
            config["decoder_actions"] = True
        elif part == "long_clips":
            settings["sequence_length"] = protocol["context"] + protocol["eval_future"]
        elif part == "cosine_lr":
            settings["cosine_lr"] = True
        elif part == "batch_16":
            settings["batch_size"] = 16
        elif part.startswith("beta_"):
            config["beta"] = float(part.removeprefix("beta_"))
        elif part == "wide":
            config["module_channels"] = [2 * c for c in config["module_channels"]]
        elif part in ("lower_cores", "feed_predictions"):
            config[part] = True
        elif part == "render_future":
            config["render_weight"] = 1.0
        elif part == "motion_loss":
            config["motion_weight"] = MOTION_WEIGHT
        elif part == "motion_loss_30":
            config["motion_weight"] = 3 * MOTION_WEIGHT
        elif part == "open_blend":
            settings["blend_bias"] = 0.0
        elif part == "bfloat16":
            config["dtype"] = "mixed_bfloat16"
        elif part == "warp":
            config["warp_skip"] = True
        elif part == "action_film":
            config["action_film"] = True
        elif part == "half_teacher_forced":
            config.update(feed_predictions=True, teacher_forced_fraction=0.5)
        elif part == "curriculum":
            config["feed_predictions"] = False  # until CpuBudget turns it on
            settings["rollout_from"] = 0.5
    return config, settings


def _set_blend_bias(model, bias):
    """Starts the pixel decoder's mask logit at `bias` (an initialization, so
    not part of the config: trained weights override it)."""
    import numpy as np

    decoder = model.ghvae_modules[0].decoder
    values = np.array(decoder.out.bias)
    values[decoder.output_channels] = bias  # after the colours (before a flow)
    decoder.out.bias.assign(values)


def initial_model(config, train, seed, shipped_from=None):
    """The variant's model before training; with `shipped_from` (a preset
    folder), modules 1..K-1 hold that preset's weights."""
    import keras

    from ghvae_keras import GHVAE, from_pretrained

    keras.utils.set_random_seed(seed)
    model = GHVAE.from_config(config)
    if train["blend_bias"] is not None:
        _set_blend_bias(model, train["blend_bias"])
    if shipped_from is not None:
        shipped = from_pretrained(str(shipped_from))
        for module, trained in zip(model.ghvae_modules[:-1], shipped.ghvae_modules[:-1]):
            module.set_weights(trained.get_weights())
    return model


def run_variant(name, config, metadata, settings, args, folder):
    from ghvae_keras import evaluation, training
    from ghvae_keras import data as datasets

    protocol = metadata["protocol"]
    config, train = recipe(name, config, protocol, keep=LOWER_MODULE_OPTIONS if args.top_stage else ())
    model = initial_model(config, train, args.seed, folder if args.top_stage else None)
    trained_stages = [model.num_modules] if args.top_stage else range(1, model.num_modules + 1)
    data = datasets.load(settings["data"], "train", train["sequence_length"], train["batch_size"],
                         seed=args.seed, image_size=model.image_size, data_dir=args.data_dir)
    share = args.budget / len(trained_stages)
    stages = {}
    started = time.time()
    for stage in trained_stages:
        if train["rollout_from"] is not None:
            model.feed_predictions = False  # each stage starts teacher-forced
        budget = CpuBudget(share, 1e-3 if train["cosine_lr"] else None, train["rollout_from"])
        # The budget ends a stage; the step count only has to be out of reach.
        training.fit_greedy(model, data, steps_per_stage=10**6, checkpoint_every=10**6, stages=[stage],
                            noise_seed=args.seed, callbacks=[budget], verbose=0)
        stages[f"stage_{stage}"] = {"steps": budget.steps, "cpu": round(budget.cpu, 1),
                                    "wall": round(budget.wall, 1), "loss": budget.loss}
        print(f"{name}: stage {stage}: {budget.steps} steps, {budget.cpu:.0f} CPU s, "
              f"{budget.wall:.0f} s, loss {budget.loss}", file=sys.stderr, flush=True)
    train_wall = time.time() - started
    counts = list(range(1, model.num_modules + 1))
    if model.dtype_policy.name != "float32":  # a training choice: judged as the float32 model it ships as
        model = model.clone(dtype="float32")
    result = evaluation.evaluate(model, settings["data"], "test", num_samples=args.samples,
                                 num_modules=counts, max_videos=args.videos, fvd=False,
                                 shuffled_actions=model.action_dim is not None,
                                 seed=args.seed, data_dir=args.data_dir, protocol=protocol, verbose=0)
    by_count = {entry["num_modules"]: entry for entry in result["metrics"]}
    floor = result["metrics"][0][evaluation.COPY_LAST_FRAME]
    response = _action_response(model, counts)
    if args.fvd:
        # One sample a video: I3D, not the model, dominates FVD's cost on a CPU.
        scored = evaluation.evaluate(model, settings["data"], "test", num_modules=counts[-1],
                                     max_videos=args.videos, seed=args.seed, data_dir=args.data_dir,
                                     protocol=protocol, verbose=0)["metrics"][0]
        by_count[counts[-1]]["fvd"] = scored["fvd"]
        floor = {**floor, "fvd": scored[evaluation.COPY_LAST_FRAME]["fvd"]}
    return {
        "change": " and ".join(CHANGES[part] for part in name.split("+")),
        "config": {key: config[key] for key in ("module_channels", "beta", *VARIANT_OPTIONS) if key in config},
        "training": {**train, "stages": stages, "wall": round(train_wall, 1),
                     "cpu": round(sum(s["cpu"] for s in stages.values()), 1)},
        "modules": {str(k): {"psnr": round(e["psnr"], 3), "ssim": round(e["ssim"], 4),
                             **({"fvd": round(e["fvd"], 1)} if e.get("fvd") is not None else {}),
                             "psnr_per_frame": [round(v, 2) for v in e["psnr_per_frame"]],
                             **({"psnr_shuffled_actions": round(e["psnr_shuffled_actions"], 3)}
                                if "psnr_shuffled_actions" in e else {})}
                    for k, e in by_count.items()},
        "copy_last_frame": {"psnr": round(floor["psnr"], 3), "ssim": round(floor["ssim"], 4),
                            **({"fvd": round(floor["fvd"], 1)} if floor.get("fvd") is not None else {})},
        **({"action_response": response} if response else {}),
        "videos": result["videos"],
        "horizon": result["horizon"],
        # CPU seconds buy different numbers of steps on different processors.
        "machine": {"processor": training.describe_processor(), "cores": os.cpu_count()},
    }


def _action_response(model, counts):
    """`bench_planning`'s action-response probe on 1 and K modules, by
    module count, or `{}` where no simulator takes the model's actions and
    frame size."""
    import importlib.util

    from ghvae_keras.sim import episodes

    spec = importlib.util.spec_from_file_location("bench_planning", ROOT / "tools" / "bench_planning.py")
    bench_planning = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_planning)
    if model.action_dim not in bench_planning.PROBE_SCENES or model.image_size != episodes.IMAGE_SIZE:
        return {}
    seeds = range(bench_planning.TEST_SEED, bench_planning.TEST_SEED + 4)
    return bench_planning.action_response({str(k): model.truncated(k) for k in sorted({counts[0], counts[-1]})},
                                          seeds)


def _callback_base():
    import keras

    return keras.callbacks.Callback


class CpuBudget(_callback_base()):
    """Stops a phase once it has spent `seconds` of process CPU time; with
    `cosine_from`, sets the learning rate along a cosine from that value to 0
    over the budget (the CPU spent standing in for the step count). With
    `rollout_from`, a model that starts teacher-forced turns to its own
    rollout (`feed_predictions`) once that fraction of the budget is spent,
    with the same optimizer."""

    def __init__(self, seconds, cosine_from=None, rollout_from=None):
        super().__init__()
        self.seconds, self.cosine_from, self.rollout_from = seconds, cosine_from, rollout_from
        self.steps, self.loss = 0, None

    def on_train_begin(self, logs=None):
        self.cpu_start = self.wall_start = None
        self.switch_cpu = None  # the CPU time of the step that traces the rollout

    @property
    def cpu(self):
        return 0.0 if self.cpu_start is None else time.process_time() - self.cpu_start

    @property
    def wall(self):
        return 0.0 if self.wall_start is None else time.time() - self.wall_start

    def on_train_batch_begin(self, batch, logs=None):
        if (self.rollout_from is not None and not self.model.feed_predictions and self.cpu_start is not None
                and self.cpu >= self.rollout_from * self.seconds):
            self.model.feed_predictions = True
            self.model.make_train_function(force=True)  # fit calls it for this very step
            self.switch_cpu, self.switch_wall = time.process_time(), time.time()
        if self.cosine_from is not None:
            fraction = min(1.0, self.cpu / self.seconds)
            self.model.optimizer.learning_rate = (
                self.cosine_from * 0.5 * (1.0 + math.cos(math.pi * fraction)))

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.loss = float((logs or {}).get("loss", float("nan")))
        if self.cpu_start is None:
            # The clock starts after the first step, which traces the graph and
            # fills the shuffle buffer: a fixed cost that long runs amortise.
            self.cpu_start, self.wall_start = time.process_time(), time.time()
        elif self.switch_cpu is not None:
            # Like the first step's, the retrace is a fixed cost: off the clock.
            self.cpu_start += time.process_time() - self.switch_cpu
            self.wall_start += time.time() - self.switch_wall
            self.switch_cpu = None
        elif self.cpu >= self.seconds:
            self.model.stop_training = True


def markdown_table(results):
    variants = results["variants"]
    if not variants:
        return ""
    settings = results["settings"]
    any_entry = next(iter(variants.values()))
    top = max(int(k) for k in any_entry["modules"])
    if settings.get("top_stage"):
        trained, stages = f"training module {top} alone, over the shipped modules 1..{top - 1},", f"stage {top}"
    else:
        trained, stages = "greedy training", f"stages 1..{top}"
    lines = [
        f"{settings['preset']} on {settings['data']}: {settings['budget_cpu_seconds']:.0f} process-CPU s "
        f"of {trained} per variant; {any_entry['videos']} test videos, best of {settings['samples']}, "
        f"{any_entry['horizon']} predicted frames",
        "",
        f"| variant | steps ({stages}) | PSNR 1..{top} modules | SSIM {top} modules "
        f"| PSNR {top} − copy | actions worth ({top} modules) | spread 1 / {top} modules "
        f"| FVD {top} modules |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in variants.items():
        steps = "/".join(str(s["steps"]) for s in entry["training"]["stages"].values())
        full, floor = entry["modules"][str(top)], entry["copy_last_frame"]
        # Runs before every count was evaluated hold 1 and K only.
        psnr = " / ".join(f"{entry['modules'][str(k)]['psnr']:.2f}" if str(k) in entry["modules"] else "–"
                          for k in range(1, top + 1))
        # What another video's actions cost in PSNR (runs before it was measured: –).
        worth = ("–" if "psnr_shuffled_actions" not in full
                 else f"{full['psnr'] - full['psnr_shuffled_actions']:+.2f} dB")
        response = entry.get("action_response", {})  # measured since the warp variant
        spread = (" / ".join(f"{response[k]['spread']:.2f}" for k in ("1", str(top)))
                  if set(response) == {"1", str(top)} else "–")
        fvd = f"{full['fvd']:.0f}" if "fvd" in full else "–"  # with --fvd
        lines.append(f"| {name} | {steps} | {psnr} | {full['ssim']:.3f} "
                     f"| {full['psnr'] - floor['psnr']:+.2f} | {worth} | {spread} | {fvd} |")
    floor = next((entry["copy_last_frame"] for entry in variants.values() if "fvd" in entry["copy_last_frame"]),
                 any_entry["copy_last_frame"])
    fvd = f"{floor['fvd']:.0f}" if "fvd" in floor else "–"
    lines.append(f"| copy last frame | – | {floor['psnr']:.2f} | {floor['ssim']:.3f} | 0 | – | – | {fvd} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
