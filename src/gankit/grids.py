"""Sample grids that show what a latent part controls: one row per class of a conditional run,
and InfoGAN's code traversals. Each returns (samples in row-major order, images per row).

    class_grid   row k holds class k; column j uses the same noise in every row, so a column
                 shows one "style" across the classes
    code_grid    InfoGAN's Figure 2: along each row one code varies from left to right (the
                 categorical code through its values, a continuous code from -2 to 2, past the
                 training range U(-1, 1) as in the paper) while the noise and the other codes
                 stay fixed; each row is another draw of them
"""

from __future__ import annotations

import torch

from .errors import ConfigError


def _generator(run, seed: int) -> torch.Generator:
    return torch.Generator(device=run.gan.device).manual_seed(seed)


def class_index(run, value: str | int) -> int:
    """A class of a conditional run by index or by name (image folders name their classes)."""
    if not run.gan.conditional:
        raise ConfigError("this run is not conditional: it was trained without labels "
                          "(train it with --conditional)")
    names = run.data_info.class_names or []
    if isinstance(value, str) and value in names:
        return names.index(value)
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"unknown class '{value}': use 0..{run.data_info.num_classes - 1}"
                          + (f" or one of {', '.join(names)}" if names else "")) from None


def class_grid(run, per_class: int = 10, seed: int = 0, raw: bool = False) -> tuple[torch.Tensor, int]:
    layout = run.gan.latent
    if not layout.num_classes:
        raise ConfigError("a grid of classes needs a conditional run (train it with --conditional)")
    z = run.gan.sample_z(per_class, _generator(run, seed)).repeat(layout.num_classes, 1)
    labels = torch.arange(layout.num_classes).repeat_interleave(per_class)
    z = layout.with_labels(z, labels.to(z.device))
    return run.gan.generate(z, None if raw else run.G_ema), per_class


def code_grid(run, code: str = "c1", rows: int = 10, seed: int = 0, raw: bool = False,
              steps: int = 10, span: float = 2.0) -> tuple[torch.Tensor, int]:
    """`steps` values of a continuous code from -span to span, or all of the categorical code's."""
    layout = run.gan.latent
    if layout.categorical and layout.code_index(code) == 0:
        values = torch.arange(layout.categorical)
    else:
        values = torch.linspace(-span, span, steps)
    # row r: draw r of the noise and the codes, once per value
    z = run.gan.sample_z(rows, _generator(run, seed)).repeat_interleave(len(values), dim=0)
    z = layout.with_code(z, code, values.repeat(rows).to(z.device))
    return run.gan.generate(z, None if raw else run.G_ema), len(values)
