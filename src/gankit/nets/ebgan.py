"""EBGAN's discriminator (Zhao et al. 2016): an autoencoder whose reconstruction error is the
energy it assigns to its input, low near the data and high elsewhere.

D(x) = mean over x's elements of (Dec(Enc(x)) - x)^2, one energy per sample, returned where other
discriminators return logits; with features=True the encoder's output (the code the
pulling-away term reads) comes with it. Outputs are linear: the energy of what D rejects may
grow, the margin in the loss bounds how far D pushes it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .dcgan import dcgan_init, upsampling_plan
from .layers import DOutput, MinibatchStd


def _energy(x: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    return (reconstruction - x).pow(2).flatten(1).mean(dim=1)


class MLPAutoencoder(nn.Module):
    """in -> hidden[0] -> ... -> hidden[-1] (the code, linear) -> ... -> in, ReLU between."""

    def __init__(self, in_shape: tuple[int, ...], hidden=(240, 240), minibatch_std: bool = False):
        super().__init__()
        widths = [math.prod(in_shape), *hidden]
        encoder: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:]):
            encoder += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*encoder[:-1])  # no ReLU on the code
        decoder: list[nn.Module] = [MinibatchStd()] if minibatch_std else []
        widths[-1] += int(minibatch_std)
        for a, b in zip(widths[::-1][:-1], widths[::-1][1:]):
            decoder += [nn.ReLU(), nn.Linear(a, b)]
        self.decoder = nn.Sequential(*decoder)
        self.feature_dim = hidden[-1]

    def forward(self, x: torch.Tensor, features: bool = False):  # B x *in_shape -> B energies
        code = self.encoder(x)                                     # B x hidden[-1]
        energy = _energy(x.flatten(1), self.decoder(code))
        return DOutput(energy, code) if features else energy


class ConvAutoencoder(nn.Module):
    """DCGAN's D trunk as the encoder (C x R x R -> c x s x s) and its mirror as the decoder."""

    def __init__(self, resolution: int = 64, channels: int = 3, width: int = 64,
                 minibatch_std: bool = False):
        super().__init__()
        start, steps = upsampling_plan(resolution)
        encoder: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=False),
                                    nn.LeakyReLU(0.2, True)]
        c = width
        for _ in range(steps - 1):  # c x s x s -> 2c x s/2 x s/2
            encoder += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2),
                        nn.LeakyReLU(0.2, True)]
            c *= 2
        self.encoder = nn.Sequential(*encoder)
        self.feature_dim = c * start * start
        decoder: list[nn.Module] = [MinibatchStd()] if minibatch_std else []
        c_in = c + int(minibatch_std)
        for _ in range(steps - 1):  # c x s x s -> c/2 x 2s x 2s
            decoder += [nn.ConvTranspose2d(c_in, c // 2, 4, 2, 1, bias=False),
                        nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c_in = c = c // 2
        decoder.append(nn.ConvTranspose2d(c_in, channels, 4, 2, 1))  # -> channels x R x R
        self.decoder = nn.Sequential(*decoder)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, features: bool = False):  # B x C x R x R -> B energies
        code = self.encoder(x)                                     # B x c x start x start
        energy = _energy(x, self.decoder(code))
        return DOutput(energy, code.flatten(1)) if features else energy
