"""Simulated stand-ins for the presets' datasets, as TFDS builders:
`ghvae_sim_push` (BAIR), `ghvae_sim_multirobot` (RoboNet) and
`ghvae_sim_drive/suburban`, `ghvae_sim_drive/urban` (KITTI, Cityscapes).

Importing this package registers the builders with TFDS; the simulators
(the `[sim]` extra) are imported only when episodes are made.
"""

from ghvae_keras.data.sim.builder import DEFAULT_EPISODES, SimulatedVideoBuilder
from ghvae_keras.data.sim.episodes import episode_seeds
from ghvae_keras.data.sim.sim_push import GhvaeSimPush

__all__ = [
    "DEFAULT_EPISODES",
    "GhvaeSimPush",
    "SimulatedVideoBuilder",
    "episode_seeds",
]
