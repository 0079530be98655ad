import numpy as np
import pytest
import torch

from gankit.errors import ConfigError
from gankit.metrics import classifier_score


def test_confident_and_balanced_scores_the_number_of_classes():
    labels = torch.arange(1000) % 10  # each contiguous split of 100 holds every class 10 times
    mean, std = classifier_score(torch.nn.functional.one_hot(labels, 10).double(), splits=10)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0)


def test_identical_predictions_score_one():
    probs = torch.softmax(torch.randn(1, 7), 1).repeat(200, 1)
    mean, _ = classifier_score(probs, splits=4)
    assert mean == pytest.approx(1.0)


def test_matches_the_formula():
    p = np.random.default_rng(0).dirichlet(np.ones(5) * 0.3, size=300)
    parts = np.split(p, 3)
    scores = [np.exp(np.mean(np.sum(q * (np.log(q) - np.log(q.mean(0))), 1))) for q in parts]
    mean, std = classifier_score(torch.from_numpy(p), splits=3)
    assert (mean, std) == pytest.approx((np.mean(scores), np.std(scores)))


def test_rejects_logits_and_too_many_splits():
    with pytest.raises(ValueError):
        classifier_score(torch.randn(20, 3))
    with pytest.raises(ConfigError):
        classifier_score(torch.full((5, 2), 0.5), splits=10)
