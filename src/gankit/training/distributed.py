"""Data-parallel training under torchrun: one process per device, DistributedDataParallel.

    torchrun --standalone --nproc_per_node 4 -m gankit train ...        # 4 GPUs (or processes)

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; `init` reads them and joins the process group
(NCCL on CUDA, gloo on CPU). What every rank does the same way, so that W processes train the
model one process would train on the same global batch (train.batch_size, split W ways):
  - data: every rank draws the same global permutation (training/batches.py) and takes its
    contiguous slice of each global batch;
  - noise: every rank draws the global batch's noise from the shared seed and takes its slice;
  - gradients: G and D are wrapped in DDP, which averages them over ranks during backward();
    each rank's loss is a mean over its slice, so the average is the single-process gradient
    (up to float summation order). Without train.sync_batchnorm, BatchNorm normalises each
    rank's slice by its own statistics, and the result is no longer that of one process;
  - dropout masks and the gradient penalty's interpolation weights come from the seeded streams
    of every rank, which are identical: they repeat across ranks, and one checkpoint restores
    every rank exactly.
Rank 0 alone writes the run directory (checkpoints, logs, sample grids); the others wait for it
where they would read what it wrote. The logged losses are averaged over ranks, and a stop
(Ctrl-C, SIGTERM) on any rank stops every rank after the same step.

DDP wrappers stand in for G and D only during the forward passes of a training step
(`Parallel.d_step`, `Parallel.g_step`); checkpoints, sample grids and the moving average see the
plain modules, so a run trained on 8 GPUs loads and resumes in one process and vice versa.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import gc
import os
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from .. import errors
from ..errors import ConfigError, GankitError
from .callbacks import Checkpointer, Curves, JsonlLog, ProgressBar, SampleGrid


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def launched() -> bool:
    """True in a process that torchrun (or another launcher) started as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: torch.device) -> torch.device:
    """Join the process group when launched by torchrun and return this rank's device
    (cuda:LOCAL_RANK on GPUs); a single process gets `device` back untouched. A process group
    the caller initialised already is used as it is."""
    if not launched() and not dist.is_initialized():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        if not dist.is_available():
            raise ConfigError("this PyTorch build has no torch.distributed: run a single process")
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
        atexit.register(_destroy)
    return device


def _destroy() -> None:
    # DDP wrappers left for the garbage collector at exit make gloo abort the process now and
    # then ("terminate called without an active exception"); collect them before tearing down.
    gc.collect()
    if dist.is_initialized():
        dist.destroy_process_group()


def on_main(fn: Callable[..., Any], *args: Any) -> Any:
    """Run fn on rank 0 only while the other ranks wait; a GankitError raised there is raised
    on every rank, so each one stops with the same one-line message instead of hanging."""
    if world_size() == 1:
        return fn(*args)
    result, message = None, [None]
    if is_main():
        try:
            result = fn(*args)
        except GankitError as e:
            message = [(type(e).__name__, str(e))]
    dist.broadcast_object_list(message, src=0)  # also the barrier: rank 0 has finished fn
    if message[0] is not None:
        kind, text = message[0]
        raise getattr(errors, kind, GankitError)(text)
    return result


def _all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    dist.all_reduce(x)
    return x


