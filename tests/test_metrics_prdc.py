import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from gankit.errors import ConfigError
from gankit.metrics import knn_sq_radii, prdc


def _rand(n, d, seed):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_a_set_against_itself():
    f = _rand(200, 8, 0)
    out = prdc(f, f, k=3)
    assert out["precision"] == out["recall"] == out["coverage"] == 1.0
    # Every point lies in its own ball and in k others' (no ties): density = (k + 1) / k.
    assert out["density"] == pytest.approx(4 / 3)


def test_disjoint_far_apart_sets():
    out = prdc(_rand(100, 8, 0), _rand(120, 8, 1) + 100.0)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_matches_brute_force_with_small_chunks():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(60, 3)), rng.normal(loc=0.7, size=(45, 3))
    rr = np.sort(cdist(real, real), axis=1)[:, 3]
    rf = np.sort(cdist(fake, fake), axis=1)[:, 3]
    d = cdist(fake, real)  # fake x real
    want = {
        "precision": np.mean((d <= rr[None]).any(1)),
        "recall": np.mean((d <= rf[:, None]).any(0)),
        "density": (d <= rr[None]).sum() / (3 * len(fake)),
        "coverage": np.mean((d <= rr[None]).any(0)),
    }
    got = prdc(torch.from_numpy(real), fake, k=3, chunk=7)
    assert got == pytest.approx(want)
    np.testing.assert_allclose(knn_sq_radii(real, 3, chunk=7).sqrt().numpy(), rr, rtol=1e-10)


def test_needs_more_than_k_samples():
    with pytest.raises(ConfigError):
        prdc(_rand(3, 2, 0), _rand(10, 2, 1), k=3)
