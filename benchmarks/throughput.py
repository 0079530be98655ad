"""Training throughput: gankit's loop next to plain PyTorch loops of the same DCGAN.

    python benchmarks/throughput.py                      # 28x28 DCGAN, batch 64, 5 rounds
    python benchmarks/throughput.py --resolution 64 --channels 3 --rounds 3

Each round times every loop for --steps iterations (after warm-up), one loop after another, so a
slow moment of the machine hits all of them alike; the table shows medians over rounds and the
ratio of gankit to each plain loop. Images/s counts real images consumed by D (batch x k).

The plain loops are what a user writes from the papers, with the same nets, batch, optimizer
(Adam 2e-4, betas 0.5/0.999) and loss (non-saturating, BCE on logits):
  plain-alg1      Algorithm 1 as published: fresh noise for the G update (what gankit does)
  plain-examples  pytorch/examples/dcgan: the G update reuses the D step's fake batch, one G
                  forward fewer per iteration, at the price of G training on the z that D just saw
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from gankit.config import TrainConfig
from gankit.data.base import TensorDataset
from gankit.gans import GAN
from gankit.losses import LOSSES
from gankit.nets import DCGANDiscriminator, DCGANGenerator
from gankit.training import Trainer


def nets(args):
    torch.manual_seed(0)
    width = args.width or (128 if args.resolution <= 28 else 64)
    return (DCGANGenerator(100, args.resolution, args.channels, width),
            DCGANDiscriminator(args.resolution, args.channels, width))


def plain_loop(args, data: torch.Tensor, reuse_fake: bool):
    G, D = nets(args)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    b = args.batch_size
    ones, zeros = torch.ones(b), torch.zeros(b)

    def step():
        real = data[torch.randint(0, data.shape[0], (b,))] * 2 - 1
        fake = G(torch.randn(b, 100))
        # D: maximise log D(x) + log(1 - D(G(z)))
        opt_d.zero_grad()
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        # G: maximise log D(G(z))
        if not reuse_fake:
            fake = G(torch.randn(b, 100))
        opt_g.zero_grad()
        loss_g = bce(D(fake), ones)
        loss_g.backward()
        opt_g.step()

    return step


def gankit_loop(args, data: torch.Tensor):
    G, D = nets(args)
    gan = GAN(G, D, LOSSES.get("nonsaturating"), latent_dim=100)
    trainer = Trainer(gan, TensorDataset(data), TrainConfig(batch_size=args.batch_size))
    return trainer.train_step


def images_per_second(step, steps: int, batch: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=28)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--width", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=15, help="timed iterations per loop per round")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()

    data = torch.rand(4096, args.channels, args.resolution, args.resolution)  # content is irrelevant to speed
    loops = {"gankit": gankit_loop(args, data),
             "plain-alg1": plain_loop(args, data, reuse_fake=False),
             "plain-examples": plain_loop(args, data, reuse_fake=True)}
    for step in loops.values():
        for _ in range(args.warmup):
            step()
    results: dict[str, list[float]] = {name: [] for name in loops}
    for r in range(args.rounds):
        for name, step in loops.items():
            results[name].append(images_per_second(step, args.steps, args.batch_size))
        print(f"round {r + 1}: " + "  ".join(f"{n} {v[-1]:.0f}" for n, v in results.items()), flush=True)

    med = {name: statistics.median(v) for name, v in results.items()}
    print(f"\nDCGAN {args.resolution}x{args.resolution}x{args.channels}, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"median of {args.rounds} rounds x {args.steps} steps")
    print(f"{'loop':<16}{'images/s':>10}{'gankit / loop':>16}")
    for name, v in med.items():
        print(f"{name:<16}{v:>10.0f}{med['gankit'] / v:>16.2f}")


if __name__ == "__main__":
    main()
