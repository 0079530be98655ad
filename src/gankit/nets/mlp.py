"""The fully connected GAN of Goodfellow et al. 2014.

MNIST setting: G is noise 100 -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid; D is two maxout layers of
240 units x 5 pieces and a sigmoid output (here a logit: the losses apply the sigmoid). Sizes are
arguments, so the same classes serve 2-D toy mixtures (with a linear output).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .layers import DOutput, MinibatchStd

# Output activation -> the range it produces (None: unbounded, for points).
OUTPUTS: dict[str, tuple[type[nn.Module], tuple[float, float] | None]] = {
    "sigmoid": (nn.Sigmoid, (0.0, 1.0)),
    "tanh": (nn.Tanh, (-1.0, 1.0)),
    "linear": (nn.Identity, None),
}
# Output activation -> its inverse, for a bias that makes G's output a chosen value.
INVERSES = {"sigmoid": torch.logit, "tanh": torch.atanh, "linear": lambda t: t}


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, out_shape: tuple[int, ...], hidden=(1200, 1200),
                 output: str = "sigmoid"):
        super().__init__()
        self.out_shape = tuple(out_shape)
        activation, self.output_range = OUTPUTS[output]
        self.output = output
        layers: list[nn.Module] = []
        width = latent_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers += [nn.Linear(width, math.prod(out_shape)), activation()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # B x latent -> B x *out_shape
        return self.net(z).view(z.shape[0], *self.out_shape)

    @torch.no_grad()
    def start_at_(self, mean: torch.Tensor) -> None:
        """Set the output layer's bias so that a zero pre-activation gives `mean` (an item of
        out_shape): Goodfellow et al.'s code started G at MNIST's mean digit this way
        (pylearn2's init_sigmoid_bias_from_marginals, which clips the mean to [1e-7, 1 - 1e-7])."""
        low, high = self.output_range or (-math.inf, math.inf)
        eps = 1e-7 * (high - low) if self.output_range else 0.0
        mean = mean.reshape(-1).double().clamp(low + eps, high - eps)
        self.net[-2].bias.copy_(INVERSES[self.output](mean))


class Maxout(nn.Module):
    """max over `pieces` affine maps (Goodfellow et al. 2013)."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B x in -> B x units
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(dim=2)


class MLPDiscriminator(nn.Module):
    def __init__(self, in_shape: tuple[int, ...], hidden=(240, 240), pieces: int = 5,
                 input_dropout: float = 0.0, minibatch_std: bool = False, hidden_dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten(), nn.Dropout(input_dropout)]
        width = math.prod(in_shape)
        for h in hidden:
            layers.append(Maxout(width, h, pieces))
            if hidden_dropout:  # what each later layer reads (pylearn2's default_input_include_prob)
                layers.append(nn.Dropout(hidden_dropout))
            width = h
        if minibatch_std:
            layers.append(MinibatchStd())
            width += 1
        self.feature_dim = width
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, features: bool = False):  # B x *in_shape -> B logits
        h = self.net[:-1](x)                                        # B x feature_dim
        logits = self.net[-1](h).squeeze(1)
        return DOutput(logits, h) if features else logits
