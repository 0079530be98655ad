"""An Inception-Score-style score from any classifier's class probabilities.

    score = exp(E_x KL(p(y|x) || p(y))),   p(y) = E_x p(y|x)

(Salimans et al. 2016.) It is high when each sample is classified confidently (low entropy
p(y|x)) and the classes are used evenly (high entropy p(y)); it ranges from 1 to the number
of classes. As in the reference code the N samples are cut into ``splits`` contiguous parts,
the score is computed on each, and the mean and std (ddof=0) across parts are returned.
With gankit's own classifier this is not the Inception Score and is comparable only with
itself.
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError

from ._pairwise import ArrayLike
from .registry import register


def classifier_score(probs: ArrayLike, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of exp(E KL(p(y|x) || p(y))) over ``splits`` parts of N x C probabilities."""
    p = torch.as_tensor(probs).detach().to(device="cpu", dtype=torch.float64)
    if p.ndim != 2:
        raise ValueError(f"probabilities must be N x C, got shape {tuple(p.shape)}")
    # Logits passed by mistake would give a plausible-looking wrong number; refuse them.
    if bool((p < 0).any()) or not torch.allclose(
        p.sum(1), torch.ones(len(p), dtype=p.dtype), atol=1e-3
    ):
        raise ValueError("pass class probabilities (rows >= 0 summing to 1), not logits")
    n = p.shape[0]
    if not 1 <= splits <= n:
        raise ConfigError(
            f"classifier score with {splits} splits needs >= {splits} samples, got {n}"
        )
    scores = []
    for k in range(splits):
        part = p[k * n // splits : (k + 1) * n // splits]
        marginal = part.mean(0, keepdim=True)
        # xlogy: 0 log 0 = 0 for classes a sample gives no probability.
        kl = (torch.xlogy(part, part) - torch.xlogy(part, marginal)).sum(1)
        scores.append(kl.mean().exp())
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std(unbiased=False))


@register("classifier_score")
def classifier_score_report(
    fake: ArrayLike, real: ArrayLike | None = None, *, splits: int = 10
) -> dict[str, float]:
    """Registry entry: fake = N x C class probabilities of generated samples; real unused."""
    mean, std = classifier_score(fake, splits)
    return {"classifier_score": mean, "classifier_score_std": std}
