"""Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN): three MNIST digits in the three colour
channels, 10 x 10 x 10 = 1,000 modes. The label is 100 * d0 + 10 * d1 + d2.

Each split draws its digits (with a seeded generator) from the same split of MNIST, as many
stacked images as MNIST has in that split (60,000 / 10,000).
"""

from __future__ import annotations

import torch

from gankit.data.base import TensorDataset
from gankit.data.mnist import mnist


def stacked_mnist(data_dir=None, split: str = "train", download: bool = True, seed: int = 0) -> TensorDataset:
    digits = mnist(data_dir, split, download)
    n = len(digits)
    gen = torch.Generator().manual_seed(seed + (0 if split == "train" else 1))
    picks = torch.randint(n, (n, 3), generator=gen)                 # n x 3 indices into MNIST
    x = digits.x[:, 0][picks]                                        # n x 3 x 28 x 28
    y = (digits.y[picks] * torch.tensor([100, 10, 1])).sum(1)
    return TensorDataset(
        x=x, y=y, name="stacked-mnist", kind="image", num_classes=1000,
        class_names=[f"{i:03d}" for i in range(1000)],
        info={"source": "mnist", "split": split, "seed": seed, "mnist": digits.info},
    )
