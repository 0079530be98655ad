"""Conditional discriminators: D(x, y) around an unconditional D (its "body").

G needs no class of its own: a conditional G is a plain G whose input is the noise with the
label's one-hot code next to it (``gans/latent.py`` builds that vector).

    concat      Mirza & Osindero 2014: y enters D as an extra input, a one-hot vector next to the
                flattened sample (MLP) or K constant feature maps next to the image's channels
                (convolutional D). The body is built for the wider input.
    projection  Miyato & Koyama 2018: D(x, y) = psi(phi(x)) + <embed(y), phi(x)>, where phi(x)
                is the body's penultimate features and psi its last layer. The label's embedding
                is an inner product with the features, not an input, which the paper shows
                conditions D more strongly.

With PacGAN packing (train.pack = m), D reads m samples at once and y holds their m labels,
B x m: concat appends the m one-hot codes, projection sums the m inner products.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Registry
from .layers import DOutput


def labels_one_hot(y: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """B (or B x m packed) labels -> B x (m * K) one-hot codes, each sample's K in turn."""
    return F.one_hot(y.reshape(y.shape[0], -1), num_classes).flatten(1).to(dtype)


class ConcatDiscriminator(nn.Module):
    def __init__(self, body: nn.Module, num_classes: int, maps: bool):
        super().__init__()
        self.body, self.num_classes, self.maps = body, num_classes, maps
        self.feature_dim = body.feature_dim

    def forward(self, x: torch.Tensor, y: torch.Tensor, features: bool = False):
        code = labels_one_hot(y, self.num_classes, x.dtype)                  # B x mK
        if self.maps:  # B x C x H x W -> B x (C + mK) x H x W
            x = torch.cat([x, code[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        else:          # B x ... -> B x (numel + mK)
            x = torch.cat([x.flatten(1), code], dim=1)
        return self.body(x, features=features)


class ProjectionDiscriminator(nn.Module):
    def __init__(self, body: nn.Module, num_classes: int, maps: bool = False):
        super().__init__()
        self.body, self.num_classes = body, num_classes
        self.feature_dim = body.feature_dim
        self.embed = nn.Embedding(num_classes, body.feature_dim)  # V: one row per class
        nn.init.xavier_uniform_(self.embed.weight)  # as the authors' SNGAN code

    def forward(self, x: torch.Tensor, y: torch.Tensor, features: bool = False):
        out = self.body(x, features=True)                              # psi(phi(x)), phi(x)
        v = self.embed(y.reshape(x.shape[0], -1)).sum(dim=1)            # B x F (sum over a pack)
        logits = out.logits + (v * out.features).sum(dim=1)
        return DOutput(logits, out.features) if features else logits


# conditioning name -> D(x, y) around a body: (body, num_classes, maps) -> module
CONDITIONINGS: Registry[type[nn.Module]] = Registry("conditioning")
CONDITIONINGS.add("concat", ConcatDiscriminator)
CONDITIONINGS.add("projection", ProjectionDiscriminator)
