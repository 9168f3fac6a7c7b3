"""The model zoo, split by job:

- `registry`: the registered presets (`list_models`).
- `loading`: resolve a name, download and verify once, load (`load_preset`,
  `from_pretrained`, `load_sample`).
- `folder`: a preset folder's files: reading, checking and writing them
  (`save_preset`, `write_card`, `verify_preset`).
- `reports`: the blocks that measurements write into metadata.json.
- `cards`: the model cards rendered from the metadata.
- `publishing`: validating and uploading to the Hugging Face Hub.
"""

from ghvae_keras.errors import PresetError
from ghvae_keras.zoo.cards import PLOT_FILE, PREVIEW_FILE, card_data, render_card, render_psnr_plot, render_zoo_card
from ghvae_keras.zoo.folder import (
    CARD_FILE,
    CONFIG_FILE,
    METADATA_FILE,
    PRESET_FILES,
    SAMPLE_FILE,
    TRAINING_STATE_FILE,
    WEIGHTS_FILE,
    model_from_config_file,
    read_config,
    read_metadata,
    read_sample,
    save_preset,
    verify_preset,
    write_card,
)
from ghvae_keras.zoo.loading import Preset, from_pretrained, load_preset, load_sample, resolve_preset
from ghvae_keras.zoo.publishing import publish_preset, push_to_hub, validate_card
from ghvae_keras.zoo.registry import list_models

__all__ = [
    "CARD_FILE",
    "CONFIG_FILE",
    "METADATA_FILE",
    "PLOT_FILE",
    "PREVIEW_FILE",
    "PRESET_FILES",
    "Preset",
    "PresetError",
    "SAMPLE_FILE",
    "TRAINING_STATE_FILE",
    "WEIGHTS_FILE",
    "card_data",
    "from_pretrained",
    "list_models",
    "load_preset",
    "load_sample",
    "model_from_config_file",
    "publish_preset",
    "push_to_hub",
    "read_config",
    "read_metadata",
    "read_sample",
    "render_card",
    "render_psnr_plot",
    "render_zoo_card",
    "resolve_preset",
    "save_preset",
    "validate_card",
    "verify_preset",
    "write_card",
]
