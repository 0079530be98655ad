"""scikit-learn's bundled 8 x 8 handwritten digits: a tiny image dataset that works offline."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits

from gankit.data.base import TensorDataset
from gankit.errors import DataError

MAX_VALUE = 16.0  # the bundled images count pixels 0..16
# The set has no official split: hold out the last images as a fixed test set.
TEST_SIZE = 297
SPLITS = {"train": slice(0, -TEST_SIZE), "test": slice(-TEST_SIZE, None)}


def digits(split: str = "train") -> TensorDataset:
    """1797 images (1500 train / 297 test) as float32 N x 1 x 8 x 8 in [0, 1], 10 classes."""
    if split not in SPLITS:
        raise DataError(f"digits has no split '{split}': use one of {', '.join(SPLITS)}")
    bunch = load_digits()
    rows = SPLITS[split]
    x = torch.as_tensor(bunch.images[rows], dtype=torch.float32).div_(MAX_VALUE).unsqueeze(1)
    y = torch.as_tensor(bunch.target[rows], dtype=torch.int64)
    return TensorDataset(
        x=x, y=y, name="digits", kind="image", num_classes=10,
        class_names=[str(d) for d in range(10)],
        info={"source": "sklearn.datasets.load_digits", "split": split},
    )
