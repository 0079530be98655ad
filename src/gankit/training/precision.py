"""Numeric precision of training (train.precision): the dtype of the forward passes and losses,
and the loss scaling that float16 needs.

    fp32  everything in float32 (the default; bit-exact resume on CPU)
    bf16  torch.autocast to bfloat16 around G's and D's forward passes and the losses; weights,
          gradients and optimizer states stay float32. bfloat16 keeps float32's exponent range,
          so no loss scaling. Fast where the CPU has AVX512-BF16 / AMX or the GPU bf16 tensor
          cores; elsewhere it can be slower than fp32 (benchmarks/throughput.py measures it).
    fp16  autocast to float16 with a dynamic loss scale per optimizer (torch.amp.GradScaler):
          gradients are computed on scale * loss so that small ones do not flush to zero, and a
          step whose gradients overflow is skipped while the scale backs off. Meant for CUDA.

D's logits are cast back to float32 before the loss: softplus, sigmoid and a batch mean lose too
much in bfloat16's 8-bit mantissa (CPU autocast would otherwise keep them in bfloat16).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..registry import Registry


@dataclass(frozen=True)
class PrecisionSpec:
    dtype: torch.dtype | None  # autocast dtype; None runs in float32 without autocast
    scaled: bool = False       # dynamic loss scaling (float16's narrow exponent range)


PRECISIONS: Registry[PrecisionSpec] = Registry("precision")
PRECISIONS.add("fp32", PrecisionSpec(None))
PRECISIONS.add("bf16", PrecisionSpec(torch.bfloat16))
PRECISIONS.add("fp16", PrecisionSpec(torch.float16, scaled=True))


def _float_output(module: nn.Module, inputs: Any, output: Any) -> Any:
    return output.float() if torch.is_tensor(output) and output.is_floating_point() else output


class Precision:
    """What the loop asks around each update:

        with precision.autocast():                 # forward passes and the loss
            loss = ...
        precision.scale(loss, opt).backward()      # scale * loss under fp16, else loss
        precision.step(opt)                        # opt.step(), unscaled and overflow-checked under fp16
    """

    def __init__(self, name: str, device: torch.device,
                 optimizers: dict[str, torch.optim.Optimizer], D: nn.Module):
        spec = PRECISIONS.get(name)
        self.name, self.dtype, self.device_type = name, spec.dtype, torch.device(device).type
        self.scalers = ({key: torch.amp.GradScaler(self.device_type) for key in optimizers}
                        if spec.scaled else {})
        self._key = {id(opt): key for key, opt in optimizers.items()}
        if self.dtype is not None:
            D.register_forward_hook(_float_output)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def _scaler(self, opt: torch.optim.Optimizer) -> torch.amp.GradScaler | None:
        return self.scalers.get(self._key.get(id(opt), ""))

    def scale(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> torch.Tensor:
        scaler = self._scaler(opt)
        return loss if scaler is None else scaler.scale(loss)

    def step(self, opt: torch.optim.Optimizer) -> None:
        scaler = self._scaler(opt)
        if scaler is None:
            opt.step()
            return
        scaler.step(opt)  # unscales the gradients; skips the step if any is inf or nan
        scaler.update()

    # The loss scales and their growth counters belong to an exact resume.
    def state_dict(self) -> dict[str, Any]:
        return {key: scaler.state_dict() for key, scaler in self.scalers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, scaler in self.scalers.items():
            if key in state:
                scaler.load_state_dict(state[key])
