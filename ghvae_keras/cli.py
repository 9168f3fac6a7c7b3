"""The `ghvae` command."""

import argparse
import logging
import sys


def _demo(args):
    import keras
    import numpy as np
    import tensorflow as tf

    from ghvae_keras import GHVAE
    from ghvae_keras.data import pushed_squares
    from ghvae_keras.training import fit_greedy
    from ghvae_keras.video_io import grid, write_gif

    keras.utils.set_random_seed(args.seed)  # weights, data order and samples
    context, horizon = 2, 8
    train = pushed_squares(256, context + 6, image_size=32, seed=0)
    test = pushed_squares(1, context + horizon, image_size=32, seed=10_000)
    model = GHVAE(
        image_size=32, module_channels=(16, 32), latent_channels=4, action_dim=2,
        context_length=context, horizon=horizon, seed=args.seed,
    )
    data = tf.data.Dataset.from_tensor_slices(train).shuffle(256, seed=0).batch(16, drop_remainder=True)
    verbose = 0 if args.quiet else 2
    model = fit_greedy(model, data, steps_per_stage=args.steps_per_stage,
                       checkpoint_every=args.steps_per_stage, verbose=verbose).model
    video = model.predict_video(test["frames"][:, :context], test["actions"], horizon=horizon, seed=args.seed)
    truth = test["frames"][0]
    prediction = np.concatenate([truth[:context], video[0, 0]])
    write_gif(args.out, grid([truth, prediction]), fps=4)
    if not args.quiet:
        error = float(np.mean((video[0, 0] - truth[context:]) ** 2))
        copy_last = float(np.mean((truth[context - 1 : context] - truth[context:]) ** 2))
        print(f"wrote {args.out}: top row true frames, bottom row the prediction "
              f"(MSE {error:.4f}; copying the last context frame: {copy_last:.4f})")
    return 0


def _data_show(args):
    import tensorflow as tf

    from ghvae_keras import data
    from ghvae_keras.video_io import grid, write_gif

    try:
        sequences = data.preview(
            args.name, args.split, num=args.num, sequence_length=args.sequence_length,
            image_size=args.image_size, data_dir=args.data_dir,
        )
    except (data.DataError, ValueError) as error:
        return _fail(args, error)
    except tf.errors.InvalidArgumentError as error:  # an episode shorter than asked for
        return _fail(args, _assertion(error))
    frames = sequences["frames"]
    write_gif(args.out, grid(list(frames)), fps=args.fps)
    actions = "with" if "actions" in sequences else "without"
    print(f"wrote {args.out}: {len(frames)} sequences of {frames.shape[1]} frames from "
          f"{args.name} ({args.split}), one per row, {actions} actions")
    return 0


def _list(args):
    import json

    from ghvae_keras import zoo

    models = zoo.list_models()
    if args.json:
        print(json.dumps(models, indent=1))
        return 0
    for name, metadata in models.items():
        data = metadata.get("data") or {}
        stand_in, real = data.get("stand_in") or {}, data.get("real") or {}
        protocol = metadata.get("protocol") or {}
        weights = "with weights" if metadata["has_weights"] else "no weights yet"
        print(f"{name}  ({metadata.get('parameters', 0):,} parameters, {weights})")
        print(f"  {metadata.get('description', '')}")
        if protocol:
            print(f"  context → future: {protocol['context']} → {protocol['train_future']} (training), "
                  f"{protocol['context']} → {protocol['eval_future']} (evaluation); "
                  f"actions: {metadata.get('action_dim') or 'none'}")
        trained_on = (metadata.get("training") or {}).get("dataset") or stand_in.get("name")
        if trained_on or real:
            print(f"  data: {trained_on or '?'}"
                  + (f" (stand-in for {real['title']}, `--data {real['name']}`)" if real else ""))
        metrics = metadata.get("metrics") or {}
        for block in metrics.values():
            k = max(block["modules"], key=int)
            values = "; ".join(
                f"{label} " + ", ".join(f"{m.upper()} {figures[m]:.{digits}f}"
                                        for m, digits in (("psnr", 2), ("ssim", 3), ("fvd", 0))
                                        if figures.get(m) is not None)
                for label, figures in ((f"{k} modules", block["modules"][k]),
                                       ("copy last frame", block["copy_last_frame"])))
            print(f"  metrics on {block['dataset']} ({block['context']} → {block['horizon']}, "
                  f"best of {block['samples']}): {values}")
        if not metrics:
            print("  metrics: not evaluated yet")
    return 0


