"""What the wheel ships, and what importing it loads."""

import tomllib
from pathlib import PurePath

from presets import ROOT

from ghvae_keras import zoo


def test_wheel_ships_every_package_and_the_zoo():
    """pyproject lists the packages explicitly (to map zoo/ into the wheel):
    every folder of Python modules must be listed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = set(config["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "ghvae_keras").rglob("__init__.py")
    }
    assert found <= packages, f"add to [tool.setuptools] packages: {sorted(found - packages)}"
    assert config["package-dir"]["ghvae_keras.zoo_presets"] == "zoo"
    # Every file of every preset is shipped (a listed file that is missing
    # fails verification), and a run's training state is not.
    patterns = config["package-data"]["ghvae_keras.zoo_presets"]
    assert not any(PurePath("preset", zoo.TRAINING_STATE_FILE).match(pattern) for pattern in patterns)
    for path in (ROOT / "zoo").rglob("*"):
        if path.is_file() and path.name != zoo.TRAINING_STATE_FILE:
            relative = path.relative_to(ROOT / "zoo")
            assert any(relative.match(pattern) for pattern in patterns), f"{relative} is not in the wheel"



def test_importing_the_package_or_the_simulators_loads_no_tensorflow():
    """The command quiets TensorFlow before it loads it, and simulator
    workers must never load it (MuJoCo's OpenGL and TensorFlow cannot share
    a process): neither `ghvae_keras` nor `ghvae_keras.sim` may import it."""
    import subprocess
    import sys

    script = ("import sys, ghvae_keras, ghvae_keras.sim, ghvae_keras.errors\n"
              "assert ghvae_keras.GHVAEError is ghvae_keras.errors.GHVAEError\n"
              "print(sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
