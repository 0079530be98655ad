"""The detectors: one class per failure, registered by name in DETECTORS. Each looks at the
Signals of a check (signals.py) and returns evidence when its failure shows; act() does the cure
through the monitor (m.rollback, m.stop, the vanishing cures of actions.py) and says what it did.
A new detector is a subclass registered here, a health.<name> setting and a place in ORDER."""

from __future__ import annotations

import statistics
from collections import deque
from typing import TYPE_CHECKING, Any

from ...config import HealthConfig
from ...registry import Registry
from .actions import VANISHING_ACTIONS
from .signals import Signals, fmt

if TYPE_CHECKING:
    from .monitor import HealthMonitor

ORDER = ("divergence", "vanishing", "collapse", "equilibrium")  # divergence first: it rolls back


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

