"""Reading and writing videos: frames are float arrays in [0, 1]."""

import os
import tempfile

import imageio.v3 as iio
import numpy as np


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


def write_gif(path, video, fps=8):
    """Writes `video` `[T, H, W, 3]` in [0, 1] as a looping GIF.

    The file appears complete or not at all: it is written next to `path`
    and renamed into place.
    """
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"video must have shape [T, H, W, 3], got {list(video.shape)}")
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(suffix=".gif", dir=folder)
    os.close(handle)
    try:
        iio.imwrite(tmp, to_uint8(video), extension=".gif", duration=1000 / fps, loop=0)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
