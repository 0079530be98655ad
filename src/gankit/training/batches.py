"""Minibatch indices: a fresh random permutation each epoch, drawn from one seeded generator.

The state is (generator state at the start of the epoch, position in it), so a resumed run
rebuilds the same permutation and continues with the very next batch.

Under torchrun every rank holds the same generator and walks the same global batches; each
takes its contiguous slice (rank r of W gets items r*B/W .. (r+1)*B/W - 1 of the global batch
of B), so the ranks together see exactly the batches of a single process, and any rank's state
resumes them all.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError


class Batches:
    def __init__(self, size: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        if batch_size > size:
            raise ConfigError(
                f"batch size {batch_size} is larger than the dataset ({size} items): "
                "lower --batch-size"
            )
        self.size, self.batch_size = size, batch_size  # batch_size: the global batch
        local = batch_size // world_size
        self.local = slice(rank * local, (rank + 1) * local)
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch_start_state: torch.Tensor | None = None
        self.perm: torch.Tensor | None = None
        self.pos = 0
        self.epoch = 0

    def next(self) -> torch.Tensor:
        if self.perm is None or self.pos + self.batch_size > self.size:  # drop the ragged tail
            self.epoch_start_state = self.generator.get_state()
            self.perm = torch.randperm(self.size, generator=self.generator)
            self.pos = 0
            self.epoch += 1
        index = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return index[self.local]

    def state_dict(self) -> dict:
        return {"epoch_start_state": self.epoch_start_state, "pos": self.pos, "epoch": self.epoch,
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.pos, self.epoch = state["pos"], state["epoch"]
        if state["epoch_start_state"] is None:
            self.perm = None
            self.generator.set_state(state["generator"])
            return
        self.generator.set_state(state["epoch_start_state"])
        self.perm = torch.randperm(self.size, generator=self.generator)
        self.epoch_start_state = state["epoch_start_state"]
