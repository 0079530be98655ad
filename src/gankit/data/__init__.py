"""Datasets by name or path, through one entry point: ``load_dataset``.

A registered name (``DATASETS``) wins; anything else is a path: a folder of images, or an
.npy / .npz file. ``resolution`` and ``channels`` apply to every image dataset (MNIST at 32 x 32
RGB is ``resolution=32, channels=3``); on point datasets they are an error, not ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Modules, not their same-named functions, so ``gankit.data.mnist`` stays the module.
from gankit.data import digits, mnist, stacked, toy2d
from gankit.data.arrays import load_arrays
from gankit.data.base import Dataset, TensorDataset
from gankit.data.images import DEFAULT_MAX_MEMORY_BYTES, StreamingImageFolder, load_image_folder
from gankit.data.mnist import resolve_data_dir
from gankit.data.transforms import apply_image_options, check_image_options
from gankit.errors import DataError

__all__ = [
    "DATASETS", "Dataset", "LoadOptions", "StreamingImageFolder", "TensorDataset",
    "dataset_names", "load_dataset", "resolve_data_dir",
]

SPLITS = ("train", "test")
# Toy mixtures draw their test split from an unrelated stream, so it never repeats train.
TOY_SEED_OFFSET = {"train": 0, "test": 1_000_003}


@dataclass(frozen=True)
class LoadOptions:
    """Everything a builder may need; each reads only its own part."""

    data_dir: str | Path | None = None
    split: str = "train"
    resolution: int | None = None
    channels: int | None = None
    download: bool = True
    skip_bad: bool = False
    seed: int = 0
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES


Builder = Callable[[LoadOptions], Dataset]

DATASETS: dict[str, Builder] = {
    "ring8": lambda o: toy2d.ring8(seed=o.seed + TOY_SEED_OFFSET[o.split]),
    "grid25": lambda o: toy2d.grid25(seed=o.seed + TOY_SEED_OFFSET[o.split]),
    "mnist": lambda o: mnist.mnist(o.data_dir, o.split, o.download),
    "fashion-mnist": lambda o: mnist.fashion_mnist(o.data_dir, o.split, o.download),
    "digits": lambda o: digits.digits(o.split),
    # one fixed draw of digit triples (seed 0), whatever the training seed
    "stacked-mnist": lambda o: stacked.stacked_mnist(o.data_dir, o.split, o.download),
}

# Path loaders by file suffix; folders go to the image-folder loader.
FILE_LOADERS: dict[str, Callable[[Path, LoadOptions], Dataset]] = {
    ".npy": lambda p, o: load_arrays(p, o.resolution, o.channels),
    ".npz": lambda p, o: load_arrays(p, o.resolution, o.channels),
}


def dataset_names() -> list[str]:
    return list(DATASETS)


def load_dataset(
    name_or_path: str | Path,
    *,
    data_dir: str | Path | None = None,
    split: str = "train",
    resolution: int | None = None,
    channels: int | None = None,
    download: bool = True,
    skip_bad: bool = False,
    seed: int = 0,
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
) -> Dataset:
    """A registered dataset by name, or an image folder / .npy / .npz by path."""
    if split not in SPLITS:
        raise DataError(f"unknown split '{split}': use one of {', '.join(SPLITS)}")
    check_image_options(resolution, channels)
    options = LoadOptions(
        data_dir, split, resolution, channels, download, skip_bad, seed, max_memory_bytes
    )
    name = str(name_or_path)
    if name in DATASETS:
        dataset = DATASETS[name](options)
    else:
        dataset = load_path(Path(name).expanduser(), options)
    return apply_options(dataset, options)


def load_path(path: Path, options: LoadOptions) -> Dataset:
    if path.is_dir():
        return load_image_folder(
            path, options.resolution, options.channels, options.skip_bad,
            options.max_memory_bytes,
        )
    loader = FILE_LOADERS.get(path.suffix.lower())
    if path.is_file() and loader is None:
        raise DataError(
            f"cannot load {path}: a dataset file must be .npy or .npz (or pass an image folder)"
        )
    if loader is None or not path.is_file():
        raise DataError(
            f"unknown dataset '{path}': use one of {', '.join(DATASETS)}, "
            "or a path to an image folder / .npy / .npz"
        )
    return loader(path, options)


def apply_options(dataset: Dataset, options: LoadOptions) -> Dataset:
    """Resize / recolour registered image datasets; refuse image options on points."""
    wants_image_options = options.resolution is not None or options.channels is not None
    if dataset.kind == "points" and wants_image_options:
        raise DataError(
            f"{dataset.name} is a {dataset.sample_shape[0]}-D point dataset: "
            "--resolution and --channels apply to images only; drop them"
        )
    if isinstance(dataset, TensorDataset) and dataset.kind == "image":
        return apply_image_options(dataset, options.resolution, options.channels)
    return dataset
