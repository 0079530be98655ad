"""Named settings that reproduce a paper's setup; any flag given with them overrides them."""

from __future__ import annotations

from typing import Any

from .registry import Registry

PRESETS: Registry[dict[str, Any]] = Registry("preset")

# Goodfellow et al. 2014, MNIST (the authors' pylearn2 configuration): MLP G with ReLU and a
# sigmoid output, maxout D with dropout on its input, SGD with momentum, minibatch 100, k = 1,
# and the non-saturating G loss that the paper recommends in practice.
PRESETS.add("gan2014", {
    "model.name": "mlp", "model.prior": "uniform", "model.latent_dim": 100,
    "model.g_hidden": (1200, 1200), "model.d_hidden": (240, 240), "model.maxout_pieces": 5,
    "model.d_dropout": 0.2,
    "train.optimizer": "sgd", "train.lr_g": 0.1, "train.lr_d": 0.1, "train.momentum": 0.5,
    "train.batch_size": 100, "train.d_steps": 1, "train.loss": "nonsaturating",
})

# Radford et al. 2015: N(0, 1) noise of 100 dims, Adam 2e-4 with beta1 0.5, minibatch 128.
PRESETS.add("dcgan", {
    "model.name": "dcgan", "model.prior": "normal", "model.latent_dim": 100,
    "train.optimizer": "adam", "train.lr_g": 2e-4, "train.lr_d": 2e-4,
    "train.betas": (0.5, 0.999), "train.batch_size": 128, "train.d_steps": 1,
    "train.loss": "nonsaturating",
})