class _GlobalSum(torch.autograd.Function):
    """Sum over ranks, differentiable: the gradient of a sum over ranks is the sum of the
    ranks' gradients."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return _all_reduce_sum(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _all_reduce_sum(grad)


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm over the global batch of all ranks, for devices that torch's SyncBatchNorm does
    not serve (CPU, gloo). Same parameters and buffers as nn.BatchNorm2d, so checkpoints are
    interchangeable; in eval mode, or in one process, it is nn.BatchNorm2d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and world_size() > 1):
            return super().forward(x)
        dims = (0, 2, 3)
        xf = x.float()
        count = torch.full((1,), xf.numel() / xf.shape[1], dtype=xf.dtype, device=xf.device)
        sums = _GlobalSum.apply(torch.cat([xf.sum(dims), (xf * xf).sum(dims), count]))
        c = x.shape[1]
        n = sums[-1]
        mean = sums[:c] / n
        var = (sums[c:2 * c] / n - mean * mean).clamp_min(0.0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else (
                    1.0 / float(self.num_batches_tracked))
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), momentum)
                unbiased = var.detach() * n / (n - 1).clamp_min(1.0)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        scale = torch.rsqrt(var + self.eps)
        shift = -mean * scale
        if self.affine:
            scale, shift = scale * self.weight, shift * self.weight + self.bias
        return (xf * scale[None, :, None, None] + shift[None, :, None, None]).to(x.dtype)


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm of `module` normalised over the global batch: torch's SyncBatchNorm on
    CUDA, GlobalBatchNorm2d elsewhere. Parameters and buffers are the same tensors."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            sync = GlobalBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                     child.track_running_stats)
            if child.affine:
                sync.weight, sync.bias = child.weight, child.bias
            sync.running_mean, sync.running_var = child.running_mean, child.running_var
            sync.num_batches_tracked = child.num_batches_tracked
            sync.train(child.training)
            setattr(module, name, sync)
        elif isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(
                child, (GlobalBatchNorm2d, nn.SyncBatchNorm)):
            raise ConfigError(f"train.sync_batchnorm on {device.type} handles BatchNorm2d, "
                              f"not {type(child).__name__}: turn it off or train on CUDA")
        else:
            convert_sync_batchnorm(child, device)
    return module


class SingleProcess:
    """One process: no sharding, no wrappers."""

    rank, world_size = 0, 1

    def shard(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def d_step(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    g_step = d_step


class DataParallel:
    """This rank's part of a data-parallel run: its slice of each global batch, and DDP
    wrappers of G and D for the forward passes whose gradients must be averaged over ranks."""

    def __init__(self, gan: nn.Module, device: torch.device, batch_size: int):
        self.gan, self.rank, self.world_size = gan, rank(), world_size()
        if batch_size % self.world_size:
            raise ConfigError(f"train.batch_size {batch_size} is the global batch and must split "
                              f"evenly over {self.world_size} processes: use a multiple of "
                              f"{self.world_size}")
        self.local_batch = batch_size // self.world_size
        ids = [device.index] if device.type == "cuda" else None
        # D is frozen during G's step and G runs without autograd during D's step, so each
        # wrapper is only ever called where all its parameters receive gradients.
        self.G = nn.parallel.DistributedDataParallel(gan.G, device_ids=ids)
        self.D = nn.parallel.DistributedDataParallel(gan.D, device_ids=ids)

    def shard(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice of a tensor that holds the whole global batch."""
        return x[self.rank * self.local_batch:(self.rank + 1) * self.local_batch]

    @contextlib.contextmanager
    def _wrapped(self, name: str, wrapper: nn.Module) -> Iterator[None]:
        plain = getattr(self.gan, name)
        setattr(self.gan, name, wrapper)
        try:
            yield
        finally:
            setattr(self.gan, name, plain)

    def d_step(self) -> contextlib.AbstractContextManager:
        """D's forward passes (its loss and penalties) through DDP; G, used without autograd
        here, stays plain."""
        return self._wrapped("D", self.D)

    def g_step(self) -> contextlib.AbstractContextManager:
        """G's forward pass through DDP; D, frozen here, stays plain: no gradients of D's
        weights are made, so its DDP wrapper would wait for gradients that never come."""
        return self._wrapped("G", self.G)


def make_parallel(gan: nn.Module, device: torch.device, batch_size: int,
                  sync_batchnorm: bool = False) -> SingleProcess | DataParallel:
    """DataParallel when a process group of several ranks is up, else SingleProcess. Call
    before building the optimizers (sync_batchnorm swaps BatchNorm modules)."""
    if world_size() == 1:
        return SingleProcess()
    if sync_batchnorm:
        gan.G = convert_sync_batchnorm(gan.G, device)
        gan.D = convert_sync_batchnorm(gan.D, device)
    return DataParallel(gan, device, batch_size)


class RankSync:
    """The first callback of every rank in a multi-process run: averages the step's logged
    statistics over ranks and shares stop requests, in one all_reduce per step, so that every
    rank stops after the same step; at the end, checks that the ranks' weights agree."""

    def on_start(self, trainer) -> None:
        pass

    def on_step(self, trainer, stats: dict[str, torch.Tensor]) -> None:
        keys = list(stats)
        values = [stats[k].detach().float().reshape(()) for k in keys]
        flag = torch.tensor(float(trainer.stop_requested), device=trainer.device)
        summed = _all_reduce_sum(torch.stack([*values, flag]))
        n = world_size()
        for i, k in enumerate(keys):
            stats[k] = summed[i] / n
        if summed[-1].item() > 0 and not trainer.stop_requested:
            trainer.stop_requested, trainer.stop_reason = True, "stop requested on another rank"

    def on_end(self, trainer) -> None:
        check_replicas(trainer.gan)


def check_replicas(module: nn.Module) -> None:
    """Raise if the ranks' parameters differ: DDP keeps them equal, so a difference is a bug
    (a parameter outside the wrapped modules, or a rank that skipped a step)."""
    if world_size() == 1:
        return
    params = [p.detach().double().sum() for p in module.parameters()]
    if not params:
        return
    local = torch.stack(params)
    low, high = local.clone(), local.clone()
    dist.all_reduce(low, dist.ReduceOp.MIN)
    dist.all_reduce(high, dist.ReduceOp.MAX)
    if not torch.equal(low, high):
        raise RuntimeError("the ranks' weights diverged: a gankit bug, please report it")


# Callbacks that write into the run directory, rank 0's alone; a callback of your own that
# writes files says so with a class attribute `rank_zero_only = True`.
WRITERS = (JsonlLog, ProgressBar, SampleGrid, Checkpointer, Curves)


def for_this_rank(callbacks: list[Any]) -> list[Any]:
    """The callbacks this rank runs: all of them in one process; under torchrun, RankSync
    first, and the writers only on rank 0."""
    if world_size() == 1:
        return list(callbacks)
    mine = callbacks if is_main() else [
        cb for cb in callbacks
        if not (isinstance(cb, WRITERS) or getattr(cb, "rank_zero_only", False))]
    return [RankSync(), *mine]
