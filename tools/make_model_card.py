"""Writes every preset's model card (zoo/<preset>/README.md and its PSNR
plot, with the file hashes in its metadata.json) and MODEL_CARD.md from the presets' metadata,
so no figure in a card is typed by hand.

    python tools/make_model_card.py            # rewrite the cards
    python tools/make_model_card.py --check    # exit 1 if any card is stale
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
    parser.add_argument("--check", action="store_true", help="report stale cards, change nothing")
    parser.add_argument("--zoo", type=Path, default=ROOT / "zoo", help="presets folder")
    parser.add_argument("--out", type=Path, default=ROOT / "MODEL_CARD.md", help="the zoo's card")
    args = parser.parse_args(argv)

    stale = []
    folders = sorted(p.parent for p in args.zoo.glob(f"*/{zoo.METADATA_FILE}"))
    for folder in folders:
        if args.check:
            # Render into a copy and compare, so the check changes nothing.
            with tempfile.TemporaryDirectory() as scratch:
                copy = Path(scratch) / folder.name
                shutil.copytree(folder, copy)
                zoo.write_card(copy)
                for name in (zoo.CARD_FILE, zoo.METADATA_FILE, zoo.PLOT_FILE):
                    made, kept = copy / name, folder / name
                    if made.is_file() != kept.is_file() or (
                            made.is_file() and made.read_bytes() != kept.read_bytes()):
                        stale.append(str(kept))
        else:
            zoo.write_card(folder)
    models = zoo.list_models(args.zoo)
    reference = json.loads((args.zoo / "reference_results.json").read_text())
    card = zoo.render_zoo_card(models, reference)
    if args.check:
        if not args.out.is_file() or args.out.read_text() != card:
            stale.append(str(args.out))
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    args.out.write_text(card)
    print(json.dumps({"presets": [f.name for f in folders], "model_card": str(args.out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
