"""The pieces of Goodfellow et al.'s own MNIST setup (the gan2014 preset): pylearn2's uniform
init, G's output started at the data's mean, the momentum ramp and learning-rate decay of SGD,
and training on the first N items; each checked on its own and through an exact resume."""

import copy

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.config import Config, TrainConfig, set_value, validate
from gankit.data import load_dataset
from gankit.data.base import Head, TensorDataset, data_mean, first_items
from gankit.errors import ConfigError
from gankit.gans.latent import PRIORS as PRIORS_OF_LATENT
from gankit.nets import MLPGenerator, build_models, uniform_init_
from gankit.presets import PRESETS
from gankit.run import DataInfo, build_gan
from gankit.training.checkpoint import latest_checkpoint, load_state
from gankit.training.loop import Trainer
from gankit.training.optim import momentum_at, schedule_
from helpers import StopAt, weights

TINY = {"train.batch_size": 16, "train.log_every": 1, "train.sample_every": 1000,
        "train.checkpoint_every": 1000, "model.latent_dim": 4, "model.g_hidden": (16,),
        "model.d_hidden": (8,), "model.maxout_pieces": 2, "data.name": "digits"}


def config(**settings):
    cfg = Config()
    for key, value in {**PRESETS.get("gan2014"), **TINY, **settings}.items():
        set_value(cfg, key, value)
    return cfg


def test_uniform_init_bounds_weights_and_zeroes_biases():
    cfg = Config().model
    cfg.name, cfg.g_init, cfg.d_init, cfg.conditional = "mlp", 0.05, 0.005, True
    G, D = build_models(cfg, (1, 8, 8), "image", latent_width=cfg.latent_dim + 3, num_classes=3)
    for net, r in ((G, 0.05), (D, 0.005)):
        linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
        assert len(linears) >= 3
        for m in linears:
            assert m.weight.abs().max() <= r and m.weight.abs().max() > r / 2  # filled, not zeroed
            assert torch.count_nonzero(m.bias) == 0
    cfg.g_init = cfg.d_init = 0.0  # PyTorch's init: biases drawn, weights wider
    G, _ = build_models(cfg, (1, 8, 8), "image", latent_width=cfg.latent_dim + 3, num_classes=3)
    assert all(torch.count_nonzero(m.bias) > 0 for m in G.modules() if isinstance(m, torch.nn.Linear))
    conv = uniform_init_(torch.nn.Conv2d(2, 3, 3), 0.01)
    assert conv.weight.abs().max() <= 0.01 and torch.count_nonzero(conv.bias) == 0


@pytest.mark.parametrize("output", ["sigmoid", "tanh", "linear"])
def test_generator_starts_at_the_data_mean(output):
    G = MLPGenerator(5, (2, 3), hidden=(7,), output=output)
    low = {"sigmoid": 0.0, "tanh": -1.0, "linear": -3.0}[output]
    mean = low + torch.rand(2, 3) * 0.9
    mean[0, 0] = low  # clipped to just inside the range, as pylearn2 did, instead of -inf
    G.start_at_(mean)
    torch.nn.init.zeros_(G.net[-2].weight)  # a zero pre-activation leaves the bias alone
    out = G(torch.randn(4, 5))
    assert torch.isfinite(out).all()
    assert torch.allclose(out, mean.expand(4, 2, 3), atol=1e-5)


def test_momentum_ramps_and_lr_decays_step_by_step():
    cfg = TrainConfig(momentum=0.5, momentum_final=0.7, momentum_ramp=(10, 20), lr_decay=2.0,
                      min_lr=0.1)
    assert [momentum_at(cfg, s) for s in (0, 10, 15, 20, 99)] == pytest.approx([0.5, 0.5, 0.6, 0.7, 0.7])
    assert momentum_at(TrainConfig(momentum=0.3, momentum_final=0.9), 50) == 0.3  # no ramp
    jump = TrainConfig(momentum=0.5, momentum_final=0.7, momentum_ramp=(5, 5))
    assert [momentum_at(jump, s) for s in (0, 4, 5, 9)] == pytest.approx([0.5, 0.5, 0.7, 0.7])
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0, momentum=0.5)
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    lrs = []
    for step in range(6):
        schedule_([sgd, adam], cfg, step)
        lrs.append(sgd.param_groups[0]["lr"])
    assert lrs == [1.0, 0.5, 0.25, 0.125, 0.1, 0.1]  # step 0 at the base rate; floored at min_lr
    assert adam.param_groups[0]["lr"] == 0.1 and "momentum" not in adam.param_groups[0]


def test_first_items_slices_tensors_and_wraps_streams():
    data = TensorDataset(x=torch.arange(10.0).view(10, 1), y=torch.arange(10))
    head = first_items(data, 4)
    assert len(head) == 4 and head.y.tolist() == [0, 1, 2, 3] and head.info["first"] == 4
    assert first_items(data, 0) is data and first_items(data, 99) is data
    wrapped = Head(data, 3)
    assert len(wrapped) == 3 and wrapped.kind == "image" and wrapped.sample_shape == (1,)
    assert data_mean(head, chunk=3).item() == pytest.approx(1.5)


