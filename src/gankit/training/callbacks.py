"""What happens around the loop: progress, logs, fixed-noise sample grids, checkpoints.

Each callback checks its own interval; the loop just calls on_start / on_step / on_end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .. import viz
from .checkpoint import save_checkpoint


class JsonlLog:
    """Averages every logged quantity over `every` steps and appends one JSON line."""

    def __init__(self, path: Path, every: int):
        self.path, self.every = Path(path), every
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}  # per key: some signals come only every few steps
        self.count = 0
        self.last: dict[str, float] = {}
        self._t0 = self._images0 = 0.0

    def on_start(self, trainer) -> None:
        self._t0, self._images0 = time.perf_counter(), trainer.images_seen
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb+") as f:  # a line cut short by a crash ends here
                f.seek(-1, 2)
                if f.read(1) != b"\n":
                    f.write(b"\n")

    def on_step(self, trainer, stats) -> None:
        for k, v in stats.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.clone()
            self.counts[k] = self.counts.get(k, 0) + 1
        self.count += 1
        if trainer.step % self.every == 0 or trainer.step == trainer.cfg.steps:
            self.flush(trainer)

    def flush(self, trainer) -> None:
        if not self.count:
            return
        now = time.perf_counter()
        record = {"step": trainer.step}
        record.update({k: round(float(v) / self.counts[k], 6) for k, v in self.sums.items()})
        record["images_per_s"] = round((trainer.images_seen - self._images0) / max(now - self._t0, 1e-9), 1)
        self.last = record
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        self.sums, self.counts, self.count = {}, {}, 0
        self._t0, self._images0 = now, trainer.images_seen

    def on_end(self, trainer) -> None:
        self.flush(trainer)


class ProgressBar:
    """A tqdm bar: step, ETA, and the latest averaged losses, D outputs and images/s."""

    def __init__(self, log: JsonlLog, enabled: bool = True):
        self.log, self.enabled, self.bar = log, enabled, None
        self._shown: dict | None = None

    def on_start(self, trainer) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=trainer.cfg.steps, initial=trainer.step, unit="step",
                            dynamic_ncols=True)

    def on_step(self, trainer, stats) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        if self.log.last is not self._shown and self.log.last:
            self._shown = self.log.last
            r = self.log.last
            self.bar.set_postfix_str(
                f"D {r.get('loss_d', 0):.3f} G {r.get('loss_g', 0):.3f} "
                f"D(x) {r.get('d_real', 0):.2f} D(G(z)) {r.get('d_fake', 0):.2f} "
                f"{r['images_per_s']:.0f} img/s", refresh=False)

    def on_end(self, trainer) -> None:
        if self.bar is not None:
            self.bar.close()


class SampleGrid:
    """Draws the same noise every `every` steps so the grids show progress, not luck; with
    train.ema the grids show the averaged generator, the one `gankit sample` uses."""

    def __init__(self, folder: Path, every: int, n: int = 64, seed: int = 0, real=None, modes=None):
        self.folder, self.every, self.n, self.seed = Path(folder), every, n, seed
        self.real, self.modes = real, modes
        self.z: torch.Tensor | None = None

    def on_start(self, trainer) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        gen = torch.Generator(device=trainer.device).manual_seed(self.seed + 104729)
        self.z = trainer.gan.sample_z(self.n, gen)  # a private generator: training RNG is untouched

    def on_step(self, trainer, stats) -> None:
        if trainer.step % self.every == 0:
            self.save(trainer)

    def on_end(self, trainer) -> None:
        self.save(trainer)

    @torch.no_grad()
    def save(self, trainer) -> Path:
        G = trainer.gan.G if trainer.g_ema is None else trainer.g_ema
        was_training = G.training
        G.eval()
        try:
            samples = trainer.gan.to_data(G(self.z)).cpu()
        finally:
            G.train(was_training)
        path = self.folder / f"step-{trainer.step:08d}.png"
        viz.save_samples(samples, path, real=self.real, modes=self.modes,
                         title=f"step {trainer.step}")
        return path


class Checkpointer:
    def __init__(self, run_dir: Path, every: int, keep: int):
        self.run_dir, self.every, self.keep = Path(run_dir), every, keep

    def on_start(self, trainer) -> None:
        pass

    def on_step(self, trainer, stats) -> None:
        if trainer.step % self.every == 0:
            self.save(trainer)

    def on_end(self, trainer) -> None:
        self.save(trainer)

    def save(self, trainer) -> Path:
        return save_checkpoint(self.run_dir, trainer.step, trainer.gan.G, trainer.gan.D,
                               trainer.state_dict(), keep=self.keep, G_ema=trainer.g_ema)


class Curves:
    def __init__(self, log_path: Path, out_path: Path):
        self.log_path, self.out_path = Path(log_path), Path(out_path)

    def on_start(self, trainer) -> None:
        pass

    def on_step(self, trainer, stats) -> None:
        pass

    def on_end(self, trainer) -> None:
        if self.log_path.exists():
            viz.plot_curves(self.log_path, self.out_path)
