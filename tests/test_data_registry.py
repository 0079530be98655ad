import pytest
import torch

from gankit.data import DATASETS, dataset_names, load_dataset
from gankit.errors import DataError


def test_registry_names():
    assert dataset_names() == list(DATASETS)
    assert {"ring8", "grid25", "mnist", "fashion-mnist", "digits"} <= set(DATASETS)


def test_digits_works_offline():
    train, test = load_dataset("digits"), load_dataset("digits", split="test")
    assert train.x.shape == (1500, 1, 8, 8) and len(test) == 297
    assert train.x.min() == 0 and train.x.max() == 1 and train.y.dtype == torch.int64
    assert train.num_classes == 10 and set(train.y.tolist()) == set(range(10))


def test_image_options_apply_to_registered_datasets():
    ds = load_dataset("digits", resolution=16, channels=3)
    assert ds.x.shape == (1500, 3, 16, 16) and ds.sample_shape == (3, 16, 16)
    x, y = ds.get(torch.tensor([0, 5]))
    assert x.shape == (2, 3, 16, 16) and torch.equal(x[:, 0], x[:, 2]) and y.shape == (2,)


def test_mnist_resized_to_32(shared_data):
    ds = load_dataset("mnist", data_dir=shared_data, split="test", resolution=32, download=False)
    assert ds.x.shape == (10000, 1, 32, 32) and 0 <= ds.x.min() and ds.x.max() <= 1


def test_unknown_name():
    message = ("unknown dataset 'foo': use one of ring8, grid25, mnist, fashion-mnist, digits, stacked-mnist, "
               "or a path to an image folder / .npy / .npz")
    with pytest.raises(DataError) as caught:
        load_dataset("foo")
    assert str(caught.value) == message


@pytest.mark.parametrize("kwargs,message", [
    ({"resolution": 32}, "point dataset: --resolution and --channels apply to images only"),
    ({"split": "valid"}, "unknown split 'valid'"),
    ({"channels": 2}, "channels must be 1 or 3"),
    ({"resolution": 0}, "resolution must be a positive integer"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(DataError, match=message):
        load_dataset("ring8", **kwargs)


def test_unsupported_file(tmp_path):
    (tmp_path / "table.csv").write_text("1,2\n")
    with pytest.raises(DataError, match=r"table\.csv: a dataset file must be \.npy or \.npz"):
        load_dataset(str(tmp_path / "table.csv"))
