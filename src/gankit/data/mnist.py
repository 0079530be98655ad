"""MNIST and Fashion-MNIST from their original IDX files, found on disk or downloaded.

Files live in ``<data_dir>/<name>/`` under their publishers' names; ``data_dir`` is the argument,
else ``$GANKIT_DATA``, else ``~/.cache/gankit/data``. Every file is md5-checked before use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import TensorDataset
from gankit.data.download import download as download_file
from gankit.data.download import md5_file
from gankit.data.idx import read_idx_images, read_idx_labels
from gankit.errors import DataError

DATA_ENV = "GANKIT_DATA"
DEFAULT_DATA_DIR = Path("~/.cache/gankit/data")


@dataclass(frozen=True)
class IdxSpec:
    """One IDX dataset: its files per split, their md5s, and what the labels mean."""

    title: str
    files: dict[str, tuple[str, str]]  # split -> (images file, labels file)
    md5: dict[str, str]
    class_names: tuple[str, ...]


STANDARD_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

SPECS: dict[str, IdxSpec] = {
    "mnist": IdxSpec(
        title="MNIST",
        files=STANDARD_FILES,
        md5={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        class_names=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": IdxSpec(
        title="Fashion-MNIST",
        files=STANDARD_FILES,
        md5={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        class_names=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),
    ),
}

# Base URLs tried in order; module-level so tests (or a user behind a proxy) can repoint them.
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}

# (path, size, mtime_ns) -> md5: each file is hashed once per process, and a file replaced
# on disk gets a new key.
_md5_cache: dict[tuple[str, int, int], str] = {}


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The explicit folder, else $GANKIT_DATA, else ~/.cache/gankit/data."""
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser()


def cached_md5(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _md5_cache:
        _md5_cache[key] = md5_file(path)
    return _md5_cache[key]


def ensure_file(
    path: Path, md5: str, mirrors: list[str], download: bool, hint: str
) -> Path:
    """``path`` with the right md5, downloading it when absent or wrong (if allowed)."""
    if path.is_file() and cached_md5(path) == md5:
        return path
    if not download:
        problem = (
            f"{path} has md5 {cached_md5(path)}, expected {md5}" if path.is_file()
            else f"{path.name} not found in {path.parent}"
        )
        raise DataError(f"{problem}: {hint}, or allow downloading")
    urls = [base.rstrip("/") + "/" + path.name for base in mirrors]
    return download_file(urls, path, md5, hint=hint)


def load_idx_dataset(
    name: str,
    data_dir: str | Path | None = None,
    split: str = "train",
    download: bool = True,
    mirrors: list[str] | None = None,
) -> TensorDataset:
    """One split of an IDX dataset as float32 N x 1 x 28 x 28 in [0, 1] with int64 labels."""
    spec = SPECS[name]
    if split not in spec.files:
        raise DataError(f"{name} has no split '{split}': use one of {', '.join(spec.files)}")
    folder = resolve_data_dir(data_dir) / name
    hint = f"put the {spec.title} .gz files in {folder} (or pass --data-dir / set {DATA_ENV})"
    mirrors = MIRRORS[name] if mirrors is None else mirrors
    paths = [
        ensure_file(folder / f, spec.md5[f], mirrors, download, hint) for f in spec.files[split]
    ]
    images, labels = read_idx_images(paths[0]), read_idx_labels(paths[1])
    check_pair(images, labels, paths, len(spec.class_names))
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    return TensorDataset(
        x=x, y=torch.from_numpy(labels.astype(np.int64)), name=name, kind="image",
        num_classes=len(spec.class_names), class_names=list(spec.class_names),
        info={
            "source": name, "split": split, "files": [str(p) for p in paths],
            "md5": {p.name: spec.md5[p.name] for p in paths},
        },
    )


def check_pair(images: np.ndarray, labels: np.ndarray, paths: list[Path], classes: int) -> None:
    if len(images) != len(labels):
        raise DataError(
            f"{paths[0].name} has {len(images)} images but {paths[1].name} has "
            f"{len(labels)} labels: the files come from different splits"
        )
    if len(labels) and labels.max() >= classes:
        raise DataError(f"{paths[1]} has label {labels.max()}, expected 0..{classes - 1}")


def mnist(
    data_dir: str | Path | None = None,
    split: str = "train",
    download: bool = True,
    mirrors: list[str] | None = None,
) -> TensorDataset:
    """Handwritten digits, 60k train / 10k test."""
    return load_idx_dataset("mnist", data_dir, split, download, mirrors)


def fashion_mnist(
    data_dir: str | Path | None = None,
    split: str = "train",
    download: bool = True,
    mirrors: list[str] | None = None,
) -> TensorDataset:
    """Zalando article images, 60k train / 10k test."""
    return load_idx_dataset("fashion-mnist", data_dir, split, download, mirrors)
