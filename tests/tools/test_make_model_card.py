"""tools/make_model_card.py."""

import json
import shutil

from ghvae_keras import zoo

from presets import ROOT, run_tool


def test_model_cards_are_generated_from_metadata(capsys):
    """MODEL_CARD.md and every zoo/*/README.md match their metadata."""
    code, stale = run_tool("make_model_card", ["--check"], capsys)
    assert code == 0, stale


def test_card_check_notices_an_edited_figure(preset, tmp_path, capsys):
    zoo_dir = tmp_path / "zoo"
    shutil.copytree(preset, zoo_dir / preset.name)
    shutil.copy(ROOT / "zoo" / "reference_results.json", zoo_dir)
    argv = ["--zoo", str(zoo_dir), "--out", str(tmp_path / "MODEL_CARD.md")]
    assert run_tool("make_model_card", argv, capsys)[0] == 0
    summary = "| `tiny-2mod` | `pushed_squares` | 2 → 3 | 2 | 20.50 | 21.50 | 20.00 | 19.00 | – | – | – | – |"
    assert summary in (tmp_path / "MODEL_CARD.md").read_text()
    assert run_tool("make_model_card", argv + ["--check"], capsys)[0] == 0
    card = zoo_dir / preset.name / zoo.CARD_FILE
    card.write_text(card.read_text().replace("21.5", "31.5"))
    code, stale = run_tool("make_model_card", argv + ["--check"], capsys)
    assert code == 1 and stale.endswith("README.md")



def test_the_zoo_card_says_how_far_a_run_in_progress_has_come(preset, tmp_path, capsys):
    zoo_dir = tmp_path / "zoo"
    shutil.copytree(preset, zoo_dir / preset.name)
    shutil.copy(ROOT / "zoo" / "reference_results.json", zoo_dir)
    metadata_file = zoo_dir / preset.name / zoo.METADATA_FILE
    metadata = json.loads(metadata_file.read_text())
    metadata["training"].update(status="in progress", stages_trained=1)
    metadata["metrics"] = {}
    metadata_file.write_text(json.dumps(metadata))
    argv = ["--zoo", str(zoo_dir), "--out", str(tmp_path / "MODEL_CARD.md")]
    assert run_tool("make_model_card", argv, capsys)[0] == 0
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "`tiny-2mod`: `pushed_squares`" in card and "being trained, modules 1..1 of 2 so far" in card
    assert "Not evaluated yet: training in progress, modules 1..1 of 2 trained;" in card
