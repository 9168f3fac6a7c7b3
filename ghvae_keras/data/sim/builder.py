"""The TFDS builder that the simulated stand-ins share."""

import abc

import tensorflow_datasets as tfds

from ghvae_keras.sim import episodes as episodes_lib
from ghvae_keras.sim import workers as workers_lib

__all__ = ["DEFAULT_EPISODES", "SimulatedVideoBuilder"]

# Enough to train the shipped weights; the test split has the size of the
# evaluation sets of the literature (BAIR's and RoboNet's 256 test videos).
DEFAULT_EPISODES = {"train": 5000, "test": 256}


class SimulatedVideoBuilder(tfds.core.GeneratorBasedBuilder, abc.ABC):
    """A TFDS builder whose episodes a simulator makes from their seeds.

    Episode i of the train split has seed i, of the test split seed
    2**30 + i (see `episodes.episode_seeds`): the splits never share a seed,
    and a larger build starts with the episodes of a smaller one.

    Args:
        episodes: episodes per split, e.g. `{"train": 50, "test": 8}`
            (default `DEFAULT_EPISODES`); a split left out is not made.
            Only generation reads it: a prepared dataset keeps the sizes it
            was made with (`info.splits[...].num_examples`, and
            `info.metadata["episodes"]`), whatever a later builder is given.
        workers: processes that make episodes in parallel; the data do not
            depend on it. `generation_stats` holds, per split made, the
            frames and seconds of each worker.
        **kwargs: passed to `tfds.core.GeneratorBasedBuilder` (`data_dir`,
            `config`, ...).
    """

    DESCRIPTION = ""

    def __init__(self, *, episodes=None, workers=1, **kwargs):
        episodes = dict(DEFAULT_EPISODES if episodes is None else episodes)
        for split, count in episodes.items():
            episodes_lib.episode_seeds(split, count)  # checks both
        self.episodes = episodes
        self.workers = workers
        # split -> GenerationStats of the episodes this builder made.
        self.generation_stats = {}
        super().__init__(**kwargs)

    @abc.abstractmethod
    def _features(self):
        """The features of an episode, `{name: tfds feature}`."""

    @property
    @abc.abstractmethod
    def SCENE(self):  # noqa: N802 (a class constant of each builder)
        """The module in `ghvae_keras.data.sim` whose `make_episode(seed,
        **options)` makes the episodes."""

    def _scene_options(self):
        """Keyword arguments of `make_episode` (e.g. the config's)."""
        return {}

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict(self._features()),
            metadata=tfds.core.MetadataDict(
                episodes=self.episodes,
                seeds={"train": "0, 1, 2, ...", "test": f"{episodes_lib.MAX_EPISODES}, ..."},
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        return {split: self._generate_examples(split, count)
                for split, count in self.episodes.items() if count}

    def _generate_examples(self, split, count):
        stats = self.generation_stats[split] = workers_lib.GenerationStats()
        made = workers_lib.generate(
            self.SCENE, episodes_lib.episode_seeds(split, count), options=self._scene_options(),
            workers=self.workers, stats=stats,
            description=f"{self.info.full_name} {split}",
        )
        for episode in made:
            yield f"{int(episode['seed']):010d}", episode
