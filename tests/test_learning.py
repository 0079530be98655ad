"""A short run on ring8 must pull the generated points toward the data's modes."""

import torch

import gankit
from gankit.config import Config, set_value


def mean_distance_to_nearest_mode(points, modes):
    return torch.cdist(points, modes).min(dim=1).values.mean().item()


def test_ring8_training_moves_samples_toward_the_modes(tmp_path):
    cfg = Config()
    for key, value in {"data.name": "ring8", "model.name": "mlp", "model.g_hidden": (64, 64),
                       "model.d_hidden": (32, 32), "model.maxout_pieces": 2, "model.latent_dim": 8,
                       "train.steps": 600, "train.batch_size": 64, "train.lr_g": 1e-3,
                       "train.lr_d": 1e-3, "train.sample_every": 10000}.items():
        set_value(cfg, key, value)
    run = gankit.train(cfg, tmp_path / "ring", progress=False)
    modes = torch.tensor(run.data_info.modes)

    from gankit.run import build_gan

    torch.manual_seed(cfg.train.seed)
    before = build_gan(cfg, run.data_info).sample(2000, seed=1)
    after = run.sample(2000, seed=1)
    d_before = mean_distance_to_nearest_mode(before, modes)
    d_after = mean_distance_to_nearest_mode(after, modes)
    # Untrained G puts points ~0.86 from the nearest mode; 600 steps more than halve that
    # (measured with this seed: 0.86 -> 0.35).
    assert d_after < d_before / 2, (d_before, d_after)
