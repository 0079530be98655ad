"""gankit's performance record: training throughput next to plain PyTorch loops of the same DCGAN,
the machine's peak, FLOP/s achieved, sampling throughput and peak memory of training.

    python benchmarks/throughput.py                      # 28x28x1 and 64x64x3 DCGAN, batch 64
    python benchmarks/throughput.py --quick              # a minute: fewer rounds, smaller peak test
    python benchmarks/throughput.py --configs 28x28x1 --loops gankit,plain-alg1 --rounds 7
    python benchmarks/throughput.py --device cuda --loops gankit,gankit-bf16,gankit-fp16,plain-alg1,plain-examples

Training: each round runs --steps iterations of every loop (after warm-up), interleaved step by
step (one step of each loop in turn, the order rotating), so a slow moment of a shared machine
hits all of them alike. The table shows each loop's median images/s over rounds, and its ratio
to the plain fp32 loops: the median over rounds of the ratio within a round. Images/s counts
real images consumed by D (batch x k).

The plain loops are what a user writes from the papers, with the same nets, batch, optimizer
(Adam 2e-4, betas 0.5/0.999) and loss (non-saturating, BCE on logits), in float32:
  plain-alg1      Algorithm 1 as published: fresh noise for the G update (what gankit does)
  plain-examples  pytorch/examples/dcgan: the G update reuses the D step's fake batch, one G
                  forward fewer per iteration, at the price of G training on the z that D just saw
gankit, gankit-bf16 and gankit-fp16 are `Trainer.train_step` with train.precision fp32, bf16
and fp16 (fp16, with its loss scaling, is meant for CUDA).

Peak: the fastest of several large square matrix products (torch.mm) in float32 and bfloat16.
FLOPs per iteration are counted by torch.utils.flop_counter.FlopCounterMode on one iteration of
each loop (convolutions and matrix products, forward and backward); achieved FLOP/s is that
count times iterations per second, and "% of peak" compares it with the peak of the loop's
dtype. Sampling: images/s of `GAN.sample` (what `gankit sample` and `Run.sample` call: eval mode,
no autograd, batches of 500). Memory: the peak resident set (VmHWM, else ru_maxrss) of a fresh process per
loop that builds the nets and data and trains --memory-steps iterations, next to one that
only builds them ("idle"); on CUDA, torch.cuda.max_memory_allocated instead.
With --device cuda every timed region ends with torch.cuda.synchronize().
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from gankit.config import TrainConfig
from gankit.data.base import TensorDataset
from gankit.gans import GAN
from gankit.losses import LOSSES
from gankit.nets import DCGANDiscriminator, DCGANGenerator
from gankit.training import Trainer

LATENT = 100
DEVICE = torch.device("cpu")  # --device


def sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)
DATA_ITEMS = 1024  # content is irrelevant to speed; kept small so memory shows the training


@dataclass(frozen=True)
class Shape:
    resolution: int
    channels: int
    width: int  # DCGAN's channels next to the image (gankit's default for the resolution)


CONFIGS = {"28x28x1": Shape(28, 1, 128), "64x64x3": Shape(64, 3, 64)}


def nets(shape: Shape) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    return (DCGANGenerator(LATENT, shape.resolution, shape.channels, shape.width).to(DEVICE),
            DCGANDiscriminator(shape.resolution, shape.channels, shape.width).to(DEVICE))


def plain_loop(shape: Shape, data: torch.Tensor, batch: int, reuse_fake: bool) -> Callable[[], None]:
    G, D = nets(shape)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, device=DEVICE), torch.zeros(batch, device=DEVICE)

    def step():
        real = data[torch.randint(0, data.shape[0], (batch,), device=data.device)] * 2 - 1
        fake = G(torch.randn(batch, LATENT, device=DEVICE))
        # D: maximise log D(x) + log(1 - D(G(z)))
        opt_d.zero_grad()
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        # G: maximise log D(G(z))
        if not reuse_fake:
            fake = G(torch.randn(batch, LATENT, device=DEVICE))
        opt_g.zero_grad()
        loss_g = bce(D(fake), ones)
        loss_g.backward()
        opt_g.step()

    return step


def gankit_trainer(shape: Shape, data: torch.Tensor, batch: int, precision: str) -> Trainer:
    G, D = nets(shape)
    gan = GAN(G, D, LOSSES.get("nonsaturating"), latent_dim=LATENT)
    return Trainer(gan, TensorDataset(data), TrainConfig(batch_size=batch, precision=precision))


# name -> (builder, dtype of its matrix products)
LOOPS: dict[str, tuple[Callable[..., Callable[[], object]], str]] = {
    "gankit": (lambda s, d, b: gankit_trainer(s, d, b, "fp32").train_step, "fp32"),
    "gankit-bf16": (lambda s, d, b: gankit_trainer(s, d, b, "bf16").train_step, "bf16"),
    "gankit-fp16": (lambda s, d, b: gankit_trainer(s, d, b, "fp16").train_step, "fp16"),
    "plain-alg1": (lambda s, d, b: plain_loop(s, d, b, reuse_fake=False), "fp32"),
    "plain-examples": (lambda s, d, b: plain_loop(s, d, b, reuse_fake=True), "fp32"),
}
BASELINES = ("plain-alg1", "plain-examples")


# --- measurements -----------------------------------------------------------------------------
def seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of fn over `repeats` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_flops(n: int, repeats: int) -> dict[str, float]:
    """FLOP/s of an n x n matrix product in float32, bfloat16 and float16: the fastest of
    `repeats`, since a peak is what the machine can do when nothing else runs. (On CUDA, float32
    products use TF32 tensor cores only if torch.backends.cuda.matmul.allow_tf32 is set; gankit
    leaves PyTorch's default, full float32.)"""
    out = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
        a, b = torch.randn(n, n, dtype=dtype, device=DEVICE), torch.randn(n, n, dtype=dtype, device=DEVICE)
        torch.mm(a, b)
        fastest = float("inf")
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            torch.mm(a, b)
            sync()
            fastest = min(fastest, time.perf_counter() - t0)
        out[name] = 2 * n**3 / fastest
    return out


def flops_per_step(step: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def steps_for(shape: Shape, args) -> int:
    if args.steps:
        return args.steps
    steps = 15 if shape.resolution <= 32 else 4
    return max(1, steps // 3) if args.quick else steps


def training(shape: Shape, loops: list[str], args, timed: int) -> dict[str, dict]:
    data = torch.rand(DATA_ITEMS, shape.channels, shape.resolution, shape.resolution, device=DEVICE)
    steps = {name: LOOPS[name][0](shape, data, args.batch_size) for name in loops}
    flops = {}
    for name, step in steps.items():
        for _ in range(args.warmup):
            step()
        flops[name] = flops_per_step(step)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for r in range(args.rounds):
        # one step of each loop in turn, so load that comes and goes hits every loop alike
        spent = dict.fromkeys(loops, 0.0)
        for i in range(timed):
            shift = (r * timed + i) % len(loops)
            for name in loops[shift:] + loops[:shift]:
                sync()
                t0 = time.perf_counter()
                steps[name]()
                sync()
                spent[name] += time.perf_counter() - t0
        for name in loops:
            rates[name].append(timed * args.batch_size / spent[name])
        print(f"  round {r + 1}: " + "  ".join(f"{n} {rates[n][-1]:.0f}" for n in loops),
              flush=True)
    # ratios are taken within each round (same moments of the machine), then their median
    return {name: {"images_per_s": statistics.median(rates[name]), "rounds": rates[name],
                   "vs": {b: statistics.median(x / y for x, y in zip(rates[name], rates[b]))
                          for b in BASELINES if b in rates},
                   "flops_per_step": flops[name], "dtype": LOOPS[name][1]} for name in loops}


def sampling(shape: Shape, n: int, repeats: int) -> float:
    """Images/s of GAN.sample, as `gankit sample` draws them."""
    G, D = nets(shape)
    gan = GAN(G, D, LOSSES.get("nonsaturating"), latent_dim=LATENT)
    return n / seconds(lambda: gan.sample(n, seed=0), repeats)


def peak_rss_mib() -> float:
    """This process's peak resident set. Linux's VmHWM belongs to the process's own memory
    map; ru_maxrss there also carries the parent's peak from before fork + exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)


def memory_child(config: str, loop: str, batch: int, steps: int) -> None:
    """Runs in a fresh process: print the peak resident set after `steps` training iterations."""
    shape = CONFIGS[config]
    data = torch.rand(DATA_ITEMS, shape.channels, shape.resolution, shape.resolution, device=DEVICE)
    if loop != "idle":
        step = LOOPS[loop][0](shape, data, batch)
        for _ in range(steps):
            step()
    else:
        nets(shape)
    if DEVICE.type == "cuda":
        sync()
        print(json.dumps({"maxrss_mib": torch.cuda.max_memory_allocated(DEVICE) / 2**20}))
    else:
        print(json.dumps({"maxrss_mib": peak_rss_mib()}))


def peak_memory(config: str, loop: str, args) -> float:
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", config, loop,
           "--batch-size", str(args.batch_size), "--memory-steps", str(args.memory_steps),
           "--device", args.device]
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])["maxrss_mib"]


# --- report -----------------------------------------------------------------------------------
def table(config: str, shape: Shape, results: dict[str, dict], peak: dict[str, float],
          args, timed: int) -> str:
    rows = [f"DCGAN {config} (width {shape.width}), batch {args.batch_size}, median of "
            f"{args.rounds} rounds x {timed} interleaved steps; ratios: median of per-round ratios",
            "",
            "| loop | images/s | vs plain-alg1 | vs plain-examples | GFLOP/iter | GFLOP/s | % of peak |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        ratios = [f"{r['vs'][b]:.2f}" if b in r["vs"] else "-" for b in BASELINES]
        its = r["images_per_s"] / args.batch_size
        achieved = r["flops_per_step"] * its
        share = f"{100 * achieved / peak[r['dtype']]:.0f}% {r['dtype']}" if peak else "-"
        rows.append(f"| {name} | {r['images_per_s']:.0f} | {ratios[0]} | {ratios[1]} | "
                    f"{r['flops_per_step'] / 1e9:.1f} | {achieved / 1e9:.0f} | {share} |")
    return "\n".join(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"of {', '.join(CONFIGS)}")
    p.add_argument("--loops", default=",".join(LOOPS), help=f"of {', '.join(LOOPS)}")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=0, help="timed iterations per loop per round "
                   "(default: 15 at 28 px, 4 at 64 px; --quick: a third)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--peak-size", type=int, default=4096, help="n of the n x n peak matmul")
    p.add_argument("--samples", type=int, default=2000, help="images per sampling measurement")
    p.add_argument("--memory-steps", type=int, default=5)
    p.add_argument("--quick", action="store_true",
                   help="3 rounds, a third of the steps, 2048 peak matmul, fewer samples")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--json", help="also write every number to this file")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--memory-child", nargs=2, metavar=("CONFIG", "LOOP"), help=argparse.SUPPRESS)
    args = p.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    if DEVICE.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is visible to PyTorch")

    if args.memory_child:
        memory_child(*args.memory_child, args.batch_size, args.memory_steps)
        return
    if args.quick:
        args.rounds, args.warmup, args.samples = 3, 1, 500
        args.peak_size, args.memory_steps = min(args.peak_size, 2048), 2
    configs, loops = args.configs.split(","), args.loops.split(",")
    for name in configs + loops:
        if name not in CONFIGS and name not in LOOPS:
            p.error(f"unknown config or loop '{name}'")

    load = os.getloadavg()
    where = (torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda"
             else f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {where}, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    peak = peak_flops(args.peak_size, repeats=3 if args.quick else 5)
    peak_text = ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in peak.items())
    print(f"peak ({args.peak_size}^2 matmul): {peak_text}", flush=True)

    record: dict = {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": where,
                    "load_average_start": load, "peak_flops": peak, "configs": {}}
    reports = []
    for config in configs:
        shape = CONFIGS[config]
        timed = steps_for(shape, args)
        print(f"\n{config}: training", flush=True)
        results = training(shape, loops, args, timed)
        rate = sampling(shape, args.samples, repeats=3)
        print(f"  sampling: {rate:.0f} images/s", flush=True)
        memory = {} if args.no_memory else {
            loop: peak_memory(config, loop, args) for loop in ["idle", *loops]}
        record["configs"][config] = {"training": results, "sampling_images_per_s": rate,
                                     "peak_rss_mib": memory}
        text = table(config, shape, results, peak, args, timed)
        text += f"\n\nsampling (GAN.sample, fp32, batches of 500): {rate:.0f} images/s"
        if memory:
            what = "peak CUDA memory allocated" if DEVICE.type == "cuda" else "peak RSS"
            text += (f"\n{what} of a fresh process after "
                     f"{args.memory_steps} iterations (MiB): "
                     + ", ".join(f"{k} {v:.0f}" for k, v in memory.items()))
        reports.append(text)

    load = os.getloadavg()
    record["load_average_end"] = load
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{where}; peak: {peak_text} ({args.peak_size}^2 torch.mm)\n")
    print("\n\n".join(reports))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)


if __name__ == "__main__":
    main()
