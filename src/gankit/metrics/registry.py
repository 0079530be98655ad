"""Metrics by name: the choices an evaluation command offers.

``METRICS`` is a ``gankit.registry.Registry`` like MODELS and LOSSES: ``METRICS.get(name)``
(a ConfigError listing the choices for an unknown name), ``METRICS.names()``, and the
``register`` decorator. Every registered metric has one calling convention, so a caller
can loop over names:

    METRICS.get(name)(fake, real=None, **options) -> dict[str, float]

``fake`` and ``real`` are whatever that metric reads from generated and reference data
(features, 2-D points, class probabilities, digit labels); see each metric's docstring.
The result is a flat dict of floats with keys unique across metrics, ready to be merged
into one JSON line per evaluation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gankit.errors import ConfigError
from gankit.registry import Registry

MetricFn = Callable[..., dict[str, float]]

METRICS: Registry[MetricFn] = Registry("metric")
register = METRICS.register


def need_real(real: torch.Tensor | None, metric: str) -> torch.Tensor:
    """``real`` for metrics that compare against reference data."""
    if real is None:
        raise ConfigError(f"metric '{metric}' compares against real data; pass real=...")
    return real
