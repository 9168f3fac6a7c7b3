"""Publishes a zoo preset to the Hugging Face Hub, or checks that it is ready.

    python tools/publish.py bair-4mod --dry-run               # build and validate the upload folder
    python tools/publish.py bair-4mod --dry-run --out upload/  # ... and keep it for inspection
    python tools/publish.py bair-4mod                         # upload to its registered repo, pin the revision
    python tools/publish.py path/to/preset --repo-id org/name [--private] [--revision BRANCH]

The upload folder holds only the preset files (config.json, metadata.json,
model.weights.h5, README.md, sample.npz) and must pass
`ghvae_keras.zoo.validate_card`: hashes, `library_name: keras`, the tags
`video-prediction` and `ghvae`, datasets, license, metrics with values and
the training command. `--out` must not exist or be empty. A real run needs a
token with write access (`HF_TOKEN` or `hf auth login`); after one to the main
branch, a registered preset's metadata.json records the repository and the
commit to pin. Prints one JSON line.
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from ghvae_keras import zoo

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="a preset name in zoo/ or a preset folder")
    parser.add_argument("--repo-id", help="org/name (default: the preset's registered repository)")
    parser.add_argument("--dry-run", action="store_true", help="build and validate, upload nothing")
    parser.add_argument("--out", type=Path, help="where to build the upload folder (default: a temporary one)")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--revision", help="branch to commit to (default: main)")
    args = parser.parse_args(argv)

    registered = ROOT / "zoo" / args.preset
    source = registered if (registered / zoo.METADATA_FILE).is_file() else Path(args.preset)
    metadata = zoo.read_metadata(source)
    repo_id = args.repo_id or (metadata.get("hub") or {}).get("repo_id")
    if not repo_id:
        parser.error(f"{source} names no Hub repository: pass --repo-id")

    if args.out and args.out.exists() and any(args.out.iterdir()):
        parser.error(f"--out {args.out} exists and is not empty")
    with tempfile.TemporaryDirectory() as scratch:
        upload = args.out or Path(scratch) / "upload"
        upload.mkdir(parents=True, exist_ok=True)
        for name in zoo.PRESET_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, upload / name)
        if (metadata.get("hub") or {}).get("repo_id") != repo_id:
            # The card names the repository: render it for the one published to.
            metadata["hub"] = {"repo_id": repo_id, "revision": None}
            zoo.write_card(upload, metadata)
        problems = zoo.validate_card(upload)
        report = {
            "preset": metadata["name"], "repo_id": repo_id, "dry_run": args.dry_run,
            "folder": str(upload) if args.out else None,
            "files": {p.name: p.stat().st_size for p in sorted(upload.iterdir())},
            "problems": problems,
        }
        if problems or args.dry_run:
            print(json.dumps(report))
            return 1 if problems else 0
        commit = zoo.push_to_hub(upload, repo_id, private=args.private or None, revision=args.revision)
        report["revision"] = commit.oid
        if source == registered and args.revision is None:
            # Pin the registry to the commit. The card does not show the
            # revision, so it renders as uploaded and the hashes stay the same.
            pinned = zoo.read_metadata(upload)
            pinned["hub"] = {"repo_id": repo_id, "revision": commit.oid}
            zoo.write_card(source, pinned)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
