"""A folder of images as a dataset: decoded into memory when it fits, streamed when it does not.

Every image is converted to "L" or "RGB", center-cropped to a square and resized with LANCZOS,
by the same ``decode`` in both modes, so streaming returns exactly the in-memory tensors.
See ``image_files.py`` for which files count and how sub-folders become classes.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from gankit.data.base import TensorDataset
from gankit.data.image_files import (
    BAD_IMAGE_ERRORS,
    ImageFiles,
    common_resolution,
    list_images,
    probe,
    reject,
    subset,
)
from gankit.data.transforms import check_image_options
from gankit.errors import DataError

DEFAULT_MAX_MEMORY_BYTES = 2 * 1024**3
PIL_MODES = {1: "L", 3: "RGB"}
# PIL releases the GIL while decoding, so threads overlap file reads and decodes.
DECODE_THREADS = min(8, os.cpu_count() or 1)


def decode(path: Path, channels: int, resolution: int) -> np.ndarray:
    """uint8 resolution x resolution x channels."""
    with Image.open(path) as img:
        if img.mode == "P":
            img = img.convert("RGBA")  # palette transparency must go through RGBA first
        img = img.convert(PIL_MODES[channels])  # alpha, if any, is dropped
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
        if side != resolution:
            img = img.resize((resolution, resolution), Image.LANCZOS)
        return np.asarray(img, dtype=np.uint8).reshape(resolution, resolution, channels)


def try_decode(path: Path, channels: int, resolution: int) -> np.ndarray | BaseException:
    """The image, or the error that a corrupt file raised (returned, so threads can report it)."""
    try:
        return decode(path, channels, resolution)
    except BAD_IMAGE_ERRORS as e:
        return e


def decode_all(paths: list[Path], channels: int, resolution: int, desc: str = "") -> list:
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        results = pool.map(lambda p: try_decode(p, channels, resolution), paths)
        quiet = len(paths) < 1000 or not sys.stderr.isatty()
        return list(tqdm(results, total=len(paths), desc=desc, disable=quiet, leave=False))


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """float32 N x C x H x W in [0, 1] from uint8 H x W x C arrays."""
    batch = torch.from_numpy(np.stack(images))
    return batch.permute(0, 3, 1, 2).float().div_(255)


@dataclass
class StreamingImageFolder:
    """An image folder too large for memory: ``get`` decodes just the requested files.

    Same interface as ``TensorDataset`` minus ``x``. Files are validated when first read; with
    ``skip_bad`` a bad file is warned about once and replaced by the next readable one.
    """

    files: ImageFiles
    channels: int
    resolution: int
    name: str
    skip_bad: bool = False
    info: dict = field(default_factory=dict)
    kind: str = "image"
    modes: torch.Tensor | None = None
    mode_std: float | None = None
    y: torch.Tensor | None = field(init=False)
    class_names: list[str] | None = field(init=False)
    num_classes: int = field(init=False)
    bad: set[int] = field(default_factory=set, repr=False)  # positions known to be unreadable

    def __post_init__(self) -> None:
        labels = self.files.labels
        self.y = None if labels is None else torch.tensor(labels, dtype=torch.int64)
        self.class_names = self.files.class_names
        self.num_classes = len(self.class_names or [])

    def __len__(self) -> int:
        return len(self.files.paths)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (self.channels, self.resolution, self.resolution)

    def get(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        positions = index.tolist()
        paths = [self.files.paths[k] for k in positions]
        images = decode_all(paths, self.channels, self.resolution)
        for k, image in enumerate(images):
            if isinstance(image, BaseException):
                positions[k], images[k] = self.replacement(positions[k], image)
        y = None if self.y is None else self.y[torch.tensor(positions, dtype=torch.int64)]
        return to_tensor(images), y

    def replacement(self, position: int, error: BaseException) -> tuple[int, np.ndarray]:
        """Report the bad file, then the next readable position (wrapping) and its image."""
        self.bad.add(position)
        reject(self.files.paths[position], error, self.skip_bad)
        for step in range(1, len(self)):
            candidate = (position + step) % len(self)
            if candidate in self.bad:
                continue
            image = try_decode(self.files.paths[candidate], self.channels, self.resolution)
            if not isinstance(image, BaseException):
                return candidate, image
            self.bad.add(candidate)
            reject(self.files.paths[candidate], image, self.skip_bad)
        raise DataError(f"{self.files.root} has no readable images")


def load_image_folder(
    root: str | Path,
    resolution: int | None = None,
    channels: int | None = None,
    skip_bad: bool = False,
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
) -> TensorDataset | StreamingImageFolder:
    """Images under ``root`` as float32 N x C x R x R in [0, 1] (labels from class folders).

    ``channels`` defaults to 1 when every image is grayscale, else 3; ``resolution`` defaults
    to the shared size of all images (a DataError asks for one when sizes differ).
    """
    check_image_options(resolution, channels)
    files = list_images(root)
    if resolution is None or channels is None:
        files, sizes, all_gray = probe(files, skip_bad)
        channels = channels or (1 if all_gray else 3)
        resolution = resolution or common_resolution(files, sizes)
    name = files.root.resolve().name
    info = {"source": str(files.root), "count": len(files.paths),
            "channels": channels, "resolution": resolution}
    estimated = len(files.paths) * channels * resolution * resolution * 4
    if estimated > max_memory_bytes:
        info["streaming"] = True
        return StreamingImageFolder(files, channels, resolution, name, skip_bad, info)
    images = decode_all(files.paths, channels, resolution, desc=f"decoding {name}")
    keep = []
    for k, image in enumerate(images):
        if isinstance(image, BaseException):
            reject(files.paths[k], image, skip_bad)
        else:
            keep.append(k)
    files = subset(files, keep)
    info["count"] = len(files.paths)
    y = None if files.labels is None else torch.tensor(files.labels, dtype=torch.int64)
    return TensorDataset(
        x=to_tensor([images[k] for k in keep]), y=y, name=name, kind="image",
        num_classes=len(files.class_names or []), class_names=files.class_names, info=info,
    )
