"""An exponential moving average of the generator's weights (Karras et al. 2018, Yazıcı et al. 2019).

Averaged weights give smoother, usually better samples than the last iterate of a game that
oscillates. The average is a separate copy of G that is never trained: after each G step its
parameters move towards G's by (1 - decay), and its buffers (BatchNorm running statistics) are
copied, since an average of running statistics describes no network's activations.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(G: nn.Module) -> nn.Module:
    """A frozen copy of G, in eval mode, that starts at G's current weights."""
    ema = copy.deepcopy(G).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema_(ema: nn.Module, G: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * G for parameters; buffers copied from G."""
    for e, p in zip(ema.parameters(), G.parameters(), strict=True):
        e.lerp_(p, 1.0 - decay)
    for e, b in zip(ema.buffers(), G.buffers(), strict=True):
        e.copy_(b)
