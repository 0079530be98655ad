"""What every dataset looks like to the rest of gankit.

A dataset is indexable by a LongTensor of positions and returns a batch. Data small enough for
memory is one tensor (``TensorDataset``): a batch is a single ``index_select``, no per-item Python.
Larger data streams from disk through the same ``get`` (see ``data/images.py``).

Value ranges are the data's own: images are float32 N x C x H x W in [0, 1]; points are
float32 N x D in their native coordinates. Models map to and from their own range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
