"""Training health: cheap signals, detectors that warn or act, and a report at the end.

The monitor is a run's first callback, so every logger after it (log.jsonl, TensorBoard, your
own callbacks) sees the signals it adds to each step's stats:
  grad_norm_g, grad_norm_d  every step: the L2 norm of G's / D's latest gradients. The loop
                            leaves them in .grad until its next zero_grad, so this costs one
                            fused norm per network and no extra backward pass.
  diversity                 at each check: the mean pairwise distance of a fixed batch of
                            samples in a feature space, over the same for as many real items
                            (1 = as spread out as the data). The space is the domain
                            classifier's features when the cache already holds one (it is never
                            trained here), the coordinates of 2-D points, else pixels (randomly
                            projected to PIXEL_DIMS dimensions above that).
  class_entropy             at each check, where classes can be told (the cached classifier, or
                            the nearest true mode of ring8 / grid25): the entropy of the
                            samples' class histogram over the data's.
  eval_<key>                every health.eval_every steps: health.eval_metric, as gankit evaluate
                            computes it; the best model by it is kept in checkpoints/best/.

Detectors, each health.<name> = off | warn | act, judged every health.every steps:
  divergence   NaN or Inf in a loss, weight or gradient, or a loss spike. act: reload the
               newest checkpoint (or the starting weights), multiply both learning rates by
               lr_factor and go on; after `rollbacks` of them, stop with a one-line
               TrainingError. It also looks before every checkpoint is written, so a saved
               checkpoint is always finite.
  collapse     diversity below collapse_ratio, or class entropy below collapse_entropy, for
               `patience` checks in a row: the numbers and a picture of the near-duplicate
               samples (RUN/health/collapse-step-N.png). act: stop the run (exit 1). The cure,
               packing (--pack 2, PacGAN), changes D's input, so it needs a new run, not a
               switch mid-run; the warning says so.
  vanishing    D rejects at least vanishing_acc of the fakes while |grad G| is below
               vanishing_grad times its largest so far, for `patience` checks. act: the
               vanishing_action -- nonsaturating (a minimax G loss becomes -log D(G(z))), noise
               (the loop's instance noise on everything D reads, std noise_std annealed to 0 by
               the last step like --instance-noise) or d_steps (halve D's steps per G step).
  equilibrium  D's accuracy within equilibrium_tol of 50% for equilibrium_window steps. act
               (--stop-at-equilibrium): stop the run, a success (exit 0).
Vanishing and equilibrium read D's accuracy, which means something for the probabilistic losses
(minimax, nonsaturating) only; under other losses they stay silent and the report says so.

Decisions depend only on the signals, and the monitor's accumulators and state travel in every
checkpoint (Trainer.state_dict's "callbacks"), so a resumed run decides the same things at the
same steps as a run straight through. The monitor draws from none of the training RNGs. Under
torchrun every rank runs it (the ranks see the same averaged statistics and act alike); only
rank 0 writes files.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import statistics
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from .. import viz
from ..config import Config, HealthConfig
from ..errors import TrainingError
from ..losses import LOSSES
from ..registry import Registry
from .checkpoint import (
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

Tensor = torch.Tensor
PIXEL_DIMS = 1024          # images with more values per item are randomly projected to this
WATCHED = ("loss_d", "loss_g", "d_real", "d_fake", "d_acc_real", "d_acc_fake",
           "grad_norm_g", "grad_norm_d")
LOWER_IS_BETTER = {"fid", "kid", "reverse_kl", "stacked_reverse_kl"}
SEED_OFFSET = 7919         # the monitor's private streams (fixed noise, real subset): seed + this
ORDER = ("divergence", "vanishing", "collapse", "equilibrium")  # divergence first: it rolls back


# --- signals: pure functions of tensors ------------------------------------------------------
def norm_of(tensors: list[Tensor]) -> Tensor:
    """The L2 norm of a list of tensors taken as one vector (0 for an empty list)."""
    if not tensors:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(tensors)))


def grad_norm(module: torch.nn.Module) -> Tensor:
    return norm_of([p.grad.detach() for p in module.parameters() if p.grad is not None])


def weight_norm(module: torch.nn.Module) -> Tensor:
    return norm_of([p.detach() for p in module.parameters()])


def spread(features: Tensor) -> float:
    """Mean Euclidean distance between two different rows of N x F (N >= 2)."""
    x = features.flatten(1).double()
    n = len(x)
    return float(torch.cdist(x, x).sum() / (n * (n - 1)))


def entropy(labels: Tensor, num_classes: int) -> float:
    """Entropy in nats of the histogram of integer labels 0..num_classes-1."""
    p = torch.bincount(labels.flatten().long().cpu(), minlength=num_classes).double()
    p = p[p > 0] / p.sum()
    return max(0.0, float(-(p * p.log()).sum()))  # never -0.0


def near_duplicates(features: Tensor, k: int) -> Tensor:
    """Indices of the k rows nearest the medoid (the row closest on average to all others),
    the medoid first: in a collapsed batch, a crowd of near-copies of one sample."""
    x = features.flatten(1).double()
    d = torch.cdist(x, x)
    medoid = int(d.mean(1).argmin())
    return d[medoid].argsort()[:k]


# --- feature spaces ---------------------------------------------------------------------------
@dataclass
class FeatureSpace:
    """Where diversity is measured: embed(items in the data's range) -> (N x F features,
    N class ids or None)."""

    name: str
    embed: Callable[[Tensor], tuple[Tensor, Tensor | None]]
    num_classes: int = 0


def feature_space(data, kind: str, cache_dir: Path | None = None) -> FeatureSpace:
    """The domain classifier's features if the cache holds one, else coordinates or pixels."""
    if kind == "points":
        modes = getattr(data, "modes", None)
        if modes is None:
            return FeatureSpace("2-D coordinates", lambda x: (x.float(), None))
        centers = modes.float()
        return FeatureSpace("2-D coordinates, classes = nearest true mode",
                            lambda x: (x.float(), torch.cdist(x.float(), centers).argmin(1)),
                            len(centers))
    from ..metrics.classifier import cached_classifier

    classifier = cached_classifier(data, cache_dir=cache_dir) if kind == "image" else None
    if classifier is not None:
        def embed(x: Tensor) -> tuple[Tensor, Tensor]:
            features, probs = classifier.embed(x.float())
            return features, probs.argmax(1)
        return FeatureSpace("domain classifier features", embed, data.num_classes)
    dims = math.prod(data.sample_shape)
    if dims <= PIXEL_DIMS:
        return FeatureSpace("pixels", lambda x: (x.flatten(1).float(), None))
    gen = torch.Generator().manual_seed(0)
    projection = torch.randn(dims, PIXEL_DIMS, generator=gen) / math.sqrt(PIXEL_DIMS)
    return FeatureSpace(f"pixels, randomly projected to {PIXEL_DIMS} dimensions",
                        lambda x: (x.flatten(1).float() @ projection, None))


