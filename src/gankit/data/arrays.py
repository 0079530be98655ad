"""Datasets from ``.npy`` / ``.npz`` arrays: points (N x D) or images, with optional labels.

Accepted: N x D points (any int or float dtype); N x H x W gray images; N x H x W x C or
N x C x H x W images with C in {1, 3} (when both dims could be channels, N x C x H x W wins,
as torch lays images out). Value rule for images, one and strict: uint8 (or any integer in
0..255) is divided by 255; floats must already be in [0, 1]. Anything else -- [-1, 1] included --
is a DataError that says how to convert, rather than a silent guess.
In an .npz, images/points are under ``x`` or ``images`` (or the only array), labels under
``y`` or ``labels`` (optional; integers 0..K-1, one per item).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import TensorDataset
from gankit.data.transforms import apply_image_options
from gankit.errors import DataError

DATA_KEYS = ("x", "images")
LABEL_KEYS = ("y", "labels")
CHANNELS = (1, 3)
RANGE_SLACK = 1e-3  # float round-off past 0 or 1 is clamped, not rejected
EXPECTED = "N x D points or N x H x W, N x H x W x C, N x C x H x W images (C = 1 or 3)"


def read_arrays(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(data, labels or None) from an .npy or .npz file."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded, None
        with loaded:
            keys = list(loaded.files)
            data_key = pick_key(keys, DATA_KEYS, path, exclude=LABEL_KEYS)
            label_key = next((k for k in LABEL_KEYS if k in keys), None)
            return loaded[data_key], None if label_key is None else loaded[label_key]
    except ValueError as e:
        if str(e).startswith("Object arrays"):
            raise DataError(
                f"{path} holds Python objects (dtype object): save plain numeric arrays instead"
            ) from None
        raise DataError(f"cannot read {path}: not a numpy .npy/.npz file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read {path}: not a numpy .npy/.npz file ({e})") from None


def pick_key(keys: list[str], wanted: tuple[str, ...], path: Path, exclude: tuple) -> str:
    """The first of ``wanted`` present, else the only non-label array."""
    for key in wanted:
        if key in keys:
            return key
    others = [k for k in keys if k not in exclude]
    if len(others) == 1:
        return others[0]
    raise DataError(
        f"{path} has arrays {keys}: name the data 'x' (or 'images') and the labels 'y'"
    )


def check_dtype(x: np.ndarray, path: Path) -> None:
    if x.dtype.kind not in "uif":  # rejects bool, complex, strings, objects, records
        raise DataError(
            f"{path} has dtype {x.dtype} (shape {x.shape}): expected integer or float numbers"
        )


def as_points(x: np.ndarray, path: Path) -> torch.Tensor:
    check_finite(x, path)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def as_gray_images(x: np.ndarray, path: Path) -> torch.Tensor:
    return unit_range(x[:, None], path)


def as_images(x: np.ndarray, path: Path) -> torch.Tensor:
    if x.shape[1] in CHANNELS:
        return unit_range(x, path)
    if x.shape[3] in CHANNELS:
        return unit_range(x.transpose(0, 3, 1, 2), path)
    raise DataError(f"{path} has shape {x.shape}: expected {EXPECTED}")


LAYOUTS = {2: ("points", as_points), 3: ("image", as_gray_images), 4: ("image", as_images)}


def check_finite(x: np.ndarray, path: Path) -> None:
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError(f"{path} contains NaN or infinite values: remove or fix them")


def unit_range(x: np.ndarray, path: Path) -> torch.Tensor:
    """float32 in [0, 1]: integers 0..255 scaled by 1/255, floats checked to lie in [0, 1]."""
    check_finite(x, path)
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if x.dtype.kind in "ui":
        if lo < 0 or hi > 255:
            raise DataError(
                f"{path} has integer pixels in [{lo:g}, {hi:g}]: expected 0..255 (uint8)"
            )
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) / 255)
    if lo < -RANGE_SLACK or hi > 1 + RANGE_SLACK:
        raise DataError(
            f"{path} has float pixels in [{lo:.3g}, {hi:.3g}]: expected [0, 1]; "
            "save (x + 1) / 2 for [-1, 1] data, or x / 255 for 0..255"
        )
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).clamp_(0, 1)


def as_labels(y: np.ndarray, n: int, path: Path) -> torch.Tensor:
    if y.dtype.kind not in "ui" or y.ndim != 1 or len(y) != n:
        raise DataError(
            f"{path} has labels of dtype {y.dtype} and shape {y.shape}: expected {n} integers"
        )
    if n and y.min() < 0:
        raise DataError(f"{path} has negative labels: expected classes 0..K-1")
    return torch.from_numpy(y.astype(np.int64))


def load_arrays(
    path: str | Path, resolution: int | None = None, channels: int | None = None
) -> TensorDataset:
    """An .npy/.npz file as a dataset; images optionally center-cropped, resized, recoloured."""
    path = Path(path)
    x, labels = read_arrays(path)
    check_dtype(x, path)
    if x.ndim not in LAYOUTS or len(x) == 0:
        raise DataError(f"{path} has shape {x.shape}: expected {EXPECTED}, with N > 0")
    kind, convert = LAYOUTS[x.ndim]
    data = convert(x, path)
    y = None if labels is None else as_labels(labels, len(data), path)
    num_classes = 0 if y is None else int(y.max()) + 1
    dataset = TensorDataset(
        x=data, y=y, name=path.stem, kind=kind, num_classes=num_classes,
        class_names=None if y is None else [str(k) for k in range(num_classes)],
        info={"source": str(path), "shape": list(x.shape), "dtype": str(x.dtype)},
    )
    return apply_image_options(dataset, resolution, channels) if kind == "image" else dataset
