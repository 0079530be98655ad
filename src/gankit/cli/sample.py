"""gankit sample RUN -n N -o grid.png | samples.npy | folder/

Conditional runs: --class C (every sample of class C), --grid classes (one row per class).
InfoGAN runs: --vary c1 (one code varies along each row)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import viz
from ..errors import ConfigError


def register(subs) -> None:
    p = subs.add_parser("sample", help="draw samples from a trained run",
                        description="Draw samples from a run: a grid (.png), the raw array "
                                    "(.npy, data shape and range), or one PNG each (folder/).")
    p.add_argument("run", help="run directory")
    p.add_argument("-n", type=int, default=None,
                   help="number of samples (default 64); per class with --grid classes, rows with "
                        "--vary (default 10)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("-o", "--out", required=True, help="OUT.png, OUT.npy or FOLDER/")
    p.add_argument("--nrow", type=int, default=None, help="images per grid row")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--force", action="store_true", help="overwrite existing output")
    p.add_argument("--raw", action="store_true",
                   help="sample the last generator, not the moving average of its weights "
                        "(runs trained with train.ema; others always sample the last one)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--class", dest="class_", metavar="C",
                      help="conditional runs: every sample of class C (an index or a class name)")
    what.add_argument("--grid", choices=["classes"],
                      help="conditional runs: one row per class, the same noise down each column")
    what.add_argument("--vary", metavar="CODE",
                      help="InfoGAN runs: code c1, c2, ... varies from left to right along each "
                           "row (c1 categorical: its values; continuous: -2..2), one draw per row")
    p.set_defaults(func=run)


def _writer(out: str):
    if out.endswith(("/", "\\")) or Path(out).is_dir():
        return "folder"
    suffix = Path(out).suffix.lower()
    if suffix in (".png", ".npy"):
        return suffix[1:]
    raise ConfigError(f"-o {out}: use a .png (grid), a .npy (array) or a folder ending in /")


def _draw(run_, args):
    """The samples asked for, and the images per grid row that suit them (None: square)."""
    from ..grids import class_grid, class_index, code_grid

    if args.grid == "classes":
        return class_grid(run_, per_class=args.n or 10, seed=args.seed, raw=args.raw)
    if args.vary:
        return code_grid(run_, args.vary, rows=args.n or 10, seed=args.seed, raw=args.raw)
    labels = None if args.class_ is None else class_index(run_, args.class_)
    return run_.sample(args.n or 64, seed=args.seed, raw=args.raw, labels=labels), None


def run(args) -> int:
    from ..run import load, resolve_device

    if args.n is not None and args.n <= 0:
        raise ConfigError(f"-n must be positive, got {args.n}")
    kind = _writer(args.out)
    out = Path(args.out)
    if kind != "folder" and out.exists() and not args.force:
        raise ConfigError(f"{out} already exists: pass --force to overwrite it")
    run_ = load(args.run, device=str(resolve_device(args.device)), raw=args.raw)
    samples, nrow = _draw(run_, args)
    if kind == "npy":
        np.save(out, samples.numpy())
    elif kind == "png":
        viz.save_samples(samples, out, nrow=args.nrow or nrow)
    else:
        if samples.dim() != 4:
            raise ConfigError("one PNG per sample needs image data: use -o OUT.npy or OUT.png")
        out.mkdir(parents=True, exist_ok=True)
        existing = [out / f"{i:05d}.png" for i in range(len(samples)) if (out / f"{i:05d}.png").exists()]
        if existing and not args.force:
            raise ConfigError(f"{existing[0]} already exists: pass --force or use another folder")
        for i, img in enumerate(samples):
            viz.save_image_grid(img[None], out / f"{i:05d}.png", nrow=1, scale=1)
    print(f"wrote {len(samples)} samples to {out}")
    return 0
