"""Builds a simulated stand-in dataset (TFDS) with several worker processes.

    python tools/make_sim_data.py NAME [--episodes N] [--split train|test] \
        [--workers W] [--data-dir DIR] [--overwrite] [--log FILE]

NAME is one of sim_push, sim_multirobot, sim_drive/suburban, sim_drive/urban
(or the TFDS name, e.g. ghvae_sim_drive/urban). Without --episodes the
default sizes are built (5,000 train and 256 test episodes); --episodes N
builds N episodes of --split only, or of both splits without --split.
Examples:

    python tools/make_sim_data.py sim_push --workers 2
    python tools/make_sim_data.py sim_drive/urban --episodes 50 --split train \
        --workers 2 --data-dir /tmp/tfds

A dataset already prepared in DATA_DIR is left as it is (its sizes are
printed) unless --overwrite is given, which deletes it and builds it again:
TFDS keeps one build per name and version, and `tfds.load` and
`ghvae_keras.data.load` read whatever sizes that build has. A build that
fails leaves no dataset behind (TFDS writes into a temporary folder and
renames it at the end).

Shows a progress bar per split and ends with one JSON line: episodes,
frames, seconds, frames_per_s (whole build, wall clock), worker_frames_per_s
(each worker's own rate), workers, data_dir, splits; --log FILE appends the
same line to FILE.
"""

import argparse
import json
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="sim_push, sim_multirobot, sim_drive/suburban or sim_drive/urban")
    parser.add_argument("--episodes", type=int, default=None,
                        help="episodes per split built (default: 5000 train, 256 test)")
    parser.add_argument("--split", choices=("train", "test"), default=None,
                        help="build only this split (default: both)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--data-dir", default=None, help="TFDS data folder (default: TFDS's own)")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete a dataset already prepared in the data folder and build it again")
    parser.add_argument("--log", default=None, help="append the JSON line to this file too")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    if args.episodes is not None and args.episodes < 1:
        parser.error("--episodes must be >= 1")

    import tensorflow_datasets as tfds

    from ghvae_keras import data
    from ghvae_keras.data.sim import DEFAULT_EPISODES

    tfds_name = _tfds_name(args.name, data)
    if tfds_name is None:
        parser.error(f"unknown dataset {args.name!r}: use one of sim_push, sim_multirobot, "
                     f"sim_drive/suburban, sim_drive/urban")
    splits = [args.split] if args.split else list(DEFAULT_EPISODES)
    episodes = {split: args.episodes or DEFAULT_EPISODES[split] for split in splits}
    builder = tfds.builder(tfds_name, data_dir=args.data_dir, episodes=episodes, workers=args.workers)
    if builder.is_prepared():
        sizes = {split: info.num_examples for split, info in builder.info.splits.items()}
        if not args.overwrite:
            print(f"{tfds_name} is already prepared in {builder.data_dir} with {sizes} episodes; "
                  f"--overwrite builds it again with {episodes}", file=sys.stderr)
            return 0
        shutil.rmtree(builder.data_dir)
        builder = tfds.builder(tfds_name, data_dir=args.data_dir, episodes=episodes,
                               workers=args.workers)

    tfds.disable_progress_bar()  # the builder shows its own, with the episode count
    started = time.perf_counter()
    builder.download_and_prepare()
    seconds = time.perf_counter() - started
    stats = builder.generation_stats.values()
    frames = sum(sum(split_stats.frames.values()) for split_stats in stats)
    made = sum(split_stats.episodes for split_stats in stats)
    # Each split starts its own workers; a worker's rate is per split.
    worker_rates = [rate for split_stats in stats for rate in split_stats.worker_frames_per_s()]
    line = json.dumps({
        "dataset": tfds_name,
        "episodes": made,
        "splits": {split: info.num_examples for split, info in builder.info.splits.items()},
        "frames": frames,
        "seconds": round(seconds, 1),
        "frames_per_s": round(frames / seconds, 1),
        "worker_frames_per_s": worker_rates,
        "workers": args.workers,
        "data_dir": str(builder.data_dir_root),
    })
    print(line)
    if args.log:
        with open(args.log, "a") as log:
            log.write(line + "\n")
    return 0


def _tfds_name(name, data):
    """The TFDS name of a registered simulated dataset, or of a TFDS name given as is."""
    if name in data.DATASETS and data.DATASETS[name].tfds_names:
        (tfds_name,) = data.DATASETS[name].tfds_names.values()
        return tfds_name if tfds_name.startswith("ghvae_sim_") else None
    return name if name.startswith("ghvae_sim_") else None


if __name__ == "__main__":
    sys.exit(main())
