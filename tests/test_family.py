"""The GAN family: penalties against numerical and hand-computed values, weight clipping, the
presets, the moving average of G, spectral normalisation, and exact resume with all of them."""

import json
import math
import shutil

import numpy as np
import pytest
import torch
from torch import nn

import gankit
from gankit.cli.main import main
from gankit.config import Config, ModelConfig, set_value
from gankit.errors import ConfigError
from gankit.nets import build_models
from gankit.penalties import PENALTIES, clip_weights_, gradient_penalty, r1_penalty
from gankit.presets import PRESETS
from gankit.training.checkpoint import G_EMA_FILE, latest_checkpoint
from gankit.training.ema import make_ema, update_ema_
from gankit.training.optim import OPTIMIZERS
from helpers import StopAt

TINY = ["--set", "model.g_hidden=16", "--set", "model.d_hidden=8", "--set", "model.maxout_pieces=2",
        "--latent-dim", "4", "--batch-size", "16", "--log-every", "1", "--quiet"]


def gankit_cli(*argv):
    return main([str(a) for a in argv])


def tiny_critic():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1), nn.Flatten(0)).double()


# --- penalties -------------------------------------------------------------------------------
def test_gradient_penalty_matches_finite_differences():
    D = tiny_critic()
    real, fake = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    value = gradient_penalty(D, real, fake, torch.Generator().manual_seed(7))

    eps = torch.rand((5, 1), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    x_hat, h = eps * real + (1 - eps) * fake, 1e-6
    with torch.no_grad():
        grad = torch.stack([(D(x_hat + h * e) - D(x_hat - h * e)) / (2 * h)
                            for e in torch.eye(3, dtype=torch.float64)], dim=1)  # B x 3
    expected = ((grad.norm(dim=1) - 1) ** 2).mean()
    assert value.item() == pytest.approx(expected.item(), abs=1e-8)

    # create_graph: the penalty's gradient reaches D's weights, and is the right one
    value.backward()
    w = D[0].weight
    analytic = w.grad[2, 1].item()
    with torch.no_grad():
        w[2, 1] += h
    up = gradient_penalty(D, real, fake, torch.Generator().manual_seed(7)).item()
    with torch.no_grad():
        w[2, 1] -= 2 * h
    down = gradient_penalty(D, real, fake, torch.Generator().manual_seed(7)).item()
    assert analytic == pytest.approx((up - down) / (2 * h), rel=1e-5)


def test_gradient_penalty_interpolates_images_per_sample():
    D = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    real, fake = torch.rand(4, 3, 2, 2), torch.rand(4, 3, 2, 2)
    value = gradient_penalty(D, real, fake, torch.Generator().manual_seed(0))
    # a linear critic has the same gradient w everywhere: (||w|| - 1)^2 whatever eps is
    assert value.item() == pytest.approx(((D[1].weight.norm() - 1) ** 2).item(), rel=1e-5)


def test_r1_of_a_linear_critic_is_the_squared_norm_of_w():
    D = nn.Linear(3, 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[1.0, 2.0, -2.0]]))
        D.bias.fill_(0.5)
    assert r1_penalty(D, torch.randn(8, 3)).item() == 9.0  # ||w||^2 = 1 + 4 + 4, exactly
    D = nn.Linear(5, 1).double()
    expected = D.weight.pow(2).sum().item()
    assert r1_penalty(D, torch.randn(8, 5, dtype=torch.float64)).item() == pytest.approx(expected, rel=1e-12)


def test_penalty_registry():
    assert PENALTIES.get("none") is None
    assert PENALTIES.get("gp").factor == 1.0 and PENALTIES.get("r1").factor == 0.5  # gamma / 2
    with pytest.raises(ConfigError, match="unknown penalty 'wgp'.*gp"):
        PENALTIES.get("wgp")


def test_clip_weights_clamps_every_parameter():
    D = tiny_critic()
    clip_weights_(D, 0.05)
    assert all(p.abs().max() <= 0.05 for p in D.parameters())


def test_rmsprop_is_registered():
    opt = OPTIMIZERS.get("rmsprop")([nn.Parameter(torch.zeros(2))], 5e-5, Config().train)
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == 5e-5


# --- presets ---------------------------------------------------------------------------------
def finite_log(run_dir):
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    values = [v for r in records for k, v in r.items() if k.startswith(("loss", "penalty"))]
    return records, all(math.isfinite(v) for v in values)


