"""Optimizers by name. Each builder takes the parameters, a learning rate and the train config."""

from __future__ import annotations

import torch

from ..config import TrainConfig
from ..registry import Registry

OPTIMIZERS: Registry = Registry("optimizer")


def _fused_ok(params: list[torch.nn.Parameter]) -> bool:
    # The fused kernels update every tensor in one pass; they exist for CPU and CUDA floats.
    return all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)


@OPTIMIZERS.register("adam")
def adam(params, lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = list(params)
    return torch.optim.Adam(params, lr=lr, betas=cfg.betas, fused=_fused_ok(params))


@OPTIMIZERS.register("sgd")
def sgd(params, lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    # Goodfellow et al. 2014 trained with SGD and momentum.
    return torch.optim.SGD(list(params), lr=lr, momentum=cfg.momentum)


@OPTIMIZERS.register("rmsprop")
def rmsprop(params, lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    # Arjovsky et al. 2017 chose RMSProp for WGAN: momentum-based steps (Adam) made the clipped
    # critic's training unstable. No momentum here either, as in the authors' code.
    return torch.optim.RMSprop(list(params), lr=lr)


def make_optimizers(G: torch.nn.Module, D: torch.nn.Module, cfg: TrainConfig):
    build = OPTIMIZERS.get(cfg.optimizer)
    return build(G.parameters(), cfg.lr_g, cfg), build(D.parameters(), cfg.lr_d, cfg)
