"""Simulated stand-ins for the presets' datasets, as TFDS builders:
`ghvae_sim_push` (BAIR), `ghvae_sim_multirobot` (RoboNet) and
`ghvae_sim_drive/suburban`, `ghvae_sim_drive/urban` (KITTI, Cityscapes).

Importing this package registers the builders with TFDS. The simulators
they run are in `ghvae_keras.sim`, in worker processes of their own.
"""

from ghvae_keras.data.sim.builder import DEFAULT_EPISODES, SimulatedVideoBuilder
from ghvae_keras.data.sim.sim_drive import GhvaeSimDrive
from ghvae_keras.data.sim.sim_multirobot import GhvaeSimMultirobot
from ghvae_keras.data.sim.sim_push import GhvaeSimPush

__all__ = [
    "DEFAULT_EPISODES",
    "GhvaeSimDrive",
    "GhvaeSimMultirobot",
    "GhvaeSimPush",
    "SimulatedVideoBuilder",
]