# --- what a check sees -----------------------------------------------------------------------
@dataclass
class Signals:
    step: int
    steps: int                         # generator steps since the previous check
    full: bool                         # a scheduled check (else only the pre-checkpoint look)
    means: dict[str, float]            # WATCHED quantities averaged since the previous check
    not_finite: str = ""               # the first quantity found NaN or Inf, if any
    diversity: float | None = None
    class_entropy: float | None = None
    samples: Tensor | None = None      # the fixed-noise batch, data range (full checks)
    features: Tensor | None = None


def fmt(v: float) -> str:
    return f"{v:.4g}"


class Detector:
    """One failure to look for. check() returns evidence when it fires (once per episode);
    act() does the cure and says what it did (None: nothing it can do here)."""

    name = ""
    advice = ""

    def __init__(self, h: HealthConfig):
        self.h, self.mode = h, getattr(h, self.name)
        self.streak = 0

    def check(self, m: HealthMonitor, s: Signals) -> str | None:
        raise NotImplementedError

    def act(self, m: HealthMonitor, trainer) -> str | None:
        return None

    def persist(self, bad: bool) -> bool:
        """True on the check where `bad` has held for `patience` checks in a row."""
        self.streak = self.streak + 1 if bad else 0
        return self.streak == self.h.patience

    def reset(self) -> None:
        self.streak = 0

    def state_dict(self) -> dict[str, Any]:
        return {"streak": self.streak}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.streak = int(state.get("streak", 0))


