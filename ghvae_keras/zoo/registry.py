"""The registry: the preset folders under the repository's `zoo/` (or the
copy installed with the package), by name."""

from pathlib import Path

from ghvae_keras.zoo.folder import METADATA_FILE, WEIGHTS_FILE, read_metadata

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# A source checkout's (or editable install's) zoo, then the copy a wheel
# installs into the package.
ZOO_DIRS = tuple(
    folder for folder in (_PACKAGE_DIR.parent / "zoo", _PACKAGE_DIR / "zoo_presets")
    if folder.name == "zoo_presets" or (_PACKAGE_DIR.parent / "pyproject.toml").is_file()
)


def registered(zoo_dirs=None):
    """`{name: folder}` of the presets in `zoo_dirs` (default: the registry's);
    where two folders hold the same name, the first wins."""
    presets = {}
    for zoo in zoo_dirs or ZOO_DIRS:
        if not zoo.is_dir():
            continue
        for folder in sorted(zoo.iterdir()):
            if (folder / METADATA_FILE).is_file() and folder.name not in presets:
                presets[folder.name] = folder
    return presets


def list_models(zoo_dir=None):
    """The registered presets: `{name: metadata}` (description, parameters,
    data, metrics, Hub location, `has_weights`, ...).

    Args:
        zoo_dir: list the presets of this folder instead of the registry.
    """
    models = {}
    for name, folder in registered([Path(zoo_dir)] if zoo_dir else None).items():
        metadata = read_metadata(folder)
        metadata["has_weights"] = WEIGHTS_FILE in metadata.get("files", {})
        models[name] = metadata
    return models
