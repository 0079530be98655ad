import gzip
import shutil
import struct

import numpy as np
import pytest
import torch

from gankit.data import load_dataset
from gankit.data.download import md5_file
from gankit.data.idx import read_idx_images, read_idx_labels
from gankit.data.mnist import SPECS
from gankit.errors import DataError


def idx_bytes(magic: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(f">{1 + len(shape)}i", magic, *shape) + payload


def test_real_mnist_test_files_parse_and_verify(shared_data):
    folder = shared_data / "mnist"
    images = read_idx_images(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx_labels(folder / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.min() == 0 and labels.max() == 9
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert md5_file(folder / name) == SPECS["mnist"].md5[name]


def test_registered_mnist_loads_offline_from_shared_folder(shared_data):
    ds = load_dataset("fashion-mnist", data_dir=shared_data, split="test", download=False)
    assert ds.x.shape == (10000, 1, 28, 28) and ds.x.dtype.is_floating_point
    assert 0 <= ds.x.min() and ds.x.max() <= 1 and ds.y.dtype == torch.int64
    assert ds.num_classes == 10 and ds.class_names[9] == "Ankle boot"
    assert set(ds.info["md5"]) == {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}


@pytest.mark.parametrize("compress", [False, True])
def test_synthetic_idx_round_trip(tmp_path, compress):
    pixels = np.arange(2 * 3 * 4, dtype=np.uint8)
    data = idx_bytes(2051, (2, 3, 4), pixels.tobytes())
    path = tmp_path / "images.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    assert (read_idx_images(path) == pixels.reshape(2, 3, 4)).all()


def test_wrong_magic_names_the_file(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(idx_bytes(2051, (1, 1, 1), b"\x00"))
    with pytest.raises(DataError, match=r"labels\.idx.*magic 2051, expected 2049"):
        read_idx_labels(path)


def test_truncated_payload_names_the_file(tmp_path):
    path = tmp_path / "short.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(2051, (10, 28, 28), b"\x00" * 100)))
    with pytest.raises(DataError, match=r"short\.idx\.gz is truncated"):
        read_idx_images(path)


@pytest.mark.parametrize("damage", ["garbage", "cut"])
def test_corrupt_gzip_names_the_file(tmp_path, damage):
    good = gzip.compress(idx_bytes(2049, (50,), bytes(50)))
    bad = good[:10] + b"\xff" * 40 if damage == "garbage" else good[: len(good) // 2]
    path = tmp_path / "broken.gz"
    path.write_bytes(bad)
    with pytest.raises(DataError, match=r"broken\.gz is a corrupt or truncated gzip"):
        read_idx_labels(path)


def test_wrong_md5_file_is_rejected_without_download(tmp_path, shared_data):
    folder = tmp_path / "mnist"
    folder.mkdir()
    shutil.copy(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz", folder)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not the real labels")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz has md5 .*expected"):
        load_dataset("mnist", data_dir=tmp_path, split="test", download=False)


def test_missing_files_without_download_say_where_to_put_them(tmp_path):
    with pytest.raises(DataError, match=r"not found in .*mnist: put the MNIST \.gz files in"):
        load_dataset("mnist", data_dir=tmp_path, split="test", download=False)
