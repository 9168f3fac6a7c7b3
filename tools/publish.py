"""Publishes a zoo preset to the Hugging Face Hub, or checks that it is ready.

    python tools/publish.py bair-4mod --dry-run               # build and validate the upload folder
    python tools/publish.py bair-4mod --dry-run --out upload/  # ... and keep it for inspection
    python tools/publish.py bair-4mod                         # upload to its registered repo, pin the revision
    python tools/publish.py path/to/preset --repo-id org/name [--private] [--revision BRANCH]

The same as `ghvae publish`; the work is `ghvae_keras.zoo.publish_preset`.
The upload folder holds only the preset files (config.json, metadata.json,
model.weights.h5, README.md, sample.npz) and must pass
`ghvae_keras.zoo.validate_card`: hashes, `library_name: keras`, the tags
`video-prediction` and `ghvae`, datasets, license, metrics with values and
the training command. `--out` must not exist or be empty. A real run needs a
token with write access (`HF_TOKEN` or `hf auth login`); after one to the main
branch, a registered preset's metadata.json records the repository and the
commit to pin. Prints one JSON line; exits 2 when the preset is not ready.
"""

import sys

from ghvae_keras import cli


def main(argv=None):
    return cli.main(["publish", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
