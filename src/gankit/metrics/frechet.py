"""Fréchet distance between Gaussians fitted to two sets of features.

    d^2 = ||mu1 - mu2||^2 + tr(C1) + tr(C2) - 2 tr((C1 C2)^{1/2})

(Dowson & Landau 1982; used as FID by Heusel et al. 2017.) This is NOT the Inception FID:
it is the same formula on whatever features are passed, which in gankit are its own domain
classifier's. Numbers are comparable only between runs that use the same feature extractor,
never with published FIDs.

The trace term: C1 C2 is not symmetric, and a general matrix square root (scipy's sqrtm)
can come back complex or inaccurate when the covariances are singular, as they are whenever
N < D. But C1 C2 is similar to the symmetric PSD matrix C1^{1/2} C2 C1^{1/2}, so
tr((C1 C2)^{1/2}) is the sum of the square roots of that matrix's eigenvalues: two
symmetric eigendecompositions in float64, with rounding-level negative eigenvalues clamped
to zero.
"""

from __future__ import annotations

import torch

from ._pairwise import ArrayLike, as_rows, same_width
from .registry import need_real, register


def feature_stats(features: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D) and covariance (D x D, unbiased: N - 1 like numpy.cov) in float64."""
    f = as_rows(features, "features")
    if f.shape[0] < 2:
        raise ValueError(f"a covariance needs at least 2 feature rows, got {f.shape[0]}")
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def _sqrt_psd(c: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric PSD matrix through its eigendecomposition."""
    w, v = torch.linalg.eigh(c)
    return (v * w.clamp_min(0.0).sqrt()) @ v.T


def frechet_distance(mu1: ArrayLike, cov1: ArrayLike, mu2: ArrayLike, cov2: ArrayLike) -> float:
    """Fréchet distance (the squared 2-Wasserstein distance) between N(mu1, cov1), N(mu2, cov2)."""
    mu1, mu2 = (torch.as_tensor(m, dtype=torch.float64).reshape(-1) for m in (mu1, mu2))
    cov1, cov2 = (torch.as_tensor(c, dtype=torch.float64) for c in (cov1, cov2))
    d = mu1.numel()
    for name, t in (("mu2", mu2), ("cov1", cov1), ("cov2", cov2)):
        want = (d,) if name == "mu2" else (d, d)
        if tuple(t.shape) != want:
            raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {want}")
    # Symmetrise first: covariances estimated in float32 elsewhere are symmetric only
    # to rounding, and eigh reads one triangle.
    cov1, cov2 = (cov1 + cov1.T) / 2, (cov2 + cov2.T) / 2
    root1 = _sqrt_psd(cov1)
    middle = root1 @ cov2 @ root1
    eig = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0.0)
    dist = (mu1 - mu2).pow(2).sum() + cov1.trace() + cov2.trace() - 2.0 * eig.sqrt().sum()
    # The true value is >= 0; what is below is cancellation error, not information.
    return max(float(dist), 0.0)


def fid_from_features(f_real: ArrayLike, f_fake: ArrayLike) -> float:
    """Fréchet distance between Gaussians fitted to two N x D feature sets (see module doc)."""
    a, b = as_rows(f_real, "f_real"), as_rows(f_fake, "f_fake")
    same_width(a, b, "f_real and f_fake")
    return frechet_distance(*feature_stats(a), *feature_stats(b))


@register("fid")
def frechet_report(fake: ArrayLike, real: ArrayLike | None = None) -> dict[str, float]:
    """Registry entry: fake and real are feature sets (N x D) from the same extractor."""
    return {"fid": fid_from_features(need_real(real, "fid"), fake)}
