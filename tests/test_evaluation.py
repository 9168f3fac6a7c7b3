
import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from ghvae_keras import GHVAE, data, evaluation, zoo
from ghvae_keras.errors import InputError
from ghvae_keras.zoo import reports
from ghvae_keras.atomic_files import sha256
from ghvae_keras.metrics import I3D, VideoEmbedder, WeightsMissing, best_of_n, psnr, ssim
from ghvae_keras.metrics import i3d as i3d_lib
from tiny_data import perturb_zero_init


@pytest.fixture(scope="module")
def tiny_model():
    model = GHVAE(image_size=16, module_channels=(8, 8), latent_channels=2, action_dim=4,
                  context_length=2, horizon=3, seed=3)
    perturb_zero_init(model)
    return model


@pytest.fixture
def preset(tiny_model, tmp_path):
    metadata = {"name": "tiny-bair", "description": "A tiny preset for tests.",
                "protocol": {"context": 2, "train_future": 3, "eval_future": 4}}
    return zoo.save_preset(tiny_model, tmp_path / "tiny-bair", metadata)


@pytest.fixture
def i3d_cache(tmp_path, monkeypatch):
    """A cache holding randomly initialised I3D weights and their sha256."""
    keras.utils.set_random_seed(0)
    model = I3D()
    model.build()
    path = i3d_lib.weights_path(tmp_path / "cache")
    path.parent.mkdir()
    model.save_weights(path)
    path.with_name(path.name + ".sha256").write_text(sha256(path) + "\n")
    monkeypatch.setenv("GHVAE_KERAS_CACHE", str(path.parent))
    return path.parent


def test_metrics_are_those_of_the_predictions_and_the_copied_frame(tiny_model):
    with tfds.testing.mock_data(num_examples=3):
        result = evaluation.evaluate(tiny_model, "bair", "test", num_samples=3, context=2, horizon=3,
                                     num_modules=[2, 1], batch_size=2, fvd=False, seed=5, verbose=0)
        batches = list(data.load("bair", "test", 5, 2, shuffle=False, image_size=16))
    assert (result["videos"], result["context"], result["horizon"], result["samples"]) == (3, 2, 3, 3)
    assert [entry["num_modules"] for entry in result["metrics"]] == [1, 2]

    # The same computation by hand, batch by batch (seed + batch index).
    for entry in result["metrics"]:
        model = tiny_model.truncated(entry["num_modules"])
        curves = {"psnr": [], "ssim": [], "copy_psnr": [], "copy_ssim": []}
        for index, batch in enumerate(batches):
            frames, actions = batch["frames"].numpy(), batch["actions"].numpy()
            truth = frames[:, None, 2:]
            video = model.predict_video(frames[:, :2], actions, horizon=3, num_samples=3, seed=5 + index)
            copy = np.repeat(frames[:, None, 1:2], 3, axis=2)
            for name, metric in (("psnr", psnr), ("ssim", ssim)):
                curves[name].append(best_of_n(metric(truth, video).numpy())[0])
                curves["copy_" + name].append(metric(truth, copy).numpy()[:, 0])
        for name in ("psnr", "ssim"):
            curve = np.concatenate(curves[name]).mean(0)
            np.testing.assert_allclose(entry[f"{name}_per_frame"], curve, rtol=1e-5)
            assert entry[name] == pytest.approx(curve.mean(), rel=1e-5)
            floor = np.concatenate(curves["copy_" + name]).mean(0)
            np.testing.assert_allclose(entry["copy_last_frame"][f"{name}_per_frame"], floor, rtol=1e-5)
        assert entry["fvd"] is None and entry["copy_last_frame"]["fvd"] is None
        assert (entry["dataset"], entry["split"], entry["samples"]) == ("bair", "test", 3)


def test_shuffled_actions_predict_each_video_with_the_next_ones_actions_and_the_same_noise(tiny_model):
    with tfds.testing.mock_data(num_examples=3):
        result = evaluation.evaluate(tiny_model, "bair", num_samples=2, context=2, horizon=3, batch_size=2,
                                     num_modules=[1, 2], fvd=False, seed=5, verbose=0, shuffled_actions=True)
        batches = list(data.load("bair", "test", 5, 2, shuffle=False, image_size=16))
    # Batches of 2 and 1 videos: the second borrows the first batch's first video's actions.
    first, second = (batch["actions"].numpy() for batch in batches)
    swapped = [first[::-1], first[:1]]
    for entry in result["metrics"]:
        model = tiny_model.truncated(entry["num_modules"])
        scores = []
        for index, (batch, actions) in enumerate(zip(batches, swapped)):
            frames = batch["frames"].numpy()
            video = model.predict_video(frames[:, :2], actions, horizon=3, num_samples=2, seed=5 + index)
            scores.append(best_of_n(psnr(frames[:, None, 2:], video).numpy())[0])
        assert entry["psnr_shuffled_actions"] == pytest.approx(np.concatenate(scores).mean(), rel=1e-5)
        assert entry["psnr_shuffled_actions"] != entry["psnr"]
    with pytest.raises(InputError, match="action-conditioned"):
        evaluation.evaluate(GHVAE(image_size=16, module_channels=(8,), context_length=2, horizon=3),
                            "bair", shuffled_actions=True, fvd=False)


