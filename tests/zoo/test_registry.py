"""The registry and the presets it ships."""


import numpy as np
import pytest

import ghvae_keras
from ghvae_keras import zoo


def test_registry_lists_the_four_presets_with_their_configs():
    models = ghvae_keras.list_models()
    assert set(models) >= {"bair-4mod", "robonet-4mod", "kitti-4mod", "cityscapes-4mod"}
    expected_actions = {"bair-4mod": 4, "robonet-4mod": 5, "kitti-4mod": None, "cityscapes-4mod": None}
    for name, action_dim in expected_actions.items():
        metadata = models[name]
        assert metadata["hub"]["repo_id"] == f"ghvae-keras/{name}"
        model = ghvae_keras.from_pretrained(name, load_weights=False)
        assert model.action_dim == action_dim == metadata["action_dim"]
        assert model.context_length == metadata["protocol"]["context"]
        assert model.count_params() == metadata["parameters"]
        assert (model.image_size, model.num_modules) == (64, 4)


def test_each_preset_names_its_stand_in_as_a_loadable_dataset():
    from ghvae_keras.data import list_datasets

    stand_ins = {name: zoo.load_preset(name, load_weights=False).stand_in for name in zoo.list_models()}
    assert stand_ins["bair-4mod"] == "sim_push" and stand_ins["kitti-4mod"] == "sim_drive/suburban"
    assert set(stand_ins.values()) <= set(list_datasets())



# -- the shipped zoo -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(zoo.list_models()))
def test_shipped_preset_loads_verified_and_predicts_its_sample(name):
    metadata = zoo.list_models()[name]
    if not metadata["has_weights"]:
        pytest.skip(f"{name} ships no weights")
    model = ghvae_keras.from_pretrained(name)  # every file's sha256 checked
    clip = ghvae_keras.load_sample(name)
    context = clip["frames"][:, :model.context_length]
    actions = clip.get("actions")
    video = model.predict_video(context, None if actions is None else actions[:, :model.context_length + 1],
                                horizon=2, num_samples=2, seed=0)
    assert video.shape == (1, 2, 2, 64, 64, 3) and np.isfinite(video).all()
    training = metadata["training"]
    if training.get("status") == "in progress":  # committed stage by stage: no metrics yet
        assert model.active_modules == training["stages_trained"] <= model.num_modules
        assert metadata["metrics"] == {}
        return
    block = metadata["metrics"]["stand_in_test"]
    assert sorted(block["modules"], key=int) == [str(k) for k in range(1, model.num_modules + 1)]
    assert block["samples"] >= 10 and block["dataset"] == metadata["data"]["stand_in"]["name"]
    assert {"psnr", "ssim", "fvd", "compute"} <= set(block["end_to_end"]) and block["copy_last_frame"]["fvd"]
    assert metadata["training"]["command"].startswith(f"python tools/train_zoo.py {name} ")
