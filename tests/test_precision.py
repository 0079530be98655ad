"""train.precision: bf16 / fp16 autocast with float32 master weights, loss scaling, exact resume."""

import pytest
import torch

import gankit
from gankit.cli.main import main
from gankit.config import Config, set_value
from gankit.training.checkpoint import latest_checkpoint, load_state
from gankit.training.precision import Precision
from helpers import StopAt, weights


def small_config(precision, steps=12, **extra):
    cfg = Config()
    for key, value in {"data.name": "digits", "model.name": "dcgan", "model.width": 8,
                       "model.latent_dim": 16, "train.steps": steps, "train.batch_size": 16,
                       "train.precision": precision, "train.log_every": 4,
                       "train.sample_every": 1000, "train.checkpoint_every": 1000, **extra}.items():
        set_value(cfg, key, value)
    return cfg


class Spy:
    """Records the dtypes the loop works in."""

    def on_start(self, trainer):
        self.trainer = trainer

    def on_step(self, trainer, stats):
        self.stats = stats

    def on_end(self, trainer):
        pass


def test_bf16_keeps_float32_weights_and_optimizer_state(tmp_path):
    spy = Spy()
    run = gankit.train(small_config("bf16", steps=4), tmp_path / "r", progress=False, callbacks=[spy])
    assert all(p.dtype == torch.float32 for p in run.gan.parameters())
    for opt in (spy.trainer.opt_g, spy.trainer.opt_d):
        assert all(v.dtype == torch.float32 for s in opt.state.values() for v in s.values()
                   if torch.is_tensor(v) and v.dim() > 0)
    assert all(torch.isfinite(v) and v.dtype == torch.float32 for v in spy.stats.values())
    # under autocast the convolutions run in bfloat16, and D's logits come back in float32
    with spy.trainer.precision.autocast():
        x = torch.rand(2, 1, 8, 8).contiguous(memory_format=torch.channels_last)
        assert run.D.net[0](x).dtype == torch.bfloat16
        assert run.D(x).dtype == torch.float32
    assert run.sample(4).dtype == torch.float32


def test_bf16_differs_from_fp32_but_stays_close(tmp_path):
    a = weights(gankit.train(small_config("fp32", steps=3), tmp_path / "a", progress=False))
    b = weights(gankit.train(small_config("bf16", steps=3), tmp_path / "b", progress=False))
    diffs = [(a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].is_floating_point()]
    assert 0 < max(diffs) < 0.05


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_interrupt_and_resume_is_bit_identical(tmp_path, precision):
    straight = gankit.train(small_config(precision), tmp_path / "a", progress=False)
    gankit.train(small_config(precision), tmp_path / "b", progress=False, callbacks=[StopAt(5)])
    resumed = gankit.train(small_config(precision), tmp_path / "b", resume=True, progress=False)
    a, b = weights(straight), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]


def test_fp16_loss_scales_travel_in_the_checkpoint(tmp_path):
    gankit.train(small_config("fp16", steps=3), tmp_path / "r", progress=False)
    _, state = load_state(latest_checkpoint(tmp_path / "r"))
    assert set(state["loss_scales"]) == {"g", "d"}
    assert state["loss_scales"]["d"]["scale"] > 1
    _, state = load_state(latest_checkpoint(
        gankit.train(small_config("fp32", steps=1), tmp_path / "f", progress=False).path))
    assert state["loss_scales"] == {}


def test_fp16_skips_a_step_whose_gradients_overflow_and_backs_off():
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    precision = Precision("fp16", torch.device("cpu"), {"d": opt}, torch.nn.Identity())
    scale = precision.scalers["d"].get_scale()
    precision.scale((w * float("inf")).sum(), opt).backward()
    precision.step(opt)
    assert torch.equal(w.detach(), torch.ones(3))  # skipped
    assert precision.scalers["d"].get_scale() == scale / 2
    opt.zero_grad()
    precision.scale(w.sum(), opt).backward()
    precision.step(opt)
    assert torch.allclose(w.detach(), torch.full((3,), 0.9))  # unscaled gradient of 1


def test_fp32_is_plain():
    w = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([w], lr=1.0)
    precision = Precision("fp32", torch.device("cpu"), {"g": opt}, torch.nn.Identity())
    loss = 3 * w.sum()
    assert precision.scale(loss, opt) is loss and precision.state_dict() == {}
    assert not torch.is_autocast_enabled("cpu")
    with precision.autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_unknown_precision_is_a_one_line_error(tmp_path, capsys):
    code = main(["train", "--data", "ring8", "--model", "mlp", "--precision", "bf15",
                 "--out", str(tmp_path / "r"), "--steps", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "unknown precision 'bf15': use one of bf16, fp16, fp32" in err
    assert not (tmp_path / "r").exists()
