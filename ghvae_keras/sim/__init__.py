"""The simulators: the scenes of the stand-in datasets (`push_scene`,
`multirobot_scene`, `drive_scene`), the push task that planning drives
(`push_scene.PushTask`), and the worker processes they run in (`workers`).

The data builders (`ghvae_keras.data.sim`) and the planning benchmark both
use them. Importing this package loads neither a simulator (the `[sim]`
extra, imported by the scenes when they run) nor TensorFlow: the two cannot
share a process, so simulators run only in workers.
"""

from ghvae_keras.errors import WorkerError
from ghvae_keras.sim.episodes import EPISODE_LENGTH, IMAGE_SIZE, episode_seeds
from ghvae_keras.sim.workers import GenerationStats, SimulatorProcess, generate

__all__ = ["EPISODE_LENGTH", "IMAGE_SIZE", "GenerationStats", "SimulatorProcess", "WorkerError",
           "episode_seeds", "generate"]
