"""A GAN: a generator and a discriminator, the latent layout, the objective, and the map
between the data's value range and the generator's.

The training loop asks it for noise, fakes and losses; it never calls backward() or step().
What D reads is decided here: items packed m at a time (PacGAN), with their labels when the GAN
is conditional. Extra objective terms (InfoGAN's mutual information, EBGAN's pulling-away term)
read D's features from the same forward pass as its logits, and feature matching replaces G's
objective; all are data given at construction (gans/build.py), not branches of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch
from torch import nn

from ..losses import Loss, feature_matching
from ..nets.layers import DOutput
from .latent import PRIORS, LatentLayout, LatentParts

Tensor = torch.Tensor

__all__ = ["GAN", "PRIORS", "Term", "pack"]


def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN (Lin et al. 2018): B items -> B/m packs, each m consecutive items concatenated
    along dim 1 (an image's channels, a vector's features): B x C x ... -> B/m x mC x ..."""
    if x.shape[0] % m:
        raise ValueError(f"a batch of {x.shape[0]} does not split into packs of {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


@dataclass(frozen=True)
class Term:
    """An extra objective on the fake batch: weight * compute(D's output on it, its latent parts),
    added to the loss of each player named in `players` ("d", "g") and logged as NAME_PLAYER."""

    name: str
    compute: Callable[[DOutput, LatentParts], Tensor]
    weight: float
    players: tuple[str, ...]


class GAN(nn.Module):
    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: Loss,
                 latent_dim: int, prior: str = "normal", *, latent: LatentLayout | None = None,
                 pack: int = 1, feature_matching: bool = False, terms: Iterable[Term] = ()):
        super().__init__()
        self.G, self.D, self.loss = generator, discriminator, loss
        self.latent = latent or LatentLayout(latent_dim, prior)
        self.latent_dim = latent_dim
        self.prior_name = prior
        self.pack, self.feature_matching, self.terms = pack, feature_matching, tuple(terms)
        # Data images are in [0, 1]; a tanh generator works in [-1, 1]; points are unscaled.
        low, high = getattr(generator, "output_range", None) or (0.0, 1.0)
        self.scale, self.shift = high - low, low

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    @property
    def conditional(self) -> bool:
        return self.latent.num_classes > 0

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n latent vectors: noise, plus uniformly drawn labels and codes where the GAN has them."""
        return self.latent.sample(n, generator, self.device)

    def to_model(self, x: Tensor) -> Tensor:
        """Data range -> the range G produces and D reads."""
        return x * self.scale + self.shift if self.scale != 1.0 or self.shift != 0.0 else x

    def to_data(self, x: Tensor) -> Tensor:
        return (x - self.shift) / self.scale if self.scale != 1.0 or self.shift != 0.0 else x

    # --- what D reads ------------------------------------------------------------------------
    def _packed(self, x: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if self.pack == 1:
            return x, labels
        x = pack(x, self.pack)
        return x, None if labels is None else labels.reshape(x.shape[0], self.pack)

    def critic(self, x: Tensor, labels: Tensor | None = None, features: bool = False) -> DOutput:
        """D on x (model range), with x's labels if the GAN is conditional: B/pack logits, and with
        features=True D's features (and Q's outputs) from the same pass, in float32."""
        if self.conditional and labels is None:
            raise ValueError("a conditional D needs the labels of what it judges")
        x, labels = self._packed(x, labels)
        args = (x, labels) if self.conditional else (x,)
        if not features:
            return DOutput(self.D(*args), None)
        return DOutput(*(t if t is None else t.float() for t in self.D(*args, features=True)))

    def penalty_inputs(self, real: Tensor, fake: Tensor, labels: Tensor | None = None):
        """(D as a function of its input alone, real, fake) as D reads them, for the penalties:
        packed, and a conditional D judges both batches (and their blends) with the real labels."""
        real, labels = self._packed(real, labels)
        fake, _ = self._packed(fake, None)
        D = self.D
        return ((lambda x: D(x, labels)) if self.conditional else D), real, fake

    # --- objectives --------------------------------------------------------------------------
    def _parts(self, z: Tensor | None) -> LatentParts:
        return self.latent.split(z) if z is not None else LatentParts(None, None, None, None)

    def _reads_features(self, player: str) -> bool:
        return any(player in term.players for term in self.terms)

    def _add_terms(self, player: str, loss: Tensor, stats: dict, out: DOutput,
                   parts: LatentParts) -> Tensor:
        for term in self.terms:
            if player in term.players:
                value = term.compute(out, parts)
                loss = loss + term.weight * value
                stats[f"{term.name}_{player}"] = value.detach()
        return loss

    def d_loss(self, real: Tensor, fake: Tensor, z: Tensor | None = None,
               labels: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """D's objective on a real batch (with its labels) and a fake batch (detached) made from
        latents z, both in model range."""
        parts = self._parts(z)
        real_out = self.critic(real, labels)
        fake_out = self.critic(fake, parts.labels, features=self._reads_features("d"))
        loss = self.loss.d(real_out.logits, fake_out.logits)
        stats = {"loss_d": loss.detach(), **self._outputs(real_out.logits, fake_out.logits)}
        return self._add_terms("d", loss, stats, fake_out, parts), stats

    def g_loss(self, fake: Tensor, z: Tensor | None = None, real: Tensor | None = None,
               labels: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """G's objective on a fake batch made from latents z; feature matching compares it with
        the real batch (and labels) D saw last."""
        parts = self._parts(z)
        fake_out = self.critic(fake, parts.labels,
                               features=self.feature_matching or self._reads_features("g"))
        if self.feature_matching:
            if real is None:
                raise ValueError("feature matching needs a real batch")
            with torch.no_grad():
                real_features = self.critic(real, labels, features=True).features
            loss = feature_matching(real_features, fake_out.features)
        else:
            loss = self.loss.g(fake_out.logits)
        stats = {"loss_g": loss.detach()}
        return self._add_terms("g", loss, stats, fake_out, parts), stats

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

    # --- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: Tensor, G: nn.Module | None = None, batch_size: int = 500) -> Tensor:
        """G (or another generator of the same shape, such as G's moving average) on latents z,
        in eval mode, in the data's range, on the CPU. Eval mode: BatchNorm uses its running
        statistics, so a sample does not depend on what else is in its batch."""
        G = self.G if G is None else G
        was_training = G.training
        G.eval()
        try:
            out = [self.to_data(G(z[i:i + batch_size].to(self.device)))
                   for i in range(0, z.shape[0], batch_size)]
        finally:
            G.train(was_training)
        return torch.cat(out).cpu()

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = 0, batch_size: int = 500,
               G: nn.Module | None = None, labels: Tensor | int | None = None) -> Tensor:
        """n samples in the data's range; `labels` (one per sample, or one for all) picks the
        classes of a conditional GAN, whose noise is then the same as for any other classes."""
        gen = torch.Generator(device=self.device)
        if seed is not None:
            gen.manual_seed(seed)
        else:
            gen.seed()
        if labels is not None:
            labels = torch.as_tensor(labels).expand(n)
        chunks = []
        for i in range(0, n, batch_size):
            z = self.sample_z(min(batch_size, n - i), gen)
            chunks.append(z if labels is None else self.latent.with_labels(z, labels[i:i + len(z)]))
        return self.generate(torch.cat(chunks), G, batch_size)
