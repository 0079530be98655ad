"""Pieces every discriminator shares: what it returns when asked for more than logits, and the
minibatch standard deviation layer.

Every D is called as ``D(x)`` (or ``D(x, y)`` when conditional) and returns B logits; with
``features=True`` it returns a ``DOutput`` instead, so the tricks that read D's penultimate
layer (feature matching, InfoGAN's Q head, EBGAN's pulling-away term, the projection
discriminator) get it from the same forward pass, through ``forward`` (which DDP wraps).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class DOutput(NamedTuple):
    logits: torch.Tensor             # B: D's scores (energies for an autoencoder D)
    features: torch.Tensor | None    # B x F: the input of D's last layer (an autoencoder's code)
    q: torch.Tensor | None = None    # B x (codes): InfoGAN's Q head on the features, if D has one


# Karras et al. 2018, section 3: "compute the standard deviation for each feature in each spatial
# location over the minibatch, average these estimates over all features and spatial locations to
# arrive at a single value, replicate it and concatenate it to all spatial locations and over the
# minibatch, yielding one additional (constant) feature map". D can then see a batch's variety,
# which a collapsed generator lacks.
class MinibatchStd(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B x C (x H x W) -> B x (C + 1) (x H x W)
        std = (x.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        return torch.cat([x, std.expand(x.shape[0], 1, *x.shape[2:])], dim=1)
