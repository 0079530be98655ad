"""Conditional GANs: the label reaches G and D (concat and projection), the projection formula,
labels through the loop, errors on unlabelled data, and `gankit sample --class / --grid classes`."""

import json

import numpy as np
import pytest
import torch

import gankit
from gankit.cli.main import main
from gankit.config import Config, TrainConfig, set_value
from gankit.data.base import TensorDataset
from gankit.gans.build import build_gan
from gankit.nets import MLPDiscriminator, ProjectionDiscriminator
from gankit.training import Trainer

TINY = ["--latent-dim", "4", "--batch-size", "16", "--log-every", "1", "--quiet",
        "--set", "model.g_hidden=16", "--set", "model.d_hidden=8", "--set", "model.maxout_pieces=2",
        "--set", "model.width=8"]


def gankit_cli(*argv):
    return main([str(a) for a in argv])


def conditional_gan(name, conditioning, pack=1):
    cfg = Config()
    for key, value in {"model.name": name, "model.conditional": True, "model.conditioning": conditioning,
                       "model.latent_dim": 4, "model.g_hidden": (16,), "model.d_hidden": (8,),
                       "model.maxout_pieces": 2, "model.width": 8, "train.pack": pack,
                       "train.batch_size": 8}.items():
        set_value(cfg, key, value)
    torch.manual_seed(0)
    return build_gan(cfg, (1, 8, 8), "image", num_classes=10)


@pytest.mark.parametrize("name,conditioning", [("mlp", "concat"), ("dcgan", "concat"),
                                               ("mlp", "projection"), ("dcgan", "projection")])
def test_the_label_changes_g_output_and_d_logit(name, conditioning):
    gan = conditional_gan(name, conditioning).eval()
    z = gan.sample_z(6, torch.Generator().manual_seed(0))
    assert z.shape == (6, 4 + 10)  # noise, then the one-hot label
    threes, sevens = gan.latent.with_labels(z, 3), gan.latent.with_labels(z, 7)
    assert torch.equal(gan.latent.split(sevens).noise, gan.latent.split(threes).noise)
    x3, x7 = gan.G(threes), gan.G(sevens)
    assert not torch.allclose(x3, x7)
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    d3, d7 = gan.critic(x, torch.full((6,), 3)).logits, gan.critic(x, torch.full((6,), 7)).logits
    assert d3.shape == (6,) and not torch.allclose(d3, d7)
    with pytest.raises(ValueError, match="needs the labels"):
        gan.critic(x)


