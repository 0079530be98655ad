"""The one training loop: Algorithm 1 of Goodfellow et al. 2014, for every GAN variant.

    for each generator update:
        repeat d_steps (k) times:
            fresh real minibatch x, fresh noise z
            update D on loss.d(D(x), D(G(z)))            (G(z) made without autograd)
        fresh noise z
        update G on loss.g(D(G(z)))                      (D frozen: no grads for its weights)

The loop owns backward() and step(); the GAN object only computes losses. Callbacks (progress,
logs, sample grids, checkpoints) see the trainer after every generator update.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Iterable, Protocol

import torch

from ..config import TrainConfig
from ..gans import GAN
from .batches import Batches
from .optim import make_optimizers


class Callback(Protocol):
    def on_start(self, trainer: "Trainer") -> None: ...
    def on_step(self, trainer: "Trainer", stats: dict[str, torch.Tensor]) -> None: ...
    def on_end(self, trainer: "Trainer") -> None: ...


class Trainer:
    def __init__(self, gan: GAN, data, cfg: TrainConfig, callbacks: Iterable[Any] = ()):
        self.gan, self.data, self.cfg = gan, data, cfg
        self.device = gan.device
        self.opt_g, self.opt_d = make_optimizers(gan.G, gan.D, cfg)
        torch.manual_seed(cfg.seed)  # dropout and anything else drawing from the global RNG
        self.z_gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.batches = Batches(len(data), cfg.batch_size, seed=cfg.seed + 1)
        self.callbacks = list(callbacks)
        self.step = 0                  # generator updates done
        self.stop_requested = False    # set by SIGINT/SIGTERM; honoured between steps
        self.stop_reason = ""
        self.images_seen = 0           # real images consumed by D in this process
        self.elapsed = 0.0             # seconds of training in this process

    # --- Algorithm 1 -------------------------------------------------------------------------
    def real_batch(self) -> torch.Tensor:
        x, _ = self.data.get(self.batches.next())
        return self.gan.to_model(x.to(self.device, non_blocking=True))

    def d_update(self) -> dict[str, torch.Tensor]:
        real = self.real_batch()
        with torch.no_grad():  # D's update needs no gradient through G
            fake = self.gan.G(self.gan.sample_z(real.shape[0], self.z_gen))
        loss, stats = self.gan.d_loss(real, fake)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return stats

    def g_update(self) -> dict[str, torch.Tensor]:
        D = self.gan.D
        D.requires_grad_(False)  # G's update needs gradients through D, not for D's weights
        try:
            fake = self.gan.G(self.gan.sample_z(self.cfg.batch_size, self.z_gen))
            loss, stats = self.gan.g_loss(fake)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            D.requires_grad_(True)
        return stats

    def train_step(self) -> dict[str, torch.Tensor]:
        for _ in range(self.cfg.d_steps):
            stats = self.d_update()
        stats.update(self.g_update())
        self.step += 1
        self.images_seen += self.cfg.d_steps * self.cfg.batch_size
        return stats

    # --- running -----------------------------------------------------------------------------
    def run(self) -> "Trainer":
        """Train up to cfg.steps generator updates, or until a stop is requested."""
        restore = self._catch_signals()
        try:
            for cb in self.callbacks:
                cb.on_start(self)
            while self.step < self.cfg.steps and not self.stop_requested:
                t0 = time.perf_counter()
                stats = self.train_step()
                self.elapsed += time.perf_counter() - t0
                for cb in self.callbacks:
                    cb.on_step(self, stats)
            for cb in self.callbacks:
                cb.on_end(self)
        finally:
            restore()
        return self

    def _catch_signals(self):
        """First Ctrl-C / SIGTERM: finish the current step, save, stop. A second: stop now."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum, frame):
            if self.stop_requested:
                raise KeyboardInterrupt
            self.stop_requested = True
            self.stop_reason = signal.Signals(signum).name

        for s in previous:
            signal.signal(s, handler)

        def restore():
            for s, h in previous.items():
                signal.signal(s, h)

        return restore

    # --- exact resume --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {
            "step": self.step,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "batches": self.batches.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "z": self.z_gen.get_state()},
        }
        if torch.cuda.is_available() and self.device.type == "cuda":
            state["rng"]["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.batches.load_state_dict(state["batches"])
        torch.set_rng_state(state["rng"]["torch"])
        self.z_gen.set_state(state["rng"]["z"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
