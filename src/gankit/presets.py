"""Named settings that reproduce a paper's setup; any flag given with them overrides them."""

from __future__ import annotations

from typing import Any

from .registry import Registry

PRESETS: Registry[dict[str, Any]] = Registry("preset")

# Goodfellow et al. 2014, MNIST, as the authors' pylearn2 configuration (goodfeli/adversarial,
# mnist.yaml) sets it up: MLP G (ReLU, sigmoid output) and maxout D with dropout (input include
# probability 0.8, 0.5 before each later layer); weights ~ U(-.05, .05) in G and U(-.005, .005)
# in D, biases 0 except G's output, which starts at the data's mean image; SGD with minibatch 100,
# lr 0.1, momentum 0.5 rising to 0.7 from epoch 1 to 250 (500 updates an epoch), lr divided by
# 1.000004 after every update (floor 1e-6); k = 1 and the non-saturating G loss. D's objective
# there is half the summed cross-entropies, which under SGD is D's lr halved: lr_d = 0.05. Their
# code stepped D and G simultaneously (one batch of fakes, both gradients at the same point), not
# alternately as the paper's Algorithm 1 reads: train.simultaneous. Without the init, or with
# alternating steps, the run collapses within a few thousand steps (docs/results.md).
# Their noise was U(-sqrt 3, sqrt 3) (unit variance): model.prior uniform-sqrt3.
# G starts at the mean digit, so its samples are near-identical for the first few hundred steps by
# design (diversity is back above 0.1 of the data's by step 600-800 in the runs of
# docs/results.md): the health monitor judges collapse from step 1,000 instead of 200.
PRESETS.add("gan2014", {
    "model.name": "mlp", "model.prior": "uniform-sqrt3", "model.latent_dim": 100,
    "model.g_hidden": (1200, 1200), "model.d_hidden": (240, 240), "model.maxout_pieces": 5,
    "model.d_dropout": 0.2, "model.d_hidden_dropout": 0.5,
    "model.g_init": 0.05, "model.d_init": 0.005, "model.g_bias_from_data": True,
    "train.optimizer": "sgd", "train.lr_g": 0.1, "train.lr_d": 0.05, "train.momentum": 0.5,
    "train.momentum_final": 0.7, "train.momentum_ramp": (500, 125000), "train.lr_decay": 1.000004,
    "train.min_lr": 1e-6, "train.batch_size": 100, "train.d_steps": 1, "train.simultaneous": True,
    "train.loss": "nonsaturating", "health.warmup": 1000,
})

# Radford et al. 2015: N(0, 1) noise of 100 dims, Adam 2e-4 with beta1 0.5, minibatch 128.
PRESETS.add("dcgan", {
    "model.name": "dcgan", "model.prior": "normal", "model.latent_dim": 100,
    "train.optimizer": "adam", "train.lr_g": 2e-4, "train.lr_d": 2e-4,
    "train.betas": (0.5, 0.999), "train.batch_size": 128, "train.d_steps": 1,
    "train.loss": "nonsaturating",
})

# The presets below choose an objective and its training recipe only: they work with any
# --model (mlp or dcgan) and leave the network's settings alone.

# Arjovsky et al. 2017, Algorithm 1: critic weights clipped to [-0.01, 0.01] after every update,
# n_critic = 5, RMSProp with lr 5e-5, m = 64.
PRESETS.add("wgan", {
    "train.loss": "wasserstein", "train.penalty": "none", "train.clip": 0.01,
    "train.d_steps": 5, "train.optimizer": "rmsprop", "train.lr_g": 5e-5, "train.lr_d": 5e-5,
    "train.batch_size": 64,
})

# Gulrajani et al. 2017, Algorithm 1: gradient penalty lambda = 10, n_critic = 5, Adam with
# lr 1e-4 and betas (0, 0.9) as the paper states. The authors' code (wgan_gp) used betas
# (0.5, 0.9); `--set train.betas=0.5,0.9` picks that. The paper drops BatchNorm from the critic
# (the penalty is per sample, BatchNorm mixes samples); gankit's dcgan D keeps it.
PRESETS.add("wgan-gp", {
    "train.loss": "wasserstein", "train.penalty": "gp", "train.penalty_weight": 10.0,
    "train.clip": 0.0, "train.d_steps": 5, "train.optimizer": "adam", "train.lr_g": 1e-4,
    "train.lr_d": 1e-4, "train.betas": (0.0, 0.9), "train.batch_size": 64,
})

# Mao et al. 2017: least-squares objective (a=0, b=c=1), Adam lr 2e-4, beta1 0.5.
PRESETS.add("lsgan", {
    "train.loss": "least-squares", "train.d_steps": 1, "train.optimizer": "adam",
    "train.lr_g": 2e-4, "train.lr_d": 2e-4, "train.betas": (0.5, 0.999),
})

# Miyato et al. 2018 (SNGAN), the hinge-loss setting: Adam lr 2e-4, betas (0, 0.9), n_dis = 5,
# spectral normalisation on D (the betas and n_dis were tuned with it).
PRESETS.add("hinge", {
    "train.loss": "hinge", "train.d_steps": 5, "train.optimizer": "adam",
    "train.lr_g": 2e-4, "train.lr_d": 2e-4, "train.betas": (0.0, 0.9),
    "model.spectral_norm": True,
})

# Chen et al. 2016 (InfoGAN), MNIST: one categorical code of 10 values and two continuous codes
# U(-1, 1) beside 62 noise variables (74 inputs), lambda = 1, Adam with lr 2e-4 for D (and Q,
# which shares D's trunk) and 1e-3 for G (Appendix C). Batch size, noise distribution and beta1
# follow the authors' code (openai/InfoGAN, launchers/run_mnist_exp.py, infogan_trainer.py):
# batches of 128, U(-1, 1) noise, Adam's beta1 = 0.5.
PRESETS.add("infogan", {
    "model.info_categorical": 10, "model.info_continuous": 2, "model.latent_dim": 62,
    "model.prior": "uniform", "train.info_weight": 1.0, "train.loss": "nonsaturating",
    "train.optimizer": "adam", "train.lr_d": 2e-4, "train.lr_g": 1e-3, "train.betas": (0.5, 0.999),
    "train.batch_size": 128, "train.d_steps": 1,
})

# Zhao et al. 2016 (EBGAN-PT): an autoencoder D and the pulling-away term with weight 0.1. The
# margin: m = 10 for MNIST (as reimplementations report the paper's setting) on the paper's
# energy ||Dec(Enc(x)) - x||, the norm of the residual; gankit's energy is the mean squared error
# per element, so the same threshold on a 28 x 28 image is (10 / 28)^2. Adam 2e-4 with beta1 0.5
# as DCGAN: the paper grid-searched its optimiser settings.
PRESETS.add("ebgan", {
    "train.loss": "energy", "train.margin": round((10 / 28) ** 2, 4), "train.pt_weight": 0.1,
    "train.optimizer": "adam", "train.lr_g": 2e-4, "train.lr_d": 2e-4, "train.betas": (0.5, 0.999),
    "train.batch_size": 64, "train.d_steps": 1,
})