DETECTORS: Registry[type[Detector]] = Registry("health detector")


@DETECTORS.register("divergence")
class Divergence(Detector):
    name = "divergence"
    advice = "lower --lr, or set health.divergence=act to roll back automatically"

    def __init__(self, h: HealthConfig):
        super().__init__(h)
        self.recent: deque[dict[str, float]] = deque(maxlen=10)
        self.rollbacks = 0
        self.latched = False  # warn mode: say it once per episode

    def check(self, m, s):
        evidence = self._evidence(s)
        if evidence is None:
            self.latched = False
            if s.full:
                self.recent.append({k: s.means[k] for k in ("loss_d", "loss_g") if k in s.means})
            return None
        if self.latched:
            return None
        self.latched = self.mode == "warn"
        return evidence

    def _evidence(self, s: Signals) -> str | None:
        if s.not_finite:
            return f"divergence: {s.not_finite} is NaN or infinite"
        if not s.full or self.h.spike <= 0:
            return None
        for key in ("loss_d", "loss_g"):
            history = [abs(r[key]) for r in self.recent if key in r]
            if len(history) >= 3 and key in s.means:
                typical = max(1.0, statistics.median(history))
                if abs(s.means[key]) > self.h.spike * typical:
                    return (f"divergence: {key} spiked to {fmt(s.means[key])}, "
                            f"{abs(s.means[key]) / typical:.0f}x its recent median {fmt(typical)}")
        return None

    def act(self, m, trainer):
        if self.rollbacks >= self.h.rollbacks:
            return None
        self.rollbacks += 1
        return m.rollback(trainer, self.rollbacks)

    def reset(self):
        super().reset()
        self.recent.clear()
        self.latched = False

    def state_dict(self):
        return {"recent": list(self.recent), "rollbacks": self.rollbacks, "latched": self.latched}

    def load_state_dict(self, state):
        self.recent.extend(state.get("recent", []))
        self.rollbacks = int(state.get("rollbacks", 0))
        self.latched = bool(state.get("latched", False))


@DETECTORS.register("collapse")
class Collapse(Detector):
    name = "collapse"
    advice = ("the cure is packing: start a new run with --pack 2 (PacGAN; it changes D's "
              "input, so it cannot be switched on mid-run); also --minibatch-std, more D steps, "
              "or --loss hinge")

    def check(self, m, s):
        if not s.full or s.step < self.h.warmup:
            return None
        low = []
        if s.diversity is not None and s.diversity < self.h.collapse_ratio:
            low.append(f"diversity {s.diversity:.3f} of the data's "
                       f"(threshold {self.h.collapse_ratio})")
        if s.class_entropy is not None and s.class_entropy < self.h.collapse_entropy:
            low.append(f"class entropy {s.class_entropy:.3f} of the data's "
                       f"(threshold {self.h.collapse_entropy})")
        if not self.persist(bool(low)):
            return None
        picture = m.save_duplicates(s)
        where = f"; near-duplicate samples in {picture}" if picture else ""
        return (f"mode collapse: {' and '.join(low)} for {self.h.patience} checks "
                f"({len(s.samples)} samples, {m.space.name}){where}")

    def act(self, m, trainer):
        return m.stop(trainer, "mode collapse")


