"""Every error the package raises for something a user gave or can fix.

Each is a `GHVAEError`; the `ghvae` command prints its message as one line
on stderr and exits with code 2 (`ghvae_keras.cli.main`). The standard
exception each one also derives from (`ValueError`, `FileNotFoundError`,
...) says what kind of problem it is to code that does not know this module.
"""

import pickle
import textwrap


class GHVAEError(Exception):
    """Base class: the message says what is wrong in words fit for a user."""


class InputError(GHVAEError, ValueError):
    """A missing or unreadable file, or frames, actions or settings that do
    not fit the model."""


class PresetError(InputError):
    """A preset that cannot be found, is incomplete, or fails verification."""


class ExportError(GHVAEError, ValueError):
    """The model cannot be exported in the form asked for."""


class NonFiniteLossError(GHVAEError, RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


class TrainingCollapsedError(GHVAEError, RuntimeError):
    """Training's predictions became the last context frame, pixel for pixel,
    over a whole checkpoint interval: the pixel decoder's blend is saturated
    on it and no gradient reaches the model any more. The last checkpoint
    before it is kept."""


class DataError(GHVAEError):
    """The data asked for cannot be provided, for a reason the user can fix."""


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


class WeightsMissing(GHVAEError, FileNotFoundError):
    """The converted I3D weights that FVD needs are not in the cache (or fail their check)."""


class UnsafePickleError(GHVAEError, pickle.UnpicklingError):
    """A pickle that names a global other than numpy array reconstruction."""


class WorkerError(GHVAEError, RuntimeError):
    """A simulator worker process failed; the message carries its traceback."""
