"""Publishing a preset to the Hugging Face Hub: the checks a folder must
pass (`validate_card`), the upload (`push_to_hub`) and the whole job of
`ghvae publish` (`publish_preset`)."""

import os
import shutil
import tempfile
from pathlib import Path

from ghvae_keras.errors import PresetError
from ghvae_keras.model import GHVAE
from ghvae_keras.version import __version__
from ghvae_keras.zoo import reports
from ghvae_keras.zoo.folder import (
    CARD_FILE,
    PRESET_FILES,
    read_metadata,
    save_preset,
    verify_preset,
    write_card,
)
from ghvae_keras.zoo.registry import registered


def validate_card(preset_dir):
    """The problems that keep a preset folder from being published (an
    empty list when it is ready): files and hashes, and the card's
    library, tags, datasets, license, metric values and training command."""
    from huggingface_hub import ModelCard

    preset_dir = Path(preset_dir)
    try:
        verify_preset(preset_dir)
    except PresetError as error:
        return [str(error)]
    if not (preset_dir / CARD_FILE).is_file():
        return [f"{preset_dir} has no model card ({CARD_FILE})"]
    metadata = read_metadata(preset_dir)
    card = ModelCard.load(preset_dir / CARD_FILE)
    front = card.data.to_dict()
    problems = [] if (metadata.get("hub") or {}).get("repo_id") else ["metadata: no hub.repo_id"]
    if front.get("library_name") != "keras":
        problems.append("card: library_name must be 'keras'")
    missing_tags = {"video-prediction", "ghvae"} - set(front.get("tags") or ())
    if missing_tags:
        problems.append(f"card: missing tags {sorted(missing_tags)}")
    for field in ("datasets", "license"):
        if not front.get(field):
            problems.append(f"card: no {field}")
    results = card.data.eval_results or []
    if not results or any(r.metric_value is None for r in results):
        problems.append("card: no metrics with values (model-index)")
    training = metadata.get("training") or {}
    if not training.get("command"):
        problems.append("metadata: no training command")
    if reports.in_progress(training):
        problems.append(f"metadata: training is in progress ({training.get('stages_trained')} of "
                        f"{metadata.get('num_modules')} stages trained)")
    elif training.get("command") and training["command"] not in card.text:
        problems.append("card: does not show the training command")
    return problems



def push_to_hub(model_or_preset_dir, repo_id, metadata=None, sample=None, private=None,
                revision=None, commit_message=None, token=None, api=None):
    """Publishes a preset to the Hugging Face Hub.

    Args:
        model_or_preset_dir: a preset folder (see `save_preset`) or a
            `GHVAE`, which is saved as one with `metadata` and `sample`.
        repo_id: `"org/name"`; created when it does not exist.
        private: create the repository private.
        revision: the branch to commit to (default: main).
        token: a Hugging Face token (default: `HF_TOKEN` or the saved login).
        api: an `huggingface_hub.HfApi` to use.

    The folder must pass `validate_card` first. Returns the commit
    (`CommitInfo`; `.oid` is the revision to pin).
    """
    from huggingface_hub import HfApi

    with tempfile.TemporaryDirectory() as scratch:
        if isinstance(model_or_preset_dir, GHVAE):
            folder = save_preset(model_or_preset_dir, Path(scratch) / "preset",
                                 {**(metadata or {}), "hub": {"repo_id": repo_id, "revision": None}},
                                 sample=sample)
        else:
            folder = Path(model_or_preset_dir)
            named = (read_metadata(folder).get("hub") or {}).get("repo_id")
            if named != repo_id:
                # The card and hashes name the repository: publishing elsewhere needs a new card.
                raise PresetError(
                    f"{folder} is made for the repository {named!r}, not {repo_id!r}: set "
                    "hub.repo_id in its metadata.json and run write_card(folder) first"
                )
        problems = validate_card(folder)
        if problems:
            raise PresetError(f"{folder} is not ready to publish:\n- " + "\n- ".join(problems))
        api = api or HfApi(token=token, library_name="ghvae-keras", library_version=__version__)
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id, folder_path=folder, revision=revision,
            # Replace the preset files wholesale: no stale sample or weights stay behind.
            allow_patterns=list(PRESET_FILES), delete_patterns=list(PRESET_FILES),
            commit_message=commit_message or f"Upload {read_metadata(folder)['name']} (ghvae-keras {__version__})",
        )


def publish_preset(name_or_path, repo_id=None, dry_run=False, out=None, private=None,
                   revision=None, token=None, api=None):
    """Builds a preset's upload folder, validates it and, unless `dry_run`,
    uploads it (what `ghvae publish` and `tools/publish.py` do).

    Args:
        name_or_path: a registered preset name or a preset folder.
        repo_id: `"org/name"` (default: the preset's registered repository);
            the card is rendered for it when it differs.
        dry_run: build and validate only.
        out: where to build the upload folder (must not exist or be empty;
            default: a temporary folder).
        private, revision, token, api: as in `push_to_hub`.

    After an upload of a registered preset to the main branch, its
    metadata.json in the registry pins the commit. Returns a report: preset,
    repo_id, dry_run, folder (`out` or None), files with their sizes,
    problems (empty when ready) and, after an upload, the revision.

    Raises:
        PresetError: no repository is named, or `out` is not empty.
    """
    registered_folder = registered().get(os.fspath(name_or_path))
    source = registered_folder or Path(name_or_path)
    metadata = read_metadata(source)
    repo_id = repo_id or (metadata.get("hub") or {}).get("repo_id")
    if not repo_id:
        raise PresetError(f"{source} names no Hub repository: give a repo_id (--repo-id)")
    out = None if out is None else Path(out)
    if out is not None and out.exists() and any(out.iterdir()):
        raise PresetError(f"{out} exists and is not empty")
    with tempfile.TemporaryDirectory() as scratch:
        upload = out or Path(scratch) / "upload"
        upload.mkdir(parents=True, exist_ok=True)
        for name in PRESET_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, upload / name)
        if (metadata.get("hub") or {}).get("repo_id") != repo_id:
            # The card names the repository: render it for the one published to.
            metadata["hub"] = {"repo_id": repo_id, "revision": None}
            write_card(upload, metadata)
        problems = validate_card(upload)
        report = {
            "preset": metadata["name"], "repo_id": repo_id, "dry_run": dry_run,
            "folder": str(upload) if out else None,
            "files": {p.name: p.stat().st_size for p in sorted(upload.iterdir())},
            "problems": problems,
        }
        if problems or dry_run:
            return report
        commit = push_to_hub(upload, repo_id, private=private, revision=revision, token=token, api=api)
        report["revision"] = commit.oid
        if registered_folder is not None and revision is None:
            # Pin the registry to the commit. The card does not show the
            # revision, so it renders as uploaded and the hashes stay the same.
            pinned = read_metadata(upload)
            pinned["hub"] = {"repo_id": repo_id, "revision": commit.oid}
            write_card(source, pinned)
    return report

