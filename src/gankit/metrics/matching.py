"""Accuracy of an unsupervised clustering against labels, under the best one-to-one matching of
clusters to classes (Hungarian algorithm): how InfoGAN's categorical code is scored as a
classifier of MNIST digits (Chen et al. 2016, section 7.1: 5% error)."""

from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment

from .registry import register


def confusion(pred: torch.Tensor, labels: torch.Tensor, clusters: int, classes: int) -> torch.Tensor:
    """clusters x classes counts of (predicted cluster, true class) pairs."""
    counts = torch.zeros(clusters * classes, dtype=torch.int64)
    counts.index_add_(0, pred.long() * classes + labels.long(), torch.ones_like(pred, dtype=torch.int64))
    return counts.view(clusters, classes)


def matched_accuracy(pred: torch.Tensor, labels: torch.Tensor, clusters: int | None = None,
                     classes: int | None = None) -> dict[str, float]:
    """Fraction of items whose cluster is matched to their class, for the matching of clusters
    to classes (each used at most once) that maximises it."""
    pred, labels = torch.as_tensor(pred).flatten(), torch.as_tensor(labels).flatten()
    if pred.shape != labels.shape or not len(pred):
        raise ValueError(f"need as many predictions as labels, got {len(pred)} and {len(labels)}")
    clusters = clusters or int(pred.max()) + 1
    classes = classes or int(labels.max()) + 1
    counts = confusion(pred, labels, clusters, classes)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    accuracy = counts[rows, cols].sum().item() / len(pred)
    return {"matched_accuracy": accuracy, "matched_error": 1.0 - accuracy}


@register("matched_accuracy")
def _matched_accuracy(fake, real=None, **options) -> dict[str, float]:
    """fake: predicted clusters, real: true labels."""
    from .registry import need_real

    return matched_accuracy(fake, need_real(real, "matched_accuracy"), **options)
