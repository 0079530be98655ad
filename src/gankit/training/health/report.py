"""What the health monitor writes and says: events (a line on stderr and a record in
log.jsonl), the picture of near-duplicate samples behind a collapse warning, and the report at
the end (RUN/health.txt, printed in full when something happened, as one line when nothing did).
Each is a function of the monitor; HealthMonitor (monitor.py) has them as methods. Under torchrun
only rank 0 writes or prints."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import torch

from ... import viz
from ..checkpoint import list_checkpoints, write_text_atomic
from ..distributed import is_main
from .detectors import ORDER
from .signals import Signals, fmt, near_duplicates

if TYPE_CHECKING:
    from .monitor import HealthMonitor


# --- evidence and events ---------------------------------------------------------------------
def save_duplicates(m: HealthMonitor, s: Signals) -> str:
    if not is_main() or s.samples is None:
        return ""
    folder = m.run_dir / "health"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"collapse-step-{s.step:08d}.png"
    if s.samples.dim() == 4:
        crowd = s.samples[near_duplicates(s.features, min(64, len(s.samples)))]
        viz.save_image_grid(crowd, path)
    else:
        real = m.data.get(torch.arange(min(len(m.data), 1000)))[0]
        modes = getattr(m.data, "modes", None)
        viz.save_samples(s.samples, path, real=real, modes=modes,
                         title=f"step {s.step}: diversity {s.diversity:.3f} of the data's")
    return str(path)


def event(m: HealthMonitor, trainer, detector: str, level: str, message: str,
          step: int | None = None):
    record = {"step": trainer.step if step is None else step, "health": detector,
              "level": level, "message": message}
    m.events.append(record)
    m.say(f"step {record['step']}: {message}")
    if is_main():
        with (m.run_dir / "log.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")


def say(m: HealthMonitor, message: str, report: bool = False) -> None:
    """Warnings to stderr; the report, a result, to stdout."""
    if m.echo and is_main():
        from tqdm import tqdm

        if report:
            tqdm.write(message, file=sys.stdout)
        else:
            tqdm.write(f"gankit health: {message}", file=sys.stderr)


def healthy_checkpoint(m: HealthMonitor) -> str:
    ckpts = list_checkpoints(m.run_dir)
    if not ckpts:
        return "there is no checkpoint: start again with a lower --lr"
    return (f"the newest healthy checkpoint is {ckpts[-1]}: lower the learning rates or "
            "change the loss and start again, or resume it with health.divergence=warn")


# --- the report ------------------------------------------------------------------------------
def check_lines(first: dict[str, float], last: dict[str, float]) -> list[str]:
    """The last check's numbers, and the losses from the first check to the last."""
    parts = [f"D accuracy real {last.get('d_acc_real', 0):.0%} "
             f"fake {last.get('d_acc_fake', 0):.0%}",
             f"D(x) {fmt(last.get('d_real', 0))}", f"D(G(z)) {fmt(last.get('d_fake', 0))}",
             f"|grad G| {fmt(last.get('grad_norm_g', 0))}",
             f"|grad D| {fmt(last.get('grad_norm_d', 0))}"]
    parts += [f"{k.replace('_', ' ')} {last[k]:.3f} of the data's"
              for k in ("diversity", "class_entropy") if k in last]
    trend = ", ".join(f"{k} {fmt(first[k])} -> {fmt(last[k])}"
                      for k in ("loss_d", "loss_g") if k in last and k in first)
    return ["last check: " + ", ".join(parts), f"losses (first check -> last): {trend}"]


def report(m: HealthMonitor, trainer) -> str:
    h, lines = m.h, []
    modes = ", ".join(f"{d} {getattr(h, d)}" for d in ORDER)
    lines.append(f"gankit health report: {m.run_dir}, steps {m.start_step} to "
                 f"{trainer.step}, a check every {h.every} steps ({modes})")
    if m.last:
        lines += check_lines(m.first, m.last)
    if m.space is not None:
        lines.append(f"diversity measured in: {m.space.name}")
    if not m.probabilistic:
        lines.append(f"vanishing and equilibrium are not judged: loss {m.cfg.train.loss} "
                     "has no probability of real")
    if m.best:
        lines.append(f"best {m.best['key']} {fmt(m.best['value'])} at step "
                     f"{m.best['step']}: {m.best['path']}")
    lines.append("events:" if m.events else "events: none, no detector fired")
    lines += [f"  step {e['step']} {e['health']} ({e['level']}): {e['message']}"
              for e in m.events]
    return "\n".join(lines) + "\n"


def write_report(m: HealthMonitor, trainer) -> None:
    if not is_main():
        return
    text = m.report(trainer)
    write_text_atomic(m.run_dir / "health.txt", text)
    if m.events:  # the whole report; a healthy run gets one line
        m.say(text.rstrip(), report=True)
    else:
        last = f", diversity {m.last['diversity']:.2f} of the data's" if (
            m.last and "diversity" in m.last) else ""
        m.say(f"health: no problems seen (steps {m.start_step}-{trainer.step}{last}); "
              f"report in {m.run_dir / 'health.txt'}", report=True)