@DETECTORS.register("vanishing")
class Vanishing(Detector):
    name = "vanishing"
    advice = ("D rejects every fake and G learns nothing: try --loss nonsaturating, fewer "
              "--d-steps, a lower --lr-d, or health.vanishing=act")

    def __init__(self, h: HealthConfig):
        super().__init__(h)
        self.largest = 0.0  # |grad G| at its largest check so far

    def check(self, m, s):
        if not s.full or "grad_norm_g" not in s.means:
            return None
        g, acc = s.means["grad_norm_g"], s.means.get("d_acc_fake", 0.0)
        self.largest = max(self.largest, g)
        if s.step < self.h.warmup or not m.probabilistic:
            return None
        bad = acc >= self.h.vanishing_acc and g < self.h.vanishing_grad * self.largest
        if not self.persist(bad):
            return None
        return (f"vanishing gradients: D rejects {acc:.1%} of the fakes and |grad G| is "
                f"{fmt(g)}, {g / self.largest:.1%} of its largest ({fmt(self.largest)}), "
                f"for {self.h.patience} checks")

    def act(self, m, trainer):
        return VANISHING_ACTIONS.get(self.h.vanishing_action)(m, trainer)

    def state_dict(self):
        return {"streak": self.streak, "largest": self.largest}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.largest = float(state.get("largest", 0.0))


@DETECTORS.register("equilibrium")
class Equilibrium(Detector):
    name = "equilibrium"
    advice = "pass --stop-at-equilibrium to stop there"

    def __init__(self, h: HealthConfig):
        super().__init__(h)
        self.held = 0      # steps D's accuracy has stayed near 50%
        self.fired = False

    def check(self, m, s):
        if not s.full or s.step < self.h.warmup or not m.probabilistic:
            return None
        acc = (s.means.get("d_acc_real", 0.0) + s.means.get("d_acc_fake", 0.0)) / 2
        if abs(acc - 0.5) > self.h.equilibrium_tol:
            self.held, self.fired = 0, False
            return None
        self.held += s.steps
        if self.held < self.h.equilibrium_window or self.fired:
            return None
        self.fired = True
        return (f"equilibrium: D's accuracy has stayed within {self.h.equilibrium_tol:.0%} of "
                f"50% for {self.held} steps (now {acc:.1%})")

    def act(self, m, trainer):
        return m.stop(trainer, "equilibrium")

    def reset(self):
        super().reset()
        self.held, self.fired = 0, False

    def state_dict(self):
        return {"held": self.held, "fired": self.fired}

    def load_state_dict(self, state):
        self.held, self.fired = int(state.get("held", 0)), bool(state.get("fired", False))


# --- the vanishing-gradient cures: each changes the monitor's adjustments and says what it did
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


def is_main() -> bool:
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


