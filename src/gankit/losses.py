"""GAN objectives as pure functions of the discriminator's logits.

Every function takes raw D outputs (logits, never probabilities) and returns a scalar to
minimise. Working on logits keeps them stable: log(sigmoid(l)) = -softplus(-l) never takes the
log of a rounded-to-zero probability.

A ``Loss`` pairs a discriminator objective with a generator objective; the training loop calls
``loss.d(real_logits, fake_logits)`` and ``loss.g(fake_logits)`` without knowing which it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .registry import Registry

Tensor = torch.Tensor


# Goodfellow et al. 2014, eq. 1: D maximises log D(x) + log(1 - D(G(z))).
def d_minimax(real: Tensor, fake: Tensor) -> Tensor:
    """-[log D(x) + log(1 - D(G(z)))] = softplus(-real) + softplus(fake)."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_minimax(fake: Tensor) -> Tensor:
    """log(1 - D(G(z))), the saturating form: its gradient vanishes when D rejects G's samples."""
    return -F.softplus(fake).mean()


def g_nonsaturating(fake: Tensor) -> Tensor:
    """-log D(G(z)), the form the paper recommends in practice (same fixed point, strong early gradient)."""
    return F.softplus(-fake).mean()


# Arjovsky et al. 2017: the critic estimates the Wasserstein-1 distance.
def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    return fake.mean() - real.mean()


def g_wasserstein(fake: Tensor) -> Tensor:
    return -fake.mean()


# Lim & Ye 2017 / Miyato et al. 2018 (SNGAN): hinge on the critic, linear for G.
def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


# Mao et al. 2017 (LSGAN), the a=0, b=c=1 coding.
def d_least_squares(real: Tensor, fake: Tensor) -> Tensor:
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def g_least_squares(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1.0) ** 2).mean()


@dataclass(frozen=True)
class Loss:
    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    # True when sigmoid(logit) is D's probability that its input is real; the loop then logs
    # mean D(x) and D(G(z)) as probabilities, else as raw critic scores.
    probabilistic: bool = True


LOSSES: Registry[Loss] = Registry("loss")
LOSSES.add("minimax", Loss(d_minimax, g_minimax))
LOSSES.add("nonsaturating", Loss(d_minimax, g_nonsaturating))
LOSSES.add("wasserstein", Loss(d_wasserstein, g_wasserstein, probabilistic=False))
LOSSES.add("hinge", Loss(d_hinge, g_wasserstein, probabilistic=False))
LOSSES.add("least-squares", Loss(d_least_squares, g_least_squares, probabilistic=False))
