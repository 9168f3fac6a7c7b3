"""Reading and writing videos: frames are float arrays in [0, 1].

Reads GIF, MP4 (and other containers FFmpeg knows, through PyAV), a folder
of PNG/JPG frames, and `.npy`/`.npz` arrays (loaded without pickles); writes
GIF, MP4 and `.npy`. Every write goes to a temporary file next to the target
that is renamed into place, so a failed write leaves nothing behind. Input
that cannot be used raises `InputError` with a message fit for a user;
conversions (grayscale or RGBA to RGB, resizing) are logged as warnings.
"""

import logging
import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

from ghvae_keras.errors import InputError
from ghvae_keras.atomic_files import atomic_path

logger = logging.getLogger(__name__)

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")
_FFMPEG_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
_ARRAY_SUFFIXES = (".npy", ".npz")
_ACTION_TEXT_SUFFIXES = (".csv", ".txt")


def to_uint8(frames):
    return (np.clip(np.asarray(frames, np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def grid(rows, gap=2):
    """Stacks videos `[T, H, W, 3]` (one per row, equal T) into one video,
    with a white gap between rows."""
    rows = [np.asarray(r, np.float32) for r in rows]
    steps, _, width, _ = rows[0].shape
    spacer = np.ones((steps, gap, width, 3), np.float32)
    parts = []
    for index, row in enumerate(rows):
        if index:
            parts.append(spacer)
        parts.append(row)
    return np.concatenate(parts, axis=1)


def prediction_grid(context, samples, truth=None):
    """The picture of a prediction: one row per sample, context frames then
    predicted ones, below a row of the true frames when there are any.

    Args:
        context: `[C, H, W, 3]` context frames.
        samples: `[S, horizon, H, W, 3]` predicted frames.
        truth: optional `[N, H, W, 3]` true frames after the context
            (N <= horizon; missing ones are left white).

    Returns:
        `[C + horizon, rows * H + gaps, W, 3]`.
    """
    context = np.asarray(context, np.float32)
    samples = np.asarray(samples, np.float32)
    rows = [np.concatenate([context, sample]) for sample in samples]
    if truth is not None and len(truth):
        horizon = samples.shape[1]
        truth = np.asarray(truth, np.float32)[:horizon]
        blank = np.ones((horizon - len(truth),) + truth.shape[1:], np.float32)
        rows.insert(0, np.concatenate([context, truth, blank]))
    return grid(rows)


# -- reading ------------------------------------------------------------------


def read_clip(path, image_size=None):
    """Reads a video, a frame folder or an array file.

    Args:
        path: a GIF, an MP4 (or another FFmpeg container), a folder of
            PNG/JPG frames (in name order, numbers compared as numbers), a
            `.npy` array `[T, H, W, C]` or `[T, H, W]`, or a `.npz` with
            `frames` (and optionally `actions` `[T-1, A]`). uint8 frames
            are 0..255, float frames must lie in [0, 1].
        image_size: when given, frames that are not `image_size` squares are
            cut to their centre square and resized, with a warning.

    Returns:
        `{"frames": float32 [T, H, W, 3] in [0, 1]}`, with `"actions"`
        float32 `[N, A]` when a `.npz` holds them. Grayscale frames are
        converted to RGB and RGBA frames lose their alpha channel (each with
        a warning).

    Raises:
        InputError: a missing or unreadable file, or frames that cannot be
            made RGB.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    actions = None
    if path.is_dir():
        frames = _read_frame_folder(path)
    elif path.suffix.lower() in _ARRAY_SUFFIXES:
        frames, actions = _read_arrays(path)
    else:
        frames = _read_video_file(path)
    frames = _as_rgb(frames, path)
    if len(frames) == 0:
        raise InputError(f"{path}: holds no frames")
    if image_size is not None:
        frames = fit_frames(frames, image_size, path)
    clip = {"frames": frames}
    if actions is not None:
        clip["actions"] = _as_actions(actions, f"{path} (actions)")
    return clip


def read_actions(path):
    """Reads actions `[N, A]` from `.npy`, `.npz` (key `actions`), or a
    text table (`.csv` with commas, `.txt` with spaces), one row per step.

    Raises:
        InputError: a missing or unreadable file, a wrong shape, or values
            that are not finite numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            actions = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                if "actions" not in arrays:
                    raise InputError(f"{path}: has no 'actions' array (it has {sorted(arrays)})")
                actions = arrays["actions"]
        elif suffix in _ACTION_TEXT_SUFFIXES:
            actions = np.loadtxt(path, delimiter="," if suffix == ".csv" else None,
                                 dtype=np.float64, ndmin=2)
        else:
            raise InputError(f"{path}: actions must be .npy, .npz, .csv or .txt")
    except InputError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise InputError(f"{path}: cannot read actions ({_reason(error)})") from None
    return _as_actions(actions, str(path))


def fit_frames(frames, image_size, source="frames"):
    """`frames` `[T, H, W, 3]` as `image_size` squares: a centre square is
    cut from frames that are not square, then resized (antialiased bilinear),
    with a warning naming `source`."""
    steps, height, width, _ = frames.shape
    if height == width == image_size:
        return frames
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = frames[:, top:top + side, left:left + side]
    resized = np.empty((steps, image_size, image_size, 3), np.float32)
    for t in range(steps):
        for c in range(3):
            # Mode "F" keeps float precision; Pillow filters over the whole
            # footprint when shrinking, which antialiases.
            channel = Image.fromarray(np.ascontiguousarray(square[t, :, :, c]), mode="F")
            resized[t, :, :, c] = np.asarray(
                channel.resize((image_size, image_size), Image.Resampling.BILINEAR)
            )
    crop = "" if height == width else "cut to their centre square and "
    logger.warning("%s: frames are %dx%d (width x height); %sresized to %dx%d",
                   source, width, height, crop, image_size, image_size)
    return np.clip(resized, 0.0, 1.0)


def _read_video_file(path):
    suffix = path.suffix.lower()
    if suffix == ".gif":
        kind, options = "GIF", {"extension": ".gif"}
    elif suffix in _FFMPEG_SUFFIXES:
        kind, options = suffix[1:].upper(), {"plugin": "pyav"}
    else:
        raise InputError(
            f"{path}: unknown kind of input; give a GIF, an MP4, a folder of PNG/JPG "
            "frames, or a .npy/.npz array"
        )
    try:
        frames = iio.imread(path, index=None, **options)
    except ImportError:
        raise InputError(f"{path}: reading {kind} needs PyAV: pip install av") from None
    except Exception as error:  # decoders raise OSError, SyntaxError, av errors, ...
        raise InputError(f"{path}: cannot read it as {kind} ({_reason(error)})") from None
    if frames.ndim == 3 and frames.shape[-1] in (3, 4):
        frames = frames[None]  # a single frame
    return frames


def _read_frame_folder(path):
    files = sorted((p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES),
                   key=lambda p: _natural_key(p.name))
    if not files:
        raise InputError(f"{path}: a folder of frames must hold PNG or JPG files; it holds none")
    frames = []
    for file in files:
        try:
            frame = iio.imread(file)
        except Exception as error:
            raise InputError(f"{file}: cannot read it as an image ({_reason(error)})") from None
        if frames and frame.shape != frames[0].shape:
            raise InputError(
                f"{path}: frames differ in size or channels: {files[0].name} is "
                f"{list(frames[0].shape)}, {file.name} is {list(frame.shape)}"
            )
        frames.append(frame)
    return np.stack(frames)


def _read_arrays(path):
    try:
        if path.suffix.lower() == ".npy":
            frames, actions = np.load(path, allow_pickle=False), None
        else:
            with np.load(path, allow_pickle=False) as arrays:
                if "frames" not in arrays:
                    raise InputError(f"{path}: has no 'frames' array (it has {sorted(arrays)})")
                frames, actions = arrays["frames"], (arrays["actions"] if "actions" in arrays else None)
        # [T, H, W] is a grayscale clip, but an [H, W, 3] array is one colour
        # frame, not 64 frames of 64×3 pixels.
        if frames.ndim == 3 and frames.shape[-1] in (3, 4):
            raise InputError(
                f"{path}: read an array of shape {list(frames.shape)}, one RGB frame; a clip is "
                "[T, H, W, 3] (or grayscale [T, H, W]): stack the context frames along a first axis"
            )
        return frames, actions
    except InputError:
        raise
    except (OSError, ValueError, EOFError) as error:
        # np.load refuses object arrays (pickles) with a ValueError.
        raise InputError(f"{path}: cannot read it as a NumPy array ({_reason(error)})") from None


def _as_rgb(frames, source):
    """uint8 or [0, 1] float frames `[T, H, W]` or `[T, H, W, C]` → float32 RGB."""
    frames = np.asarray(frames)
    if frames.ndim == 5 and frames.shape[0] == 1:
        frames = frames[0]  # a batch of one clip
    if frames.ndim not in (3, 4):
        raise InputError(f"{source}: frames must be [T, H, W, C] or [T, H, W], got shape {list(frames.shape)}")
    if frames.dtype == np.uint8:
        frames = frames.astype(np.float32) / 255.0
    elif np.issubdtype(frames.dtype, np.floating):
        frames = frames.astype(np.float32)
        if not np.isfinite(frames).all():
            raise InputError(f"{source}: frames contain NaN or inf")
        if frames.size and (frames.min() < 0.0 or frames.max() > 1.0):
            raise InputError(
                f"{source}: float frames must be in [0, 1], got values in "
                f"[{frames.min():g}, {frames.max():g}] (uint8 frames are read as 0..255)"
            )
    else:
        raise InputError(f"{source}: frames must be uint8 (0..255) or floats in [0, 1], got {frames.dtype}")
    if frames.ndim == 3:
        frames = frames[..., None]
    channels = frames.shape[-1]
    if channels == 1:
        logger.warning("%s: grayscale frames, converted to RGB", source)
        frames = np.repeat(frames, 3, axis=-1)
    elif channels == 4:
        logger.warning("%s: RGBA frames, converted to RGB (the alpha channel is dropped)", source)
        frames = frames[..., :3]
    elif channels != 3:
        raise InputError(
            f"{source}: frames have {channels} channels; only RGB (3), grayscale (1) "
            "and RGBA (4) can be used"
        )
    return np.ascontiguousarray(frames)


def _as_actions(actions, source):
    actions = np.asarray(actions)
    if actions.ndim == 3 and actions.shape[0] == 1:
        actions = actions[0]  # a batch of one
    if actions.ndim == 1:
        actions = actions[:, None]
    if actions.ndim != 2:
        raise InputError(f"{source}: actions must be [steps, action size], got shape {list(actions.shape)}")
    if not (np.issubdtype(actions.dtype, np.floating) or np.issubdtype(actions.dtype, np.integer)):
        raise InputError(f"{source}: actions must be numbers, got {actions.dtype}")
    actions = actions.astype(np.float32)
    bad = ~np.isfinite(actions)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise InputError(f"{source}: actions contain NaN or inf (first in row {row})")
    return actions


def _natural_key(name):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _reason(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


# -- writing ------------------------------------------------------------------


def write_video(path, video, fps=8):
    """Writes `video` `[T, H, W, 3]` in [0, 1] as GIF or MP4, chosen by the
    suffix of `path` (the file appears complete or not at all)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gif":
        return write_gif(path, video, fps)
    if suffix == ".mp4":
        return write_mp4(path, video, fps)
    raise InputError(f"{path}: videos are written as .gif or .mp4")


def write_gif(path, video, fps=8):
    """Writes `video` `[T, H, W, 3]` in [0, 1] as a looping GIF.

    The file appears complete or not at all: it is written next to `path`
    and renamed into place.
    """
    video = _check_video(video)
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, to_uint8(video), extension=".gif", duration=1000 / fps, loop=0)


def write_mp4(path, video, fps=8):
    """Writes `video` `[T, H, W, 3]` in [0, 1] as H.264 MP4 (needs PyAV).

    H.264's 4:2:0 colour needs even sides: an odd height or width gets one
    white row or column.
    """
    video = _check_video(video)
    _, height, width, _ = video.shape
    video = np.pad(video, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), constant_values=1.0)
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, to_uint8(video), plugin="pyav", codec="libx264", fps=fps)


def write_array(path, array):
    """Writes a NumPy array as `.npy` (no pickles), atomically."""
    array = np.asarray(array)
    with atomic_path(path) as tmp:
        np.save(tmp, array, allow_pickle=False)


def _check_video(video):
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"video must have shape [T, H, W, 3], got {list(video.shape)}")
    return video

