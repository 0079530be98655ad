"""Each objective against values computed by hand from the paper's formulas."""

import math

import pytest
import torch

from gankit.losses import (
    LOSSES,
    d_hinge,
    d_least_squares,
    d_minimax,
    d_wasserstein,
    g_least_squares,
    g_minimax,
    g_nonsaturating,
    g_wasserstein,
)

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_minimax_discriminator_is_negative_log_likelihood():
    expected = -(math.log(sig(2.0)) + math.log(sig(-1.0))) / 2 - (
        math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2
    assert d_minimax(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_generator_losses():
    assert g_minimax(FAKE).item() == pytest.approx(
        (math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2, rel=1e-6)
    assert g_nonsaturating(FAKE).item() == pytest.approx(
        -(math.log(sig(0.5)) + math.log(sig(-3.0))) / 2, rel=1e-6)


def test_stable_for_extreme_logits():
    big = torch.tensor([200.0, -200.0], requires_grad=True)
    for value in (d_minimax(big, big), g_minimax(big), g_nonsaturating(big)):
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(big.grad).all()
        big.grad = None
    # D certain that a fake is fake: -log D(G(z)) is ~200, not inf
    assert g_nonsaturating(torch.tensor([-200.0])).item() == pytest.approx(200.0)


def test_saturating_loss_vanishes_where_nonsaturating_does_not():
    """The paper's reason for -log D(G(z)): early on D rejects fakes and log(1-D) goes flat."""
    logit = torch.tensor([-10.0], requires_grad=True)
    g_minimax(logit).backward()
    sat = logit.grad.abs().item()
    logit.grad = None
    g_nonsaturating(logit).backward()
    assert sat < 1e-4 < logit.grad.abs().item()


def test_other_objectives():
    assert d_wasserstein(REAL, FAKE).item() == pytest.approx((0.5 - 3.0) / 2 - (2.0 - 1.0) / 2)
    assert g_wasserstein(FAKE).item() == pytest.approx(1.25)
    # hinge: relu(1-2)=0, relu(1+1)=2 -> 1.0; relu(1.5)=1.5, relu(-2)=0 -> 0.75
    assert d_hinge(REAL, FAKE).item() == pytest.approx(1.75)
    assert d_least_squares(REAL, FAKE).item() == pytest.approx(
        0.5 * ((1.0) + 4.0) / 2 + 0.5 * (0.25 + 9.0) / 2)
    assert g_least_squares(FAKE).item() == pytest.approx(0.5 * (0.25 + 16.0) / 2)


def test_registry_lists_choices_on_a_typo():
    from gankit.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown loss 'nonsat'.*nonsaturating"):
        LOSSES.get("nonsat")
