"""The `ghvae` command: parses the command line, calls the subcommand's
function in `ghvae_keras.commands` with the parsed arguments, and prints
what it returns. Errors a user can fix (`GHVAEError`) end the command with
one line on stderr and exit code 2."""

import argparse
import inspect
import logging
import os
import sys

from ghvae_keras.errors import GHVAEError

PRESET_HELP = "a preset name (see `ghvae list`), hf://org/name[@revision] or a preset folder"


def _module_counts(text):
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected module counts like 4 or 1,2,3,4, got {text!r}") from None


def _common():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress or summary output")
    common.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log messages (hidden unless TF_CPP_MIN_LOG_LEVEL is set)")
    return common


def _seed():
    seed = argparse.ArgumentParser(add_help=False)
    seed.add_argument("--seed", type=int, default=0, help="seed of data order and samples (default: %(default)s)")
    return seed


def _clip():
    clip = argparse.ArgumentParser(add_help=False)
    clip.add_argument("--context", type=int, help="context frames (default: the preset's protocol)")
    clip.add_argument("--horizon", type=int, help="frames to predict (default: the preset's protocol)")
    return clip


def _data(split):
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--split", default=split, help="TFDS split (default: %(default)s)")
    data.add_argument("--data-dir", help="TFDS data folder (default: TFDS's own)")
    return data


def _datasets_help():
    try:
        import tensorflow  # noqa: F401  (the datasets are TFDS builders)
    except ImportError:  # KERAS_BACKEND=jax without TensorFlow: shard folders only
        return "a dataset name (needs TensorFlow) or a shard folder of `ghvae data export`"
    from ghvae_keras.data import list_datasets

    return f"one of {', '.join(list_datasets())}, or tfds:NAME[/CONFIG]"


