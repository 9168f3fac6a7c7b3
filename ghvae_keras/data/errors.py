"""Errors that `ghvae_keras.data.load` raises for data it cannot provide."""

import textwrap


class DataError(Exception):
    """Base class: the data asked for cannot be provided, for a reason the user can fix."""


class ManualDownloadRequired(DataError, FileNotFoundError):
    """A dataset that only its owner may distribute has not been downloaded by hand yet.

    Args:
        dataset: the TFDS name of the builder.
        manual_dir: the folder where the downloaded files must be put.
        instructions: the builder's `MANUAL_DOWNLOAD_INSTRUCTIONS`.
    """

    def __init__(self, dataset, manual_dir, instructions):
        self.dataset = dataset
        self.manual_dir = str(manual_dir)
        self.instructions = instructions
        super().__init__(
            f"{dataset} must be downloaded by hand into {self.manual_dir}\n"
            f"{textwrap.dedent(instructions).strip()}"
        )


class DatasetUnavailable(DataError, RuntimeError):
    """A TFDS-hosted dataset is not prepared in `data_dir` and TFDS could not
    download and prepare it (no network, or a missing optional dependency)."""
