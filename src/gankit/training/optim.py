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


# Goodfellow et al.'s MNIST run (pylearn2): momentum rose linearly from 0.5 to 0.7 (epochs 1 to
# 250, MomentumAdjustor) while the learning rate was divided by 1.000004 after every update
# (ExponentialDecay, floored at 1e-6).
def momentum_at(cfg: TrainConfig, step: int) -> float:
    """SGD's momentum for generator step `step` (0-based): cfg.momentum until momentum_ramp's
    start, then linearly to momentum_final at its end; constant without a ramp ((0, 0))."""
    start, end = cfg.momentum_ramp
    if end == 0:
        return cfg.momentum
    if step >= end:  # also a ramp of no length (start == end): a jump at `end`
        frac = 1.0
    elif step <= start:
        frac = 0.0
    else:
        frac = (step - start) / (end - start)
    return cfg.momentum + frac * (cfg.momentum_final - cfg.momentum)


def schedule_(opts: list[torch.optim.Optimizer], cfg: TrainConfig, step: int) -> None:
    """Before generator step `step`: set SGD's momentum from the step (stateless), and decay the
    learning rates by one step (kept in each optimizer's state, so a resumed run, and the health
    monitor's lowering of the rates, carry on from where they were)."""
    ramp, decay = cfg.momentum_ramp[1] > 0, step > 0 and cfg.lr_decay != 1.0
    if not (ramp or decay):
        return
    for opt in opts:
        for group in opt.param_groups:
            if ramp and "momentum" in group:
                group["momentum"] = momentum_at(cfg, step)
            if decay:
                group["lr"] = max(group["lr"] / cfg.lr_decay, cfg.min_lr)


def make_optimizers(G: torch.nn.Module, D: torch.nn.Module, cfg: TrainConfig):
    build = OPTIMIZERS.get(cfg.optimizer)
    return build(G.parameters(), cfg.lr_g, cfg), build(D.parameters(), cfg.lr_d, cfg)
