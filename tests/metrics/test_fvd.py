import keras
import numpy as np
import pytest
import tensorflow as tf

from ghvae_keras.metrics import (
    I3D,
    VideoEmbedder,
    WeightsMissing,
    features_distance,
    frechet_distance,
    frechet_video_distance,
    load_i3d,
)
from ghvae_keras.atomic_files import sha256
from ghvae_keras.metrics import i3d as i3d_lib


@pytest.fixture(scope="module")
def embedder():
    """An I3D with random weights: FVD's properties do not need Kinetics."""
    keras.utils.set_random_seed(0)
    return VideoEmbedder(I3D(), batch_size=4)


def test_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mean_a, mean_b = rng.normal(size=5), rng.normal(size=5)
    var_a, var_b = rng.uniform(0.1, 2, 5), rng.uniform(0.1, 2, 5)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    distance = frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert distance == pytest.approx(expected, rel=1e-10)


def test_closed_form_for_non_commuting_2x2_covariances():
    # For 2x2 PSD A, B: tr (AB)^(1/2) = sqrt(tr AB + 2 sqrt(det AB)).
    a = np.array([[2.0, 0.3], [0.3, 0.5]])
    b = np.array([[1.0, -0.4], [-0.4, 1.5]])
    trace_sqrt = np.sqrt(np.trace(a @ b) + 2 * np.sqrt(np.linalg.det(a @ b)))
    expected = 1.0 + np.trace(a) + np.trace(b) - 2 * trace_sqrt
    assert frechet_distance([0, 0], a, [1, 0], b) == pytest.approx(expected, rel=1e-10)


def test_estimated_from_samples_of_gaussians():
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, (20_000, 3))
    b = rng.normal(0.5, 2.0, (20_000, 3))
    # |0.5|^2 * 3 + 3 * (1 - 2)^2 = 3.75
    assert features_distance(a, b) == pytest.approx(3.75, rel=0.03)


def test_singular_covariances_are_stable():
    # Fewer samples than dimensions, as for FVD on a few hundred videos.
    rng = np.random.default_rng(2)
    features = rng.normal(size=(6, 400)) * 10
    assert features_distance(features, features) == pytest.approx(0.0, abs=1e-9 * np.sum(features.var(0)))
    shifted = features_distance(features, features + 1.0)
    assert shifted == pytest.approx(400.0, rel=1e-9)
    assert np.isfinite(features_distance(features, rng.normal(size=(5, 400))))


@pytest.mark.slow  # about 15 I3D forward passes at 224x224: ~14 s on 2 cores
def test_fvd_of_a_set_with_itself_is_zero_and_grows_with_a_shift(embedder):
    rng = np.random.default_rng(3)
    # Smooth blobs moving across 16x16 frames, 9 frames (the I3D minimum).
    t, y, x = np.meshgrid(np.arange(9), np.arange(16), np.arange(16), indexing="ij")
    videos = []
    for _ in range(3):
        cy, cx, vy, vx = rng.uniform(4, 12), rng.uniform(4, 12), rng.uniform(-1, 1), rng.uniform(-1, 1)
        blob = np.exp(-((y - cy - vy * t) ** 2 + (x - cx - vx * t) ** 2) / 8.0)
        videos.append(np.stack([0.6 * blob, 0.3 + 0.2 * blob, 0.2 * np.ones_like(blob)], -1))
    real = np.asarray(videos, np.float32)
    features = embedder(real)
    assert features.shape == (3, 400) and features.dtype == np.float64
    itself = frechet_video_distance(real, real, embedder)
    assert itself == pytest.approx(0.0, abs=1e-9 * np.sum(features.var(0)))
    distances = [features_distance(features, embedder(real + shift)) for shift in (0.1, 0.3)]
    assert 0 < distances[0] < distances[1]


def test_embedder_resizes_on_fvds_grid_and_scales_to_minus_one_one():
    # FVD's reference resize (TF1 bilinear, corner-aligned): output pixel 14 k
    # of 224 is input pixel k of 16 exactly.
    def every_14th_pixel(videos, training=False):
        return tf.reshape(videos[:, :, ::14, ::14, :], (tf.shape(videos)[0], -1))

    videos = np.random.default_rng(4).random((2, 9, 16, 16, 3), np.float32)
    features = VideoEmbedder(every_14th_pixel)(videos)
    np.testing.assert_allclose(features, (2 * videos - 1).reshape(2, -1), atol=1e-5)


def test_embedder_refuses_bad_videos(embedder):
    with pytest.raises(ValueError, match="at least 9 frames"):
        embedder(np.zeros((2, 8, 16, 16, 3), np.float32))
    with pytest.raises(ValueError, match=r"\[B, T, H, W, 3\]"):
        embedder(np.zeros((2, 9, 16, 16), np.float32))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        embedder(np.full((2, 9, 16, 16, 3), 255, np.float32))
    with pytest.raises(ValueError, match="N >= 2"):
        features_distance(np.zeros((1, 4)), np.zeros((3, 4)))


def test_missing_weights_name_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("GHVAE_KERAS_CACHE", str(tmp_path))
    with pytest.raises(WeightsMissing, match=r"`python -m ghvae_keras.metrics.convert_i3d`"):
        VideoEmbedder()
    with pytest.raises(WeightsMissing, match=r"--cache"):
        load_i3d(tmp_path / "elsewhere")


def test_weights_are_checked_against_their_sha256(tmp_path):
    model = I3D()
    model.build()
    path = i3d_lib.weights_path(tmp_path)
    model.save_weights(path)
    path.with_name(path.name + ".sha256").write_text(f"{sha256(path)}  {path.name}\n")
    loaded = load_i3d(tmp_path)
    for mine, theirs in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    with open(path, "r+b") as file:
        file.seek(path.stat().st_size // 2)
        byte = file.read(1)
        file.seek(-1, 1)
        file.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(WeightsMissing, match="does not match its sha256"):
        load_i3d(tmp_path)


def test_i3d_serializes():
    model = I3D(num_classes=7, name="small")
    clone = I3D.from_config(model.get_config())
    assert clone.num_classes == 7
    block = model.blocks[0]
    assert type(block).from_config(block.get_config()).filters == block.filters