def _predict(args):
    from ghvae_keras import commands

    summary = commands.predict(
        args.preset, args.out, input_path=args.input, actions_path=args.actions, context=args.context,
        horizon=args.horizon, samples=args.samples, seed=args.seed, fps=args.fps,
        num_modules=args.num_modules,
    )
    if not args.quiet:
        rows = f"{summary['samples']} sample{'s' if summary['samples'] > 1 else ''}"
        truth = f", true frames above ({summary['truth']})" if summary["truth"] else ""
        print(f"wrote {summary['out']}: {summary['context']} context frames, then "
              f"{summary['horizon']} predicted; {rows}{truth}")
    return 0


def _train(args):
    import shlex

    from ghvae_keras import commands

    summary = commands.train(
        args.preset, args.data, args.out, steps_per_stage=args.steps_per_stage,
        batch_size=args.batch_size, strategy=args.strategy, checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=args.checkpoint_every, fine_tune=args.fine_tune, split=args.split,
        data_dir=args.data_dir, sequence_length=args.sequence_length, seed=args.seed,
        command="ghvae " + shlex.join(args.argv), verbose=0 if args.quiet else 2,
    )
    if not args.quiet:
        loss = "" if summary["loss"] is None else f", last loss {summary['loss']:.5f}"
        print(f"wrote {summary['out']}: {summary['stages']} greedy stages of "
              f"{summary['steps_per_stage']} steps on clips of {summary['sequence_length']} frames{loss}")
    return 0


def _export(args):
    from ghvae_keras import commands

    summary = commands.export(
        args.preset, args.format, args.out, batch=args.batch, context=args.context,
        horizon=args.horizon, noise=args.noise, num_modules=args.num_modules,
    )
    if not args.quiet:
        inputs = ", ".join(f"{name} [{', '.join(map(str, shape))}]" for name, shape in summary["inputs"].items())
        print(f"wrote {summary['out']} ({summary['format']}): inputs {inputs}; "
              f"output frames [{summary['batch'] or 'B'}, {summary['horizon']}, ...]")
    return 0


def _publish(args):
    import json

    from ghvae_keras import zoo

    report = zoo.publish_preset(args.preset, repo_id=args.repo_id, dry_run=args.dry_run,
                                out=args.out, private=args.private or None, revision=args.revision)
    print(json.dumps(report))
    if report["problems"]:
        return _fail(args, "not ready to publish: " + "; ".join(report["problems"]))
    return 0


def _module_counts(text):
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected module counts like 4 or 1,2,3,4, got {text!r}") from None


def _evaluate(args):
    import shlex

    import tensorflow as tf

    from ghvae_keras import evaluation
    from ghvae_keras.metrics import WeightsMissing

    try:
        result = evaluation.evaluate(
            args.preset, args.data, args.split, num_samples=args.samples, context=args.context,
            horizon=args.horizon, num_modules=args.num_modules, batch_size=args.batch_size,
            max_videos=args.max_videos, fvd=not args.no_fvd, seed=args.seed,
            data_dir=args.data_dir, verbose=0 if args.quiet else 1,
        )
    except (ValueError, WeightsMissing) as error:
        return _fail(args, error)
    except tf.errors.InvalidArgumentError as error:  # an episode shorter than context + horizon
        return _fail(args, _assertion(error))
    words = [args.preset, "--data", args.data, "--split", args.split, "--samples", args.samples,
             "--context", result["context"], "--horizon", result["horizon"],
             "--num-modules", ",".join(str(entry["num_modules"]) for entry in result["metrics"])]
    words += ["--max-videos", args.max_videos] if args.max_videos else []
    words += ["--no-fvd"] if args.no_fvd else []
    command = "ghvae evaluate " + shlex.join(str(word) for word in words)
    for entry in result["metrics"]:
        entry["command"] = command
    print(evaluation.format_table(result))
    if args.json:
        evaluation.write_json(result, args.json)
        print(f"wrote {args.json}")
    return 0


