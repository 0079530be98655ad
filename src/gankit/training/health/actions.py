"""What the health monitor does to a run when a detector acts: roll it back to the newest
checkpoint (or the starting weights) with lower learning rates, stop it, apply the
vanishing-gradient cures, and, every health.eval_every steps, evaluate it and keep the best
checkpoint. Each is a function of the monitor and the trainer; HealthMonitor (monitor.py) has
them as methods, so detectors call m.rollback(...) and m.stop(...)."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from ...errors import TrainingError
from ...losses import LOSSES
from ...registry import Registry
from ..checkpoint import (
    BEST,
    D_FILE,
    G_EMA_FILE,
    G_FILE,
    list_checkpoints,
    load_state,
    load_weights,
    save_checkpoint,
    write_text_atomic,
)
from ..distributed import is_main

if TYPE_CHECKING:
    from .monitor import HealthMonitor

Tensor = torch.Tensor
LOWER_IS_BETTER = {"fid", "kid", "reverse_kl", "stacked_reverse_kl"}


# --- rollback and stop -----------------------------------------------------------------------
def networks(trainer) -> tuple[tuple[str, torch.nn.Module | None], ...]:
    """What a rollback restores besides the trainer's state, by name (G_ema None without EMA)."""
    return (("G", trainer.gan.G), ("D", trainer.gan.D), ("G_ema", trainer.g_ema))


def rollback(m: HealthMonitor, trainer, n: int) -> str:
    """Reload the newest checkpoint (or the starting state), lower both learning rates."""
    lrs = [[g["lr"] for g in opt.param_groups] for opt in (trainer.opt_g, trainer.opt_d)]
    ckpts = list_checkpoints(m.run_dir)
    if ckpts:
        ckpt, source = ckpts[-1], ckpts[-1].name
        load_weights(trainer.gan.G, ckpt / G_FILE)
        load_weights(trainer.gan.D, ckpt / D_FILE)
        if trainer.g_ema is not None:
            load_weights(trainer.g_ema, ckpt / G_EMA_FILE)
        _, state = load_state(ckpt)
    elif m.snapshot is not None:
        source, state = "the starting weights", copy.deepcopy(m.snapshot["state"])
        for name, module in networks(trainer):
            if module is not None:
                module.load_state_dict(m.snapshot[name])
    else:
        raise TrainingError("training diverged before its first checkpoint and there is "
                            "nothing to roll back to: lower --lr")
    trainer.load_state_dict(state)
    for opt, old in zip((trainer.opt_g, trainer.opt_d), lrs):
        for group, lr in zip(opt.param_groups, old):
            group["lr"] = lr * m.h.lr_factor
    m.sums, m.count, m.last_check = {}, 0, trainer.step
    for detector in m.detectors:
        detector.reset()
    lr_g, lr_d = trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]
    return (f"rolled back to step {trainer.step} ({source}) and multiplied both learning "
            f"rates by {m.h.lr_factor} (G {lr_g:.3g}, D {lr_d:.3g}); rollback {n} of "
            f"{m.h.rollbacks}")


def snapshot(trainer) -> dict[str, Any]:
    """A copy of everything a rollback restores, for runs with no checkpoint yet."""
    copies = {name: {k: v.detach().clone() for k, v in module.state_dict().items()}
              for name, module in networks(trainer) if module is not None}
    return {**copies, "state": copy.deepcopy(trainer.state_dict())}


def stop(m: HealthMonitor, trainer, reason: str) -> str:
    trainer.stop_requested, trainer.stop_reason = True, reason
    return "stopped the run (its checkpoint is saved; --resume continues it)"


# --- the vanishing-gradient cures: each changes the monitor's adjustments and says what it did
def apply_adjustments(m: HealthMonitor, trainer) -> None:
    """Put the cures applied so far into effect (again, after a resume)."""
    if m.adjust["loss"]:
        trainer.gan.loss = LOSSES.get(m.adjust["loss"])
    if m.adjust["d_steps"]:
        trainer.cfg = dataclasses.replace(trainer.cfg, d_steps=m.adjust["d_steps"])
    if m.adjust["noise_std"] > trainer.instance_noise.std:
        trainer.instance_noise.std = m.adjust["noise_std"]  # its RNG is the trainer's


def use_nonsaturating(m: HealthMonitor, trainer) -> str | None:
    if m.cfg.train.loss != "minimax" or m.adjust["loss"]:
        return None
    m.adjust["loss"] = "nonsaturating"
    m.apply_adjustments(trainer)
    return "switched G's loss from minimax to nonsaturating (-log D(G(z)))"


def add_instance_noise(m: HealthMonitor, trainer) -> str | None:
    if trainer.instance_noise.std >= m.h.noise_std:
        return None
    m.adjust["noise_std"] = m.h.noise_std
    m.apply_adjustments(trainer)
    return (f"turned on instance noise on everything D reads (std {m.h.noise_std}, annealed to 0 "
            "by the last step)")


def halve_d_steps(m: HealthMonitor, trainer) -> str | None:
    if trainer.cfg.d_steps <= 1:
        return None
    m.adjust["d_steps"] = trainer.cfg.d_steps // 2
    m.apply_adjustments(trainer)
    return f"lowered D's steps per G step to {trainer.cfg.d_steps}"


VANISHING_ACTIONS: Registry[Callable[[HealthMonitor, Any], str | None]] = Registry(
    "vanishing action")
VANISHING_ACTIONS.add("nonsaturating", use_nonsaturating)
VANISHING_ACTIONS.add("noise", add_instance_noise)
VANISHING_ACTIONS.add("d_steps", halve_d_steps)


# --- evaluation and the best checkpoint ------------------------------------------------------
def evaluate(m: HealthMonitor, trainer, stats: dict[str, Tensor]) -> None:
    if not is_main():
        return
    from ...evaluate import evaluate
    from ...run import Run

    run = Run(m.run_dir, m.cfg, m.info, trainer.gan, trainer.step, trainer.g_ema)
    devices = [trainer.device] if trainer.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # training's RNG streams stay untouched
        result = evaluate(run, [m.h.eval_metric], n=m.h.eval_samples or None,
                          seed=m.cfg.train.seed, log=m.say)
    numbers = {k: float(v) for k, v in result.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for key, value in numbers.items():
        stats[f"eval_{key}"] = torch.tensor(value)
    key = m.h.best_by or next(iter(numbers), "")
    if key not in numbers:
        raise TrainingError(f"health.best_by '{key}' is not a result of "
                            f"{m.h.eval_metric}: use one of {', '.join(numbers)}")
    value = numbers[key]
    better = m.best is None or (value < m.best["value"] if key in LOWER_IS_BETTER
                                else value > m.best["value"])
    if math.isfinite(value) and better:
        path = save_checkpoint(m.run_dir, trainer.step, trainer.gan.G, trainer.gan.D,
                               trainer.state_dict(), keep=1, G_ema=trainer.g_ema, folder=BEST)
        m.best = {"key": key, "value": value, "step": trainer.step,
                  "path": str(path.relative_to(m.run_dir))}
        write_text_atomic(path.parent / "best.json", json.dumps(m.best, indent=2) + "\n")
