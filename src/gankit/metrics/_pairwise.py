"""Shared helpers: inputs as float64 rows, and pairwise squared distances in one matmul."""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray


def as_rows(x: ArrayLike, name: str) -> torch.Tensor:
    """``x`` as a float64 N x D tensor; trailing dims (C, H, W) are flattened into D.

    float64 because these metrics subtract large, nearly equal numbers (norms, traces,
    log-densities) and compare distances against radii; float32 loses the answer there.
    On the CPU so that a reported number does not depend on the device that made the
    features (GPU float64 and reduction order differ).
    """
    t = torch.as_tensor(x).detach().to(device="cpu", dtype=torch.float64)
    if t.ndim < 2:
        raise ValueError(f"{name} must be N x D (or N x C x H x W), got shape {tuple(t.shape)}")
    return t.reshape(t.shape[0], -1)


def same_width(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names} differ in dimension: {a.shape[1]} vs {b.shape[1]}")


def squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a_i - b_j||^2`` for every pair, A x B.

    The expansion ``||a||^2 + ||b||^2 - 2 a.b`` turns the work into one matmul (BLAS speed,
    no A x B x D intermediate). It can round to tiny negatives for near-identical rows,
    hence the clamp.
    """
    sq = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1)
    return torch.addmm(sq, a, b.T, alpha=-2.0).clamp_min_(0.0)


def check_chunk(chunk: int) -> None:
    if chunk < 1:
        raise ValueError(f"chunk must be a positive row count, got {chunk}")
