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
commit to pin. Prints one JSON line; exits 1 when the preset is not ready.
"""

import argparse
import json
import sys

from ghvae_keras import zoo


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="a registered preset name or a preset folder")
    parser.add_argument("--repo-id", help="org/name (default: the preset's registered repository)")
    parser.add_argument("--dry-run", action="store_true", help="build and validate, upload nothing")
    parser.add_argument("--out", help="where to build the upload folder (default: a temporary one)")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--revision", help="branch to commit to (default: main)")
    args = parser.parse_args(argv)
    try:
        report = zoo.publish_preset(args.preset, repo_id=args.repo_id, dry_run=args.dry_run,
                                    out=args.out, private=args.private or None, revision=args.revision)
    except zoo.PresetError as error:
        parser.error(str(error))
    print(json.dumps(report))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
