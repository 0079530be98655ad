"""Pictures a person can open: image grids, 2-D scatter plots, training curves (PNG)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def grid_array(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """N x C x H x W in [0, 1] -> one H' x W' (x 3) uint8 array, nrow images per row."""
    images = images.detach().float().clamp(0, 1).cpu()
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    canvas = torch.ones(c, rows * (h + pad) + pad, nrow * (w + pad) + pad)
    for i, img in enumerate(images):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        canvas[:, top:top + h, left:left + w] = img
    arr = (canvas * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return arr[:, :, 0] if c == 1 else arr


def save_image_grid(images: torch.Tensor, path: Path, nrow: int | None = None, scale: int = 0) -> None:
    """Save a grid; small images are upscaled (nearest) so a 28 px digit is visible."""
    img = Image.fromarray(grid_array(images, nrow))
    scale = scale or max(1, 256 // max(images.shape[-1], 1) // 2)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    img.save(path)


def save_points(points: torch.Tensor, path: Path, real: torch.Tensor | None = None,
                modes: torch.Tensor | None = None, title: str = "") -> None:
    """Scatter generated 2-D points over real ones (and the true mode centers, if known)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:gray", alpha=0.3, label="data")
    ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:blue", alpha=0.6, label="generated")
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", c="tab:red", label="modes")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_samples(samples: torch.Tensor, path: Path, **kwargs) -> None:
    """Images -> grid, points -> scatter."""
    if samples.dim() == 4:
        save_image_grid(samples, path, nrow=kwargs.get("nrow"))
    elif samples.dim() == 2 and samples.shape[1] == 2:
        save_points(samples, path, **{k: v for k, v in kwargs.items() if k != "nrow"})
    else:
        raise ValueError(f"cannot draw samples of shape {tuple(samples.shape)}: save them as .npy")


def plot_curves(log_path: Path, out_path: Path) -> bool:
    """Losses and mean D outputs against step, from a run's log.jsonl. False if nothing to plot."""
    records = []
    for line in Path(log_path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:  # blank, or cut short by a crash
            pass
    records = [r for r in records if isinstance(r, dict) and "loss_d" in r]
    if not records:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in records]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for key in ("loss_d", "loss_g"):
        ax1.plot(steps, [r[key] for r in records], label=key)
    ax1.set_xlabel("generator step")
    ax1.set_title("losses")
    ax1.legend()
    for key, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        ax2.plot(steps, [r[key] for r in records], label=label)
    ax2.set_xlabel("generator step")
    ax2.set_title("mean discriminator output")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out_path)
    plt.close(fig)
    return True
