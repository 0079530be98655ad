import numpy as np
import pytest
import scipy.linalg
import torch

from gankit.metrics import feature_stats, fid_from_features, frechet_distance


def _spd(d, seed):
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def _scipy_frechet(mu1, c1, mu2, c2):
    root = scipy.linalg.sqrtm(c1 @ c2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(root).real)


def test_identical_gaussians_are_at_zero():
    mu, cov = feature_stats(torch.randn(500, 16, generator=torch.Generator().manual_seed(0)))
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-9)


def test_diagonal_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(want, rel=1e-12)


def test_full_covariance_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    mu1, mu2, c1, c2 = rng.normal(size=6), rng.normal(size=6), _spd(6, 1), _spd(6, 2)
    got = frechet_distance(mu1, c1, mu2, c2)
    assert got == pytest.approx(_scipy_frechet(mu1, c1, mu2, c2), rel=1e-9)
    assert got == pytest.approx(frechet_distance(mu2, c2, mu1, c1), rel=1e-9)


def test_singular_covariances_stay_finite_and_nonnegative():
    # Fewer samples than dimensions: rank-deficient covariances, the case sqrtm dislikes.
    f = torch.randn(10, 64, generator=torch.Generator().manual_seed(0))
    assert fid_from_features(f, f) == pytest.approx(0.0, abs=1e-8)
    g = torch.randn(10, 64, generator=torch.Generator().manual_seed(1))
    value = fid_from_features(f, g)
    assert np.isfinite(value) and value > 0


def test_from_features_uses_numpy_mean_and_cov():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 5)), rng.normal(loc=0.5, size=(200, 5)) @ _spd(5, 4)
    want = _scipy_frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert fid_from_features(torch.from_numpy(a).float(), b) == pytest.approx(want, rel=1e-5)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
