"""Sample-quality metrics: pure functions over arrays and tensors, no I/O.

Every metric is registered by name in ``METRICS`` with one calling convention,
``METRICS.get(name)(fake, real=None, **options) -> dict[str, float]`` (see ``registry.py``);
the functions below are the same metrics with their natural signatures.

Errors: a malformed input (wrong shape, logits for probabilities) is a ValueError, a bug in
the caller; a request the data cannot meet (too few samples for k or for the splits, an
unknown metric name) is a ConfigError that says what to change.

Feature-based metrics (frechet, kid, prdc, classifier_score) use whatever features or
probabilities they are given. gankit feeds them its own domain classifier, so they are not
the Inception FID/KID/IS and compare only with runs scored by the same classifier.
"""

from .classifier_score import classifier_score
from .frechet import feature_stats, fid_from_features, frechet_distance
from .kid import kid_from_features, mmd2_unbiased
from .matching import matched_accuracy
from .modes import (
    assign_to_modes,
    kl_to_uniform,
    label_coverage,
    mode_coverage,
    mode_histogram,
    stacked_mnist_modes,
)
from .parzen import parzen_evaluate, parzen_log_likelihood, select_sigma
from .prdc import knn_sq_radii, prdc
from .registry import METRICS, register

__all__ = [
    "METRICS",
    "assign_to_modes",
    "classifier_score",
    "feature_stats",
    "fid_from_features",
    "frechet_distance",
    "kid_from_features",
    "kl_to_uniform",
    "knn_sq_radii",
    "label_coverage",
    "matched_accuracy",
    "mmd2_unbiased",
    "mode_coverage",
    "mode_histogram",
    "parzen_evaluate",
    "parzen_log_likelihood",
    "prdc",
    "register",
    "select_sigma",
    "stacked_mnist_modes",
]