class HealthMonitor:
    """The callback: signals every step, checks every health.every steps, a report at the end."""

    state_key = "health"

    def __init__(self, run_dir: str | Path, cfg: Config, data, info, *, echo: bool = True,
                 cache_dir: Path | None = None):
        self.run_dir, self.cfg, self.h = Path(run_dir), cfg, cfg.health
        self.data, self.info, self.echo, self.cache_dir = data, info, echo, cache_dir
        # Unknown names fail here, before a run directory is made.
        self.detectors = [DETECTORS.get(name)(self.h) for name in ORDER
                          if getattr(self.h, name) != "off"]
        VANISHING_ACTIONS.get(self.h.vanishing_action)
        if self.h.eval_every:
            from ..evaluate import EVALUATORS

            EVALUATORS.get(self.h.eval_metric)
        self.divergence = next((d for d in self.detectors if d.name == "divergence"), None)
        self.events: list[dict[str, Any]] = []
        self.sums: dict[str, Tensor] = {}
        self.count = 0
        self.last_check = 0
        self.first: dict[str, float] | None = None   # the first check's means, and the latest's
        self.last: dict[str, float] | None = None
        self.best: dict[str, Any] | None = None
        self.adjust: dict[str, Any] = {"loss": None, "noise_std": 0.0, "d_steps": None}
        self.snapshot: dict[str, Any] | None = None
        self.space: FeatureSpace | None = None
        self.start_step = 0

    # --- callback --------------------------------------------------------------------------
    def on_start(self, trainer) -> None:
        self.trainer_device = trainer.device
        seed = self.cfg.train.seed + SEED_OFFSET
        self.start_step = self.last_check = trainer.step
        state = getattr(trainer, "callback_states", {}).get(self.state_key)
        if state:
            self.load_state_dict(state)
        self.apply_adjustments(trainer)
        self.probabilistic = trainer.gan.loss.probabilistic
        self.fp16 = getattr(trainer.cfg, "precision", "fp32") == "fp16"  # skipped steps: inf grads
        # A fixed batch of noise and of real items, drawn from private generators.
        n = min(self.h.samples, len(self.data))
        self.z = trainer.gan.sample_z(n, torch.Generator(device=trainer.device).manual_seed(seed))
        index = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(seed))[:n]
        self.space = feature_space(self.data, self.info.kind, self.cache_dir)
        real, labels = self.space.embed(self.data.get(index)[0].cpu())
        self.real_spread = max(spread(real), 1e-12)
        self.real_entropy = entropy(labels, self.space.num_classes) if labels is not None else None
        if self.divergence and self.divergence.mode == "act" and not list_checkpoints(self.run_dir):
            self.snapshot = snapshot(trainer)  # what to roll back to before the first checkpoint

    def on_step(self, trainer, stats: dict[str, Tensor]) -> None:
        g, d = grad_norm(trainer.gan.G), grad_norm(trainer.gan.D)
        if self.fp16:  # a step the loss scaler skipped leaves inf gradients: not a divergence
            g, d = (torch.where(v.isfinite(), v, torch.zeros_like(v)) for v in (g, d))
        stats["grad_norm_g"], stats["grad_norm_d"] = g, d
        for key in WATCHED:
            if key in stats:
                v = stats[key].detach().float()
                self.sums[key] = self.sums[key] + v if key in self.sums else v.clone()
        self.count += 1
        step, cfg = trainer.step, trainer.cfg
        full = step % self.h.every == 0
        before_save = (step % cfg.checkpoint_every == 0 or step >= cfg.steps
                       or trainer.stop_requested)
        if full or (before_save and self.divergence is not None):
            if self.check(trainer, stats, full):
                return  # rolled back: this step's other work is moot
        if self.h.eval_every and step % self.h.eval_every == 0 and step > 0:
            self.evaluate(trainer, stats)

    def on_end(self, trainer) -> None:
        if self.divergence is not None and self.divergence.mode == "act":
            bad = self.not_finite(trainer)
            if bad:  # stopped between checks with broken weights: keep the last good checkpoint
                self.event(trainer, "divergence", "act", f"divergence: {bad} is NaN or infinite "
                           "as the run stopped; nothing saved")
                self.write_report(trainer)
                raise TrainingError(f"training diverged at step {trainer.step} ({bad} is NaN or "
                                    f"infinite); {self.healthy_checkpoint()}")
        self.write_report(trainer)

    # --- checks ----------------------------------------------------------------------------
    def check(self, trainer, stats: dict[str, Tensor], full: bool) -> bool:
        """Judge the steps since the last check; True if the run was rolled back."""
        s = Signals(trainer.step, trainer.step - self.last_check, full, self.means())
        s.not_finite = self.not_finite(trainer, s.means)
        if full and not s.not_finite:
            self.measure_diversity(trainer, s)
            for key, value in (("diversity", s.diversity), ("class_entropy", s.class_entropy)):
                if value is not None:
                    stats[key] = torch.tensor(value)
        for detector in self.detectors:
            if s.not_finite and detector is not self.divergence:
                continue
            evidence = detector.check(self, s)
            if evidence is not None and self.respond(trainer, detector, evidence):
                return True
        if full:
            signals = {k: v for k, v in (("diversity", s.diversity),
                                         ("class_entropy", s.class_entropy)) if v is not None}
            self.first = self.first or s.means
            self.last = {**s.means, **signals}
            self.sums, self.count, self.last_check = {}, 0, trainer.step
            if self.snapshot is not None and list_checkpoints(self.run_dir):
                self.snapshot = None  # a checkpoint on disk is the rollback point now
        return False

    def means(self) -> dict[str, float]:
        if not self.count:
            return {}
        keys = list(self.sums)
        values = torch.stack([self.sums[k] for k in keys]).cpu().tolist()  # the one sync
        return {k: v / self.count for k, v in zip(keys, values)}

    def not_finite(self, trainer, means: dict[str, float] | None = None) -> str:
        """The name of the first NaN or infinite quantity since the last check, or ''."""
        means = self.means() if means is None else means
        for key, value in means.items():
            if not math.isfinite(value):
                return key
        for name, module in (("G's weights", trainer.gan.G), ("D's weights", trainer.gan.D)):
            if not math.isfinite(float(weight_norm(module))):
                return name
        return ""

    @torch.no_grad()
    def measure_diversity(self, trainer, s: Signals) -> None:
        s.samples = trainer.gan.generate(self.z).float()  # the G being trained, in eval mode
        features, labels = self.space.embed(s.samples)
        s.features = features
        s.diversity = spread(features) / self.real_spread
        if labels is not None and self.real_entropy:
            s.class_entropy = entropy(labels, self.space.num_classes) / self.real_entropy

    def respond(self, trainer, detector: Detector, evidence: str) -> bool:
        """Warn or act on what a detector found; True if the run was rolled back."""
        if detector.mode == "warn":
            self.event(trainer, detector.name, "warn", f"{evidence}. {detector.advice}")
            return False
        step = trainer.step
        done = detector.act(self, trainer)
        if done is None and detector is self.divergence:
            self.event(trainer, detector.name, "act", f"{evidence}; no rollbacks left")
            self.write_report(trainer)
            raise TrainingError(
                f"training diverged at step {step} ({evidence.split(': ', 1)[1]}) after "
                f"{self.divergence.rollbacks} rollbacks with lower learning rates; "
                f"{self.healthy_checkpoint()}")
        if done is None:
            done = (f"'{self.h.vanishing_action}' does not apply here, so nothing changed. "
                    f"{detector.advice}")
        self.event(trainer, detector.name, "act", f"{evidence}; {done}", step=step)
        return detector is self.divergence

    # --- actions ---------------------------------------------------------------------------
    def rollback(self, trainer, n: int) -> str:
        """Reload the newest checkpoint (or the starting state), lower both learning rates."""
        lrs = [[g["lr"] for g in opt.param_groups] for opt in (trainer.opt_g, trainer.opt_d)]
        ckpts = list_checkpoints(self.run_dir)
        if ckpts:
            ckpt, source = ckpts[-1], ckpts[-1].name
            load_weights(trainer.gan.G, ckpt / G_FILE)
            load_weights(trainer.gan.D, ckpt / D_FILE)
            if trainer.g_ema is not None:
                load_weights(trainer.g_ema, ckpt / G_EMA_FILE)
            _, state = load_state(ckpt)
        elif self.snapshot is not None:
            source, state = "the starting weights", copy.deepcopy(self.snapshot["state"])
            modules = (("G", trainer.gan.G), ("D", trainer.gan.D), ("G_ema", trainer.g_ema))
            for name, module in modules:
                if module is not None:
                    module.load_state_dict(self.snapshot[name])
        else:
            raise TrainingError("training diverged before its first checkpoint and there is "
                                "nothing to roll back to: lower --lr")
        trainer.load_state_dict(state)
        for opt, old in zip((trainer.opt_g, trainer.opt_d), lrs):
            for group, lr in zip(opt.param_groups, old):
                group["lr"] = lr * self.h.lr_factor
        self.sums, self.count, self.last_check = {}, 0, trainer.step
        for detector in self.detectors:
            detector.reset()
        lr_g, lr_d = trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]
        return (f"rolled back to step {trainer.step} ({source}) and multiplied both learning "
                f"rates by {self.h.lr_factor} (G {lr_g:.3g}, D {lr_d:.3g}); rollback {n} of "
                f"{self.h.rollbacks}")

    def stop(self, trainer, reason: str) -> str:
        trainer.stop_requested, trainer.stop_reason = True, reason
        return "stopped the run (its checkpoint is saved; --resume continues it)"

    def apply_adjustments(self, trainer) -> None:
        """Put the cures applied so far into effect (again, after a resume)."""
        if self.adjust["loss"]:
            trainer.gan.loss = LOSSES.get(self.adjust["loss"])
        if self.adjust["d_steps"]:
            trainer.cfg = dataclasses.replace(trainer.cfg, d_steps=self.adjust["d_steps"])
        if self.adjust["noise_std"] > trainer.instance_noise.std:
            trainer.instance_noise.std = self.adjust["noise_std"]  # its RNG is the trainer's

    # --- evaluation and the best checkpoint --------------------------------------------------
    def evaluate(self, trainer, stats: dict[str, Tensor]) -> None:
        if not is_main():
            return
        from ..evaluate import evaluate
        from ..run import Run

        run = Run(self.run_dir, self.cfg, self.info, trainer.gan, trainer.step, trainer.g_ema)
        devices = [trainer.device] if trainer.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # training's RNG streams stay untouched
            result = evaluate(run, [self.h.eval_metric], n=self.h.eval_samples or None,
                              seed=self.cfg.train.seed, log=self.say)
        numbers = {k: float(v) for k, v in result.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for key, value in numbers.items():
            stats[f"eval_{key}"] = torch.tensor(value)
        key = self.h.best_by or next(iter(numbers), "")
        if key not in numbers:
            raise TrainingError(f"health.best_by '{key}' is not a result of "
                                f"{self.h.eval_metric}: use one of {', '.join(numbers)}")
        value = numbers[key]
        better = self.best is None or (value < self.best["value"] if key in LOWER_IS_BETTER
                                       else value > self.best["value"])
        if math.isfinite(value) and better:
            path = save_checkpoint(self.run_dir, trainer.step, trainer.gan.G, trainer.gan.D,
                                   trainer.state_dict(), keep=1, G_ema=trainer.g_ema, folder=BEST)
            self.best = {"key": key, "value": value, "step": trainer.step,
                         "path": str(path.relative_to(self.run_dir))}
            write_text_atomic(path.parent / "best.json", json.dumps(self.best, indent=2) + "\n")

    # --- evidence, events, report ----------------------------------------------------------
    def save_duplicates(self, s: Signals) -> str:
        if not is_main() or s.samples is None:
            return ""
        folder = self.run_dir / "health"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"collapse-step-{s.step:08d}.png"
        if s.samples.dim() == 4:
            crowd = s.samples[near_duplicates(s.features, min(64, len(s.samples)))]
            viz.save_image_grid(crowd, path)
        else:
            real = self.data.get(torch.arange(min(len(self.data), 1000)))[0]
            modes = getattr(self.data, "modes", None)
            viz.save_samples(s.samples, path, real=real, modes=modes,
                             title=f"step {s.step}: diversity {s.diversity:.3f} of the data's")
        return str(path)

    def event(self, trainer, detector: str, level: str, message: str, step: int | None = None):
        record = {"step": trainer.step if step is None else step, "health": detector,
                  "level": level, "message": message}
        self.events.append(record)
        self.say(f"step {record['step']}: {message}")
        if is_main():
            with (self.run_dir / "log.jsonl").open("a") as f:
                f.write(json.dumps(record) + "\n")

    def say(self, message: str, report: bool = False) -> None:
        """Warnings to stderr; the report, a result, to stdout."""
        if self.echo and is_main():
            from tqdm import tqdm

            if report:
                tqdm.write(message, file=sys.stdout)
            else:
                tqdm.write(f"gankit health: {message}", file=sys.stderr)

    def healthy_checkpoint(self) -> str:
        ckpts = list_checkpoints(self.run_dir)
        if not ckpts:
            return "there is no checkpoint: start again with a lower --lr"
        return (f"the newest healthy checkpoint is {ckpts[-1]}: lower the learning rates or "
                "change the loss and start again, or resume it with health.divergence=warn")

    def report(self, trainer) -> str:
        h, lines = self.h, []
        modes = ", ".join(f"{d} {getattr(h, d)}" for d in ORDER)
        lines.append(f"gankit health report: {self.run_dir}, steps {self.start_step} to "
                     f"{trainer.step}, a check every {h.every} steps ({modes})")
        if self.last:
            m = self.last
            parts = [f"D accuracy real {m.get('d_acc_real', 0):.0%} "
                     f"fake {m.get('d_acc_fake', 0):.0%}",
                     f"D(x) {fmt(m.get('d_real', 0))}", f"D(G(z)) {fmt(m.get('d_fake', 0))}",
                     f"|grad G| {fmt(m.get('grad_norm_g', 0))}",
                     f"|grad D| {fmt(m.get('grad_norm_d', 0))}"]
            parts += [f"{k.replace('_', ' ')} {m[k]:.3f} of the data's"
                      for k in ("diversity", "class_entropy") if k in m]
            lines.append("last check: " + ", ".join(parts))
            trend = ", ".join(f"{k} {fmt(self.first[k])} -> {fmt(m[k])}"
                              for k in ("loss_d", "loss_g") if k in m and k in self.first)
            lines.append(f"losses (first check -> last): {trend}")
        if self.space is not None:
            lines.append(f"diversity measured in: {self.space.name}")
        if not self.probabilistic:
            lines.append(f"vanishing and equilibrium are not judged: loss {self.cfg.train.loss} "
                         "has no probability of real")
        if self.best:
            lines.append(f"best {self.best['key']} {fmt(self.best['value'])} at step "
                         f"{self.best['step']}: {self.best['path']}")
        lines.append("events:" if self.events else "events: none, no detector fired")
        lines += [f"  step {e['step']} {e['health']} ({e['level']}): {e['message']}"
                  for e in self.events]
        return "\n".join(lines) + "\n"

    def write_report(self, trainer) -> None:
        if not is_main():
            return
        text = self.report(trainer)
        write_text_atomic(self.run_dir / "health.txt", text)
        if self.events:  # the whole report; a healthy run gets one line
            self.say(text.rstrip(), report=True)
        else:
            last = f", diversity {self.last['diversity']:.2f} of the data's" if (
                self.last and "diversity" in self.last) else ""
            self.say(f"health: no problems seen (steps {self.start_step}-{trainer.step}{last}); "
                     f"report in {self.run_dir / 'health.txt'}", report=True)

    # --- state: saved in every checkpoint ---------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "sums": dict(self.sums), "count": self.count, "last_check": self.last_check,
            "events": list(self.events), "first": self.first, "last": self.last,
            "best": self.best, "adjust": dict(self.adjust),
            "detectors": {d.name: d.state_dict() for d in self.detectors},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = getattr(self, "trainer_device", "cpu")
        self.sums = {k: v.to(device) for k, v in state.get("sums", {}).items()}
        self.count, self.last_check = int(state.get("count", 0)), int(state.get("last_check", 0))
        self.events = list(state.get("events", []))
        self.first, self.last, self.best = state.get("first"), state.get("last"), state.get("best")
        self.adjust.update(state.get("adjust", {}))
        saved = state.get("detectors", {})
        for detector in self.detectors:
            detector.load_state_dict(saved.get(detector.name, {}))


def snapshot(trainer) -> dict[str, Any]:
    """A copy of everything a rollback restores, for runs with no checkpoint yet."""
    copies = {name: {k: v.detach().clone() for k, v in m.state_dict().items()}
              for name, m in (("G", trainer.gan.G), ("D", trainer.gan.D), ("G_ema", trainer.g_ema))
              if m is not None}
    return {**copies, "state": copy.deepcopy(trainer.state_dict())}
