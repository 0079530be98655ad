"""Kernel distance between feature sets, in the manner of KID (Bińkowski et al. 2018).

The squared maximum mean discrepancy with the cubic polynomial kernel

    k(x, y) = (x . y / D + 1)^3,

estimated without bias, on ``subsets`` random subsets of ``subset_size`` rows from each set
(drawn without replacement from a seeded generator, so a run is repeatable); the result is
the mean and std (ddof=0) over subsets. Defaults (100 subsets of 1000) follow the KID
reference and stylegan2-ada. Like ``frechet``, this is computed on gankit's own features,
not Inception's, so it is comparable only with itself.

The unbiased estimate can be slightly negative when the two sets share a distribution.
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError

from ._pairwise import ArrayLike, as_rows, same_width
from .registry import need_real, register


def _cubic_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: ArrayLike, y: ArrayLike) -> float:
    """Unbiased MMD^2 between two equal-size sets (m x D each) under the cubic kernel.

    Within-set sums leave out the diagonal (k(x_i, x_i)), which is what removes the bias.
    """
    x, y = as_rows(x, "x"), as_rows(y, "y")
    same_width(x, y, "x and y")
    m = x.shape[0]
    if m < 2 or y.shape[0] != m:
        raise ValueError(f"need two sets of the same size >= 2, got {m} and {y.shape[0]}")
    kxx, kyy = _cubic_kernel(x, x), _cubic_kernel(y, y)
    within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2.0 * _cubic_kernel(x, y).mean())


def kid_from_features(
    f_real: ArrayLike,
    f_fake: ArrayLike,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, std) of unbiased MMD^2 over random subsets; subsets shrink to the smaller set."""
    a, b = as_rows(f_real, "f_real"), as_rows(f_fake, "f_fake")
    same_width(a, b, "f_real and f_fake")
    m = min(subset_size, a.shape[0], b.shape[0])
    if m < 2 or subsets < 1:
        raise ConfigError(
            f"KID needs >= 2 rows per set and >= 1 subset, got {a.shape[0]} real, "
            f"{b.shape[0]} fake, subsets={subsets}; pass more samples"
        )
    gen = torch.Generator().manual_seed(seed)
    values = torch.tensor(
        [
            mmd2_unbiased(
                a[torch.randperm(a.shape[0], generator=gen)[:m]],
                b[torch.randperm(b.shape[0], generator=gen)[:m]],
            )
            for _ in range(subsets)
        ],
        dtype=torch.float64,
    )
    return float(values.mean()), float(values.std(unbiased=False))


@register("kid")
def kid_report(
    fake: ArrayLike,
    real: ArrayLike | None = None,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Registry entry: fake and real are feature sets (N x D) from the same extractor."""
    mean, std = kid_from_features(need_real(real, "kid"), fake, subsets, subset_size, seed)
    return {"kid": mean, "kid_std": std}
