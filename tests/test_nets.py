import pytest
import torch

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, build_models


@pytest.mark.parametrize("resolution,channels", [(28, 1), (32, 3), (64, 3), (8, 1)])
def test_dcgan_shapes(resolution, channels):
    G = DCGANGenerator(16, resolution, channels, width=8)
    D = DCGANDiscriminator(resolution, channels, width=8)
    x = G(torch.randn(3, 16))
    assert x.shape == (3, channels, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (3,)


def test_dcgan_28_matches_the_published_layout():
    G, D = build_models(ModelConfig(name="dcgan"), (1, 28, 28), "image")
    convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [256, 128, 1]  # 100 -> 256x7x7 -> 128x14x14 -> 1x28x28
    assert [c.out_channels for c in D.modules() if isinstance(c, torch.nn.Conv2d)] == [128, 256, 1]


def test_dcgan_init_follows_the_paper():
    G = DCGANGenerator(100, 64, 3, width=64)
    w = G.net[0].weight
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 2e-3


def test_mlp_is_the_paper_model_by_default():
    G, D = build_models(ModelConfig(name="mlp"), (1, 28, 28), "image")
    assert [m.out_features for m in G.modules() if isinstance(m, torch.nn.Linear)] == [1200, 1200, 784]
    maxouts = [m for m in D.modules() if m.__class__.__name__ == "Maxout"]
    assert [(m.units, m.pieces) for m in maxouts] == [(240, 5), (240, 5)]
    x = G(torch.rand(4, 100))
    assert x.shape == (4, 1, 28, 28) and 0 <= x.min() and x.max() <= 1  # sigmoid output
    assert D(x).shape == (4,)


def test_mlp_for_points_is_linear():
    G = MLPGenerator(2, (2,), hidden=(16,), output="linear")
    D = MLPDiscriminator((2,), hidden=(8,), pieces=2)
    assert G.output_range is None
    assert G(torch.randn(5, 2)).shape == (5, 2) and D(torch.randn(5, 2)).shape == (5,)


def test_dcgan_refuses_points_and_odd_resolutions():
    with pytest.raises(ConfigError, match="square images"):
        build_models(ModelConfig(name="dcgan"), (2,), "points")
    with pytest.raises(ConfigError, match="resolution 30"):
        build_models(ModelConfig(name="dcgan"), (1, 30, 30), "image")


def test_mlp_hidden_dropout_sits_before_each_later_layer():
    """pylearn2's default_input_include_prob: dropout on what each layer after the first reads."""
    D = MLPDiscriminator((1, 28, 28), hidden=(240, 240), pieces=5, input_dropout=0.2, hidden_dropout=0.5)
    kinds = [type(m).__name__ for m in D.net]
    assert kinds == ["Flatten", "Dropout", "Maxout", "Dropout", "Maxout", "Dropout", "Linear"]
    assert [m.p for m in D.net if isinstance(m, torch.nn.Dropout)] == [0.2, 0.5, 0.5]
    x = torch.rand(8, 1, 28, 28)
    D.eval()
    assert torch.equal(D(x), D(x))
    D.train()
    assert not torch.equal(D(x), D(x))
    # off by default: the layout (and checkpoints of runs without it) stays as it was
    assert [type(m).__name__ for m in MLPDiscriminator((1, 28, 28)).net].count("Dropout") == 1
