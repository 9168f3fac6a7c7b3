import numpy as np
import pytest

from ghvae_keras.metrics import best_of_n, psnr, ssim

C1, C2 = 0.01**2, 0.03**2


def test_psnr_of_a_constant_error():
    truth = np.full((2, 3, 16, 16, 3), 0.5, np.float32)
    # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB; MSE 0.0001 -> 40 dB.
    prediction = truth + np.float32(0.1)
    prediction[1, 2] = truth[1, 2] + np.float32(0.01)
    values = psnr(truth, prediction).numpy()
    assert values.shape == (2, 3)
    expected = np.full((2, 3), 20.0)
    expected[1, 2] = 40.0
    np.testing.assert_allclose(values, expected, rtol=1e-4)


def test_psnr_by_hand_on_random_frames():
    rng = np.random.default_rng(0)
    truth, prediction = rng.random((2, 4, 16, 16, 3), np.float32), rng.random((2, 4, 16, 16, 3), np.float32)
    mse = np.mean((truth.astype(np.float64) - prediction) ** 2, axis=(2, 3, 4))
    np.testing.assert_allclose(psnr(truth, prediction).numpy(), 10 * np.log10(1 / mse), rtol=1e-4)


def test_ssim_of_constant_frames_is_the_luminance_term():
    a, b = 0.2, 0.7
    truth = np.full((1, 2, 16, 16, 3), a, np.float32)
    prediction = np.full((1, 2, 16, 16, 3), b, np.float32)
    # No variance: contrast-structure is (0 + C2) / (0 + C2) = 1.
    expected = (2 * a * b + C1) / (a**2 + b**2 + C1)
    # float32 variances E[x^2] - E[x]^2 of a constant are off by ~1e-7, next to C2 = 9e-4.
    np.testing.assert_allclose(ssim(truth, prediction).numpy(), np.full((1, 2), expected), rtol=2e-3)


def test_ssim_of_a_brightness_shift():
    # Same texture, shifted by c: variances and covariance are equal, so SSIM
    # is the luminance term of the local means (m, m + c), averaged.
    rng = np.random.default_rng(1)
    texture = rng.uniform(0.3, 0.6, (1, 1, 32, 32, 3)).astype(np.float32)
    shift = np.float32(0.2)
    value = ssim(texture, texture + shift).numpy()[0, 0]
    assert ssim(texture, texture).numpy()[0, 0] == pytest.approx(1.0, abs=1e-5)
    # Local means lie in [0.3, 0.6]; the luminance term is monotonic between.
    bounds = [(2 * m * (m + shift) + C1) / (m**2 + (m + shift) ** 2 + C1) for m in (0.3, 0.6)]
    assert min(bounds) < value < max(bounds)
    assert value < 1.0


def test_ssim_and_psnr_broadcast_samples_against_truth():
    rng = np.random.default_rng(2)
    truth = rng.random((2, 1, 3, 16, 16, 3), np.float32)
    samples = rng.random((2, 5, 3, 16, 16, 3), np.float32)
    assert psnr(truth, samples).shape == (2, 5, 3)
    assert ssim(truth, samples).shape == (2, 5, 3)
    np.testing.assert_allclose(ssim(truth, samples).numpy()[1, 4], ssim(truth[1, 0], samples[1, 4]).numpy())


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="do not broadcast"):
        psnr(np.zeros((2, 16, 16, 3)), np.zeros((3, 16, 16, 3)))
    with pytest.raises(ValueError, match=r"\[\.\.\., H, W, 3\]"):
        psnr(np.zeros((2, 16, 16)), np.zeros((2, 16, 16)))
    with pytest.raises(ValueError, match="at least 11"):
        ssim(np.zeros((2, 8, 8, 3)), np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"\[B, N, T\]"):
        best_of_n(np.zeros((2, 3)))


def test_best_of_n_picks_the_sample_with_the_best_mean():
    scores = np.array([
        [[10, 10, 10], [30, 5, 5], [12, 12, 11]],  # mean 10, 13.3, 11.7 -> sample 1
        [[1, 2, 3], [3, 2, 1], [2, 2, 2.5]],  # mean 2, 2, 2.17 -> sample 2
    ])
    best, index = best_of_n(scores)
    np.testing.assert_array_equal(index, [1, 2])
    np.testing.assert_array_equal(best, [[30, 5, 5], [2, 2, 2.5]])


def test_best_of_n_on_real_predictions_finds_the_exact_sample():
    rng = np.random.default_rng(3)
    truth = rng.random((2, 1, 4, 16, 16, 3), np.float32)
    samples = np.clip(truth + rng.normal(0, 0.2, (2, 6, 4, 16, 16, 3)), 0, 1).astype(np.float32)
    samples[0, 4] = np.clip(truth[0, 0] + 0.01, 0, 1)
    samples[1, 2] = np.clip(truth[1, 0] + 0.01, 0, 1)
    for metric in (psnr, ssim):
        best, index = best_of_n(metric(truth, samples).numpy())
        np.testing.assert_array_equal(index, [4, 2])
        assert best.shape == (2, 4)
