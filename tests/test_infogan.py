"""InfoGAN: the latent layout, the mutual-information loss, Q recovering a code on a toy problem,
the preset, `gankit sample --vary` and the code-accuracy evaluation."""

import itertools
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.cli.main import main
from gankit.config import Config, set_value
from gankit.errors import ConfigError
from gankit.gans import LatentLayout
from gankit.gans.infogan import info_loss
from gankit.grids import code_grid
from gankit.metrics import matched_accuracy


def gankit_cli(*argv):
    return main([str(a) for a in argv])


def test_latent_layout_places_and_recovers_the_codes():
    layout = LatentLayout(5, "uniform", num_classes=3, categorical=4, continuous=2)
    assert layout.dim == 5 + 3 + 4 + 2 and layout.code_names == ["c1", "c2", "c3"]
    z = layout.sample(4000, torch.Generator().manual_seed(0), "cpu")
    parts = layout.split(z)
    assert torch.equal(z[:, :5], parts.noise) and parts.noise.abs().max() <= 1
    assert torch.equal(F.one_hot(parts.labels, 3).float(), z[:, 5:8])
    assert torch.equal(F.one_hot(parts.categorical, 4).float(), z[:, 8:12])
    assert torch.equal(parts.continuous, z[:, 12:]) and parts.continuous.abs().max() <= 1
    assert (torch.bincount(parts.categorical) / 4000 - 0.25).abs().max() < 0.03  # uniform
    set_c1 = layout.split(layout.with_code(z[:3], "c1", torch.tensor([3, 0, 2])))
    assert set_c1.categorical.tolist() == [3, 0, 2] and torch.equal(set_c1.noise, parts.noise[:3])
    set_c3 = layout.split(layout.with_code(z[:3], "c3", 1.5))
    assert set_c3.continuous[:, 1].tolist() == [1.5] * 3
    assert torch.equal(set_c3.continuous[:, 0], parts.continuous[:3, 0])
    with pytest.raises(ConfigError, match="codes are c1, c2, c3"):
        layout.with_code(z, "c4", 0.0)
    with pytest.raises(ConfigError, match="code c1 must be in 0..3"):
        layout.with_code(z[:2], "c1", 4)
    # without a categorical code the continuous codes are c1, c2
    assert LatentLayout(5, continuous=2).code_names == ["c1", "c2"]
    # no codes, no labels: exactly the prior's draw
    plain = LatentLayout(5).sample(7, torch.Generator().manual_seed(3), "cpu")
    assert torch.equal(plain, torch.randn((7, 5), generator=torch.Generator().manual_seed(3)))


def test_info_loss_is_cross_entropy_plus_half_squared_error():
    layout = LatentLayout(2, categorical=3, continuous=2)
    z = layout.sample(6, torch.Generator().manual_seed(0), "cpu")
    parts = layout.split(z)
    q = torch.randn(6, 5)
    expected = (F.cross_entropy(q[:, :3], parts.categorical)
                + 0.5 * ((q[:, 3:] - parts.continuous) ** 2).sum(1).mean())
    assert info_loss(q, parts, 3).item() == pytest.approx(expected.item(), rel=1e-6)
    perfect = torch.cat([F.one_hot(parts.categorical, 3) * 50.0, parts.continuous], 1)
    assert info_loss(perfect, parts, 3).item() == pytest.approx(0.0, abs=1e-6)


def test_q_recovers_the_categorical_code_on_a_toy_problem(tmp_path):
    """ring8 with a 4-valued code: after 200 steps Q reads G's code back far above chance (1/4)."""
    cfg = Config()
    for key, value in {"data.name": "ring8", "model.name": "mlp", "model.info_categorical": 4,
                       "model.latent_dim": 2, "model.g_hidden": (32, 32), "model.d_hidden": (32,),
                       "model.maxout_pieces": 2, "train.steps": 200, "train.batch_size": 64,
                       "train.lr_g": 1e-3, "train.lr_d": 2e-4, "train.log_every": 50,
                       "train.sample_every": 10000, "train.checkpoint_every": 10000}.items():
        set_value(cfg, key, value)
    run = gankit.train(cfg, tmp_path / "toy", progress=False)
    gan = run.gan.eval()
    z = gan.sample_z(2000, torch.Generator().manual_seed(123))
    with torch.no_grad():
        q = gan.critic(gan.G(z), features=True).q
    accuracy = (q.argmax(1) == gan.latent.split(z).categorical).float().mean().item()
    assert accuracy > 0.8, accuracy
    log = [json.loads(line) for line in (tmp_path / "toy" / "log.jsonl").read_text().splitlines()]
    # Q's cross-entropy falls from about the code's entropy, log 4 = 1.39
    assert log[0]["info_d"] > 1.0 and log[-1]["info_d"] < 0.5, [r["info_d"] for r in log]


