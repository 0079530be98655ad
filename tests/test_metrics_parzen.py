import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gankit.metrics import parzen_evaluate, parzen_log_likelihood, select_sigma
from gankit.metrics.parzen import DEFAULT_SIGMAS


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_one_sample_is_a_gaussian_density():
    sample, x, sigma = _rand(1, 4), _rand(20, 4, seed=1), 0.7
    want = multivariate_normal(mean=sample[0].numpy(), cov=sigma**2 * np.eye(4)).logpdf(x.numpy())
    got = parzen_log_likelihood(sample, x, sigma)
    assert got.dtype == torch.float64 and got.shape == (20,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)


def test_mixture_matches_scipy():
    samples, x, sigma = _rand(6, 3), _rand(15, 3, seed=1), 0.4
    per_kernel = np.stack(
        [
            multivariate_normal(mean=s, cov=sigma**2 * np.eye(3)).logpdf(x.numpy())
            for s in samples.numpy()
        ]
    )
    want = logsumexp(per_kernel, axis=0) - math.log(len(samples))
    np.testing.assert_allclose(parzen_log_likelihood(samples, x, sigma).numpy(), want, rtol=1e-10)


def test_far_points_do_not_underflow():
    # exp(-d^2 / 2 sigma^2) is 0 in float64 here; the log-domain sum must stay finite.
    got = parzen_log_likelihood(torch.zeros(2, 2), torch.full((1, 2), 30.0), 0.1)
    want = multivariate_normal(mean=[0, 0], cov=0.01 * np.eye(2)).logpdf([30.0, 30.0])
    assert math.isfinite(float(got[0]))
    np.testing.assert_allclose(float(got[0]), want, rtol=1e-12)


def test_chunking_does_not_change_the_answer():
    samples, x = _rand(53, 5), _rand(37, 5, seed=1)
    whole = parzen_log_likelihood(samples, x, 0.8, chunk=1000)
    for chunk in (1, 4, 16):
        torch.testing.assert_close(parzen_log_likelihood(samples, x, 0.8, chunk=chunk), whole)


def test_images_are_flattened():
    samples, x = torch.rand(8, 1, 4, 4), torch.rand(3, 1, 4, 4)
    torch.testing.assert_close(
        parzen_log_likelihood(samples, x, 0.3),
        parzen_log_likelihood(samples.flatten(1), x.flatten(1), 0.3),
    )


def test_select_sigma_maximises_validation_likelihood():
    # One kernel at the origin: mean LL(sigma) = -D/2 log(2 pi sigma^2) - S / (2 sigma^2),
    # S = mean ||x||^2, so the best grid sigma is known in closed form.
    grid = np.asarray(DEFAULT_SIGMAS)
    valid = grid[4] * _rand(2000, 3)
    s = float(valid.pow(2).sum(1).mean())
    expected = -1.5 * np.log(2 * np.pi * grid**2) - s / (2 * grid**2)
    best, table = select_sigma(torch.zeros(1, 3), valid)
    assert best == pytest.approx(grid[np.argmax(expected)]) == pytest.approx(grid[4])
    np.testing.assert_allclose(list(table.values()), expected, rtol=1e-10)


def test_evaluate_reports_mean_and_standard_error():
    samples, valid, test = _rand(40, 2), _rand(30, 2, seed=1), _rand(25, 2, seed=2)
    out = parzen_evaluate(samples, valid, test)
    ll = parzen_log_likelihood(samples, test, out["sigma"])
    assert out["sigma"] == select_sigma(samples, valid)[0]
    assert out["parzen_ll"] == pytest.approx(float(ll.mean()))
    assert out["parzen_se"] == pytest.approx(float(ll.std(unbiased=False)) / 5.0)


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        parzen_log_likelihood(torch.zeros(3, 2), torch.zeros(3, 4), 1.0)
    with pytest.raises(ValueError):
        parzen_log_likelihood(torch.zeros(3, 2), torch.zeros(3, 2), 0.0)
