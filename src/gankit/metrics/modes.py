"""Mode coverage of mixtures: the 2-D ring/grid protocol and Stacked MNIST.

2-D mixtures (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018, which adopts
VEEGAN's metrics). Each generated point is assigned to its nearest mode centre; it is *high
quality* if it lies within ``threshold`` = 3 component standard deviations of that centre
(strictly: distance / std < 3). From the high-quality points:

- ``modes_captured``: modes with at least one high-quality point. This is the rule in the
  PacGAN authors' metric code (fjxmlzn/PacGAN, ``pacgan/extensions.py``, MetricLogger: std-
  scaled distance to the nearest mean < 3, a mode counts when its high-quality count is
  nonzero), i.e. the rule behind the published 2-D tables. ``min_count`` lets a caller
  demand more samples per mode; the default is the published rule.
- ``high_quality_fraction``: high-quality points / all points.
- ``reverse_kl``: KL(p || uniform), p = the histogram of high-quality points over modes,
  normalised. Empty bins contribute 0 (0 log 0 = 0), so KL = log K - H(p) and collapse onto
  k of K equally used modes gives log(K / k). With no high-quality point p is undefined and
  the value is NaN, not a made-up number.

Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN): three digits classified per sample make
one of 1000 modes (``stacked_mnist_modes``); modes captured = modes with >= 1 sample, and
reverse KL = KL(mode histogram || uniform over 1000) with the same empty-bin rule.
"""

from __future__ import annotations

import math

import torch

from ._pairwise import ArrayLike, as_rows, same_width, squared_distances
from .registry import register


def assign_to_modes(
    samples: ArrayLike, centers: ArrayLike, std: float, threshold: float = 3.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(nearest mode id (N, int64), high-quality mask (N, bool)) for N x D samples."""
    x, c = as_rows(samples, "samples"), as_rows(centers, "centers")
    same_width(x, c, "samples and centers")
    if std <= 0:
        raise ValueError(f"component std must be positive, got {std}")
    d2, nearest = squared_distances(x, c).min(1)
    # Compare squared: distance / std < threshold  <=>  d2 < (threshold * std)^2.
    return nearest, d2 < (threshold * std) ** 2


def mode_histogram(labels: torch.Tensor, num_modes: int) -> torch.Tensor:
    """Counts per mode id 0..num_modes-1 (int64, length num_modes)."""
    labels = torch.as_tensor(labels).reshape(-1).long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_modes):
        raise ValueError(
            f"mode ids must lie in [0, {num_modes}), got {labels.min()}..{labels.max()}"
        )
    return torch.bincount(labels, minlength=num_modes)


def kl_to_uniform(hist: torch.Tensor) -> float:
    """KL(p || uniform) in nats for p = hist / hist.sum(); empty bins add 0; NaN if all empty."""
    h = torch.as_tensor(hist, dtype=torch.float64).reshape(-1)
    total = h.sum()
    if total <= 0:
        return math.nan
    p = h / total
    # xlogy gives 0 * log 0 = 0.
    return float(torch.xlogy(p, p * h.numel()).sum())


def mode_coverage(
    samples: ArrayLike,
    centers: ArrayLike,
    std: float,
    threshold: float = 3.0,
    min_count: int = 1,
) -> dict[str, float]:
    """The VEEGAN/PacGAN 2-D mixture metrics for N x D samples and K x D centres (module doc)."""
    nearest, high_quality = assign_to_modes(samples, centers, std, threshold)
    hist = mode_histogram(nearest[high_quality], len(torch.as_tensor(centers)))
    return {
        "modes_captured": float((hist >= min_count).sum()),
        "high_quality_fraction": float(high_quality.double().mean()),
        "reverse_kl": kl_to_uniform(hist),
    }


def stacked_mnist_modes(digit_labels: torch.Tensor) -> torch.Tensor:
    """Mode id 0..999 from N x 3 digit labels (channel order: 100 * c0 + 10 * c1 + c2)."""
    d = torch.as_tensor(digit_labels).long()
    if d.ndim != 2 or d.shape[1] != 3:
        raise ValueError(f"digit labels must be N x 3, got shape {tuple(d.shape)}")
    if d.numel() and (d.min() < 0 or d.max() > 9):
        raise ValueError("digit labels must lie in 0..9")
    return d @ torch.tensor([100, 10, 1])


def label_coverage(labels: torch.Tensor, num_modes: int) -> dict[str, float]:
    """Modes with >= 1 sample and KL(histogram || uniform) for discrete mode labels."""
    hist = mode_histogram(labels, num_modes)
    return {"modes_captured": float((hist > 0).sum()), "reverse_kl": kl_to_uniform(hist)}


@register("modes")
def modes_report(
    fake: ArrayLike,
    real: ArrayLike | None = None,
    *,
    centers: ArrayLike,
    std: float,
    threshold: float = 3.0,
) -> dict[str, float]:
    """Registry entry: fake = generated points; the truth is ``centers``/``std``, not ``real``."""
    return mode_coverage(fake, centers, std, threshold)


@register("stacked_mnist_modes")
def stacked_mnist_report(fake: torch.Tensor, real: torch.Tensor | None = None) -> dict[str, float]:
    """Registry entry: fake = N x 3 digit labels that a classifier gave generated samples."""
    return label_coverage(stacked_mnist_modes(fake), 1000)