@pytest.mark.parametrize("preset,data,model,steps", [
    ("gan2014", "ring8", "mlp", 2), ("dcgan", "ring8", "mlp", 2), ("wgan", "ring8", "mlp", 2),
    ("wgan-gp", "ring8", "mlp", 2), ("lsgan", "ring8", "mlp", 2), ("hinge", "ring8", "mlp", 2),
    ("wgan-gp", "digits", "dcgan", 1),  # the penalty through convolutions and BatchNorm
])
def test_every_preset_trains_without_nan(tmp_path, preset, data, model, steps):
    out = tmp_path / "run"
    assert gankit_cli("train", "--preset", preset, "--data", data, "--model", model, "--steps", steps,
                      "--set", "model.width=8", "--out", out, *TINY) == 0
    records, finite = finite_log(out)
    assert len(records) == steps and finite, records
    cfg = gankit.load(out).config
    assert cfg.preset == preset and cfg.model.name == model  # the preset did not force a model
    if cfg.train.penalty != "none":
        assert f"penalty_{cfg.train.penalty}" in records[-1]


def test_wgan_clipping_keeps_critic_weights_in_range(tmp_path):
    out = tmp_path / "wgan"
    assert gankit_cli("train", "--preset", "wgan", "--data", "ring8", "--model", "mlp", "--steps", 3,
                      "--out", out, *TINY) == 0
    D = gankit.load(out).D
    largest = max(p.abs().max().item() for p in D.parameters())
    assert largest == pytest.approx(0.01)  # clipped, and clipping was needed: init is wider


def test_dry_run_shows_the_wgan_gp_settings(capsys):
    assert gankit_cli("train", "--preset", "wgan-gp", "--out", "unused", "--dry-run") == 0
    t = json.loads(capsys.readouterr().out)["train"]
    assert (t["loss"], t["penalty"], t["penalty_weight"], t["d_steps"]) == ("wasserstein", "gp", 10.0, 5)
    assert (t["optimizer"], t["lr_d"], t["betas"], t["clip"], t["ema"]) == ("adam", 1e-4, [0.0, 0.9], 0.0, 0.0)
    assert gankit_cli("train", "--preset", "wgan-gp", "--set", "train.betas=0.5,0.9", "--out", "unused",
                      "--dry-run") == 0
    assert json.loads(capsys.readouterr().out)["train"]["betas"] == [0.5, 0.9]


def test_new_settings_are_range_checked(capsys):
    for setting, message in (("train.ema=1", "train.ema must be in [0, 1)"),
                             ("train.clip=-0.1", "train.clip must be 0 (off) or positive")):
        assert gankit_cli("train", "--set", setting, "--out", "unused", "--dry-run") == 2
        assert message in capsys.readouterr().err


def test_new_presets_leave_the_model_alone():
    for name in ("wgan", "wgan-gp", "lsgan", "hinge"):
        assert not {k for k in PRESETS.get(name) if k.startswith("model.")} - {"model.spectral_norm"}


# --- EMA of G --------------------------------------------------------------------------------
def test_ema_averages_parameters_and_copies_buffers():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = make_ema(G)
    before = [p.clone() for p in ema.parameters()]
    G(torch.randn(8, 3))  # moves BatchNorm's running statistics
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    update_ema_(ema, G, 0.9)
    for e, b, p in zip(ema.parameters(), before, G.parameters()):
        assert torch.allclose(e, 0.9 * b + 0.1 * p)
    assert all(torch.equal(e, b) for e, b in zip(ema.buffers(), G.buffers()))
    assert not any(p.requires_grad for p in ema.parameters())


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ema"
    assert gankit_cli("train", "--data", "ring8", "--model", "mlp", "--ema", "0.9", "--steps", 5,
                      "--out", out, *TINY) == 0
    return out


def test_ema_weights_differ_and_are_checkpointed(ema_run):
    assert (latest_checkpoint(ema_run) / G_EMA_FILE).is_file()
    run = gankit.load(ema_run)
    raw, ema = run.G.state_dict(), run.G_ema.state_dict()
    assert raw.keys() == ema.keys() and any(not torch.equal(raw[k], ema[k]) for k in raw)
    assert gankit.load(ema_run, raw=True).G_ema is None


