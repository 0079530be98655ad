"""Salimans et al. 2016 and after: label smoothing, feature matching, minibatch std, instance
noise, PacGAN packing; EBGAN's energy loss and pulling-away term; exact resume with them."""

import json
import math

import pytest
import torch

import gankit
from gankit.cli.main import main
from gankit.config import Config, ModelConfig, TrainConfig, set_value
from gankit.errors import ConfigError
from gankit.gans import pack
from gankit.gans.build import build_gan
from gankit.losses import LOSSES, build_loss, d_energy, d_minimax_target, feature_matching, pulling_away
from gankit.nets import ConvAutoencoder, MinibatchStd, MLPAutoencoder, build_models
from gankit.training.instance_noise import InstanceNoise, annealed_std
from helpers import StopAt

TINY = {"train.batch_size": 16, "train.log_every": 1, "train.sample_every": 1000,
        "train.checkpoint_every": 1000, "model.latent_dim": 4, "model.g_hidden": (16,),
        "model.d_hidden": (8,), "model.maxout_pieces": 2, "model.width": 8}


def config(**settings):
    cfg = Config()
    for key, value in {**TINY, **{k.replace("__", "."): v for k, v in settings.items()}}.items():
        set_value(cfg, key, value)
    return cfg


def finite_log(run_dir):
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return records, all(math.isfinite(v) for r in records for v in r.values() if isinstance(v, float))


# --- pure functions on hand-made values ------------------------------------------------------
def test_one_sided_label_smoothing_on_hand_made_logits():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0])
    p = torch.sigmoid(real)
    expected = -(0.9 * p.log() + 0.1 * (1 - p).log()).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    assert d_minimax_target(real, fake, 0.9).item() == pytest.approx(expected.item(), rel=1e-6)
    # at logit 0 the real term is -log(1/2) whatever the target: only the gradient moves
    at_zero = d_minimax_target(torch.zeros(1), torch.full((1,), -50.0), 0.9)
    assert at_zero.item() == pytest.approx(math.log(2))
    # the real term is smallest at D(x) = 0.9, not at D(x) -> 1
    logits = torch.linspace(-1, 5, 601)
    values = torch.stack([d_minimax_target(r[None], torch.full((1,), -50.0), 0.9) for r in logits])
    assert torch.sigmoid(logits[values.argmin()]).item() == pytest.approx(0.9, abs=0.01)


def test_label_smoothing_binds_the_target_and_only_to_targeted_losses():
    loss = build_loss(TrainConfig(loss="nonsaturating", label_smoothing=0.1))
    real, fake = torch.randn(6), torch.randn(6)
    assert torch.equal(loss.d(real, fake), d_minimax_target(real, fake, 0.9))
    assert loss.g is LOSSES.get("nonsaturating").g  # fakes and G's objective are untouched
    ls = build_loss(TrainConfig(loss="least-squares", label_smoothing=0.1))
    assert ls.d(torch.full((3,), 0.9), torch.zeros(3)).item() == pytest.approx(0.0, abs=1e-12)
    assert build_loss(TrainConfig(loss="nonsaturating")).d is LOSSES.get("nonsaturating").d
    for name in ("wasserstein", "hinge", "energy"):
        with pytest.raises(ConfigError, match="needs an objective with targets"):
            build_loss(TrainConfig(loss=name, label_smoothing=0.1))


def test_pulling_away_term_on_hand_made_codes():
    assert pulling_away(torch.eye(4)).item() == 0.0                        # orthogonal codes
    assert pulling_away(torch.ones(5, 3) * 2.0).item() == pytest.approx(1.0)  # identical codes
    assert pulling_away(torch.tensor([[1.0, 0.0], [-3.0, 0.0]])).item() == pytest.approx(1.0)  # parallel
    sixty = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])           # cos = 1/2
    assert pulling_away(sixty).item() == pytest.approx(0.25)
    # three codes: pairs (1,2) orthogonal, (1,3) and (2,3) at 45 degrees -> cos^2 = 1/2
    three = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert pulling_away(three).item() == pytest.approx((0 + 0.5 + 0.5) * 2 / 6)
    assert pulling_away(torch.randn(1, 4)).item() == 0.0


