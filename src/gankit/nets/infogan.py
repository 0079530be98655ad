"""InfoGAN's recognition network Q (Chen et al. 2016), sharing D's trunk.

Q reads D's penultimate features and predicts the latent codes G was given: logits over the
categorical code's K values, and the means of the continuous codes (a Gaussian with fixed unit
variance, the authors' `fix_std=True`). Sharing the trunk makes Q almost free, as in the paper;
Q's parameters are part of D, so D's optimizer trains them and D's checkpoint holds them.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import DOutput


class QHead(nn.Module):
    """features -> K categorical logits and C continuous means: B x F -> B x (K + C).

    The paper's MNIST Q is FC 128 - BatchNorm - leaky ReLU - FC; this one leaves out the
    BatchNorm, so Q's prediction for an image does not depend on the rest of its batch."""

    def __init__(self, feature_dim: int, categorical: int, continuous: int, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(feature_dim, hidden), nn.LeakyReLU(0.1),
                                 nn.Linear(hidden, categorical + continuous))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class InfoGANDiscriminator(nn.Module):
    """D with a Q head: D(x[, y]) -> logits; with features=True, DOutput(logits, features, q)."""

    def __init__(self, body: nn.Module, q: QHead):
        super().__init__()
        self.body, self.q = body, q
        self.feature_dim = body.feature_dim

    def forward(self, x: torch.Tensor, *labels: torch.Tensor, features: bool = False):
        out = self.body(x, *labels, features=True)
        return DOutput(out.logits, out.features, self.q(out.features)) if features else out.logits
