import pytest
import torch

from gankit.errors import ConfigError
from gankit.metrics import METRICS, register


def _rand(n, d, seed):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


# name -> (positional args: fake[, real], keyword options), all in the uniform convention.
CASES = {
    "parzen": ((_rand(50, 3, 0), _rand(20, 3, 1)), {"valid": _rand(20, 3, 2)}),
    "fid": ((_rand(50, 3, 0), _rand(40, 3, 1)), {}),
    "kid": ((_rand(50, 3, 0), _rand(40, 3, 1)), {"subsets": 3, "subset_size": 20}),
    "prdc": ((_rand(50, 3, 0), _rand(40, 3, 1)), {}),
    "modes": ((_rand(50, 2, 0),), {"centers": torch.zeros(1, 2), "std": 1.0}),
    "stacked_mnist_modes": ((torch.randint(0, 10, (30, 3)),), {}),
    "classifier_score": ((torch.softmax(_rand(30, 4, 0), 1),), {"splits": 3}),
    "matched_accuracy": ((torch.tensor([2, 2, 0, 1]), torch.tensor([0, 0, 1, 1])), {}),
}


def test_every_metric_returns_a_flat_dict_of_floats():
    assert METRICS.names() == sorted(CASES)
    for name, (args, options) in CASES.items():
        out = METRICS.get(name)(*args, **options)
        assert out and all(isinstance(v, float) for v in out.values()), name


def test_unknown_name_and_missing_real_are_config_errors():
    with pytest.raises(ConfigError, match="use one of"):
        METRICS.get("fid_inception")
    with pytest.raises(ConfigError, match="real"):
        METRICS.get("kid")(_rand(10, 3, 0))


def test_a_name_registers_once():
    with pytest.raises(ValueError):
        register("kid")(lambda fake, real=None: {})