def test_energy_loss_and_feature_matching_values():
    real, fake = torch.tensor([0.1, 0.3]), torch.tensor([0.5, 2.0])
    # E(x) mean 0.2; hinge: max(0, 1 - 0.5) = 0.5 and 0 -> mean 0.25
    assert d_energy(real, fake, margin=1.0).item() == pytest.approx(0.45)
    assert build_loss(TrainConfig(loss="energy", margin=3.0)).d(real, fake).item() == pytest.approx(
        0.2 + (2.5 + 1.0) / 2)
    f_real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])     # mean (2, 3)
    f_fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])     # mean (1, 1)
    assert feature_matching(f_real, f_fake).item() == pytest.approx(1.0 + 4.0)


def test_autoencoder_discriminators_return_reconstruction_energies():
    torch.manual_seed(0)
    for D, x in ((MLPAutoencoder((1, 8, 8), hidden=(16, 6)), torch.rand(5, 1, 8, 8)),
                 (ConvAutoencoder(8, 1, width=4), torch.rand(5, 1, 8, 8))):
        out = D(x, features=True)
        assert out.logits.shape == (5,) and (out.logits >= 0).all()
        assert out.features.shape == (5, D.feature_dim)
        recon = D.decoder(D.encoder(x)).reshape(x.shape)
        assert torch.allclose(out.logits, ((recon - x) ** 2).flatten(1).mean(1))
        assert torch.equal(D(x), out.logits)


# --- minibatch standard deviation --------------------------------------------------------------
def test_minibatch_std_appends_the_mean_std_as_a_constant_map():
    x = torch.randn(6, 3, 4, 4)
    y = MinibatchStd()(x)
    assert y.shape == (6, 4, 4, 4) and torch.equal(y[:, :3], x)
    expected = x.std(dim=0, unbiased=False).mean()
    assert torch.allclose(y[:, 3], expected.expand(6, 4, 4), atol=1e-6)
    assert MinibatchStd()(torch.randn(5, 2)).shape == (5, 3)


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_minibatch_std_makes_d_see_the_batch(name):
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, latent_dim=4, g_hidden=(8,), d_hidden=(8,), maxout_pieces=2,
                      width=8, minibatch_std=True)
    _, D = build_models(cfg, (1, 8, 8), "image")
    assert any(isinstance(m, MinibatchStd) for m in D.modules())
    x = torch.rand(4, 1, 8, 8)
    same = torch.cat([x[:1]] * 4)  # a collapsed batch: zero spread
    D.eval()
    assert not torch.allclose(D(x)[0], D(same)[0])


# --- instance noise ------------------------------------------------------------------------
def test_instance_noise_is_annealed_linearly_to_zero():
    assert [annealed_std(0.2, s, 100) for s in (0, 25, 50, 100, 120)] == pytest.approx(
        [0.2, 0.15, 0.1, 0.0, 0.0])
    noise = InstanceNoise(0.5, steps=4, device=torch.device("cpu"), seed=0)
    x = torch.zeros(2000)
    assert noise(x, 4) is x  # the last step: no noise, no random draw
    assert noise(x, 0).std().item() == pytest.approx(0.5, rel=0.1)
    assert noise(x, 2).std().item() == pytest.approx(0.25, rel=0.1)
    assert InstanceNoise(0.0, 4, torch.device("cpu"), 0)(x, 0) is x


