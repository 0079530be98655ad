import numpy as np
import pytest
import torch

from gankit.data import load_dataset
from gankit.errors import DataError

rng = np.random.default_rng(0)


def test_points_npy(tmp_path):
    np.save(tmp_path / "pts.npy", rng.normal(size=(50, 3)))
    ds = load_dataset(str(tmp_path / "pts.npy"))
    assert ds.kind == "points" and ds.x.shape == (50, 3) and ds.x.dtype == torch.float32
    assert ds.y is None and ds.name == "pts"


def test_gray_uint8_images_are_scaled(tmp_path):
    x = rng.integers(0, 256, size=(5, 6, 6), dtype=np.uint8)
    np.save(tmp_path / "gray.npy", x)
    ds = load_dataset(str(tmp_path / "gray.npy"))
    assert ds.kind == "image" and ds.x.shape == (5, 1, 6, 6)
    assert torch.allclose(ds.x[:, 0], torch.from_numpy(x / 255).float())


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
def test_npz_images_with_labels(tmp_path, layout):
    x = rng.random((4, 3, 8, 8), dtype=np.float32)
    stored = x.transpose(0, 2, 3, 1) if layout == "nhwc" else x
    np.savez(tmp_path / "set.npz", images=stored, labels=np.array([0, 2, 1, 2]))
    ds = load_dataset(str(tmp_path / "set.npz"))
    assert torch.allclose(ds.x, torch.from_numpy(x))
    assert ds.y.tolist() == [0, 2, 1, 2] and ds.num_classes == 3
    resized = load_dataset(str(tmp_path / "set.npz"), resolution=4, channels=1)
    assert resized.x.shape == (4, 1, 4, 4) and 0 <= resized.x.min() and resized.x.max() <= 1


def test_npz_with_a_single_unnamed_array(tmp_path):
    np.savez(tmp_path / "one.npz", rng.random((3, 2)))
    assert load_dataset(str(tmp_path / "one.npz")).x.shape == (3, 2)


@pytest.mark.parametrize("array,message", [
    (np.zeros((4, 2), dtype=bool), "dtype bool"),
    (np.zeros((4, 2), dtype=complex), "dtype complex128"),
    (np.array([["a", "b"]] * 4), "dtype <U1"),
    (np.zeros(4), r"shape \(4,\)"),
    (np.zeros((2, 3, 4, 5, 6)), r"shape \(2, 3, 4, 5, 6\)"),
    (np.zeros((2, 5, 4, 4)), r"shape \(2, 5, 4, 4\)"),
    (np.full((2, 4, 4), -0.5), r"\[-0.5, -0.5\]: expected \[0, 1\]; save \(x \+ 1\) / 2"),
    (np.full((2, 4, 4), 300, dtype=np.int32), "expected 0..255"),
    (np.full((2, 4, 4), np.nan), "NaN"),
])
def test_bad_arrays_name_file_and_problem(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(DataError, match=r"bad\.npy .*" + message):
        load_dataset(str(path))


def test_object_arrays_and_bad_labels(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None]), allow_pickle=True)
    with pytest.raises(DataError, match=r"obj\.npy holds Python objects"):
        load_dataset(str(tmp_path / "obj.npy"))
    np.savez(tmp_path / "lab.npz", x=np.zeros((3, 2)), y=np.array([0.5, 1.0, 2.0]))
    with pytest.raises(DataError, match=r"lab\.npz has labels of dtype float64.*expected 3 integers"):
        load_dataset(str(tmp_path / "lab.npz"))
    np.savez(tmp_path / "keys.npz", a=np.zeros((3, 2)), b=np.zeros((3, 2)))
    with pytest.raises(DataError, match=r"keys\.npz has arrays \['a', 'b'\]"):
        load_dataset(str(tmp_path / "keys.npz"))


def test_not_a_numpy_file(tmp_path):
    (tmp_path / "fake.npy").write_bytes(b"hello")
    with pytest.raises(DataError, match=r"cannot read .*fake\.npy"):
        load_dataset(str(tmp_path / "fake.npy"))
