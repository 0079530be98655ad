"""Gaussian Parzen-window log-likelihood of held-out data under generated samples.

The protocol of Breuleux et al. 2011 ("Quickly generating representative samples from an
RBM-derived process") as used for the GAN tables of Goodfellow et al. 2014: place an
isotropic Gaussian of width sigma on each of N generated samples s_i and score a point x by

    log p(x) = logsumexp_i(-||x - s_i||^2 / (2 sigma^2)) - log N - D/2 log(2 pi sigma^2).

sigma is chosen by grid search on a validation set (``numpy.logspace(-1, 0, 10)`` for
MNIST in [0, 1]), then the test set's mean log-likelihood and its standard error
(std / sqrt(M), numpy's ddof=0 as in the reference code) are reported.

Theis et al. 2016 show this estimate is poor in high dimensions; it is here to compare
with the 2014 tables, not as a measure of sample quality.

Cost is one N x M x D matmul; memory stays at a few chunk x chunk float64 blocks because
the sum over samples is a running logsumexp over sample chunks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ._pairwise import ArrayLike, as_rows, check_chunk, same_width, squared_distances
from .registry import need_real, register

DEFAULT_SIGMAS: tuple[float, ...] = tuple(float(s) for s in np.logspace(-1, 0, 10))
DEFAULT_CHUNK = 2048  # a 2048 x 2048 float64 block is 32 MiB


def _log_likelihoods(
    samples: ArrayLike, x: ArrayLike, sigmas: Sequence[float], chunk: int
) -> torch.Tensor:
    """S x M log-likelihoods of x for each sigma; one distance block serves every sigma."""
    check_chunk(chunk)
    samples, x = as_rows(samples, "samples"), as_rows(x, "x")
    same_width(samples, x, "samples and x")
    sig = torch.as_tensor(np.asarray(sigmas, dtype=np.float64)).reshape(-1)
    if sig.numel() == 0 or not bool((sig > 0).all()):
        raise ValueError(f"sigmas must be positive, got {sigmas}")
    n, d = samples.shape
    if n == 0 or x.shape[0] == 0:
        raise ValueError(f"need samples and points to score, got {n} and {x.shape[0]}")
    neg_inv_two_var = (-1.0 / (2.0 * sig**2)).tolist()

    out = torch.empty(len(sig), x.shape[0], dtype=torch.float64)
    for i in range(0, x.shape[0], chunk):
        xc = x[i : i + chunk]
        acc = torch.full((len(sig), xc.shape[0]), -math.inf, dtype=torch.float64)
        for j in range(0, n, chunk):
            d2 = squared_distances(xc, samples[j : j + chunk])
            # The logsumexp shift, shared by every sigma: the nearest sample's term becomes
            # exp(0), so nothing overflows and one subtraction serves the whole grid.
            nearest = d2.min(1, keepdim=True).values
            d2 -= nearest
            terms = torch.empty_like(d2)
            for s, c in enumerate(neg_inv_two_var):
                block = torch.mul(d2, c, out=terms).exp_().sum(1).log_() + c * nearest[:, 0]
                # Running logsumexp over sample chunks: memory independent of N.
                acc[s] = torch.logaddexp(acc[s], block)
        out[:, i : i + chunk] = acc
    log_norm = math.log(n) + 0.5 * d * torch.log(2.0 * math.pi * sig**2)
    return out - log_norm[:, None]


def parzen_log_likelihood(
    samples: ArrayLike, x: ArrayLike, sigma: float, chunk: int = DEFAULT_CHUNK
) -> torch.Tensor:
    """Per-point log p(x) (float64, shape M) under a Gaussian Parzen window on ``samples``.

    samples: N x D generated points (kernel centres); x: M x D points to score. Inputs with
    more dims (N x C x H x W) are flattened. ``chunk`` bounds both block sizes.
    """
    return _log_likelihoods(samples, x, [sigma], chunk)[0]


def select_sigma(
    samples: ArrayLike,
    valid: ArrayLike,
    sigmas: Sequence[float] = DEFAULT_SIGMAS,
    chunk: int = DEFAULT_CHUNK,
) -> tuple[float, dict[float, float]]:
    """The sigma with the highest mean validation log-likelihood, and {sigma: mean LL}.

    Ties go to the first sigma in ``sigmas``.
    """
    sigmas = [float(s) for s in sigmas]
    means = _log_likelihoods(samples, valid, sigmas, chunk).mean(1)
    table = {s: float(m) for s, m in zip(sigmas, means, strict=True)}
    return sigmas[int(torch.argmax(means))], table


def parzen_evaluate(
    samples: ArrayLike,
    valid: ArrayLike,
    test: ArrayLike,
    sigmas: Sequence[float] = DEFAULT_SIGMAS,
    chunk: int = DEFAULT_CHUNK,
) -> dict[str, float]:
    """The full protocol: pick sigma on ``valid``, report test mean LL and standard error.

    Returns ``{"parzen_ll": mean, "parzen_se": std / sqrt(M), "sigma": chosen sigma}``.
    """
    sigma, _ = select_sigma(samples, valid, sigmas, chunk)
    ll = parzen_log_likelihood(samples, test, sigma, chunk)
    se = ll.std(unbiased=False) / math.sqrt(ll.numel())
    return {"parzen_ll": float(ll.mean()), "parzen_se": float(se), "sigma": sigma}


@register("parzen")
def parzen_report(
    fake: ArrayLike,
    real: ArrayLike | None = None,
    *,
    valid: ArrayLike,
    sigmas: Sequence[float] = DEFAULT_SIGMAS,
    chunk: int = DEFAULT_CHUNK,
) -> dict[str, float]:
    """Registry entry: fake = generated samples, real = test set, valid = validation set."""
    return parzen_evaluate(fake, valid, need_real(real, "parzen"), sigmas, chunk)