_DATASETS = ("bair, robonet, kitti, cityscapes, the simulated sim_push, sim_multirobot, "
             "sim_drive/suburban, sim_drive/urban, or tfds:NAME[/CONFIG]")


def build_parser():
    parser = argparse.ArgumentParser(prog="ghvae", description="GHVAE video prediction.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train a tiny GHVAE on a procedural pushing video and write a prediction GIF",
        description="Trains a 2-module GHVAE greedily on a procedural video of a pushed "
        "square (about three minutes on 2 CPU cores) and writes a GIF: true frames above, the "
        "model's prediction from 2 context frames below.",
    )
    demo.add_argument("--out", default="prediction.gif", help="GIF to write (default: %(default)s)")
    demo.add_argument("--steps-per-stage", type=int, default=400, help="greedy steps per module")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    demo.set_defaults(run=_demo)

    data = commands.add_parser("data", help="look at the training data")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    show = data_commands.add_parser(
        "show",
        help="write a GIF of a few sequences of a dataset",
        description="Writes a GIF with one sequence per row, as the model would see them in "
        "evaluation: the first window of the first episodes of the split. Data not yet in the "
        "data folder is prepared first (downloaded for bair and robonet; built from the manual "
        "download for kitti and cityscapes).",
    )
    show.add_argument("name", help=_DATASETS)
    show.add_argument("--split", default="train", help="TFDS split (default: %(default)s)")
    show.add_argument("--out", default="grid.gif", help="GIF to write (default: %(default)s)")
    show.add_argument("--data-dir", default=None, help="TFDS data folder (default: TFDS's own)")
    show.add_argument("--num", type=int, default=4, help="sequences to show (default: %(default)s)")
    show.add_argument("--sequence-length", type=int, default=None,
                      help="frames per sequence (default: whole episodes, or 12 where they vary)")
    show.add_argument("--image-size", type=int, default=64, help="frame size (default: %(default)s)")
    show.add_argument("--fps", type=float, default=8, help="frames per second (default: %(default)s)")
    show.set_defaults(run=_data_show)

    listing = commands.add_parser(
        "list", help="list the pretrained presets",
        description="Lists the registered presets: description, parameters, data, metrics and "
        "whether their weights are published.",
    )
    listing.add_argument("--json", action="store_true", help="print the metadata as JSON")
    listing.set_defaults(run=_list)

    predict = commands.add_parser(
        "predict", help="predict future frames of a clip and write a GIF, MP4 or .npy",
        description="Predicts the frames after a few context frames with a preset and writes "
        "them. A GIF or MP4 shows one row per sample (context frames, then predicted ones) "
        "under a row of the true frames when the input goes on after the context; a .npy "
        "holds the predicted frames, float32 [samples, horizon, H, W, 3] in [0, 1].",
    )
    predict.add_argument("preset", help="a preset name (see `ghvae list`), hf://org/name[@revision] "
                         "or a preset folder")
    predict.add_argument("--out", required=True, help="the .gif, .mp4 or .npy to write")
    predict.add_argument("--input", help="a GIF, an MP4, a folder of PNG/JPG frames, or a .npy/.npz "
                         "(frames, and actions in a .npz); default: the preset's sample clip")
    predict.add_argument("--actions", help="actions, one row per step from the first context frame "
                         "(.npy, .npz, .csv or .txt); default: those of the input")
    predict.add_argument("--context", type=int, help="context frames (default: the model's)")
    predict.add_argument("--horizon", type=int, help="frames to predict (default: the model's)")
    predict.add_argument("--samples", type=int, default=1, help="futures to sample (default: %(default)s)")
    predict.add_argument("--seed", type=int, default=0, help="sampling seed (default: %(default)s)")
    predict.add_argument("--num-modules", type=int, help="use the first k modules only")
    predict.add_argument("--fps", type=float, default=4, help="frames per second (default: %(default)s)")
    predict.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings")
    predict.set_defaults(run=_predict)

    train = commands.add_parser(
        "train", help="train a preset's architecture greedily on a dataset",
        description="Trains greedily, module by module, with progress, and writes a preset folder. "
        "The architecture comes from a preset (fresh weights unless --fine-tune) or a JSON config "
        "(a config.json or an object of GHVAE arguments); clips are the preset's context + "
        "training future. With --checkpoint-dir, the same command resumes after an interruption.",
    )
    train.add_argument("preset", help="a preset name, hf://org/name, preset folder or .json config")
    train.add_argument("--data", required=True,
                       help=_DATASETS + " (see ghvae data show)")
    train.add_argument("--out", required=True, help="the preset folder to write (must not exist)")
    train.add_argument("--steps-per-stage", type=int, default=1000, help="steps per module (default: %(default)s)")
    train.add_argument("--batch-size", type=int, default=16, help="clips per batch (default: %(default)s)")
    train.add_argument("--strategy", default="default", choices=("default", "mirrored", "multiworker", "tpu"),
                       help="tf.distribute strategy (default: %(default)s; multiworker reads TF_CONFIG)")
    train.add_argument("--checkpoint-dir", help="checkpoint folder; rerunning resumes from it")
    train.add_argument("--checkpoint-every", type=int,
                       help="steps between checkpoints (default: the largest divisor of the steps up to 100)")
    train.add_argument("--fine-tune", action="store_true", help="start from the preset's weights")
    train.add_argument("--split", default="train", help="TFDS split (default: %(default)s)")
    train.add_argument("--data-dir", help="TFDS data folder (default: TFDS's own)")
    train.add_argument("--sequence-length", type=int, help="frames per clip (default: the preset's protocol)")
    train.add_argument("--seed", type=int, default=0, help="data and noise seed (default: %(default)s)")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.set_defaults(run=_train)

    export = commands.add_parser(
        "export", help="export a preset as a SavedModel or a TFLite model",
        description="Writes a TensorFlow SavedModel (signatures serving_default: context_frames, "
        "actions; predict_with_noise: also the latent noise) or a TFLite model of builtin ops "
        "(static batch; the noise an input or drawn inside). The time loop is unrolled for the "
        "given context and horizon.",
    )
    export.add_argument("preset", help="a preset name, hf://org/name or preset folder")
    export.add_argument("--format", required=True, choices=("saved_model", "tflite"))
    export.add_argument("--out", required=True, help="the SavedModel folder or .tflite file to write")
    export.add_argument("--batch", type=int, help="static batch size (default: any for saved_model, 1 for tflite)")
    export.add_argument("--context", type=int, help="context frames (default: the model's)")
    export.add_argument("--horizon", type=int, help="frames to predict (default: the model's)")
    export.add_argument("--noise", default="input", choices=("input", "random"),
                        help="tflite: latent noise as inputs (exact) or drawn inside (default: %(default)s)")
    export.add_argument("--num-modules", type=int, help="export the first k modules only")
    export.add_argument("--quiet", action="store_true", help="print nothing but errors")
    export.set_defaults(run=_export)

    publish = commands.add_parser(
        "publish", help="publish a preset to the Hugging Face Hub (or check that it is ready)",
        description="Builds the upload folder of a preset, validates its model card (hashes, "
        "library, tags, datasets, license, metrics, training command) and uploads it; prints a "
        "JSON report. A real run needs a token with write access (HF_TOKEN or `hf auth login`).",
    )
    publish.add_argument("preset", help="a registered preset name or a preset folder")
    publish.add_argument("--repo-id", help="org/name (default: the preset's registered repository)")
    publish.add_argument("--dry-run", action="store_true", help="build and validate, upload nothing")
    publish.add_argument("--out", help="where to build the upload folder (default: a temporary one)")
    publish.add_argument("--private", action="store_true", help="create the repository private")
    publish.add_argument("--revision", help="branch to commit to (default: main)")
    publish.set_defaults(run=_publish)
    evaluate = commands.add_parser(
        "evaluate",
        help="PSNR, SSIM (best of N samples) and FVD of a model on a dataset",
        description="Predicts the future of the first window of every video of a split and "
        "prints PSNR and SSIM (of the best of N samples per video, averaged over frames and "
        "videos), FVD (I3D features of context + predicted frames, all samples) and the same "
        "for copying the last context frame. FVD needs the I3D weights: "
        "`python -m ghvae_keras.metrics.convert_i3d` makes them once.",
    )
    evaluate.add_argument("preset", help="a registered preset, hf://org/name or a preset folder")
    evaluate.add_argument("--data", required=True,
                          help=_DATASETS)
    evaluate.add_argument("--split", default="test", help="TFDS split (default: %(default)s)")
    evaluate.add_argument("--samples", type=int, default=1, help="N, futures per video (default: 1)")
    evaluate.add_argument("--context", type=int, default=None,
                          help="context frames (default: the preset's protocol)")
    evaluate.add_argument("--horizon", type=int, default=None,
                          help="predicted frames (default: the preset's protocol)")
    evaluate.add_argument("--num-modules", type=_module_counts, default=None,
                          help="module counts to evaluate, e.g. 1,2,3,4 (default: all modules)")
    evaluate.add_argument("--batch-size", type=int, default=16, help="videos per batch (default: 16)")
    evaluate.add_argument("--max-videos", type=int, default=None,
                          help="evaluate only the first videos of the split")
    evaluate.add_argument("--no-fvd", action="store_true", help="PSNR and SSIM only")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the samples (default: 0)")
    evaluate.add_argument("--data-dir", default=None, help="TFDS data folder (default: TFDS's own)")
    evaluate.add_argument("--json", default=None, help="write the results and per-frame curves here")
    evaluate.add_argument("--quiet", action="store_true", help="no progress output")
    evaluate.set_defaults(run=_evaluate)
    return parser


def main(argv=None):
    """Runs a subcommand. Input the package cannot use ends the command with
    one line on stderr and exit code 2, without a traceback; warnings from
    the package (converted or resized frames, ...) go to stderr too."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded by `train` in the model card
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{_name(args)}: warning: %(message)s"))
    package_logger = logging.getLogger("ghvae_keras")
    package_logger.addHandler(handler)
    try:
        return args.run(args)
    except Exception as error:
        if not isinstance(error, _user_errors()):
            raise
        return _fail(args, error)
    finally:
        package_logger.removeHandler(handler)


def _user_errors():
    """The exceptions that mean bad input (imported when one is raised)."""
    from ghvae_keras.data import DataError
    from ghvae_keras.errors import InputError
    from ghvae_keras.export import ExportError
    from ghvae_keras.zoo import PresetError

    return InputError, PresetError, DataError, ExportError


def _name(args):
    return " ".join(["ghvae", args.command] + ([args.data_command] if args.command == "data" else []))


def _assertion(error):
    """The first line of the failed assertion inside a tf.data error."""
    message = error.message
    return message[message.find("assertion failed:"):].splitlines()[0]


def _fail(args, error):
    print(f"{_name(args)}: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