def build_parser():
    # Parents are made afresh for each subcommand: argparse shares their
    # option objects, so one subcommand's default would become another's.
    datasets = _datasets_help()
    parser = argparse.ArgumentParser(prog="ghvae", description="GHVAE video prediction.")
    subcommands = parser.add_subparsers(dest="subcommand", required=True)

    def add(name, run, help, description, parents=(), under=subcommands):
        sub = under.add_parser(name, help=help, description=description, parents=[_common(), *parents])
        sub.set_defaults(run=run)
        return sub

    from ghvae_keras import commands

    demo = add("demo", commands.demo, "train a tiny GHVAE on a procedural pushing video and write a prediction GIF",
               "Trains a 2-module GHVAE greedily on a procedural video of a pushed square (about three "
               "minutes on 2 CPU cores) and writes a GIF: true frames above, the model's prediction from "
               "2 context frames below.", [_seed()])
    demo.add_argument("--out", default="prediction.gif", help="GIF to write (default: %(default)s)")
    demo.add_argument("--steps-per-stage", type=int, default=400, help="greedy steps per module")

    data_commands = subcommands.add_parser("data", help="look at or export the training data").add_subparsers(
        dest="data_command", required=True)
    show = add("show", commands.show_data, "write a GIF of a few sequences of a dataset",
               "Writes a GIF with one sequence per row, as the model would see them in evaluation: the "
               "first window of the first episodes of the split. Data not yet in the data folder is "
               "prepared first (downloaded for bair and robonet; built from the manual download for "
               "kitti and cityscapes).", [_data("train")], under=data_commands)
    show.add_argument("name", help=datasets)
    show.add_argument("--out", default="grid.gif", help="GIF to write (default: %(default)s)")
    show.add_argument("--num", type=int, default=4, help="sequences to show (default: %(default)s)")
    show.add_argument("--sequence-length", type=int, default=None,
                      help="frames per sequence (default: whole episodes, or 12 where they vary)")
    show.add_argument("--image-size", type=int, default=64, help="frame size (default: %(default)s)")
    show.add_argument("--fps", type=float, default=8, help="frames per second (default: %(default)s)")

    export = add("export", commands.export_data, "write a dataset's training windows to shards",
                 "Writes the training windows of a dataset, as `ghvae train` would draw them (one per "
                 "episode and pass, from a random start), to compressed .npz shards of at most 60 MB with "
                 "a manifest of counts and sha256. Shards train on any Keras backend, without "
                 "TensorFlow (ghvae_keras.shards.WindowShards).", [_seed(), _data("train")],
                 under=data_commands)
    export.add_argument("name", help=datasets)
    export.add_argument("--out", required=True, help="the shard folder to write (must not hold shards)")
    export.add_argument("--sequence-length", type=int, required=True,
                        help="frames per window: a preset's context + training future, e.g. 12")
    export.add_argument("--passes", type=int, default=1,
                        help="windows per episode, each from a new random start (default: %(default)s)")
    export.add_argument("--image-size", type=int, default=64, help="frame size (default: %(default)s)")

    listing = add("list", commands.list_presets, "list the pretrained presets",
                  "Lists the registered presets: description, parameters, data, metrics and whether "
                  "their weights are published.")
    listing.add_argument("--json", dest="as_json", action="store_true", help="print the metadata as JSON")

    predict = add("predict", commands.predict, "predict future frames of a clip and write a GIF, MP4 or .npy",
                  "Predicts the frames after a few context frames with a preset and writes them. A GIF or "
                  "MP4 shows one row per sample (context frames, then predicted ones) under a row of the "
                  "true frames when the input goes on after the context; a .npy holds the predicted "
                  "frames, float32 [samples, horizon, H, W, 3] in [0, 1].", [_clip(), _seed()])
    predict.add_argument("preset", help=PRESET_HELP)
    predict.add_argument("--out", required=True, help="the .gif, .mp4 or .npy to write")
    predict.add_argument("--input", dest="input_path",
                         help="a GIF, an MP4, a folder of PNG/JPG frames, or a .npy/.npz (frames, and "
                              "actions in a .npz); default: the preset's sample clip")
    predict.add_argument("--actions", dest="actions_path",
                         help="actions, one row per step from the first context frame (.npy, .npz, .csv "
                              "or .txt); default: those of the input")
    predict.add_argument("--samples", type=int, default=1, help="futures to sample (default: %(default)s)")
    predict.add_argument("--num-modules", type=int, help="use the first k modules only")
    predict.add_argument("--fps", type=float, default=4, help="frames per second (default: %(default)s)")

    train = add("train", commands.train, "train a preset's architecture greedily on a dataset",
                "Trains greedily, module by module, with progress, and writes a preset folder. The "
                "architecture comes from a preset (fresh weights unless --fine-tune) or a JSON config (a "
                "config.json or an object of GHVAE arguments); clips are the preset's context + training "
                "future. With --checkpoint-dir, the same command resumes after an interruption.",
                [_seed(), _data("train")])
    train.add_argument("preset_or_config", metavar="preset",
                       help="a preset name, hf://org/name, preset folder or .json config")
    train.add_argument("--data", required=True,
                       help=datasets + " (see ghvae data show), or a shard folder of `ghvae data export`: "
                            "shards train on any Keras backend (KERAS_BACKEND=jax), without TensorFlow")
    train.add_argument("--out", required=True, help="the preset folder to write (must not exist)")
    train.add_argument("--steps-per-stage", type=int, default=1000, help="steps per module (default: %(default)s)")
    train.add_argument("--batch-size", type=int, default=16, help="clips per batch (default: %(default)s)")
    train.add_argument("--strategy", default="default", choices=("default", "mirrored", "multiworker", "tpu"),
                       help="tf.distribute strategy (default: %(default)s; multiworker reads TF_CONFIG)")
    train.add_argument("--checkpoint-dir", help="checkpoint folder; rerunning resumes from it")
    train.add_argument("--checkpoint-every", type=int,
                       help="steps between checkpoints (default: the largest divisor of the steps up to 100)")
    train.add_argument("--fine-tune", action="store_true", help="start from the preset's weights")
    train.add_argument("--sequence-length", type=int, help="frames per clip (default: the preset's protocol)")

    export = add("export", commands.export_model, "export a preset as a SavedModel or a TFLite model",
                 "Writes a TensorFlow SavedModel (signatures serving_default: context_frames, actions; "
                 "predict_with_noise: also the latent noise) or a TFLite model of builtin ops (static "
                 "batch; the noise an input or drawn inside). The time loop is unrolled for the given "
                 "context and horizon.", [_clip()])
    export.add_argument("preset", help=PRESET_HELP)
    export.add_argument("--format", dest="export_format", required=True, choices=commands.EXPORT_FORMATS)
    export.add_argument("--out", required=True, help="the SavedModel folder or .tflite file to write")
    export.add_argument("--batch", type=int, help="static batch size (default: any for saved_model, 1 for tflite)")
    export.add_argument("--noise", default="input", choices=("input", "random"),
                        help="tflite: latent noise as inputs (exact) or drawn inside (default: %(default)s)")
    export.add_argument("--num-modules", type=int, help="export the first k modules only")

    publish = add("publish", commands.publish,
                  "publish a preset to the Hugging Face Hub (or check that it is ready)",
                  "Builds the upload folder of a preset, validates its model card (hashes, library, tags, "
                  "datasets, license, metrics, training command) and uploads it; prints a JSON report. A "
                  "real run needs a token with write access (HF_TOKEN or `hf auth login`).")
    publish.add_argument("preset", help="a registered preset name or a preset folder")
    publish.add_argument("--repo-id", help="org/name (default: the preset's registered repository)")
    publish.add_argument("--dry-run", action="store_true", help="build and validate, upload nothing")
    publish.add_argument("--out", help="where to build the upload folder (default: a temporary one)")
    publish.add_argument("--private", action="store_true", help="create the repository private")
    publish.add_argument("--revision", help="branch to commit to (default: main)")

    evaluate = add("evaluate", commands.evaluate, "PSNR, SSIM (best of N samples) and FVD of a model on a dataset",
                   "Predicts the future of the first window of every video of a split and prints PSNR and "
                   "SSIM (of the best of N samples per video, averaged over frames and videos), FVD (I3D "
                   "features of context + predicted frames, all samples) and the same for copying the "
                   "last context frame. FVD needs the I3D weights: `python -m "
                   "ghvae_keras.metrics.convert_i3d` makes them once.", [_clip(), _seed(), _data("test")])
    evaluate.add_argument("preset", help=PRESET_HELP)
    evaluate.add_argument("--data", default=None,
                          help=f"{datasets} (default: the stand-in the preset was trained on)")
    evaluate.add_argument("--samples", type=int, default=1, help="N, futures per video (default: 1)")
    evaluate.add_argument("--num-modules", type=_module_counts, default=None,
                          help="module counts to evaluate, e.g. 1,2,3,4 (default: all modules)")
    evaluate.add_argument("--batch-size", type=int, default=16, help="videos per batch (default: 16)")
    evaluate.add_argument("--max-videos", type=int, default=None,
                          help="evaluate only the first videos of the split")
    evaluate.add_argument("--no-fvd", action="store_true", help="PSNR and SSIM only")
    evaluate.add_argument("--shuffled-actions", action="store_true",
                          help="also predict each video with the next video's actions (same noise): "
                               "the PSNR that loses is what the actions are worth")
    evaluate.add_argument("--json", dest="json_path", default=None,
                          help="write the results and per-frame curves here")
    return parser


