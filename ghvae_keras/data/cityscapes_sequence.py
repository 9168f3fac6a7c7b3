"""TFDS builder `cityscapes_sequence`: Cityscapes 30-frame street snippets."""

import collections
import logging
import re
import zipfile

import numpy as np
import tensorflow_datasets as tfds

from ghvae_keras.errors import DataError
from ghvae_keras.data.frames import DECODE_ERRORS, FRAME_SIZES, frame_size_configs, square_frame

__all__ = ["CityscapesSequence", "FRAME_SIZES", "SNIPPET_LENGTH"]

# Cityscapes records 30 consecutive frames (17 Hz) around each annotated frame.
SNIPPET_LENGTH = 30
ARCHIVE_NAME = "leftImg8bit_sequence_trainvaltest.zip"
SPLITS = {"train": "train", "val": "validation", "test": "test"}

_FRAME = re.compile(
    r"^leftImg8bit_sequence/(?P<split>train|val|test)/(?P<city>[^/]+)/"
    r"(?P=city)_(?P<sequence>\d{6})_(?P<index>\d{6})_leftImg8bit\.png$"
)
_log = logging.getLogger(__name__)


class CityscapesSequence(tfds.core.GeneratorBasedBuilder):
    """Cityscapes `leftImg8bit_sequence`: 30-frame snippets of street scenes
    from a car's left camera, centre-cropped to square frames.

    Source: Cordts et al., "The Cityscapes Dataset for Semantic Urban Scene
    Understanding", CVPR 2016, https://www.cityscapes-dataset.com/. License:
    the Cityscapes terms of use (non-commercial research and teaching only,
    no redistribution); each user downloads the data after registering.

    Features: `video` uint8 `[30, S, S, 3]` and `snippet` (the first frame's
    name, e.g. `aachen_000000_000000`). Configs `64x64` and `128x128` give S.
    Splits: train, validation (the `val` folder) and test.

    Example:
        >>> import ghvae_keras.data  # registers the builder
        >>> tfds.load("cityscapes_sequence/64x64", split="validation")
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: one example per 30-frame snippet."}
    BUILDER_CONFIGS = frame_size_configs()
    # The file `load` looks for in the manual folder before preparing.
    ARCHIVE_PATTERN = ARCHIVE_NAME
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
    Cityscapes is distributed by its authors only. Register at
    https://www.cityscapes-dataset.com/register/ (non-commercial use), then
    download `{ARCHIVE_NAME}` (324 GB) from
    https://www.cityscapes-dataset.com/downloads/ . Put the zip as it is (do
    not extract it) in the TFDS manual folder: `<data_dir>/downloads/manual/`,
    by default `~/tensorflow_datasets/downloads/manual/`.
    """

    def _info(self):
        size = self.builder_config.image_size
        return tfds.core.DatasetInfo(
            builder=self,
            description="Cityscapes street-scene video in 30-frame snippets, for video prediction.",
            features=tfds.features.FeaturesDict({
                "video": tfds.features.Video(shape=(SNIPPET_LENGTH, size, size, 3)),
                "snippet": tfds.features.Text(),
            }),
            homepage="https://www.cityscapes-dataset.com/",
            citation=(
                "@inproceedings{Cordts2016Cityscapes, title = {The Cityscapes Dataset for "
                "Semantic Urban Scene Understanding}, author = {Cordts, Marius and Omran, "
                "Mohamed and Ramos, Sebastian and Rehfeld, Timo and Enzweiler, Markus and "
                "Benenson, Rodrigo and Franke, Uwe and Roth, Stefan and Schiele, Bernt}, "
                "booktitle = {CVPR}, year = {2016}}"
            ),
        )

    def _split_generators(self, dl_manager):
        archive = dl_manager.manual_dir / ARCHIVE_NAME
        if not archive.exists():
            raise FileNotFoundError(f"{archive} not found.\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        try:
            with archive.open("rb") as file, zipfile.ZipFile(file) as snippets_zip:
                snippets = _snippets(snippets_zip.namelist())
        except zipfile.BadZipFile as error:
            raise DataError(f"{archive} is not a readable zip ({error}): download it again") from None
        return {
            split: self._generate_examples(archive, snippets[folder])
            for folder, split in SPLITS.items()
            if snippets[folder]
        }

    def _generate_examples(self, archive, snippets):
        size = self.builder_config.image_size
        skipped = 0
        with archive.open("rb") as file, zipfile.ZipFile(file) as snippets_zip:
            for names in snippets:
                key = names[0].rsplit("/", 1)[-1].removesuffix("_leftImg8bit.png")
                try:
                    video = np.stack([square_frame(snippets_zip.read(name), size) for name in names])
                except DECODE_ERRORS as error:
                    skipped += 1
                    _log.warning("cityscapes_sequence: skipped snippet %s: %s", key, error)
                    continue
                yield key, {"video": video, "snippet": key}
        if skipped:
            _log.warning("cityscapes_sequence: skipped %d of %d snippets with unreadable frames",
                         skipped, len(snippets))


def _snippets(names):
    """Groups the frame files of the zip into snippets: per split folder, a
    list of `SNIPPET_LENGTH` member names of consecutive frames.

    One city sequence number can hold several snippets (e.g. frankfurt's), so
    frames are split at gaps in their index and every run is cut into whole
    snippets; frames left over are dropped and counted in a log line.
    """
    sequences = collections.defaultdict(list)
    for name in names:
        if match := _FRAME.match(name):
            sequences[match["split"], match["city"], match["sequence"]].append((int(match["index"]), name))
    snippets = {folder: [] for folder in SPLITS}
    left_over = 0
    for (folder, _, _), frames in sorted(sequences.items()):
        for run in _consecutive_runs(sorted(frames)):
            whole = len(run) - len(run) % SNIPPET_LENGTH
            left_over += len(run) - whole
            snippets[folder] += [run[i : i + SNIPPET_LENGTH] for i in range(0, whole, SNIPPET_LENGTH)]
    if left_over:
        _log.warning("cityscapes_sequence: dropped %d frames outside whole %d-frame snippets",
                     left_over, SNIPPET_LENGTH)
    return snippets


def _consecutive_runs(frames):
    """Splits `(index, name)` pairs, sorted by index, at gaps in the index;
    yields the names of each run."""
    run = []
    for index, name in frames:
        if run and index != previous + 1:
            yield run
            run = []
        run.append(name)
        previous = index
    if run:
        yield run
