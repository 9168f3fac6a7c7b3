"""Tiny stand-ins for the manual downloads of KITTI raw and Cityscapes, laid
out exactly as the real zips are, with 8x4-pixel PNG frames.

Each frame's colour says which frame it is: red = frame index % 256, green =
`tag` (which drive or camera). Its two left and two right columns are white,
so a centre-square crop keeps only the frame's colour.
"""

import io
import zipfile

import numpy as np
from PIL import Image

KITTI_DATE = "2011_09_26"


def frame_png(index, tag, width=8, height=4):
    pixels = np.full((height, width, 3), 255, np.uint8)
    border = (width - height) // 2
    pixels[:, border : width - border] = (index % 256, tag, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def frame_colour(index, tag):
    """The colour, in [0, 1], that the centre square of a frame has."""
    return np.array([index % 256, tag, 0], np.float32) / 255


def corrupt_png():
    png = frame_png(0, 0)
    return png[: len(png) - 30]  # a download cut short inside the image data


def write_kitti_drive(folder, drive_number, num_frames, tag=0, corrupt=()):
    """Writes `<folder>/2011_09_26_drive_<NNNN>_sync.zip` as KITTI
    distributes it; frames whose index is in `corrupt` are damaged PNGs.
    The other cameras, the GPS/IMU and the lidar get one file each, to show
    that only `image_02` is read."""
    drive = f"{KITTI_DATE}_drive_{drive_number:04d}_sync"
    path = folder / f"{drive}.zip"
    root = f"{KITTI_DATE}/{drive}"
    with zipfile.ZipFile(path, "w") as archive:
        for camera, camera_tag in (("image_00", 101), ("image_01", 102), ("image_03", 103)):
            archive.writestr(f"{root}/{camera}/data/0000000000.png", frame_png(0, camera_tag))
            archive.writestr(f"{root}/{camera}/timestamps.txt", "2011-09-26 13:02:25.964389445\n")
        archive.writestr(f"{root}/image_02/timestamps.txt", "2011-09-26 13:02:25.964389445\n" * num_frames)
        for index in range(num_frames):
            png = corrupt_png() if index in corrupt else frame_png(index, tag)
            archive.writestr(f"{root}/image_02/data/{index:010d}.png", png)
        archive.writestr(f"{root}/oxts/data/0000000000.txt", "49.015 8.434 116.4\n")
        archive.writestr(f"{root}/oxts/dataformat.txt", "lat: latitude of the oxts-unit (deg)\n")
        archive.writestr(f"{root}/velodyne_points/data/0000000000.bin", np.zeros(4, np.float32).tobytes())
    return path


def write_kitti_calibration(folder):
    """The per-day calibration zip, which sits beside the drives and is not video."""
    path = folder / f"{KITTI_DATE}_calib.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{KITTI_DATE}/calib_cam_to_cam.txt", "calib_time: 09-Jan-2012 13:57:47\n")
    return path


def write_cityscapes(folder, runs, corrupt=()):
    """Writes `<folder>/leftImg8bit_sequence_trainvaltest.zip` as Cityscapes
    distributes it.

    Args:
        runs: `(split folder, city, sequence, first index, num frames, tag)`
            tuples, each a run of consecutive frames.
        corrupt: `(city, sequence, index)` of frames to damage.
    """
    path = folder / "leftImg8bit_sequence_trainvaltest.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README", "The Cityscapes Dataset.\n")
        archive.writestr("license.txt", "Cityscapes terms of use.\n")
        for split, city, sequence, first, count, tag in runs:
            for index in range(first, first + count):
                png = corrupt_png() if (city, sequence, index) in corrupt else frame_png(index, tag)
                name = f"{city}_{sequence:06d}_{index:06d}_leftImg8bit.png"
                archive.writestr(f"leftImg8bit_sequence/{split}/{city}/{name}", png)
    return path
