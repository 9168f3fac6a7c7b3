"""Simulated stand-ins for the presets' datasets, as TFDS builders:
`ghvae_sim_push` (BAIR), `ghvae_sim_multirobot` (RoboNet) and
`ghvae_sim_drive/suburban`, `ghvae_sim_drive/urban` (KITTI, Cityscapes).

Importing this package registers the builders with TFDS. The simulators
(the `[sim]` extra) run only in worker processes (`workers`), never in the
process that imports TensorFlow.
"""

from ghvae_keras.data.sim.builder import DEFAULT_EPISODES, SimulatedVideoBuilder
from ghvae_keras.data.sim.episodes import episode_seeds
from ghvae_keras.data.sim.sim_drive import GhvaeSimDrive
from ghvae_keras.data.sim.sim_multirobot import GhvaeSimMultirobot
from ghvae_keras.data.sim.sim_push import GhvaeSimPush
from ghvae_keras.data.sim.workers import GenerationStats, WorkerError

__all__ = [
    "DEFAULT_EPISODES",
    "GenerationStats",
    "GhvaeSimDrive",
    "GhvaeSimMultirobot",
    "GhvaeSimPush",
    "SimulatedVideoBuilder",
    "WorkerError",
    "episode_seeds",
]
