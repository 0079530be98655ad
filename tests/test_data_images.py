import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import StreamingImageFolder, TensorDataset, load_dataset
from gankit.errors import DataError


def save(path, color, size=(8, 8), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


@pytest.fixture
def class_folder(tmp_path):
    """cat/ (2 images) and dog/ (1 + 1 nested, one with an upper-case suffix); junk ignored."""
    root = tmp_path / "pets"
    save(root / "cat" / "a.png", (255, 0, 0))
    save(root / "cat" / "b.png", (0, 255, 0))
    save(root / "dog" / "c.JPG", (0, 0, 255))
    save(root / "dog" / "deep" / "d.bmp", (10, 20, 30))
    save(root / ".hidden" / "e.png", (1, 2, 3))
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / "empty").mkdir()
    return root


def test_class_subfolders_become_labels(class_folder):
    ds = load_dataset(str(class_folder))
    assert isinstance(ds, TensorDataset) and ds.kind == "image"
    assert ds.x.shape == (4, 3, 8, 8) and ds.x.dtype == torch.float32
    assert ds.y.tolist() == [0, 0, 1, 1] and ds.class_names == ["cat", "dog"]
    assert ds.num_classes == 2 and ds.name == "pets"
    assert torch.allclose(ds.x[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]))


def test_gray_images_default_to_one_channel_and_resize(tmp_path):
    for k in range(3):
        save(tmp_path / f"{k}.png", 40 * k, size=(12, 10), mode="L")
    ds = load_dataset(str(tmp_path))
    assert ds.x.shape == (3, 1, 10, 10) and ds.y is None and ds.num_classes == 0
    small = load_dataset(str(tmp_path), resolution=4, channels=3)
    assert small.x.shape == (3, 3, 4, 4)
    assert torch.allclose(small.x[2], torch.full((3, 4, 4), 80 / 255), atol=1 / 255)


def test_mixed_sizes_ask_for_resolution(tmp_path):
    save(tmp_path / "a.png", (0, 0, 0), size=(8, 8))
    save(tmp_path / "b.png", (0, 0, 0), size=(16, 16))
    with pytest.raises(DataError, match=r"differ in size.*pass --resolution"):
        load_dataset(str(tmp_path))
    assert load_dataset(str(tmp_path), resolution=6).x.shape == (2, 3, 6, 6)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_image_names_the_file(class_folder, damage):
    bad = class_folder / "cat" / "broken.png"
    if damage == "garbage":
        bad.write_bytes(b"this is not a png")
    else:  # a valid header whose pixel data stops halfway: only decoding finds out
        noise = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(noise).save(bad)
        bad.write_bytes(bad.read_bytes()[:120])
    with pytest.raises(DataError, match=r"cannot read image .*broken\.png"):
        load_dataset(str(class_folder), resolution=8, channels=3)
    with pytest.warns(UserWarning, match=r"broken\.png.*skipping"):
        ds = load_dataset(str(class_folder), skip_bad=True)
    assert len(ds) == 4 and ds.y.tolist() == [0, 0, 1, 1]


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="contains no images"):
        load_dataset(str(tmp_path))


def test_loose_images_beside_class_folders_are_an_error(class_folder):
    save(class_folder / "stray.png", (0, 0, 0))
    with pytest.raises(DataError, match=r"stray\.png.*beside class folders"):
        load_dataset(str(class_folder))


def test_streaming_matches_in_memory(class_folder):
    memory = load_dataset(str(class_folder), resolution=5)
    stream = load_dataset(str(class_folder), resolution=5, max_memory_bytes=100)
    assert isinstance(stream, StreamingImageFolder) and stream.info["streaming"]
    assert len(stream) == len(memory) and stream.sample_shape == memory.sample_shape == (3, 5, 5)
    assert stream.class_names == memory.class_names and stream.num_classes == 2
    index = torch.tensor([3, 0, 2, 2])
    x, y = stream.get(index)
    x_ref, y_ref = memory.get(index)
    assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


def test_streaming_validates_lazily_and_skips_bad_files(class_folder):
    (class_folder / "cat" / "b.png").write_bytes(b"corrupt")
    stream = load_dataset(
        str(class_folder), resolution=8, channels=3, skip_bad=True, max_memory_bytes=1
    )
    assert len(stream) == 4  # nothing decoded yet
    with pytest.warns(UserWarning, match=r"b\.png"):
        x, y = stream.get(torch.tensor([1]))
    # the next readable file stands in, with its own label
    assert y.tolist() == [1] and np.allclose(x[0, :, 0, 0], [0, 0, 1], atol=0.02)
    strict = load_dataset(str(class_folder), resolution=8, channels=3, max_memory_bytes=1)
    with pytest.raises(DataError, match=r"b\.png"):
        strict.get(torch.tensor([0, 1]))
