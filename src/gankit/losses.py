"""GAN objectives as pure functions of the discriminator's logits.

Every function takes raw D outputs (logits, never probabilities) and returns a scalar to
minimise. Working on logits keeps them stable: log(sigmoid(l)) = -softplus(-l) never takes the
log of a rounded-to-zero probability.

A ``Loss`` pairs a discriminator objective with a generator objective; the training loop calls
``loss.d(real_logits, fake_logits)`` and ``loss.g(fake_logits)`` without knowing which it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F

from .errors import ConfigError
from .registry import Registry

if TYPE_CHECKING:
    from .config import TrainConfig

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


# Salimans et al. 2016, section 3.4: one-sided label smoothing. D's real examples get the target
# real_target (e.g. 0.9) instead of 1; fakes keep 0, since smoothing them too would let G's
# samples stay where D already rewards them.
def d_minimax_target(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    """Binary cross-entropy of D(x) against real_target, of D(G(z)) against 0."""
    return (real_target * F.softplus(-real).mean() + (1.0 - real_target) * F.softplus(real).mean()
            + F.softplus(fake).mean())


def d_least_squares_target(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    return 0.5 * ((real - real_target) ** 2).mean() + 0.5 * (fake**2).mean()


# Zhao et al. 2016 (EBGAN), eq. 1-2: D's outputs are energies (an autoencoder's reconstruction
# error); D lowers the energy of data and raises that of fakes until it reaches the margin m.
def d_energy(real: Tensor, fake: Tensor, margin: float) -> Tensor:
    """E(x) + max(0, m - E(G(z))), averaged over the batch."""
    return real.mean() + F.relu(margin - fake).mean()


def g_energy(fake: Tensor) -> Tensor:
    return fake.mean()


# Zhao et al. 2016, eq. 6: the pulling-away term, a repeller on the encoder's codes of a batch.
def pulling_away(codes: Tensor) -> Tensor:
    """Mean squared cosine similarity over the N(N-1) ordered pairs of distinct samples: 0 for
    mutually orthogonal codes, 1 for identical (parallel) ones."""
    n = codes.shape[0]
    if n < 2:
        return codes.new_zeros(())
    unit = F.normalize(codes.flatten(1), dim=1)
    cos2 = (unit @ unit.T) ** 2
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


# Salimans et al. 2016, section 3.1: G matches the mean of D's intermediate features on real data
# instead of maximising D's output.
def feature_matching(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """||E f(x) - E f(G(z))||^2 over batch means of B x F features."""
    return (real_features.mean(dim=0) - fake_features.mean(dim=0)).pow(2).sum()


@dataclass(frozen=True)
class Loss:
    d: Callable[..., Tensor]
    g: Callable[[Tensor], Tensor]
    # True when sigmoid(logit) is D's probability that its input is real; the loop then logs
    # mean D(x) and D(G(z)) as probabilities, else as raw critic scores.
    probabilistic: bool = True
    # D's objective with the real examples' target as an argument (label smoothing); None where
    # the objective has no target to smooth.
    d_target: Callable[[Tensor, Tensor, float], Tensor] | None = None
    # train.* settings that `d` takes as keyword arguments (EBGAN's margin)
    d_settings: tuple[str, ...] = ()
    # D is an autoencoder whose outputs are energies, not logits (EBGAN)
    autoencoder: bool = False


LOSSES: Registry[Loss] = Registry("loss")
LOSSES.add("minimax", Loss(d_minimax, g_minimax, d_target=d_minimax_target))
LOSSES.add("nonsaturating", Loss(d_minimax, g_nonsaturating, d_target=d_minimax_target))
LOSSES.add("wasserstein", Loss(d_wasserstein, g_wasserstein, probabilistic=False))
LOSSES.add("hinge", Loss(d_hinge, g_wasserstein, probabilistic=False))
LOSSES.add("least-squares", Loss(d_least_squares, g_least_squares, probabilistic=False,
                                 d_target=d_least_squares_target))
LOSSES.add("energy", Loss(d_energy, g_energy, probabilistic=False, d_settings=("margin",),
                          autoencoder=True))


def build_loss(cfg: TrainConfig) -> Loss:
    """train.loss with its settings bound: the margin, the smoothed real target."""
    loss = LOSSES.get(cfg.loss)
    if cfg.label_smoothing > 0:
        if loss.d_target is None:
            targeted = ", ".join(n for n in LOSSES.names() if LOSSES.get(n).d_target is not None)
            raise ConfigError(f"train.label_smoothing needs an objective with targets ({targeted}); "
                              f"{cfg.loss} has none: set it to 0")
        loss = replace(loss, d=partial(loss.d_target, real_target=1.0 - cfg.label_smoothing))
    if loss.d_settings:
        loss = replace(loss, d=partial(loss.d, **{k: getattr(cfg, k) for k in loss.d_settings}))
    return loss
