import itertools

import pytest
import torch

from gankit.errors import ConfigError
from gankit.metrics import kid_from_features, mmd2_unbiased


def _rand(n, d, seed):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_unbiased_mmd_matches_the_definition():
    x, y = _rand(5, 3, 0), _rand(5, 3, 1)

    def k(a, b):
        return (float(a @ b) / 3 + 1) ** 3

    m = 5
    pairs = [(i, j) for i, j in itertools.product(range(m), repeat=2) if i != j]
    want = (
        sum(k(x[i], x[j]) for i, j in pairs) / (m * (m - 1))
        + sum(k(y[i], y[j]) for i, j in pairs) / (m * (m - 1))
        - 2 * sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    )
    assert mmd2_unbiased(x, y) == pytest.approx(want, rel=1e-12)


def test_same_distribution_is_near_zero_and_shift_is_not():
    real, fake = _rand(1000, 16, 0), _rand(1000, 16, 1)
    same, same_std = kid_from_features(real, fake, subsets=20, subset_size=200)
    shifted, _ = kid_from_features(real, fake + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.02 and same_std > 0
    assert shifted > 1.0 and shifted > 50 * abs(same)


def test_seeded_and_repeatable():
    real, fake = _rand(100, 4, 0), _rand(80, 4, 1)
    assert kid_from_features(real, fake, 5, 50, seed=3) == kid_from_features(
        real, fake, 5, 50, seed=3
    )
    assert kid_from_features(real, fake, 5, 50, seed=3) != kid_from_features(
        real, fake, 5, 50, seed=4
    )


def test_too_few_samples_is_a_config_error():
    with pytest.raises(ConfigError):
        kid_from_features(_rand(1, 4, 0), _rand(10, 4, 1))
