"""The loop: Algorithm 1's order, exact resume, checkpoints, and that it actually learns."""

import torch

from gankit.config import TrainConfig
from gankit.data.base import TensorDataset
from gankit.gans import GAN
from gankit.losses import LOSSES
from gankit.nets import MLPDiscriminator, MLPGenerator
from gankit.training import Trainer


def tiny_gan(seed=0):
    torch.manual_seed(seed)
    G = MLPGenerator(4, (2,), hidden=(16,), output="linear")
    D = MLPDiscriminator((2,), hidden=(8,), pieces=2)
    return GAN(G, D, LOSSES.get("nonsaturating"), latent_dim=4)


class Recorder(TensorDataset):
    """Records every minibatch the loop asks for, in one event list with the optimizer steps."""

    def __init__(self, x, events):
        super().__init__(x=x, kind="points")
        self.events = events

    def get(self, index):
        self.events.append(("data", index.clone()))
        return super().get(index)


def test_algorithm1_order_k_d_steps_then_one_g_step_on_fresh_batches():
    events = []
    data = Recorder(torch.randn(1000, 2), events)
    gan = tiny_gan()
    trainer = Trainer(gan, data, TrainConfig(steps=2, batch_size=10, d_steps=3))
    sample_z = gan.sample_z
    gan.sample_z = lambda n, g=None: events.append(("z", sample_z(n, g))) or events[-1][1]
    for name, opt in (("d_step", trainer.opt_d), ("g_step", trainer.opt_g)):
        opt.register_step_post_hook(lambda *a, name=name: events.append((name, None)))
    trainer.run()

    kinds = [k for k, _ in events]
    one_iteration = ["data", "z", "d_step"] * 3 + ["z", "g_step"]
    assert kinds == one_iteration * 2
    batches = [v for k, v in events if k == "data"]
    noises = [v for k, v in events if k == "z"]
    assert len({tuple(b.tolist()) for b in batches}) == len(batches)  # every real batch fresh
    assert all(not torch.equal(a, b) for i, a in enumerate(noises) for b in noises[i + 1:])


def test_g_step_leaves_discriminator_untouched_and_d_step_leaves_generator_untouched():
    gan = tiny_gan()
    trainer = Trainer(gan, TensorDataset(torch.randn(100, 2), kind="points"),
                      TrainConfig(steps=1, batch_size=10))
    g0 = [p.clone() for p in gan.G.parameters()]
    d0 = [p.clone() for p in gan.D.parameters()]
    trainer.d_update()
    assert all(torch.equal(a, b) for a, b in zip(g0, gan.G.parameters()))
    d1 = [p.clone() for p in gan.D.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(d0, d1))
    trainer.g_update()
    assert all(torch.equal(a, b) for a, b in zip(d1, gan.D.parameters()))
    assert all(p.requires_grad for p in gan.D.parameters())  # unfrozen again


def test_batch_larger_than_dataset_is_refused():
    import pytest

    from gankit.errors import ConfigError

    with pytest.raises(ConfigError, match="batch size 64 is larger than the dataset \\(10 items\\)"):
        Trainer(tiny_gan(), TensorDataset(torch.randn(10, 2), kind="points"), TrainConfig(batch_size=64))
