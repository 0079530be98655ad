import torch

from gankit.data import load_dataset
from gankit.data.toy2d import grid25, ring8


def nearest_mode_distance(ds) -> torch.Tensor:
    return torch.cdist(ds.x, ds.modes).min(dim=1)


def test_ring8_samples_sit_on_their_modes():
    ds = ring8(n=4000, seed=1)
    assert len(ds) == 4000 and ds.sample_shape == (2,) and ds.kind == "points"
    assert ds.modes.shape == (8, 2) and ds.modes.dtype == torch.float32
    assert torch.allclose(ds.modes.norm(dim=1), torch.ones(8))
    distance, mode = nearest_mode_distance(ds)
    assert ds.mode_std == 0.01 and distance.max() < 6 * ds.mode_std
    assert mode.bincount(minlength=8).min() > 4000 / 8 * 0.8  # components chosen uniformly


def test_grid25_modes_and_spread():
    ds = grid25(n=5000)
    assert ds.x.shape == (5000, 2) and ds.modes.shape == (25, 2) and ds.mode_std == 0.05
    assert set(ds.modes[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    distance, mode = nearest_mode_distance(ds)
    assert distance.max() < 0.3 and mode.unique().numel() == 25


def test_seeded_and_splits_differ():
    assert torch.equal(ring8(n=100, seed=3).x, ring8(n=100, seed=3).x)
    assert not torch.equal(ring8(n=100, seed=3).x, ring8(n=100, seed=4).x)
    train, test = load_dataset("ring8"), load_dataset("ring8", split="test")
    assert len(train) == 50_000 and not torch.equal(train.x[:100], test.x[:100])
