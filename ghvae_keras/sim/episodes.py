"""What the simulated stand-ins share: episode length, frame size, seeds and
the optional simulators. Imports neither TensorFlow nor a simulator."""

import importlib
import os

__all__ = ["EPISODE_LENGTH", "IMAGE_SIZE", "INSTALL_HINT", "MAX_EPISODES", "SPLITS",
           "episode_seeds", "import_simulator"]

EPISODE_LENGTH = 30
IMAGE_SIZE = 64
SPLITS = ("train", "test")

# Train seeds are 0, 1, 2, ...; test seeds start at 2**30. A split holds at
# most 2**30 episodes, so no test episode can share a seed with a train
# episode, whatever the sizes built.
MAX_EPISODES = 1 << 30
_SEED_BASE = {"train": 0, "test": MAX_EPISODES}

INSTALL_HINT = 'pip install "ghvae-keras[sim]"'


def episode_seeds(split, count):
    """The seeds of the first `count` episodes of `split` ("train" or "test")."""
    if split not in _SEED_BASE:
        raise ValueError(f"unknown split {split!r}: use one of {list(SPLITS)}")
    if not 0 <= count <= MAX_EPISODES:
        raise ValueError(f"episodes per split must be in [0, {MAX_EPISODES}], got {count}")
    return range(_SEED_BASE[split], _SEED_BASE[split] + count)


def import_simulator(module):
    """Imports a simulator of the `[sim]` extra, or says how to install it.

    MuJoCo renders offscreen through EGL unless the user chose otherwise
    (`MUJOCO_GL` is read when mujoco is imported). Mesa's software renderer
    draws with one thread: the workers already run one per core, and
    llvmpipe's own threads on top of them made episodes twice as slow.
    """
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("LP_NUM_THREADS", "1")
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"the simulated datasets need {module.split('.')[0]}, which is not installed: "
            f"{INSTALL_HINT} ({error})"
        ) from error
