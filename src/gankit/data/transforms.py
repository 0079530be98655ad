"""Batch image transforms shared by every image source: square crop, resize, channel count.

All take and return float32 N x C x H x W in [0, 1].
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from gankit.errors import DataError

# ITU-R 601 luma, the weights PIL uses for RGB -> "L", so folders and tensors agree.
LUMA = torch.tensor([0.299, 0.587, 0.114])
CHANNEL_CHOICES = (1, 3)


def center_crop_square(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return x[..., top:top + side, left:left + side]


def resize(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Center-crop to a square, then antialiased bilinear resize to resolution x resolution."""
    x = center_crop_square(x)
    if x.shape[-1] == resolution:
        return x
    out = F.interpolate(x, size=(resolution, resolution), mode="bilinear",
                        antialias=True, align_corners=False)
    return out.clamp_(0, 1)


def set_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Gray -> RGB repeats the plane (as a view: no extra memory); RGB -> gray takes luma."""
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1)
    return (x * LUMA.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def check_image_options(resolution: int | None, channels: int | None) -> None:
    if resolution is not None and (not isinstance(resolution, int) or resolution < 1):
        raise DataError(f"resolution must be a positive integer, got {resolution!r}")
    if channels is not None and channels not in CHANNEL_CHOICES:
        raise DataError(f"channels must be 1 or 3, got {channels!r}")


def apply_image_options(dataset, resolution: int | None, channels: int | None):
    """The in-memory image dataset resized and/or recoloured; unchanged when both are None."""
    check_image_options(resolution, channels)
    x = dataset.x
    if resolution is not None:  # before set_channels, so gray -> RGB resizes one plane, not three
        x = resize(x, resolution)
    if channels is not None:
        x = set_channels(x, channels)
    if x is dataset.x:
        return dataset
    return dataclasses.replace(dataset, x=x, info={**dataset.info, "shape": list(x.shape[1:])})