def test_the_floor_does_not_depend_on_samples_or_modules(tiny_model):
    with tfds.testing.mock_data(num_examples=2):
        one = evaluation.evaluate(tiny_model, "bair", num_samples=1, context=2, horizon=3,
                                  num_modules=1, fvd=False, verbose=0)
        many = evaluation.evaluate(tiny_model, "bair", num_samples=4, context=2, horizon=3,
                                   fvd=False, verbose=0)
    assert many["metrics"][0]["copy_last_frame"] == one["metrics"][0]["copy_last_frame"]
    assert many["metrics"][0]["psnr"] != one["metrics"][0]["psnr"]


def test_other_models_see_the_same_videos_and_samples(tiny_model):
    # The 1-module truncation as "another model": it must score exactly as the
    # 1-module row, which holds only if it saw the same videos, actions and seeds.
    with tfds.testing.mock_data(num_examples=3):
        result = evaluation.evaluate(tiny_model, "bair", num_samples=2, context=2, horizon=3,
                                     num_modules=[1, 2], batch_size=2, fvd=False, seed=1, verbose=0,
                                     others={"baseline": tiny_model.truncated(1)})
    baseline, one = result["others"]["baseline"], result["metrics"][0]
    assert (baseline["psnr"], baseline["ssim"]) == (one["psnr"], one["ssim"])
    block = reports.metrics_block(result, command="ghvae evaluate tiny")
    assert block["modules"] == {
        str(e["num_modules"]): {**{m: e[m] for m in ("psnr", "ssim", "fvd")},
                                "psnr_per_frame": [round(v, 3) for v in e["psnr_per_frame"]]}
        for e in result["metrics"]}
    assert block["baseline"]["psnr"] == baseline["psnr"] and block["baseline"]["fvd"] is None
    assert len(block["baseline"]["psnr_per_frame"]) == 3
    assert block["copy_last_frame"]["psnr"] == one["copy_last_frame"]["psnr"]
    assert (block["samples"], block["videos"], block["context"], block["horizon"]) == (2, 3, 2, 3)
    assert block["command"] == "ghvae evaluate tiny" and block["fvd_samples"] is None
    assert "baseline" in evaluation.format_table(result).splitlines()[4]


def test_preset_protocol_gives_the_defaults_and_max_videos_stops(preset, capsys):
    with tfds.testing.mock_data(num_examples=5):
        result = evaluation.evaluate(str(preset), "bair", batch_size=2, max_videos=3, fvd=False)
    assert (result["context"], result["horizon"], result["videos"]) == (2, 4, 3)
    assert len(result["metrics"][0]["psnr_per_frame"]) == 4
    assert result["metrics"][0]["num_modules"] == 2
    progress = capsys.readouterr().err
    assert "evaluate: 2 videos" in progress and "evaluate: 3 videos" in progress


def test_bad_arguments_are_refused_before_any_work(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("GHVAE_KERAS_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match=r"number of modules must be in 1\.\.2, got 3"):
        evaluation.evaluate(tiny_model, "bair", num_modules=[1, 3], fvd=False)
    with pytest.raises(ValueError, match="FVD needs at least 9 frames"):
        evaluation.evaluate(tiny_model, "bair", context=2, horizon=3)
    with pytest.raises(WeightsMissing, match="python -m ghvae_keras.metrics.convert_i3d"):
        evaluation.evaluate(tiny_model, "bair", context=2, horizon=7)
    with pytest.raises(ValueError, match="samples, context, horizon"):
        evaluation.evaluate(tiny_model, "bair", num_samples=0, fvd=False)
    with pytest.raises(ValueError, match="got 1, 0, 3, 16"):
        evaluation.evaluate(tiny_model, "bair", context=0, fvd=False)
    with pytest.raises(ValueError, match=r"fvd_samples must be in 1\.\.2, got 3"):
        evaluation.evaluate(tiny_model, "bair", num_samples=2, fvd_samples=3, fvd=False)


@pytest.mark.slow  # 15 I3D forward passes at 224x224
def test_fvd_of_every_module_count_and_the_floor(tiny_model, i3d_cache):
    embedder = VideoEmbedder(batch_size=8)
    with tfds.testing.mock_data(num_examples=3):
        result = evaluation.evaluate(tiny_model, "bair", num_samples=2, context=2, horizon=7,
                                     num_modules=[1, 2], batch_size=3, embedder=embedder, verbose=0,
                                     fvd_samples=1, others={"one": tiny_model.truncated(1)})
        frames = next(iter(data.load("bair", "test", 9, 3, shuffle=False, image_size=16)))["frames"].numpy()
    fvds = [entry["fvd"] for entry in result["metrics"]] + [result["metrics"][0]["copy_last_frame"]["fvd"]]
    assert all(np.isfinite(value) and value > 0 for value in fvds)
    assert result["fvd_samples"] == 1 and result["others"]["one"]["fvd"] == pytest.approx(fvds[0], rel=1e-6)
    # The floor by hand: real clips against context + the last context frame repeated.
    copy = np.concatenate([frames[:, :2], np.repeat(frames[:, 1:2], 7, axis=1)], axis=1)
    from ghvae_keras.metrics import features_distance

    assert fvds[2] == pytest.approx(features_distance(embedder(frames), embedder(copy)), rel=1e-6)
