"""The HealthMonitor callback: it adds the signals to every step's stats, runs the detectors
every health.every steps (and before every checkpoint), warns or acts on what they find, and
writes the report at the end. Its accumulators, events and adjustments are its state, saved in
every checkpoint so that a resumed run decides as a run straight through would."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from ...config import Config
from ...errors import TrainingError
from ..checkpoint import list_checkpoints
from . import actions
from . import report as reporting
from .detectors import DETECTORS, ORDER, Detector
from .signals import WATCHED, FeatureSpace, Signals, entropy, feature_space, grad_norm, spread, weight_norm

Tensor = torch.Tensor
SEED_OFFSET = 7919         # the monitor's private streams (fixed noise, real subset): seed + this


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
        actions.VANISHING_ACTIONS.get(self.h.vanishing_action)
        if self.h.eval_every:
            from ...evaluate import EVALUATORS

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
            self.snapshot = actions.snapshot(trainer)  # what to roll back to before the first checkpoint

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

    # --- what it does and what it writes: functions of the monitor in actions.py and report.py,
    # methods here so that detectors and the code above call them as m.stop(...), self.event(...)
    rollback = actions.rollback
    stop = actions.stop
    apply_adjustments = actions.apply_adjustments
    evaluate = actions.evaluate
    save_duplicates = reporting.save_duplicates
    event = reporting.event
    say = reporting.say
    healthy_checkpoint = reporting.healthy_checkpoint
    report = reporting.report
    write_report = reporting.write_report

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

