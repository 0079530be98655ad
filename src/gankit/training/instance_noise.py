"""Instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017): Gaussian noise on everything D
reads, real and fake alike, in D's steps and G's.

Blurring both distributions makes them overlap, so D cannot separate them perfectly and G's
gradient stays informative early on; the noise's std falls linearly from train.instance_noise
at step 0 to 0 at the run's last step (train.steps), leaving the true objective at the end.
The noise comes from a generator of its own, saved in checkpoints, so a resumed run draws the
same noise as one that never stopped.
"""

from __future__ import annotations

from typing import Any

import torch


def annealed_std(std: float, step: int, steps: int) -> float:
    """std at generator update `step` of `steps`: linear from std to 0."""
    return std * max(0.0, 1.0 - step / steps)


class InstanceNoise:
    def __init__(self, std: float, steps: int, device: torch.device, seed: int):
        self.std, self.steps = std, steps
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __call__(self, x: torch.Tensor, step: int) -> torch.Tensor:
        std = annealed_std(self.std, step, self.steps)
        if std == 0.0:
            return x
        return x + std * torch.randn(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