def test_concat_widens_d_input_by_the_packed_one_hot_codes():
    gan = conditional_gan("dcgan", "concat", pack=2)
    first_conv = next(m for m in gan.D.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 2 * 1 + 2 * 10  # two images, two label maps of 10
    gan = conditional_gan("mlp", "concat", pack=2)
    first = next(m for m in gan.D.modules() if isinstance(m, torch.nn.Linear))
    assert first.in_features == 2 * 64 + 2 * 10
    x, y = torch.rand(8, 1, 8, 8), torch.randint(10, (8,))
    assert gan.critic(x, y).logits.shape == (4,)
    # the pair's labels are read as a pair: swapping one label changes that pack's score only
    y2 = y.clone()
    y2[0] = (y[0] + 1) % 10
    a, b = gan.eval().critic(x, y).logits, gan.critic(x, y2).logits
    assert a[0] != b[0] and torch.equal(a[1:], b[1:])


def test_projection_discriminator_is_psi_of_phi_plus_the_embedding_inner_product():
    torch.manual_seed(0)
    body = MLPDiscriminator((5,), hidden=(7,), pieces=2)
    D = ProjectionDiscriminator(body, num_classes=4)
    x, y = torch.randn(6, 5), torch.tensor([0, 1, 2, 3, 3, 1])
    out = D(x, y, features=True)
    phi = body.net[:-1](x)
    expected = body.net[-1](phi).squeeze(1) + (D.embed.weight[y] * phi).sum(1)
    assert torch.allclose(out.logits, expected, atol=1e-6) and torch.allclose(out.features, phi)
    # packed: the pack's labels each add their inner product
    pairs = torch.tensor([[0, 2], [1, 1], [3, 0], [2, 2], [0, 0], [1, 3]])
    v = D.embed.weight[pairs[:, 0]] + D.embed.weight[pairs[:, 1]]
    expected = body.net[-1](phi).squeeze(1) + (v * phi).sum(1)
    assert torch.allclose(D(x, pairs), expected, atol=1e-6)


def test_the_loop_feeds_dataset_labels_and_uniform_fake_labels():
    gan = conditional_gan("mlp", "concat")
    x, y = torch.rand(40, 1, 8, 8), torch.arange(40) % 10
    trainer = Trainer(gan, TensorDataset(x=x, y=y, num_classes=10), TrainConfig(batch_size=8))
    real, labels = trainer.real_batch()
    order = trainer.batches.perm[:8]
    assert torch.equal(labels, y[order]) and torch.allclose(real, gan.to_model(x[order]))
    fake_labels = gan.latent.split(gan.sample_z(5000, torch.Generator().manual_seed(1))).labels
    counts = torch.bincount(fake_labels, minlength=10).float() / 5000
    assert ((counts - 0.1).abs() < 0.02).all()


def test_conditional_on_unlabelled_data_is_a_one_line_error(tmp_path, capsys):
    assert gankit_cli("train", "--data", "ring8", "--model", "mlp", "--conditional", "--steps", 1,
                      "--out", tmp_path / "r", *TINY) == 2
    err = capsys.readouterr().err
    assert "model.conditional needs labelled data" in err and "ring8 has no labels" in err
    assert len(err.strip().splitlines()) == 1


def test_conditional_composes_with_presets(capsys):
    assert gankit_cli("train", "--preset", "wgan-gp", "--conditional", "--conditioning", "projection",
                      "--out", "unused", "--dry-run") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["preset"] == "wgan-gp" and d["model"]["conditional"] is True
    assert d["model"]["conditioning"] == "projection" and d["train"]["penalty"] == "gp"


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cond"
    assert gankit_cli("train", "--data", "digits", "--model", "mlp", "--conditional", "--steps", 2,
                      "--ema", "0.5", "--out", out, *TINY) == 0
    return out


def test_sample_one_class(conditional_run, tmp_path, capsys):
    assert gankit_cli("sample", conditional_run, "--class", 7, "-n", 5, "-o", tmp_path / "7.npy") == 0
    run = gankit.load(conditional_run)
    sevens = np.load(tmp_path / "7.npy")
    assert sevens.shape == (5, 1, 8, 8)
    assert np.array_equal(sevens, run.sample(5, seed=0, labels=7).numpy())
    assert not np.array_equal(sevens, run.sample(5, seed=0, labels=3).numpy())
    assert gankit_cli("sample", conditional_run, "--class", 12, "-o", tmp_path / "x.npy") == 2
    assert "class must be in 0..9, got [12]" in capsys.readouterr().err


def test_grid_of_classes_is_one_row_per_class(conditional_run, tmp_path):
    assert gankit_cli("sample", conditional_run, "--grid", "classes", "-n", 3,
                      "-o", tmp_path / "g.npy") == 0
    assert gankit_cli("sample", conditional_run, "--grid", "classes", "-o", tmp_path / "g.png") == 0
    assert (tmp_path / "g.png").stat().st_size > 0
    grid = np.load(tmp_path / "g.npy")
    run = gankit.load(conditional_run)
    assert grid.shape == (30, 1, 8, 8)
    for k in (0, 4, 9):  # row k: class k, with the noise any 3 samples of seed 0 would have
        assert np.array_equal(grid[3 * k:3 * k + 3], run.sample(3, seed=0, labels=k).numpy())


def test_class_options_on_an_unconditional_run_are_one_line_errors(tmp_path, capsys):
    out = tmp_path / "plain"
    assert gankit_cli("train", "--data", "digits", "--model", "mlp", "--steps", 1, "--out", out,
                      *TINY) == 0
    for args in (["--class", "3"], ["--grid", "classes"]):
        assert gankit_cli("sample", out, *args, "-o", tmp_path / "x.png") == 2
        err = capsys.readouterr().err
        assert "conditional" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exit_:
        gankit_cli("sample", out, "--class", "3", "--grid", "classes", "-o", tmp_path / "x.png")
    assert exit_.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
