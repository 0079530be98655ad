"""What every dataset looks like to the rest of gankit.

A dataset is indexable by a LongTensor of positions and returns a batch. Data small enough for
memory is one tensor (``TensorDataset``): a batch is a single ``index_select``, no per-item Python.
Larger data streams from disk through the same ``get`` (see ``data/images.py``).

Value ranges are the data's own: images are float32 N x C x H x W in [0, 1]; points are
float32 N x D in their native coordinates. Models map to and from their own range.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import torch


@dataclass
class TensorDataset:
    """A dataset held in memory as one tensor (and optional labels)."""

    x: torch.Tensor                      # float32; N x C x H x W in [0, 1] or N x D points
    y: torch.Tensor | None = None        # int64 labels, N
    name: str = "arrays"
    kind: str = "image"                  # "image" | "points"
    num_classes: int = 0
    class_names: list[str] | None = None
    modes: torch.Tensor | None = None    # true mode centers (K x D) for mixtures
    mode_std: float | None = None        # the std of each mixture component
    info: dict = field(default_factory=dict)  # provenance: files, md5s, source

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one item: (C, H, W) for images, (D,) for points."""
        return tuple(self.x.shape[1:])

    def get(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.x.index_select(0, index)
        y = None if self.y is None else self.y.index_select(0, index)
        return x, y


class Dataset(Protocol):
    """What the rest of gankit may rely on: ``TensorDataset`` and the streaming image folder."""

    name: str
    kind: str
    num_classes: int
    class_names: list[str] | None
    modes: torch.Tensor | None
    mode_std: float | None
    info: dict

    def __len__(self) -> int: ...

    @property
    def sample_shape(self) -> tuple[int, ...]: ...

    def get(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]: ...


class Head:
    """The first n items of a dataset that streams (the others are sliced, see ``first_items``)."""

    def __init__(self, base: Dataset, n: int):
        self.base, self.n = base, n

    def __len__(self) -> int:
        return self.n

    def __getattr__(self, name: str):  # name, kind, sample_shape, classes, info: the base's
        if name == "base":  # not set yet (a copy being built): no endless lookup
            raise AttributeError(name)
        return getattr(self.base, name)

    def get(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.base.get(index)


def first_items(dataset: Dataset, n: int) -> Dataset:
    """The first n items (all of them when n is 0 or at least the dataset's length)."""
    if n <= 0 or n >= len(dataset):
        return dataset
    if isinstance(dataset, TensorDataset):
        return replace(dataset, x=dataset.x[:n], y=None if dataset.y is None else dataset.y[:n],
                       info={**dataset.info, "first": n})
    return Head(dataset, n)


def data_mean(dataset: Dataset, chunk: int = 10000) -> torch.Tensor:
    """The mean item (float64), read in chunks so streamed data never sits in memory at once."""
    total = torch.zeros(dataset.sample_shape, dtype=torch.float64)
    for i in range(0, len(dataset), chunk):
        x, _ = dataset.get(torch.arange(i, min(i + chunk, len(dataset))))
        total += x.double().sum(0)
    return total / len(dataset)