@pytest.fixture(scope="module")
def info_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "info"
    assert gankit_cli("train", "--preset", "infogan", "--data", "digits", "--model", "dcgan",
                      "--steps", 2, "--batch-size", 16, "--set", "model.width=8", "--log-every", 1,
                      "--quiet", "--out", out) == 0
    return out


def test_infogan_preset_trains_without_nan(info_run):
    records = [json.loads(line) for line in (info_run / "log.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(np.isfinite(r[k]) for r in records for k in ("loss_d", "loss_g",
                                                                                   "info_d", "info_g"))
    cfg = gankit.load(info_run).config
    assert (cfg.model.info_categorical, cfg.model.info_continuous, cfg.model.latent_dim) == (10, 2, 62)
    assert (cfg.train.lr_d, cfg.train.lr_g, cfg.train.info_weight) == (2e-4, 1e-3, 1.0)


def test_sample_vary_draws_code_traversals(info_run, tmp_path, capsys):
    for code, columns in (("c1", 10), ("c2", 10)):
        assert gankit_cli("sample", info_run, "--vary", code, "-n", 3,
                          "-o", tmp_path / f"{code}.npy") == 0
        assert np.load(tmp_path / f"{code}.npy").shape == (3 * columns, 1, 8, 8)
        assert gankit_cli("sample", info_run, "--vary", code, "-o", tmp_path / f"{code}.png") == 0
        assert (tmp_path / f"{code}.png").stat().st_size > 0
    assert gankit_cli("sample", info_run, "--vary", "c4", "-o", tmp_path / "c4.png") == 2
    assert "codes are c1, c2, c3" in capsys.readouterr().err


def test_code_grid_varies_one_code_along_each_row(info_run):
    run = gankit.load(info_run)
    run.gan.generate = lambda z, G=None: z  # look at the latents the grid is made of
    for code in ("c1", "c3"):
        z, per_row = code_grid(run, code, rows=4, seed=0)
        parts = run.gan.latent.split(z.view(4, per_row, -1).flatten(0, 1))
        noise = parts.noise.view(4, per_row, -1)
        assert torch.equal(noise, noise[:, :1].expand_as(noise))  # fixed along a row
        assert not torch.equal(noise[0, 0], noise[1, 0])             # another draw per row
        c1, c23 = parts.categorical.view(4, 10), parts.continuous.view(4, 10, 2)
        if code == "c1":
            assert c1.tolist() == [list(range(10))] * 4
            assert torch.equal(c23, c23[:, :1].expand_as(c23))
        else:
            assert torch.allclose(c23[..., 1], torch.linspace(-2, 2, 10).expand(4, 10))
            assert torch.equal(c1, c1[:, :1].expand_as(c1))  # the other codes stay fixed
            assert torch.equal(c23[..., 0], c23[:, :1, 0].expand(4, 10))


def test_infogan_accuracy_is_an_evaluate_metric(info_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert gankit_cli("evaluate", info_run, "--metrics", "infogan_accuracy", "--json", out) == 0
    result = json.loads(out.read_text())
    assert 0.1 <= result["infogan_accuracy"] <= 1 and result["infogan_error"] == pytest.approx(
        1 - result["infogan_accuracy"])
    assert "Hungarian" in result["protocol"]["infogan_accuracy"]["matching"]
    plain = tmp_path / "plain"
    assert gankit_cli("train", "--data", "digits", "--model", "mlp", "--steps", 1, "--quiet",
                      "--out", plain, "--set", "model.g_hidden=16", "--set", "model.d_hidden=8") == 0
    assert gankit_cli("evaluate", plain, "--metrics", "infogan_accuracy") == 2
    assert "needs an InfoGAN run with a categorical code" in capsys.readouterr().err


def test_matched_accuracy_is_the_best_one_to_one_matching():
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        pred, labels = torch.randint(5, (60,), generator=gen), torch.randint(5, (60,), generator=gen)
        best = max(sum(int(((pred == c) & (labels == perm[c])).sum()) for c in range(5))
                   for perm in itertools.permutations(range(5)))
        assert matched_accuracy(pred, labels, 5, 5)["matched_accuracy"] == pytest.approx(best / 60)
    relabelled = torch.tensor([3, 3, 1, 1, 0, 2])  # a perfect clustering under other names
    assert matched_accuracy(relabelled, torch.tensor([0, 0, 1, 1, 2, 3]))["matched_error"] == 0.0


def test_infogan_settings_are_checked(capsys):
    base = ["train", "--out", "unused", "--dry-run"]
    assert gankit_cli(*base, "--set", "model.info_categorical=1") == 2
    assert "at least 2 values" in capsys.readouterr().err
    assert gankit_cli(*base, "--preset", "infogan", "--pack", "2") == 2
    assert "train.pack must be 1" in capsys.readouterr().err
