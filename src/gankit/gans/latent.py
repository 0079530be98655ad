"""G's input: one vector per sample, the noise with any label and InfoGAN codes beside it.

    [ noise z | one-hot label y (num_classes) | one-hot code c1 (categorical) | c2... (continuous) ]

A conditional G is thus a plain G with a wider input (Mirza & Osindero 2014 feed y to G as an
extra input), and so is InfoGAN's (Chen et al. 2016 concatenate z and c). Keeping it one tensor
means everything that moves latents around (the fixed grid of SampleGrid, sharding a batch over
ranks, checkpointed noise streams) works unchanged; `split` recovers the parts D and Q need.

Codes are named as in the InfoGAN paper: c1 is the categorical code when there is one, then the
continuous codes c2, c3, ... (c1, c2, ... without a categorical code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..registry import Registry

Tensor = torch.Tensor

PRIORS: Registry[Callable[..., Tensor]] = Registry("prior")
PRIORS.add("normal", lambda shape, generator, device: torch.randn(
    shape, generator=generator, device=device))
PRIORS.add("uniform", lambda shape, generator, device: torch.rand(
    shape, generator=generator, device=device) * 2.0 - 1.0)
# U(-sqrt 3, sqrt 3): unit variance, the noise of Goodfellow et al.'s own code (adversarial/).
PRIORS.add("uniform-sqrt3", lambda shape, generator, device: (torch.rand(
    shape, generator=generator, device=device) * 2.0 - 1.0) * 3.0 ** 0.5)


class LatentParts(NamedTuple):
    noise: Tensor
    labels: Tensor | None        # B int64 (conditional)
    categorical: Tensor | None   # B int64: c1's value (InfoGAN)
    continuous: Tensor | None    # B x C (InfoGAN)


@dataclass(frozen=True)
class LatentLayout:
    noise_dim: int
    prior: str = "normal"
    num_classes: int = 0   # labels (conditional GAN); 0 = unconditional
    categorical: int = 0   # values of InfoGAN's categorical code; 0 = none
    continuous: int = 0    # InfoGAN's continuous codes, ~ U(-1, 1) as in the paper

    def __post_init__(self):
        PRIORS.get(self.prior)  # an unknown prior fails here, listing the choices

    @property
    def dim(self) -> int:
        return self.noise_dim + self.num_classes + self.categorical + self.continuous

    @property
    def code_names(self) -> list[str]:
        return [f"c{i + 1}" for i in range(int(self.categorical > 0) + self.continuous)]

    def code_index(self, name: str) -> int:
        if name not in self.code_names:
            have = ", ".join(self.code_names) or "none (not an InfoGAN run)"
            raise ConfigError(f"unknown latent code '{name}': this run's codes are {have}")
        return self.code_names.index(name)

    def sample(self, n: int, generator: torch.Generator | None, device) -> Tensor:
        """n latent vectors; the noise is drawn first, so an unconditional layout without codes
        draws exactly what the prior alone would."""
        parts = [PRIORS.get(self.prior)((n, self.noise_dim), generator, device)]
        for k in (self.num_classes, self.categorical):
            if k:
                parts.append(F.one_hot(torch.randint(k, (n,), generator=generator, device=device),
                                       k).to(parts[0].dtype))
        if self.continuous:
            parts.append(torch.rand((n, self.continuous), generator=generator, device=device) * 2 - 1)
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

    def _slices(self) -> tuple[slice, slice, slice]:
        a = self.noise_dim
        b = a + self.num_classes
        c = b + self.categorical
        return slice(a, b), slice(b, c), slice(c, c + self.continuous)

    def split(self, z: Tensor) -> LatentParts:
        labels, cat, cont = self._slices()
        return LatentParts(
            noise=z[:, :self.noise_dim],
            labels=z[:, labels].argmax(1) if self.num_classes else None,
            categorical=z[:, cat].argmax(1) if self.categorical else None,
            continuous=z[:, cont] if self.continuous else None)

    def with_labels(self, z: Tensor, labels: Tensor | int) -> Tensor:
        """z with its label part set to `labels` (one per row, or one for all)."""
        if not self.num_classes:
            raise ConfigError("this run is not conditional: it was trained without labels "
                              "(model.conditional)")
        return self._set_one_hot(z, self._slices()[0], labels, self.num_classes, "class")

    def with_code(self, z: Tensor, name: str, values: Tensor | float) -> Tensor:
        """z with InfoGAN code `name` (c1, c2, ...) set: the categorical code's value index, or a
        continuous code's value."""
        index = self.code_index(name)
        if self.categorical and index == 0:
            return self._set_one_hot(z, self._slices()[1], values, self.categorical, "code c1")
        column = self._slices()[2].start + index - int(self.categorical > 0)
        z = z.clone()
        z[:, column] = torch.as_tensor(values, dtype=z.dtype, device=z.device)
        return z

    @staticmethod
    def _set_one_hot(z: Tensor, where: slice, values, k: int, what: str) -> Tensor:
        values = torch.as_tensor(values, device=z.device).long().expand(z.shape[0])
        if values.numel() and not 0 <= int(values.min()) <= int(values.max()) < k:
            raise ConfigError(f"{what} must be in 0..{k - 1}, got {values.unique().tolist()}")
        z = z.clone()
        z[:, where] = F.one_hot(values, k).to(z.dtype)
        return z
