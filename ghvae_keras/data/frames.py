"""Frame decoding shared by the project's TFDS builders (KITTI, Cityscapes)."""

import dataclasses
import io
import zipfile
import zlib

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

# What a damaged PNG or zip member raises: PIL reports truncated or
# unidentifiable data as OSError, broken chunks as SyntaxError, and zipfile a
# bad CRC as BadZipFile or a bad deflate stream as zlib.error.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)

FRAME_SIZES = (64, 128)


@dataclasses.dataclass
class FrameSizeConfig(tfds.core.BuilderConfig):
    """A builder config that fixes the size of the stored square frames.

    Args:
        image_size: height and width of the stored frames, in pixels.
    """

    image_size: int = 64


def frame_size_configs():
    return [
        FrameSizeConfig(
            name=f"{size}x{size}",
            image_size=size,
            description=f"centre square of each frame, area-resized to {size}x{size}",
        )
        for size in FRAME_SIZES
    ]


def square_frame(encoded, size):
    """Decodes an image, keeps its centre square and resizes that to
    `size`x`size` with an area (box) filter.

    Driving frames are wide (KITTI 1242x375, Cityscapes 2048x1024); the
    centre square keeps the road ahead undistorted, as video-prediction work
    on these datasets does, rather than squeezing the whole width.

    Args:
        encoded: PNG (or JPEG) bytes.
        size: output height and width.

    Returns:
        uint8 `[size, size, 3]`.

    Raises:
        one of `DECODE_ERRORS` if the bytes are not a readable image.
    """
    with Image.open(io.BytesIO(encoded)) as image:
        image = image.convert("RGB")  # decodes now, so damage raises here
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.resize(
        (size, size), Image.Resampling.BOX, box=(left, top, left + side, top + side)
    )
    return np.asarray(square, np.uint8)
