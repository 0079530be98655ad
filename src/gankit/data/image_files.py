"""Find the images in a folder, their classes, and (from headers only) their sizes and modes.

Class rule: each top-level sub-folder that holds images (at any depth) is a class, labelled
0..K-1 in sorted name order. With no such sub-folders the images in the root are unlabelled.
Images loose in the root *beside* class folders are an error: neither "unlabelled" nor
"a class named after the root" is a safe guess. Hidden files and folders (``.name``) are
ignored, so ``.ipynb_checkpoints`` or macOS ``._x.png`` debris never becomes data.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from gankit.errors import DataError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
# What PIL raises for a damaged or unsupported file, depending on the format and the damage.
BAD_IMAGE_ERRORS = (
    OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error,
    Image.DecompressionBombError,
)


@dataclass
class ImageFiles:
    """The images of one folder, in a fixed order, with their labels when classes exist."""

    root: Path
    paths: list[Path]
    labels: list[int] | None = None
    class_names: list[str] | None = None


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def images_under(folder: Path) -> list[Path]:
    """Image files at any depth below ``folder``, sorted, skipping hidden folders."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath, f) for f in filenames if is_image_name(f)]
    return sorted(found)


def list_images(root: str | Path) -> ImageFiles:
    """All images under ``root``, labelled by top-level sub-folder when there are any."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    entries = sorted(root.iterdir())
    loose = [p for p in entries if p.is_file() and is_image_name(p.name)]
    folders = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    classes = {d.name: files for d in folders if (files := images_under(d))}
    if classes and loose:
        raise DataError(
            f"{root} has {len(loose)} images (e.g. {loose[0].name}) beside class folders "
            f"({', '.join(list(classes)[:3])}): move them into a class folder or remove them"
        )
    if not classes and not loose:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise DataError(f"{root} contains no images ({suffixes}): point at a folder of images")
    if not classes:
        return ImageFiles(root, loose)
    paths = [p for files in classes.values() for p in files]
    labels = [k for k, files in enumerate(classes.values()) for _ in files]
    return ImageFiles(root, paths, labels, list(classes))


def reject(path: Path, error: BaseException, skip_bad: bool) -> None:
    """Raise a DataError naming ``path``, or with ``skip_bad`` warn and let the caller skip it."""
    message = f"cannot read image {path} ({type(error).__name__}: {error})"
    if not skip_bad:
        raise DataError(message + ": fix or delete it, or pass skip_bad to skip unreadable files")
    warnings.warn(message + "; skipping it", stacklevel=3)


def probe(files: ImageFiles, skip_bad: bool) -> tuple[ImageFiles, list[tuple[int, int]], bool]:
    """Read headers only: the files that open, their (width, height), and whether all are gray."""
    keep, sizes, all_gray = [], [], True
    for k, path in enumerate(files.paths):
        try:
            with Image.open(path) as img:
                sizes.append(img.size)
                all_gray &= img.mode in GRAY_MODES
            keep.append(k)
        except BAD_IMAGE_ERRORS as e:
            reject(path, e, skip_bad)
    return subset(files, keep), sizes, all_gray


def subset(files: ImageFiles, keep: list[int]) -> ImageFiles:
    if len(keep) == len(files.paths):
        return files
    if not keep:
        raise DataError(f"{files.root} has no readable images")
    labels = None if files.labels is None else [files.labels[k] for k in keep]
    return ImageFiles(files.root, [files.paths[k] for k in keep], labels, files.class_names)


def common_resolution(files: ImageFiles, sizes: list[tuple[int, int]]) -> int:
    """The square side all images share (the shorter side, as they are center-cropped)."""
    first = sizes[0]
    for path, size in zip(files.paths, sizes):
        if size != first:
            raise DataError(
                f"images in {files.root} differ in size ({files.paths[0].name} is "
                f"{first[0]}x{first[1]}, {path.name} is {size[0]}x{size[1]}): "
                "pass --resolution to resize them all to one square size"
            )
    return min(first)
