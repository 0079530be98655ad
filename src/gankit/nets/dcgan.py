"""DCGAN (Radford et al. 2015) at any resolution that halves down to 4..7 pixels.

G: z -> C0 x s0 x s0 (transposed conv) -> ... doubling the size, halving the channels
   -> channels x R x R, tanh. BatchNorm + ReLU on every hidden layer.
D: the mirror: strided convs with LeakyReLU(0.2), BatchNorm on all but the first, and a final
   s0 x s0 convolution to one logit.
Resolution 28 gives 7 -> 14 -> 28; 32 gives 4 -> 8 -> 16 -> 32; 64 gives 4 -> ... -> 64.
`width` is the channel count of the largest hidden feature map (next to the image);
each step towards the latent doubles it.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import DOutput, MinibatchStd


def upsampling_plan(resolution: int) -> tuple[int, int]:
    """(start size, number of x2 steps): halve the resolution while it stays an integer >= 4."""
    start, steps = resolution, 0
    while start % 2 == 0 and start // 2 >= 4:
        start, steps = start // 2, steps + 1
    if steps == 0 or start > 7:
        raise ValueError(
            f"DCGAN resolution {resolution} does not halve down to 4..7 pixels: "
            "use one like 8, 16, 28, 32 or 64"
        )
    return start, steps


def dcgan_init(module: nn.Module) -> None:
    """Weights N(0, 0.02), BatchNorm scale N(1, 0.02), biases 0, as in the paper."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    output_range = (-1.0, 1.0)

    def __init__(self, latent_dim: int = 100, resolution: int = 64, channels: int = 3,
                 width: int = 64):
        super().__init__()
        start, steps = upsampling_plan(resolution)
        c = width * 2 ** (steps - 1)
        layers: list[nn.Module] = [  # latent x 1 x 1 -> c x start x start
            nn.ConvTranspose2d(latent_dim, c, start, 1, 0, bias=False),
            nn.BatchNorm2d(c), nn.ReLU(True),
        ]
        for _ in range(steps - 1):  # c x s x s -> c/2 x 2s x 2s
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # B x latent -> B x C x R x R
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    def __init__(self, resolution: int = 64, channels: int = 3, width: int = 64,
                 minibatch_std: bool = False):
        super().__init__()
        start, steps = upsampling_plan(resolution)
        layers: list[nn.Module] = [  # C x R x R -> width x R/2 x R/2, no BatchNorm on the input
            nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        c = width
        for _ in range(steps - 1):  # c x s x s -> 2c x s/2 x s/2
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        if minibatch_std:
            layers.append(MinibatchStd())  # c x start x start -> c + 1 x start x start
            c += 1
        self.feature_dim = c * start * start
        layers.append(nn.Conv2d(c, 1, start, 1, 0, bias=False))  # c x start x start -> 1 x 1 x 1
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, features: bool = False):  # B x C x R x R -> B logits
        h = self.net[:-1](x)                                        # B x c x start x start
        logits = self.net[-1](h).flatten()
        return DOutput(logits, h.flatten(1)) if features else logits
