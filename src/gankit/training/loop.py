"""The one training loop: Algorithm 1 of Goodfellow et al. 2014, for every GAN variant.

    for each generator update:
        set SGD's momentum and decay the learning rates (train.momentum_ramp, train.lr_decay)
        repeat d_steps (k) times:
            fresh real minibatch x, fresh noise z
            update D on loss.d(D(x), D(G(z))) + penalties  (G(z) made without autograd)
            apply D's constraints (weight clipping)
        fresh noise z
        update G on loss.g(D(G(z)))                      (D frozen: no grads for its weights)
        move the average of G's weights (train.ema)

With train.simultaneous (k = 1), D and G instead step together on one batch of fakes, each on its
own loss's gradient at the same point, as the authors' code did (`joint_update`).

The loop owns backward(), step() and the EMA; the GAN object only computes losses. Penalties and
constraints are chosen once from the config, as lists the D step walks. Callbacks (progress,
logs, sample grids, checkpoints) see the trainer after every generator update. Each update's
forward passes run inside two contexts that are no-ops by default: the precision's autocast
(train.precision, precision.py) and, under torchrun, the DDP wrappers of G or D (distributed.py).
"""

from __future__ import annotations

import functools
import signal
import threading
import time
from typing import Any, Iterable, Protocol

import torch

from ..config import TrainConfig
from ..gans import GAN
from ..penalties import PENALTIES, clip_weights_
from .batches import Batches
from .distributed import make_parallel
from .ema import make_ema, update_ema_
from .instance_noise import InstanceNoise
from .optim import make_optimizers, schedule_
from .precision import Precision


class Callback(Protocol):
    def on_start(self, trainer: "Trainer") -> None: ...
    def on_step(self, trainer: "Trainer", stats: dict[str, torch.Tensor]) -> None: ...
    def on_end(self, trainer: "Trainer") -> None: ...


def match_param_layout(opt: torch.optim.Optimizer) -> None:
    """Give loaded moment buffers their parameter's strides: checkpoints store them contiguous,
    and fused optimizers walk parameter and state memory in lockstep."""
    for group in opt.param_groups:
        for p in group["params"]:
            for k, v in opt.state.get(p, {}).items():
                if torch.is_tensor(v) and v.shape == p.shape and v.stride() != p.stride():
                    opt.state[p][k] = torch.empty_like(p).copy_(v)


