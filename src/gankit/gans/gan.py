"""A GAN: a generator and a discriminator, the latent prior, the objective, and the map
between the data's value range and the generator's.

The training loop asks it for noise, fakes and losses; it never calls backward() or step().
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..losses import Loss
from ..registry import Registry

Tensor = torch.Tensor

PRIORS: Registry[Callable[..., Tensor]] = Registry("prior")
PRIORS.add("normal", lambda shape, generator, device: torch.randn(
    shape, generator=generator, device=device))
PRIORS.add("uniform", lambda shape, generator, device: torch.rand(
    shape, generator=generator, device=device) * 2.0 - 1.0)


class GAN(nn.Module):
    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: Loss,
                 latent_dim: int, prior: str = "normal"):
        super().__init__()
        self.G, self.D, self.loss = generator, discriminator, loss
        self.latent_dim = latent_dim
        self.prior_name = prior
        self._prior = PRIORS.get(prior)
        # Data images are in [0, 1]; a tanh generator works in [-1, 1]; points are unscaled.
        low, high = getattr(generator, "output_range", None) or (0.0, 1.0)
        self.scale, self.shift = high - low, low

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self._prior((n, self.latent_dim), generator, self.device)

    def to_model(self, x: Tensor) -> Tensor:
        """Data range -> the range G produces and D reads."""
        return x * self.scale + self.shift if self.scale != 1.0 or self.shift != 0.0 else x

    def to_data(self, x: Tensor) -> Tensor:
        return (x - self.shift) / self.scale if self.scale != 1.0 or self.shift != 0.0 else x

    def d_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """D's objective on a real batch and a (detached) fake batch, in model range."""
        real_logits, fake_logits = self.D(real), self.D(fake)
        loss = self.loss.d(real_logits, fake_logits)
        return loss, {"loss_d": loss.detach(), **self._outputs(real_logits, fake_logits)}

    def g_loss(self, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        loss = self.loss.g(self.D(fake))
        return loss, {"loss_g": loss.detach()}

    def _outputs(self, real_logits: Tensor, fake_logits: Tensor) -> dict[str, Tensor]:
        """Mean D(x) and D(G(z)) (probabilities, or critic scores for non-probabilistic losses)
        and D's accuracy: real scored above the decision threshold, fake below it."""
        real_logits, fake_logits = real_logits.detach(), fake_logits.detach()
        squash = torch.sigmoid if self.loss.probabilistic else (lambda t: t)
        return {
            "d_real": squash(real_logits).mean(),
            "d_fake": squash(fake_logits).mean(),
            "d_acc_real": (real_logits > 0).float().mean(),
            "d_acc_fake": (fake_logits < 0).float().mean(),
        }

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = 0, batch_size: int = 500,
               G: nn.Module | None = None) -> Tensor:
        """n samples in the data's range, drawn with G (or another generator of the same shape,
        such as G's moving average) in eval mode: BatchNorm uses its running statistics, so a
        sample does not depend on what else is in its batch."""
        G = self.G if G is None else G
        gen = torch.Generator(device=self.device)
        if seed is not None:
            gen.manual_seed(seed)
        else:
            gen.seed()
        was_training = G.training
        G.eval()
        try:
            out = [self.to_data(G(self.sample_z(min(batch_size, n - i), gen)))
                   for i in range(0, n, batch_size)]
        finally:
            G.train(was_training)
        return torch.cat(out).cpu()
