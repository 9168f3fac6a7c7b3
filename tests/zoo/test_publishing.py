"""Validating and uploading presets."""

import json
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest

import ghvae_keras
from ghvae_keras import zoo
from presets import COMMIT, run_tool, tiny_metadata


def test_card_problems_are_listed(preset, tiny_model, tmp_path):
    metadata = tiny_metadata()
    metadata.update(training=None, metrics={})
    bare = zoo.save_preset(tiny_model, tmp_path / "bare", metadata)
    problems = zoo.validate_card(bare)
    assert "card: no datasets" in problems
    assert "card: no metrics with values (model-index)" in problems
    assert "metadata: no training command" in problems


def test_publish_dry_run_builds_and_validates_the_upload_folder(preset, tmp_path, capsys):
    (preset / "notes.txt").write_text("not part of the upload")
    out = tmp_path / "upload"
    code, line = run_tool("publish", [str(preset), "--dry-run", "--out", str(out)], capsys)
    report = json.loads(line)
    assert code == 0 and report["problems"] == [] and report["repo_id"] == "org/tiny"
    assert sorted(report["files"]) == sorted(zoo.PRESET_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(zoo.PRESET_FILES)
    # Another repository: the card is rendered for it.
    other = tmp_path / "other"
    code, line = run_tool("publish", [str(preset), "--dry-run", "--repo-id", "org/other", "--out", str(other)], capsys)
    assert code == 0 and json.loads(line)["problems"] == []
    assert "hf://org/other" in (other / zoo.CARD_FILE).read_text()
    assert zoo.read_metadata(other)["hub"]["repo_id"] == "org/other"
    # An existing folder is never emptied.
    code, _ = run_tool("publish", [str(preset), "--dry-run", "--out", str(preset)], capsys)
    assert code == 2
    assert (preset / zoo.WEIGHTS_FILE).is_file()
    # A registered preset without weights is not ready.
    if not ghvae_keras.list_models()["kitti-4mod"]["has_weights"]:
        code, line = run_tool("publish", ["kitti-4mod", "--dry-run"], capsys)
        assert code == 2 and "missing model.weights.h5" in json.loads(line)["problems"][0]


class RecordingApi:
    """Stands in for `HfApi` where a test cannot reach the Hub: records calls."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        files = sorted(p.name for p in Path(kwargs["folder_path"]).iterdir())
        self.calls.append(("upload_folder", files, kwargs))
        return huggingface_hub.CommitInfo(
            commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/{COMMIT}",
            commit_message=kwargs["commit_message"], commit_description="", oid=COMMIT,
        )


def test_push_to_hub_creates_the_repo_and_uploads_the_preset(preset, tiny_model):
    api = RecordingApi()
    commit = ghvae_keras.push_to_hub(preset, "org/tiny", api=api)
    assert commit.oid == COMMIT
    (create, repo_id, create_args), (upload, files, upload_args) = api.calls
    assert (create, repo_id, create_args["exist_ok"]) == ("create_repo", "org/tiny", True)
    assert upload == "upload_folder" and files == sorted(zoo.PRESET_FILES)
    assert upload_args["repo_id"] == "org/tiny" and upload_args["allow_patterns"] == list(zoo.PRESET_FILES)
    assert upload_args["delete_patterns"] == list(zoo.PRESET_FILES)
    # Privacy and the branch pass through; the branch is created first.
    api = RecordingApi()
    ghvae_keras.push_to_hub(preset, "org/tiny", private=True, revision="v2", api=api)
    assert [call[0] for call in api.calls] == ["create_repo", "create_branch", "upload_folder"]
    assert api.calls[0][2]["private"] is True
    assert api.calls[1][2]["branch"] == "v2" and api.calls[2][2]["revision"] == "v2"
    # A folder made for another repository is refused: its card names that one.
    with pytest.raises(zoo.PresetError, match="made for the repository 'org/tiny', not 'org/other'"):
        ghvae_keras.push_to_hub(preset, "org/other", api=RecordingApi())
    # A model is saved as a preset first.
    api = RecordingApi()
    sample = {"frames": np.zeros((5, 16, 16, 3)), "actions": np.zeros((4, 3))}
    ghvae_keras.push_to_hub(tiny_model, "org/tiny", metadata=tiny_metadata(), sample=sample, api=api)
    assert api.calls[1][1] == sorted(zoo.PRESET_FILES)


def test_push_to_hub_refuses_an_incomplete_preset(preset):
    (preset / zoo.WEIGHTS_FILE).unlink()
    api = RecordingApi()
    with pytest.raises(zoo.PresetError, match="not ready to publish"):
        ghvae_keras.push_to_hub(preset, "org/tiny", api=api)
    assert api.calls == []

