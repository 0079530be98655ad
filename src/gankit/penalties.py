"""Regularisers of the discriminator: penalties added to its loss, and weight clipping.

Penalties are pure functions of D and the batches it just saw; they return a scalar whose
gradient reaches D's weights (``create_graph=True``). The loop adds ``weight * factor * value``
to D's loss, where ``weight`` is ``train.penalty_weight``; it never asks which penalty it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .registry import Registry

Tensor = torch.Tensor


def _input_gradient(D: nn.Module, x: Tensor) -> Tensor:
    """dD(x)/dx per sample, as a B x (numel per sample) matrix, differentiable in D's weights
    (also inside torch.no_grad(), e.g. to log a penalty)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1)


# Gulrajani et al. 2017, Algorithm 1: the critic's gradient norm is pushed to 1 on straight
# lines between real and fake samples, a soft form of the 1-Lipschitz constraint.
def gradient_penalty(D: nn.Module, real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
    """mean over x̂ = eps real + (1 - eps) fake, eps ~ U[0, 1] per sample, of (||grad D(x̂)|| - 1)^2.

    eps is drawn as ``torch.rand((B, 1, ..., 1), generator=generator)`` in real's dtype and device.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, dtype=real.dtype, device=real.device)
    x_hat = eps * real.detach() + (1.0 - eps) * fake.detach()
    norms = _input_gradient(D, x_hat).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


# Mescheder et al. 2018, eq. 9: penalise D's gradient on real data only. The paper's weight is
# gamma / 2; the registry below carries the 1/2 so train.penalty_weight is gamma.
def r1_penalty(D: nn.Module, real: Tensor) -> Tensor:
    """mean over real x of ||grad_x D(x)||^2."""
    return _input_gradient(D, real).pow(2).sum(dim=1).mean()


# Arjovsky et al. 2017, Algorithm 1: after every critic update, clamp its weights to [-c, c]
# (every parameter, as in the authors' code), a crude way to keep the critic K-Lipschitz.
@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    for p in module.parameters():
        p.clamp_(-c, c)


@dataclass(frozen=True)
class Penalty:
    # (D, real, fake, generator) -> scalar; real and fake are the batches of the D step
    compute: Callable[[nn.Module, Tensor, Tensor, torch.Generator | None], Tensor]
    factor: float = 1.0  # the paper's constant in front of its weight


PENALTIES: Registry[Penalty | None] = Registry("penalty")
PENALTIES.add("none", None)
PENALTIES.add("gp", Penalty(gradient_penalty))
PENALTIES.add("r1", Penalty(lambda D, real, fake, generator: r1_penalty(D, real), factor=0.5))
