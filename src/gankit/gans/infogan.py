"""InfoGAN's mutual-information term (Chen et al. 2016, eq. 5-6).

L_I = E[-log Q(c | G(z, c))], the variational lower bound on I(c; G(z, c)) up to the constant
entropy H(c). Both players minimise lambda * L_I besides their GAN objectives: G so that its
samples carry their codes, D's Q head so that it reads them. Q's categorical output is a
softmax over c1's values (cross-entropy); its continuous outputs are the means of unit-variance
Gaussians (the authors' fix_std=True), whose negative log-likelihood is half the squared error
plus a constant that is dropped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .latent import LatentParts


def info_loss(q: torch.Tensor, parts: LatentParts, categorical: int) -> torch.Tensor:
    """q: B x (categorical + continuous) outputs of Q; parts: the codes G was given."""
    loss = q.new_zeros(())
    if parts.categorical is not None:
        loss = loss + F.cross_entropy(q[:, :categorical], parts.categorical)
    if parts.continuous is not None:
        loss = loss + 0.5 * (q[:, categorical:] - parts.continuous).pow(2).sum(dim=1).mean()
    return loss
