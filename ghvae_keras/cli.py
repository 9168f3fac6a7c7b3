"""The `ghvae` command."""

import argparse
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
        print(f"ghvae data show: {error}", file=sys.stderr)
        return 1
    except tf.errors.InvalidArgumentError as error:  # an episode shorter than asked for
        message = error.message
        print(f"ghvae data show: {message[message.find('assertion failed:'):].splitlines()[0]}",
              file=sys.stderr)
        return 1
    frames = sequences["frames"]
    write_gif(args.out, grid(list(frames)), fps=args.fps)
    actions = "with" if "actions" in sequences else "without"
    print(f"wrote {args.out}: {len(frames)} sequences of {frames.shape[1]} frames from "
          f"{args.name} ({args.split}), one per row, {actions} actions")
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
    from ghvae_keras.data import DataError
    from ghvae_keras.metrics import WeightsMissing

    try:
        result = evaluation.evaluate(
            args.preset, args.data, args.split, num_samples=args.samples, context=args.context,
            horizon=args.horizon, num_modules=args.num_modules, batch_size=args.batch_size,
            max_videos=args.max_videos, fvd=not args.no_fvd, seed=args.seed,
            data_dir=args.data_dir, verbose=0 if args.quiet else 1,
        )
    except (ValueError, DataError, WeightsMissing) as error:
        print(f"ghvae evaluate: {error}", file=sys.stderr)
        return 2
    except tf.errors.InvalidArgumentError as error:  # an episode shorter than context + horizon
        message = error.message
        print(f"ghvae evaluate: {message[message.find('assertion failed:'):].splitlines()[0]}",
              file=sys.stderr)
        return 2
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
    show.add_argument("name", help="bair, robonet, kitti, cityscapes or tfds:NAME[/CONFIG]")
    show.add_argument("--split", default="train", help="TFDS split (default: %(default)s)")
    show.add_argument("--out", default="grid.gif", help="GIF to write (default: %(default)s)")
    show.add_argument("--data-dir", default=None, help="TFDS data folder (default: TFDS's own)")
    show.add_argument("--num", type=int, default=4, help="sequences to show (default: %(default)s)")
    show.add_argument("--sequence-length", type=int, default=None,
                      help="frames per sequence (default: whole episodes, or 12 where they vary)")
    show.add_argument("--image-size", type=int, default=64, help="frame size (default: %(default)s)")
    show.add_argument("--fps", type=float, default=8, help="frames per second (default: %(default)s)")
    show.set_defaults(run=_data_show)

    evaluate = commands.add_parser(
        "evaluate",
        help="PSNR, SSIM (best of N samples) and FVD of a model on a dataset",
        description="Predicts the future of the first window of every video of a split and "
        "prints PSNR and SSIM (of the best of N samples per video, averaged over frames and "
        "videos), FVD (I3D features of context + predicted frames, all samples) and the same "
        "for copying the last context frame. FVD needs the I3D weights: "
        "`python tools/convert_i3d.py` makes them once.",
    )
    evaluate.add_argument("preset", help="a registered preset, hf://org/name or a preset folder")
    evaluate.add_argument("--data", required=True,
                          help="bair, robonet, kitti, cityscapes or tfds:NAME[/CONFIG]")
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
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