class Trainer:
    def __init__(self, gan: GAN, data, cfg: TrainConfig, callbacks: Iterable[Any] = ()):
        self.gan, self.data, self.cfg = gan, data, cfg
        self.device = gan.device
        # oneDNN / cuDNN convolutions run faster on NHWC tensors (measured in benchmarks/).
        convolutional = any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in gan.modules())
        self.memory_format = torch.channels_last if convolutional else torch.contiguous_format
        gan.to(memory_format=self.memory_format)
        # Under torchrun: this rank's slice of each batch and DDP for G and D (distributed.py).
        self.parallel = make_parallel(gan, self.device, cfg.batch_size, cfg.sync_batchnorm)
        self.opt_g, self.opt_d = make_optimizers(gan.G, gan.D, cfg)
        self.precision = Precision(cfg.precision, self.device, {"g": self.opt_g, "d": self.opt_d},
                                   gan.D)
        torch.manual_seed(cfg.seed)  # dropout and anything else drawing from the global RNG
        self.z_gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        # The gradient penalty's interpolation weights: a stream of their own, saved for resume.
        self.penalty_gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 2)
        # Noise on everything D reads (train.instance_noise), from a saved stream of its own.
        self.instance_noise = InstanceNoise(cfg.instance_noise, cfg.steps, self.device, cfg.seed + 3)
        self.last_real: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None)
        # D's regularisers, chosen once: (name, penalty, weight) terms of its loss, and
        # constraints applied to it after each of its steps.
        penalty = PENALTIES.get(cfg.penalty)
        self.d_penalties = [] if penalty is None else [
            (cfg.penalty, penalty, cfg.penalty_weight * penalty.factor)]
        self.d_constraints = [functools.partial(clip_weights_, c=cfg.clip)] if cfg.clip > 0 else []
        self.g_ema = make_ema(gan.G) if cfg.ema > 0 else None
        self.batches = Batches(len(data), cfg.batch_size, seed=cfg.seed + 1,
                               rank=self.parallel.rank, world_size=self.parallel.world_size)
        self.callbacks = list(callbacks)
        # Saved state of callbacks that keep some (those with a `state_key`, e.g. the health
        # monitor), from the checkpoint resumed; each reads its own in on_start.
        self.callback_states: dict[str, Any] = {}
        self.step = 0                  # generator updates done
        self.stop_requested = False    # set by SIGINT/SIGTERM; honoured between steps
        self.stop_reason = ""
        self.images_seen = 0           # real images consumed by D in this process
        self.elapsed = 0.0             # seconds of training in this process

    # --- Algorithm 1 -------------------------------------------------------------------------
    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A minibatch in the model's range, and its labels (None for unlabelled data)."""
        x, y = self.data.get(self.batches.next())
        x = x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        return self.gan.to_model(x), None if y is None else y.to(self.device, non_blocking=True)

    def d_objective(self, real: torch.Tensor, labels: torch.Tensor | None,
                    fake: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss and penalties on a real batch and a fake one made without autograd."""
        with self.parallel.d_step(), self.precision.autocast():
            real, fake = self.instance_noise(real, self.step), self.instance_noise(fake, self.step)
            loss, stats = self.gan.d_loss(real, fake, z, labels)
            for name, penalty, weight in self.d_penalties:
                value = penalty.compute(*self.gan.penalty_inputs(real, fake, labels), self.penalty_gen)
                loss = loss + weight * value
                stats[f"penalty_{name}"] = value.detach()
        self.last_real = (real, labels)  # what feature matching compares G's samples with
        return loss, stats

    def fakes(self, grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Fresh latents (this rank's slice of the global batch's) and G's samples of them (G
        through DDP inside `parallel.g_step()`, plain outside it)."""
        with self.precision.autocast(), torch.set_grad_enabled(grad):
            z = self.parallel.shard(self.gan.sample_z(self.cfg.batch_size, self.z_gen))
            return z, self.gan.G(z)

    def g_objective(self, z: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """G's loss through D, whose weights get no gradient (D stays plain under DDP: its
        wrapper would wait for gradients that never come)."""
        D = self.gan.D
        D.requires_grad_(False)
        try:
            with self.precision.autocast():
                return self.gan.g_loss(self.instance_noise(fake, self.step), z, *self.last_real)
        finally:
            D.requires_grad_(True)

    def backward(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        opt.zero_grad(set_to_none=True)
        self.precision.scale(loss, opt).backward()

    def step_d(self) -> None:
        self.precision.step(self.opt_d)
        for constrain in self.d_constraints:
            constrain(self.gan.D)

    def step_g(self) -> None:
        self.precision.step(self.opt_g)
        if self.g_ema is not None:
            update_ema_(self.g_ema, self.gan.G, self.cfg.ema)

    def d_update(self) -> dict[str, torch.Tensor]:
        real, labels = self.real_batch()
        z, fake = self.fakes(grad=False)  # D's update needs no gradient through G
        loss, stats = self.d_objective(real, labels, fake, z)
        self.backward(loss, self.opt_d)
        self.step_d()
        return stats

    def g_update(self) -> dict[str, torch.Tensor]:
        with self.parallel.g_step():
            z, fake = self.fakes(grad=True)
            loss, stats = self.g_objective(z, fake)
        self.backward(loss, self.opt_g)
        self.step_g()
        return stats

    def joint_update(self) -> dict[str, torch.Tensor]:
        """train.simultaneous: both nets step at once, as Goodfellow et al.'s own code did
        (pylearn2): one batch of fakes, each net's gradient of its own loss at the same point,
        then both updates. G's gradient reads D before D's update instead of after it."""
        real, labels = self.real_batch()
        with self.parallel.g_step():
            z, fake = self.fakes(grad=True)
            d_loss, stats = self.d_objective(real, labels, fake.detach(), z)
            g_loss, g_stats = self.g_objective(z, fake)
        self.backward(d_loss, self.opt_d)
        self.backward(g_loss, self.opt_g)
        self.step_d()
        self.step_g()
        return {**stats, **g_stats}

    def train_step(self) -> dict[str, torch.Tensor]:
        schedule_([self.opt_g, self.opt_d], self.cfg, self.step)  # momentum ramp, lr decay
        if self.cfg.simultaneous:
            stats = self.joint_update()
        else:
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
            self._notify("on_start")
            while self.step < self.cfg.steps and not self.stop_requested:
                t0 = time.perf_counter()
                stats = self.train_step()
                self.elapsed += time.perf_counter() - t0
                self._notify("on_step", stats)
            self._notify("on_end")
        finally:
            restore()
        return self

    def _notify(self, event: str, *args) -> None:
        """Call every callback's `event`. Setting up (a health probe's feature space) and
        finishing (a last sample grid) may draw random numbers: the global RNG is forked around
        them so they never change what training draws next, and a resumed run stays
        bit-identical whatever callbacks are attached. `on_step` is not forked, because a
        rollback there restores the RNG on purpose; a step callback that needs randomness uses
        its own torch.Generator."""
        if event == "on_step":
            for cb in self.callbacks:
                cb.on_step(self, *args)
            return
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            for cb in self.callbacks:
                getattr(cb, event)(self, *args)

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
            "loss_scales": self.precision.state_dict(),  # fp16's; empty otherwise
            "rng": {"torch": torch.get_rng_state(), "z": self.z_gen.get_state(),
                    "penalty": self.penalty_gen.get_state(),
                    "instance_noise": self.instance_noise.generator.get_state()},
        }
        if torch.cuda.is_available() and self.device.type == "cuda":
            state["rng"]["cuda"] = torch.cuda.get_rng_state(self.device)
        stateful = {cb.state_key: cb.state_dict()
                    for cb in self.callbacks if hasattr(cb, "state_key")}
        if stateful:
            state["callbacks"] = stateful
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        for opt, key in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
            opt.load_state_dict(state[key])
            match_param_layout(opt)
        self.batches.load_state_dict(state["batches"])
        self.precision.load_state_dict(state.get("loss_scales", {}))
        torch.set_rng_state(state["rng"]["torch"])
        self.z_gen.set_state(state["rng"]["z"])
        if "penalty" in state["rng"]:  # absent from checkpoints of gankit before penalties
            self.penalty_gen.set_state(state["rng"]["penalty"])
        if "instance_noise" in state["rng"]:  # absent before instance noise
            self.instance_noise.generator.set_state(state["rng"]["instance_noise"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.callback_states = state.get("callbacks", {})
