"""`load`: episodes from TFDS -> batches of fixed-length windows for training
and evaluation, `{"frames": [B, T, H, W, 3], "actions": [B, T-1, A]}`."""

import functools
import logging
import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from ghvae_keras.data.dataset_spec import get_spec
from ghvae_keras.errors import DataError, DatasetUnavailable, InputError, ManualDownloadRequired
from ghvae_keras.data.sim import SimulatedVideoBuilder

_log = logging.getLogger(__name__)

# The shuffle buffer holds windows as stored (uint8): this bounds its memory.
_SHUFFLE_BUFFER_BYTES = 256 << 20
_MAX_SHUFFLE_BUFFER = 4096


def load(name, split, sequence_length, batch_size, *, shuffle=True, seed=None,
         image_size=64, data_dir=None):
    """Batches of video windows from a dataset, for training or evaluation.

    Training (`shuffle=True`): files and windows are shuffled, each episode
    gives one window of `sequence_length` frames from a random start (a new
    one every pass over the data), and batches are full
    (`drop_remainder=True`) so their shape is static; windows with NaN or
    infinite actions are skipped. Evaluation
    (`shuffle=False`): each episode gives its first window, in the dataset's
    order, and the last batch may be smaller: no episode is left out. With a
    `seed`, training order and windows are the same on every run (that
    sets the same `tf.random.set_seed`, if any: TensorFlow combines the two).

    Data that is not in `data_dir` yet is prepared first: TFDS-hosted sets
    (bair, robonet) are downloaded; the manual-download sets (kitti,
    cityscapes) are built from the files the user put in
    `<data_dir>/downloads/manual/`.

    Args:
        name: a name from `list_datasets()` (`bair`, `robonet`, `kitti`,
            `cityscapes`, ...) or `tfds:NAME[/CONFIG]` for a TFDS dataset
            with a `video` or `frames` feature.
        split: a TFDS split, slices included (e.g. `"train[:95%]"`).
        sequence_length: frames per window, T.
        batch_size: windows per batch, B.
        shuffle: training order (True) or the deterministic evaluation order.
        seed: makes the training order and windows reproducible.
        image_size: frames are resized to `image_size` squares (a centre
            square is taken first if they are not square).
        data_dir: the TFDS data folder (default: TFDS's, `~/tensorflow_datasets`).

    Returns:
        A `tf.data.Dataset` of `{"frames": float32 [B, T, S, S, 3] in [0, 1],
        "actions": float32 [B, T-1, A]}`; no `"actions"` for action-free data.

    Raises:
        ValueError: unknown name, or `sequence_length` longer than the
            episodes where their length is fixed. (Where it varies, a too
            short episode stops the iteration with an InvalidArgumentError
            naming both lengths, which `iterate` turns into a DataError.)
        DataError: the prepared data lacks the split.
        ManualDownloadRequired: the manual download is missing; the message
            holds the builder's instructions and the folder to use.
        DatasetUnavailable: TFDS could not download and prepare the data.
    """
    if sequence_length < 1 or batch_size < 1:
        raise InputError(f"sequence_length and batch_size must be >= 1, got "
                         f"{sequence_length} and {batch_size}")
    spec = get_spec(name, data_dir)
    builder = tfds.builder(spec.tfds_name_for(image_size), data_dir=data_dir)
    shapes = builder.info.features.shape
    episode_length = spec.episode_length or shapes[spec.frames_key][0]
    if episode_length is not None and sequence_length > episode_length:
        raise InputError(f"sequence_length {sequence_length} is longer than the episodes of "
                         f"{name} ({episode_length} frames)")
    _prepare(builder)
    _check_split(builder, split)

    # Files, window starts and the window shuffle each get their own seed:
    # sharing one would tie the window starts to the shuffle's choices.
    file_seed, window_seed, shuffle_seed = (
        [None] * 3 if seed is None else np.random.SeedSequence(seed).generate_state(3).tolist()
    )
    keys = [spec.frames_key] + ([spec.actions_key] if spec.actions_key else [])
    episodes = builder.as_dataset(
        split=split,
        shuffle_files=shuffle,
        # Skipped episodes must not trip TFDS's count check: it would raise
        # again on every retry of `ignore_errors`, forever.
        read_config=tfds.ReadConfig(shuffle_seed=file_seed, assert_cardinality=False),
        decoders=tfds.decode.PartialDecoding({key: True for key in keys}),
    )
    # An episode whose frames do not decode is skipped with a warning, not the
    # end of the epoch (a damaged record file loses the rest of that file).
    # Only reading and decoding are covered: errors of the windowing below raise.
    episodes = episodes.ignore_errors(log_warning=True)

    def window(episode, random):
        frames = episode[spec.frames_key]
        length = tf.shape(frames)[0]
        checks = [tf.debugging.Assert(length >= sequence_length, [
            f"sequence_length {sequence_length} is longer than an episode of {name}, of", length,
            "frames"])]
        if spec.actions_key:
            actions = tf.cast(episode[spec.actions_key], tf.float32)
            checks.append(tf.debugging.Assert(tf.shape(actions)[0] >= length - 1, [
                f"{name}: an episode has fewer actions than frames - 1:", tf.shape(actions)[0],
                "actions,", length, "frames"]))
        with tf.control_dependencies(checks):  # check before slicing
            start = random % tf.cast(length - sequence_length + 1, tf.int64) if shuffle else 0
            # Gathered copies: a slice would keep its whole episode alive in
            # the shuffle buffer.
            steps = tf.range(start, start + sequence_length)
            item = {"frames": tf.ensure_shape(
                tf.gather(frames, steps), [sequence_length, None, None, None])}
            if spec.actions_key:
                # Action t moves frame t to t+1: a window of T frames takes the
                # T-1 actions from its start, whether the episode stores N or N-1.
                item["actions"] = tf.ensure_shape(
                    tf.gather(actions, steps[:-1]), [sequence_length - 1, spec.action_dim])
        return item

    # One random number per episode, new ones each pass, reproducible with a seed.
    randoms = tf.data.Dataset.random(seed=window_seed, rerandomize_each_iteration=True)
    windows = tf.data.Dataset.zip(episodes, randoms).map(
        window, num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle and spec.actions_key:
        # A simulator or a robot's logger can write NaN actions (a physics
        # blow-up); one such window makes the loss NaN for good, so training
        # skips it. Evaluation keeps every episode: its metrics show the fault.
        windows = windows.filter(lambda item: tf.reduce_all(tf.math.is_finite(item["actions"])))
    if shuffle:
        height, width, channels = shapes[spec.frames_key][1:]
        window_bytes = sequence_length * (height or image_size) * (width or image_size) * (channels or 3)
        buffer = max(batch_size, min(_MAX_SHUFFLE_BUFFER, _SHUFFLE_BUFFER_BYTES // window_bytes))
        windows = windows.shuffle(buffer, seed=shuffle_seed)
    batches = windows.batch(batch_size, drop_remainder=shuffle)
    to_float = functools.partial(_to_float, sequence_length=sequence_length, image_size=image_size)
    return batches.map(to_float, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _check_split(builder, split):
    """A split the prepared data lacks, with what to do about it (a manual
    download may have been prepared before all its files were there)."""
    if not isinstance(split, str):
        return  # a tfds.ReadInstruction: TFDS checks it
    known = set(builder.info.splits)
    names = {part.split("[")[0].strip() for part in split.split("+")}
    missing = sorted(names - known)
    if not known or not missing:  # no splits recorded: TFDS's mock data
        return
    message = (f"{builder.info.full_name} in {builder.data_dir_root} has no split {missing[0]!r} "
               f"(it has {sorted(builder.info.splits)})")
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
        message += (f". It was prepared from the files in the manual folder at the time; add the "
                    f"missing files there and delete {builder.data_dir} to prepare it again")
    raise DataError(message)


def _to_float(batch, sequence_length, image_size):
    """uint8 frames -> float32 RGB in [0, 1], resized to `image_size` squares."""
    frames = tf.image.convert_image_dtype(batch["frames"], tf.float32)
    if frames.shape[-1] == 1:
        frames = tf.image.grayscale_to_rgb(frames)
    if tuple(frames.shape[2:4]) == (image_size, image_size):
        return {**batch, "frames": frames}  # stored at the size asked for
    shape = tf.shape(frames)
    height, width = shape[2], shape[3]
    # Centre square first, so that no frame is squeezed.
    side = tf.minimum(height, width)
    frames = frames[:, :, (height - side) // 2 :, (width - side) // 2 :][:, :, :side, :side]
    frames = tf.reshape(frames, tf.concat([[-1], tf.shape(frames)[2:]], 0))
    frames = tf.image.resize(frames, [image_size, image_size], antialias=True)
    frames = tf.reshape(tf.clip_by_value(frames, 0.0, 1.0),
                        [shape[0], sequence_length, image_size, image_size, 3])
    return {**batch, "frames": frames}


def _prepare(builder):
    """Makes sure `builder`'s data is on disk: TFDS's download for hosted
    sets, the builder's own generation from the manual folder otherwise."""
    if builder.is_prepared():
        return
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
        manual_dir = builder.data_dir_root / "downloads" / "manual"
        # The project's builders say which files they need; others need any.
        pattern = getattr(builder, "ARCHIVE_PATTERN", "*")
        if not manual_dir.exists() or not any(manual_dir.glob(pattern)):
            raise ManualDownloadRequired(builder.name, manual_dir, builder.MANUAL_DOWNLOAD_INSTRUCTIONS)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
        return
    if isinstance(builder, SimulatedVideoBuilder):
        # Simulating the default sizes takes tens of minutes: say so, and use every core.
        builder.workers = os.cpu_count() or 1
        sizes = " and ".join(f"{count} {split}" for split, count in builder.episodes.items())
        _log.warning("%s is not prepared in %s: simulating %s episodes with %d worker processes "
                     "(tens of minutes; tools/make_sim_data.py builds other sizes)",
                     builder.info.full_name, builder.data_dir_root, sizes, builder.workers)
    try:
        builder.download_and_prepare()
    except Exception as error:  # network, disk, missing apache-beam: all say the same to the user
        raise DatasetUnavailable(
            f"{builder.name} is not prepared in {builder.data_dir_root} and "
            f"TFDS could not download and prepare it: {type(error).__name__}: {error}"
        ) from error


# Frames shown for data whose episode length varies: 2 context + 10 future,
# the training window of most presets.
_PREVIEW_LENGTH = 12


def preview(name, split="train", num=4, sequence_length=None, *, image_size=64, data_dir=None):
    """The first `num` evaluation windows of a dataset, to look at what a
    model would learn from (`ghvae data show` writes them as a GIF).

    Args:
        name, split, image_size, data_dir: as for `load`.
        num: how many sequences.
        sequence_length: frames per sequence (default: the whole episode
            where episodes have a fixed length, else 12).

    Returns:
        `{"frames": float32 [N, T, S, S, 3], "actions": [N, T-1, A]}` as
        numpy arrays, N <= num; no `"actions"` for action-free data.
    """
    if sequence_length is None:
        sequence_length = get_spec(name, data_dir).episode_length or _PREVIEW_LENGTH
    batches = load(name, split, sequence_length, num, shuffle=False,
                   image_size=image_size, data_dir=data_dir)
    for batch in iterate(batches.take(1)):
        return batch
    raise InputError(f"{name} has no episodes in split {split!r}")


def iterate(batches):
    """Yields the batches of a `load` dataset as dicts of numpy arrays.

    Raises:
        DataError: an episode is shorter than the windows asked for, or
            holds too few actions (checked as the data is read).
    """
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except tf.errors.InvalidArgumentError as error:
            if "assertion failed:" not in error.message:
                raise
            message = error.message
            raise DataError(message[message.find("assertion failed:"):].splitlines()[0]) from None
        yield {key: value.numpy() for key, value in batch.items()}