def main(argv=None):
    """Runs a subcommand: its `message` is printed unless `--quiet`, its
    `output` always; a `GHVAEError` becomes one line on stderr and exit
    code 2, without a traceback. Warnings of the package (converted or
    resized frames, ...) go to stderr too."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--verbose" not in argv:
        # Before TensorFlow is imported: its C++ start-up messages (oneDNN,
        # CPU features) are not the command's own. A user's setting wins.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _import_tensorflow_quietly()
    args = build_parser().parse_args(argv)
    name = " ".join(["ghvae", args.subcommand] + ([args.data_command] if args.subcommand == "data" else []))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{name}: warning: %(message)s"))
    package_logger = logging.getLogger("ghvae_keras")
    package_logger.addHandler(handler)
    try:
        summary = args.run(**_arguments_of(args.run, args, argv))
    except GHVAEError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    finally:
        package_logger.removeHandler(handler)
    if summary.get("output"):
        print(summary["output"])
    if summary.get("message") and not args.quiet:
        print(summary["message"])
    return 0


def _import_tensorflow_quietly():
    """Imports TensorFlow (where it is the backend and installed) with the
    process's stderr sent to /dev/null: some of its C++ libraries write
    start-up lines there before its logging is set up, whatever
    TF_CPP_MIN_LOG_LEVEL says (oneDNN on processors with AVX-512). Python
    errors are unaffected: they are raised, not written, during the import."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow" or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass  # the command says what is missing when it needs it
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _arguments_of(run, args, argv):
    """The parsed options that `run` takes, by name; `command` is the command line."""
    import shlex

    parsed = {**vars(args), "command": "ghvae " + shlex.join(argv)}
    return {name: parsed[name] for name in inspect.signature(run).parameters if name in parsed}


if __name__ == "__main__":
    sys.exit(main())