def test_sample_uses_the_ema_unless_raw(ema_run, tmp_path):
    assert gankit_cli("sample", ema_run, "-n", 20, "-o", tmp_path / "ema.npy") == 0
    assert gankit_cli("sample", ema_run, "-n", 20, "--raw", "-o", tmp_path / "raw.npy") == 0
    default, raw = np.load(tmp_path / "ema.npy"), np.load(tmp_path / "raw.npy")
    assert not np.array_equal(default, raw)
    run = gankit.load(ema_run)
    assert np.array_equal(default, run.gan.sample(20, seed=0, G=run.G_ema).numpy())
    assert np.array_equal(raw, run.gan.sample(20, seed=0, G=run.G).numpy())
    assert torch.equal(run.sample(20), torch.from_numpy(default))
    assert torch.equal(run.sample(20, raw=True), torch.from_numpy(raw))


def test_runs_without_ema_still_load_and_sample(tmp_path):
    out = tmp_path / "plain"
    assert gankit_cli("train", "--data", "ring8", "--model", "mlp", "--steps", 2, "--out", out, *TINY) == 0
    assert not (latest_checkpoint(out) / G_EMA_FILE).exists()
    # a config.json written before these settings existed
    old = tmp_path / "old"
    shutil.copytree(out, old)
    cfg = json.loads((old / "config.json").read_text())
    for key in ("penalty", "penalty_weight", "clip", "ema"):
        del cfg["train"][key]
    del cfg["model"]["spectral_norm"]
    (old / "config.json").write_text(json.dumps(cfg))
    run = gankit.load(old)
    assert run.G_ema is None and torch.equal(run.sample(10), run.sample(10, raw=True))


# --- spectral normalisation ------------------------------------------------------------------
def test_spectral_norm_bounds_every_layer_of_d():
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(name="mlp", latent_dim=4, g_hidden=(8,), d_hidden=(8,),
                                    maxout_pieces=2, spectral_norm=True), (2,), "points")
    layers = [m for m in D.modules() if isinstance(m, nn.Linear)]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    assert not any(hasattr(m, "parametrizations") for m in G.modules())
    for _ in range(30):  # each training forward is one power iteration
        D(torch.randn(4, 2))
    for m in layers:
        assert torch.linalg.matrix_norm(m.weight.detach(), 2).item() == pytest.approx(1.0, abs=1e-3)


# --- exact resume ----------------------------------------------------------------------------


def family_config(preset, data, model, steps, **extra):
    cfg = Config()
    for key, value in PRESETS.get(preset).items():
        set_value(cfg, key, value)
    for key, value in {"data.name": data, "model.name": model, "train.steps": steps,
                       "train.batch_size": 16, "train.log_every": 1000, "train.sample_every": 1000,
                       "train.checkpoint_every": 1000, "model.latent_dim": 4, "model.g_hidden": (16,),
                       "model.d_hidden": (8,), "model.maxout_pieces": 2, "model.width": 8,
                       **extra}.items():
        set_value(cfg, key, value)
    return cfg


def all_weights(run):
    return {f"{name}.{k}": v for name, m in (("G", run.G), ("D", run.D), ("G_ema", run.G_ema))
            for k, v in m.state_dict().items()}


@pytest.mark.parametrize("preset,data,model,extra", [
    ("wgan-gp", "ring8", "mlp", {"train.ema": 0.9}),
    # BatchNorm buffers in the EMA, spectral norm's u/v buffers in D, R1 through channels-last convs
    ("hinge", "digits", "dcgan", {"train.ema": 0.9, "train.penalty": "r1", "train.d_steps": 1}),
])
def test_exact_resume(tmp_path, preset, data, model, extra):
    steps = 4
    straight = gankit.train(family_config(preset, data, model, steps, **extra), tmp_path / "a",
                            progress=False)
    gankit.train(family_config(preset, data, model, steps, **extra), tmp_path / "b", progress=False,
                 callbacks=[StopAt(2)])
    resumed = gankit.train(family_config(preset, data, model, steps, **extra), tmp_path / "b",
                           resume=True, progress=False)
    a, b, loaded = all_weights(straight), all_weights(resumed), all_weights(gankit.load(tmp_path / "b"))
    assert resumed.step == steps and a.keys() == b.keys() == loaded.keys()
    if model == "dcgan":
        assert any(k.endswith("_u") for k in a)  # spectral norm's power-iteration state is saved
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert [k for k in a if not torch.equal(a[k], loaded[k])] == []
