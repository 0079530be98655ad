"""What the health monitor measures: pure functions of tensors (gradient and weight norms, the
spread and class entropy of a batch), the feature spaces diversity is measured in, and the
record of one check that every detector reads."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

Tensor = torch.Tensor
PIXEL_DIMS = 1024          # images with more values per item are randomly projected to this
WATCHED = ("loss_d", "loss_g", "d_real", "d_fake", "d_acc_real", "d_acc_fake",
           "grad_norm_g", "grad_norm_d")


# --- signals: pure functions of tensors ------------------------------------------------------
def norm_of(tensors: list[Tensor]) -> Tensor:
    """The L2 norm of a list of tensors taken as one vector (0 for an empty list)."""
    if not tensors:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(tensors)))


def grad_norm(module: torch.nn.Module) -> Tensor:
    return norm_of([p.grad.detach() for p in module.parameters() if p.grad is not None])


def weight_norm(module: torch.nn.Module) -> Tensor:
    return norm_of([p.detach() for p in module.parameters()])


def spread(features: Tensor) -> float:
    """Mean Euclidean distance between two different rows of N x F (N >= 2)."""
    x = features.flatten(1).double()
    n = len(x)
    return float(torch.cdist(x, x).sum() / (n * (n - 1)))


def entropy(labels: Tensor, num_classes: int) -> float:
    """Entropy in nats of the histogram of integer labels 0..num_classes-1."""
    p = torch.bincount(labels.flatten().long().cpu(), minlength=num_classes).double()
    p = p[p > 0] / p.sum()
    return max(0.0, float(-(p * p.log()).sum()))  # never -0.0


def near_duplicates(features: Tensor, k: int) -> Tensor:
    """Indices of the k rows nearest the medoid (the row closest on average to all others),
    the medoid first: in a collapsed batch, a crowd of near-copies of one sample."""
    x = features.flatten(1).double()
    d = torch.cdist(x, x)
    medoid = int(d.mean(1).argmin())
    return d[medoid].argsort()[:k]


# --- feature spaces ---------------------------------------------------------------------------
@dataclass
class FeatureSpace:
    """Where diversity is measured: embed(items in the data's range) -> (N x F features,
    N class ids or None)."""

    name: str
    embed: Callable[[Tensor], tuple[Tensor, Tensor | None]]
    num_classes: int = 0


def feature_space(data, kind: str, cache_dir: Path | None = None) -> FeatureSpace:
    """The domain classifier's features if the cache holds one, else coordinates or pixels."""
    if kind == "points":
        modes = getattr(data, "modes", None)
        if modes is None:
            return FeatureSpace("2-D coordinates", lambda x: (x.float(), None))
        centers = modes.float()
        return FeatureSpace("2-D coordinates, classes = nearest true mode",
                            lambda x: (x.float(), torch.cdist(x.float(), centers).argmin(1)),
                            len(centers))
    from ...metrics.classifier import cached_classifier

    classifier = cached_classifier(data, cache_dir=cache_dir) if kind == "image" else None
    if classifier is not None:
        def embed(x: Tensor) -> tuple[Tensor, Tensor]:
            features, probs = classifier.embed(x.float())
            return features, probs.argmax(1)
        return FeatureSpace("domain classifier features", embed, data.num_classes)
    dims = math.prod(data.sample_shape)
    if dims <= PIXEL_DIMS:
        return FeatureSpace("pixels", lambda x: (x.flatten(1).float(), None))
    gen = torch.Generator().manual_seed(0)
    projection = torch.randn(dims, PIXEL_DIMS, generator=gen) / math.sqrt(PIXEL_DIMS)
    return FeatureSpace(f"pixels, randomly projected to {PIXEL_DIMS} dimensions",
                        lambda x: (x.flatten(1).float() @ projection, None))


# --- what a check sees -----------------------------------------------------------------------
@dataclass
class Signals:
    step: int
    steps: int                         # generator steps since the previous check
    full: bool                         # a scheduled check (else only the pre-checkpoint look)
    means: dict[str, float]            # WATCHED quantities averaged since the previous check
    not_finite: str = ""               # the first quantity found NaN or Inf, if any
    diversity: float | None = None
    class_entropy: float | None = None
    samples: Tensor | None = None      # the fixed-noise batch, data range (full checks)
    features: Tensor | None = None


def fmt(v: float) -> str:
    return f"{v:.4g}"
