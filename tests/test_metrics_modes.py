import itertools
import math

import pytest
import torch

from gankit.metrics import (
    assign_to_modes,
    kl_to_uniform,
    label_coverage,
    mode_coverage,
    mode_histogram,
    stacked_mnist_modes,
)

# The 5 x 5 grid of VEEGAN/PacGAN: centres at -4..4 step 2, component std 0.05.
GRID = torch.tensor(list(itertools.product(range(-4, 5, 2), repeat=2)), dtype=torch.float64)
STD = 0.05


def _from_modes(modes, per_mode, noise_std, seed=0):
    gen = torch.Generator().manual_seed(seed)
    centres = GRID[torch.tensor(modes)].repeat_interleave(per_mode, 0)
    return centres + noise_std * torch.randn(centres.shape, generator=gen, dtype=torch.float64)


def test_collapse_onto_k_of_k_modes():
    modes = [0, 3, 7, 12, 18, 21, 24]
    # Noise far inside 3 std: every point is high quality and the histogram is exactly even.
    out = mode_coverage(_from_modes(modes, 100, 0.1 * STD), GRID, STD)
    assert out["modes_captured"] == 7
    assert out["high_quality_fraction"] == 1.0
    assert out["reverse_kl"] == pytest.approx(math.log(25 / 7), rel=1e-12)


def test_samples_from_the_true_mixture():
    # At the component's own std, P(||x - mu|| < 3 std) in 2-D is 1 - exp(-4.5) = 0.9889.
    out = mode_coverage(_from_modes(list(range(25)), 400, STD), GRID, STD)
    assert out["modes_captured"] == 25
    assert out["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    assert out["reverse_kl"] < 0.01


def test_far_points_are_not_high_quality():
    far = torch.tensor([[100.0, 100.0], [1.0, 1.0], [0.0, 3.0]])  # last two: between modes
    out = mode_coverage(far, GRID, STD)
    assert out["modes_captured"] == 0 and out["high_quality_fraction"] == 0.0
    assert math.isnan(out["reverse_kl"])  # no high-quality point: p is undefined


def test_threshold_is_three_std_from_the_nearest_mode():
    points = torch.tensor([[2.0 + 2.9 * STD, 0.0], [2.0, -3.1 * STD]])
    nearest, hq = assign_to_modes(points, GRID, STD)
    assert nearest.tolist() == [17, 17]  # (2, 0) in itertools.product order
    assert hq.tolist() == [True, False]


def test_kl_to_uniform():
    assert kl_to_uniform(torch.tensor([3, 3, 3])) == pytest.approx(0.0)
    assert kl_to_uniform(torch.tensor([5, 5, 0, 0])) == pytest.approx(math.log(2))
    assert kl_to_uniform(torch.tensor([1, 0, 0, 0, 0])) == pytest.approx(math.log(5))
    assert math.isnan(kl_to_uniform(torch.zeros(4)))


def test_mode_histogram_counts_every_mode():
    assert mode_histogram(torch.tensor([0, 2, 2]), 4).tolist() == [1, 0, 2, 0]
    with pytest.raises(ValueError):
        mode_histogram(torch.tensor([4]), 4)


def test_stacked_mnist():
    digits = torch.tensor([[1, 2, 3], [0, 0, 0], [9, 9, 9]])
    assert stacked_mnist_modes(digits).tolist() == [123, 0, 999]
    every = torch.tensor(list(itertools.product(range(10), repeat=3)))
    assert sorted(stacked_mnist_modes(every).tolist()) == list(range(1000))
    out = label_coverage(stacked_mnist_modes(every), 1000)
    assert out == {"modes_captured": 1000.0, "reverse_kl": pytest.approx(0.0)}
    ten = label_coverage(stacked_mnist_modes(digits[:1].repeat(50, 1)), 1000)
    assert ten["modes_captured"] == 1 and ten["reverse_kl"] == pytest.approx(math.log(1000))
    with pytest.raises(ValueError):
        stacked_mnist_modes(torch.tensor([[1, 2, 10]]))


def test_min_count_is_a_stricter_capture_rule():
    points = torch.cat([_from_modes([0], 5, 0.1 * STD), _from_modes([1], 1, 0.1 * STD)])
    assert mode_coverage(points, GRID, STD)["modes_captured"] == 2
    assert mode_coverage(points, GRID, STD, min_count=2)["modes_captured"] == 1
