"""Improved precision and recall (Kynkäänniemi et al. 2019), with density and coverage.

Each set's manifold is the union of balls around its points, each ball reaching that
point's k-th nearest neighbour in the same set (itself excluded; k = 3 as in the paper).

- precision: fraction of fake points inside the real manifold (are samples realistic?)
- recall: fraction of real points inside the fake manifold (is the data covered?)
- density, coverage (Naeem et al. 2020): from the same distances, fake-in-real-ball counts
  / (k M), and the fraction of real balls holding at least one fake point. They are less
  sensitive than precision/recall to outliers, which inflate the balls they sit in.

Balls are closed (distance <= radius), as in the stylegan2-ada reference; with continuous
features the difference is measure zero. Distances are compared squared, in float64, one
chunk of rows against a whole set at a time: memory is chunk x N x 8 bytes.
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError

from ._pairwise import ArrayLike, as_rows, check_chunk, same_width, squared_distances
from .registry import need_real, register

DEFAULT_CHUNK = 512


def knn_sq_radii(features: ArrayLike, k: int = 3, chunk: int = DEFAULT_CHUNK) -> torch.Tensor:
    """Squared distance from each row to its k-th nearest other row of the same set (N)."""
    check_chunk(chunk)
    f = as_rows(features, "features")
    if not 1 <= k < f.shape[0]:
        raise ConfigError(f"k-NN radii with k={k} need more than {k} samples, got {f.shape[0]}")
    # The (k+1)-th smallest includes the point itself at distance 0, so it is the k-th other.
    return torch.cat(
        [
            squared_distances(f[i : i + chunk], f).kthvalue(k + 1, dim=1).values
            for i in range(0, f.shape[0], chunk)
        ]
    )


def prdc(
    f_real: ArrayLike, f_fake: ArrayLike, k: int = 3, chunk: int = DEFAULT_CHUNK
) -> dict[str, float]:
    """Precision, recall, density and coverage of fake features against real (N x D each)."""
    real, fake = as_rows(f_real, "f_real"), as_rows(f_fake, "f_fake")
    same_width(real, fake, "f_real and f_fake")
    r_real, r_fake = knn_sq_radii(real, k, chunk), knn_sq_radii(fake, k, chunk)

    in_real = torch.zeros(fake.shape[0], dtype=torch.bool)  # precision, per fake point
    real_hits = torch.zeros(fake.shape[0], dtype=torch.float64)  # density, per fake point
    in_fake = torch.zeros(real.shape[0], dtype=torch.bool)  # recall, per real point
    covered = torch.zeros(real.shape[0], dtype=torch.bool)  # coverage, per real ball
    for i in range(0, fake.shape[0], chunk):
        d2 = squared_distances(fake[i : i + chunk], real)  # fake chunk x real
        inside_real_ball = d2 <= r_real
        in_real[i : i + chunk] = inside_real_ball.any(1)
        real_hits[i : i + chunk] = inside_real_ball.sum(1)
        covered |= inside_real_ball.any(0)
        in_fake |= (d2 <= r_fake[i : i + chunk, None]).any(0)
    return {
        "precision": float(in_real.double().mean()),
        "recall": float(in_fake.double().mean()),
        "density": float(real_hits.sum() / (k * fake.shape[0])),
        "coverage": float(covered.double().mean()),
    }


@register("prdc")
def prdc_report(
    fake: ArrayLike, real: ArrayLike | None = None, *, k: int = 3, chunk: int = DEFAULT_CHUNK
) -> dict[str, float]:
    """Registry entry: fake and real are feature sets (N x D) from the same extractor."""
    return prdc(need_real(real, "prdc"), fake, k, chunk)
