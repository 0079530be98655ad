"""2-D Gaussian mixtures with known mode centers, the classic mode-collapse probes.

Each dataset keeps its true centers (``modes``) and component std (``mode_std``) so metrics can
count covered modes and high-quality samples without guessing.
"""

from __future__ import annotations

import math

import torch

from gankit.data.base import TensorDataset

DEFAULT_SAMPLES = 50_000


def ring8_centers(radius: float = 1.0) -> torch.Tensor:
    """8 x 2 centers equally spaced on a circle."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid25_centers() -> torch.Tensor:
    """25 x 2 centers (-4 + 2i, -4 + 2j) for i, j in 0..4."""
    axis = torch.arange(5, dtype=torch.float32) * 2 - 4
    gi, gj = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gi.reshape(-1), gj.reshape(-1)], dim=1)


def gaussian_mixture(
    centers: torch.Tensor, std: float, n: int, seed: int, name: str
) -> TensorDataset:
    """n samples from an equal-weight mixture of isotropic Gaussians, reproducible by seed."""
    gen = torch.Generator().manual_seed(seed)
    component = torch.randint(len(centers), (n,), generator=gen)
    noise = torch.randn(n, centers.shape[1], generator=gen) * std
    x = centers[component] + noise
    return TensorDataset(
        x=x, y=None, name=name, kind="points", modes=centers.clone(), mode_std=std,
        info={"source": "synthetic", "seed": seed, "n": n},
    )


def ring8(n: int = DEFAULT_SAMPLES, seed: int = 0) -> TensorDataset:
    """8 Gaussians (std 0.01) on the unit circle."""
    return gaussian_mixture(ring8_centers(), 0.01, n, seed, "ring8")


def grid25(n: int = DEFAULT_SAMPLES, seed: int = 0) -> TensorDataset:
    """25 Gaussians (std 0.05) on a 5 x 5 grid with spacing 2."""
    return gaussian_mixture(grid25_centers(), 0.05, n, seed, "grid25")