@pytest.mark.parametrize("key,value", [
    ("train.lr_decay", 0.9), ("train.momentum_ramp", (5, 2)), ("train.momentum_final", 1.0),
    ("model.g_init", -0.1), ("data.limit", -1), ("train.min_lr", -1e-6),
])
def test_schedule_and_init_settings_are_checked(key, value):
    cfg = config(**{key: value})
    with pytest.raises(ConfigError, match=key.split(".")[1]):
        validate(cfg)


def test_output_bias_from_data_is_refused_for_dcgan():
    with pytest.raises(ConfigError, match="g_bias_from_data"):
        validate(config(**{"model.name": "dcgan"}))


class FirstBias:
    """Keeps G's output bias as training starts."""

    def on_start(self, trainer):
        self.bias = trainer.gan.G.net[-2].bias.detach().clone()

    def on_step(self, trainer, stats):
        pass

    def on_end(self, trainer):
        pass


def test_gan2014_run_uses_its_schedule_init_and_limit_and_resumes_exactly(tmp_path):
    settings = {"train.steps": 4, "data.limit": 300, "train.lr_decay": 1.5,
                "train.momentum_ramp": (1, 3)}
    first = FirstBias()
    straight = gankit.train(config(**settings), tmp_path / "a", progress=False, callbacks=[first])
    gankit.train(config(**settings), tmp_path / "b", progress=False, callbacks=[StopAt(2)])
    resumed = gankit.train(config(**settings), tmp_path / "b", resume=True, progress=False)
    a, b = weights(straight), weights(resumed)
    assert resumed.step == 4 and [k for k in a if not torch.equal(a[k], b[k])] == []
    # four steps: the rates divided three times, the momentum at the end of its ramp
    _, state = load_state(latest_checkpoint(tmp_path / "b"))
    for key, lr in (("opt_g", 0.1), ("opt_d", 0.05)):
        group = state[key]["param_groups"][0]
        assert group["lr"] == pytest.approx(lr / 1.5**3) and group["momentum"] == pytest.approx(0.7)
    # trained on the first 300 digits, G starting at their mean
    assert straight.data_info.size == 300
    mean = data_mean(first_items(load_dataset("digits"), 300)).reshape(-1)
    assert torch.allclose(first.bias, torch.logit(mean.clamp(1e-7, 1 - 1e-7)).float(), atol=1e-5)


def test_simultaneous_step_takes_both_gradients_at_the_same_point():
    """G's step uses D before D's step (the authors' code); the alternating loop's uses D after."""
    cfg = config(**{"train.simultaneous": True, "model.d_dropout": 0.0, "model.d_hidden_dropout": 0.0,
                    "train.momentum": 0.0, "train.momentum_ramp": (0, 0), "train.lr_decay": 1.0,
                    "model.g_init": 0.0, "model.d_init": 0.0})  # PyTorch's init: big gradients
    data = load_dataset("digits")

    def trainer(simultaneous):
        train = copy.deepcopy(cfg.train)
        train.simultaneous = simultaneous
        torch.manual_seed(0)
        return Trainer(build_gan(cfg, DataInfo.of(data)), data, train)

    joint, alternating, by_hand = trainer(True), trainer(False), trainer(True)
    G0, D0 = copy.deepcopy(by_hand.gan.G), copy.deepcopy(by_hand.gan.D)
    joint.train_step()
    alternating.train_step()
    # by hand, the same real batch and latents, both gradients from the untouched nets
    real, _ = by_hand.real_batch()
    z = by_hand.gan.sample_z(cfg.train.batch_size, by_hand.z_gen)
    fake = G0(z)
    d_loss = F.softplus(-D0(real)).mean() + F.softplus(D0(fake.detach())).mean()
    g_loss = F.softplus(-D0(fake)).mean()
    for net, loss, lr, stepped in ((D0, d_loss, 0.05, joint.gan.D), (G0, g_loss, 0.1, joint.gan.G)):
        grads = torch.autograd.grad(loss, list(net.parameters()), retain_graph=True)
        for p, g, q in zip(net.parameters(), grads, stepped.parameters()):
            assert torch.allclose(p - lr * g, q, atol=1e-6)
        assert max((p - q).abs().max() for p, q in zip(net.parameters(), stepped.parameters())) > 1e-3
    same = [torch.equal(p, q) for p, q in zip(joint.gan.G.parameters(), alternating.gan.G.parameters())]
    assert not all(same)  # alternating: G's gradient went through the updated D


def test_simultaneous_needs_one_d_step():
    with pytest.raises(ConfigError, match="simultaneous"):
        validate(config(**{"train.simultaneous": True, "train.d_steps": 2}))


def test_unit_variance_uniform_prior():
    gen = torch.Generator().manual_seed(0)
    z = PRIORS_OF_LATENT.get("uniform-sqrt3")((200000,), gen, "cpu")
    assert z.abs().max() <= 3 ** 0.5 and z.abs().max() > 1.7
    assert z.var().item() == pytest.approx(1.0, abs=0.01)