# --- PacGAN packing --------------------------------------------------------------------------
def test_pack_concatenates_consecutive_items_along_channels():
    x = torch.arange(8 * 3 * 2 * 2, dtype=torch.float32).view(8, 3, 2, 2)
    packed = pack(x, 2)
    assert packed.shape == (4, 6, 2, 2)
    assert torch.equal(packed[1, :3], x[2]) and torch.equal(packed[1, 3:], x[3])
    points = torch.randn(12, 2)
    assert pack(points, 4).shape == (3, 8) and torch.equal(pack(points, 4)[0, 2:4], points[1])
    with pytest.raises(ValueError, match="packs of 3"):
        pack(points[:10], 3)


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_packed_d_reads_m_times_the_input_and_gives_one_logit_per_pack(name):
    torch.manual_seed(0)
    cfg = config(model__name=name, data__name="digits", train__pack=3, train__batch_size=12)
    gan = build_gan(cfg, (1, 8, 8), "image", num_classes=10)
    first = next(m for m in gan.D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    width = first.in_channels if name == "dcgan" else first.in_features
    assert width == (3 if name == "dcgan" else 3 * 64)
    x = torch.rand(12, 1, 8, 8)
    assert gan.critic(x).logits.shape == (4,)
    D, real, _ = gan.penalty_inputs(x, x)
    assert real.shape == (4, 3, 8, 8) and D(real).shape == (4,)


def test_pack_must_divide_the_batch(capsys):
    argv = ["train", "--data", "ring8", "--model", "mlp", "--out", "unused", "--dry-run"]
    assert main(argv + ["--pack", "3", "--batch-size", "16"]) == 2
    assert "train.batch_size 16 must be divisible by train.pack 3" in capsys.readouterr().err
    assert main(argv + ["--pack", "5", "--batch-size", "20"]) == 2
    assert "train.pack must be 1 (off) to 4" in capsys.readouterr().err
    assert main(argv + ["--pack", "4", "--batch-size", "16", "--label-smoothing", "0.1",
                        "--instance-noise", "0.1", "--feature-matching", "--minibatch-std"]) == 0
    d = json.loads(capsys.readouterr().out)  # every trick lands in config.json
    t = d["train"]
    assert (t["pack"], t["label_smoothing"], t["instance_noise"]) == (4, 0.1, 0.1)
    assert d["train"]["feature_matching"] is True and d["model"]["minibatch_std"] is True


# --- every objective with every trick ----------------------------------------------------------
@pytest.mark.parametrize("loss", sorted(LOSSES.names()))
def test_tricks_compose_with_every_objective(tmp_path, loss):
    targets = LOSSES.get(loss).d_target is not None
    cfg = config(data__name="digits", model__name="mlp", train__loss=loss, train__steps=2,
                 train__pack=2, train__instance_noise=0.2, train__feature_matching=True,
                 model__minibatch_std=True, train__label_smoothing=0.1 if targets else 0.0)
    gankit.train(cfg, tmp_path / "run", progress=False)
    records, finite = finite_log(tmp_path / "run")
    assert len(records) == 2 and finite, records


@pytest.mark.parametrize("preset,model", [("ebgan", "mlp"), ("ebgan", "dcgan")])
def test_ebgan_preset_trains_without_nan(tmp_path, preset, model):
    out = tmp_path / "run"
    assert main(["train", "--preset", preset, "--data", "digits", "--model", model, "--steps", "2",
                 "--batch-size", "16", "--out", str(out), "--quiet", "--log-every", "1",
                 "--set", "model.width=8", "--set", "model.d_hidden=16,8"]) == 0
    records, finite = finite_log(out)
    assert len(records) == 2 and finite and "pt_g" in records[-1], records
    run = gankit.load(out)
    assert run.config.train.loss == "energy" and run.config.train.pt_weight == 0.1
    assert isinstance(run.D, MLPAutoencoder if model == "mlp" else ConvAutoencoder)


# --- exact resume ---------------------------------------------------------------------------


def weights(run):
    return {f"{n}.{k}": v for n, m in (("G", run.G), ("D", run.D)) for k, v in m.state_dict().items()}


@pytest.mark.parametrize("settings", [
    # labels through the loop, packs of labels, noise from its own stream, features for G
    {"model__name": "mlp", "model__conditional": True, "train__pack": 2, "train__instance_noise": 0.3,
     "train__feature_matching": True, "model__d_dropout": 0.2},
    # label maps and BatchNorm, the projection's embedding, the gradient penalty on packs
    {"model__name": "dcgan", "model__conditional": True, "model__conditioning": "projection",
     "train__pack": 4, "train__instance_noise": 0.3, "train__penalty": "gp",
     "model__minibatch_std": True},
])
def test_exact_resume_with_noise_packing_and_labels(tmp_path, settings):
    settings = {"data__name": "digits", "train__steps": 4, **settings}
    straight = gankit.train(config(**settings), tmp_path / "a", progress=False)
    gankit.train(config(**settings), tmp_path / "b", progress=False, callbacks=[StopAt(2)])
    resumed = gankit.train(config(**settings), tmp_path / "b", resume=True, progress=False)
    a, b = weights(straight), weights(resumed)
    assert resumed.step == 4 and a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    # the noise mattered: without it the same run ends elsewhere
    quiet = gankit.train(config(**{**settings, "train__instance_noise": 0.0}), tmp_path / "c",
                         progress=False)
    assert any(not torch.equal(a[k], v) for k, v in weights(quiet).items())
