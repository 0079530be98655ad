"""IDX files (the MNIST format), raw or gzip-compressed.

Layout: a big-endian int32 header -- magic, count, then (rows, cols) for images -- followed by
uint8 values row-major. Parsing is one ``numpy.frombuffer``; no per-item Python.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from gankit.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
HEADER_INTS = {IMAGES_MAGIC: 4, LABELS_MAGIC: 2}  # magic -> int32 words before the payload
GZIP_SIGNATURE = b"\x1f\x8b"


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed if it is gzip (detected by signature, not name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    if raw[:2] != GZIP_SIGNATURE:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(
            f"{path} is a corrupt or truncated gzip file ({e}): delete it and download it again"
        ) from None


def parse_idx(data: bytes, magic: int, path: Path) -> np.ndarray:
    """uint8 array of shape (count,) for labels or (count, rows, cols) for images."""
    words = HEADER_INTS[magic]
    if len(data) < 4 * words:
        raise DataError(f"{path} is too short to be an IDX file ({len(data)} bytes)")
    header = np.frombuffer(data, dtype=">i4", count=words)
    if header[0] != magic:
        kinds = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
        raise DataError(
            f"{path} is not an IDX {kinds[magic]} file (magic {int(header[0])}, expected {magic})"
        )
    shape = tuple(int(v) for v in header[1:])
    if min(shape) < 0:
        raise DataError(f"{path} has a corrupt IDX header (dimensions {shape})")
    expected = int(np.prod(shape))
    payload = len(data) - 4 * words
    if payload < expected:
        raise DataError(
            f"{path} is truncated: header says {shape} ({expected} bytes) but only {payload} "
            "bytes follow; delete it and download it again"
        )
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=4 * words).reshape(shape)


def read_idx_images(path: str | Path) -> np.ndarray:
    """uint8 N x rows x cols."""
    path = Path(path)
    return parse_idx(read_bytes(path), IMAGES_MAGIC, path)


def read_idx_labels(path: str | Path) -> np.ndarray:
    """uint8 N."""
    path = Path(path)
    return parse_idx(read_bytes(path), LABELS_MAGIC, path)
