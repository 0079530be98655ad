"""Evaluate a run: draw samples once, feed each requested metric, record the protocol.

The metric functions (gankit.metrics) are pure; this module decides what each one reads:
  modes             2-D mixtures: generated points vs the data's true mode centers (PacGAN protocol)
  fid, kid, prdc    domain-classifier features of samples vs the reference split
  classifier_score  domain-classifier class probabilities of samples
  stacked_mnist     Stacked MNIST: modes (of 1,000) and KL to uniform over 26,000 samples, each
                    channel labelled by the MNIST classifier
  parzen            Goodfellow et al. 2014: Gaussian Parzen window on 10,000 samples, sigma chosen
                    on train[50000:60000][:1000], mean log-likelihood of the test split
  infogan_accuracy  InfoGAN: the categorical code c1, read by Q from real test items, as a
                    classifier of their labels under the best matching of code values to classes
Feature metrics also report the real-data floor: the same metric between an equally sized
slice of the training split and the reference split, i.e. the best a perfect G could score.
"""

from __future__ import annotations

import math
import time
from functools import cached_property
from typing import Callable

import torch

from . import __version__
from .data import load_dataset
from .errors import ConfigError
from .metrics import METRICS, matched_accuracy
from .metrics.classifier import ClassifierSettings, get_classifier
from .registry import Registry

DEFAULT_SAMPLES = {"points": 2500, "image": 10000}


class Context:
    """Everything the metrics of one evaluation share, each computed at most once."""

    def __init__(self, run, n: int | None, seed: int, data_dir=None, cache_dir=None, log=print,
                 classifier_settings: ClassifierSettings = ClassifierSettings()):
        self.run, self.seed, self.data_dir, self.cache_dir, self.log = run, seed, data_dir, cache_dir, log
        self.classifier_settings = classifier_settings
        self.kind = run.data_info.kind
        self.n = n or DEFAULT_SAMPLES[self.kind]
        self.protocol: dict = {"seed": seed, "run_step": run.step, "gankit_version": __version__}

    def dataset(self, split: str):
        d = self.run.config.data
        return load_dataset(d.name, data_dir=self.data_dir or d.data_dir, split=split,
                            resolution=d.resolution, channels=d.channels, download=d.download,
                            seed=self.run.config.train.seed)

    @cached_property
    def fake(self) -> torch.Tensor:
        self.protocol["samples"] = self.n  # recorded where samples are drawn (not for infogan_accuracy)
        return self.run.sample(self.n, seed=self.seed)

    @cached_property
    def train(self):
        return self.dataset("train")

    @cached_property
    def reference(self):
        try:
            ref = self.dataset("test")
            self.protocol["reference"] = f"{ref.name} test split ({len(ref)} items)"
        except Exception:  # image folders and arrays have no test split
            ref = self.train
            self.protocol["reference"] = f"{ref.name} training data ({len(ref)} items)"
        return ref

    @cached_property
    def classifier(self):
        if self.kind != "image" or getattr(self.train, "y", None) is None or not self.train.num_classes:
            raise ConfigError("feature metrics need a labelled image dataset to train the domain "
                              "classifier on (mnist, fashion-mnist, digits, class folders)")
        model, record = get_classifier(self.train, self.reference, self.classifier_settings,
                                       cache_dir=self.cache_dir, log=self.log,
                                       device=self.fake.device)  # where the samples are: CPU or GPU
        self.protocol["classifier"] = {k: record[k] for k in ("key", "test_accuracy", "version")}
        self.protocol["features"] = "gankit domain classifier, penultimate layer (not Inception)"
        return model

    @cached_property
    def fake_embed(self):
        return self.classifier.embed(self.fake)

    @cached_property
    def ref_embed(self):
        m = min(self.n, len(self.reference))
        return self.classifier.embed(self.reference.get(torch.arange(m))[0])

    @cached_property
    def floor_embed(self):
        """Training images, as many as the reference, for the real-data floor."""
        m = min(self.n, len(self.reference), len(self.train))
        gen = torch.Generator().manual_seed(self.seed)
        idx = torch.randperm(len(self.train), generator=gen)[:m]
        return self.classifier.embed(self.train.get(idx)[0])


def feature_metric(name: str) -> Callable[[Context], dict]:
    def run(ctx: Context) -> dict:
        fn = METRICS.get(name)
        out = fn(ctx.fake_embed[0], ctx.ref_embed[0])
        floor = fn(ctx.floor_embed[0], ctx.ref_embed[0])
        return {**out, **{f"{k}_real_floor": v for k, v in floor.items()}}
    return run


def modes(ctx: Context) -> dict:
    info = ctx.run.data_info
    if info.modes is None or info.mode_std is None:
        raise ConfigError(f"'modes' needs data with known mode centers (ring8, grid25), not {info.name}")
    ctx.protocol["modes"] = {"count": len(info.modes), "std": info.mode_std,
                             "high_quality": "within 3 std of the nearest mode"}
    return METRICS.get("modes")(ctx.fake, centers=torch.tensor(info.modes), std=info.mode_std)


def classifier_score(ctx: Context) -> dict:
    out = METRICS.get("classifier_score")(ctx.fake_embed[1])
    floor = METRICS.get("classifier_score")(ctx.ref_embed[1])
    return {**out, "classifier_score_real_floor": floor["classifier_score"]}


def parzen(ctx: Context) -> dict:
    if ctx.kind != "image" or len(ctx.train) < 60000:
        raise ConfigError("'parzen' follows the MNIST protocol: it needs a 60,000-image training "
                          "split (mnist, fashion-mnist) for the validation slice 50000:60000")
    valid = ctx.train.x[50000:51000].flatten(1)
    test = ctx.reference.x.flatten(1)
    ctx.protocol["parzen"] = {"samples": ctx.n, "sigma_grid": "logspace(-1, 0, 10)",
                              "validation": "train[50000:51000]", "test": len(test)}
    out = METRICS.get("parzen")(ctx.fake.flatten(1), test, valid=valid)
    return {"parzen_ll": out["parzen_ll"], "parzen_se": out["parzen_se"], "parzen_sigma": out["sigma"]}


def stacked_mnist(ctx: Context) -> dict:
    """Each channel of each sample labelled by the MNIST classifier; 1,000 possible modes."""
    if ctx.run.data_info.name != "stacked-mnist":
        raise ConfigError("'stacked_mnist' counts modes of runs trained on --data stacked-mnist")
    d = ctx.run.config.data
    mnist_train, mnist_test = (load_dataset("mnist", data_dir=ctx.data_dir or d.data_dir, split=s,
                                            download=d.download) for s in ("train", "test"))
    x = ctx.fake
    model, record = get_classifier(mnist_train, mnist_test, ctx.classifier_settings,
                                   cache_dir=ctx.cache_dir, log=ctx.log, device=x.device)
    channels = x.reshape(-1, 1, *x.shape[2:])
    if channels.shape[-1] != 28:  # the classifier saw 28 x 28 digits
        channels = torch.nn.functional.interpolate(channels, size=(28, 28), mode="bilinear",
                                                   antialias=True, align_corners=False)
    digits = model.embed(channels)[1].argmax(1).view(len(x), 3)
    ctx.protocol["stacked_mnist"] = {"samples": len(x), "classifier": {
        k: record[k] for k in ("key", "test_accuracy", "version")}, "modes": 1000}
    out = METRICS.get("stacked_mnist_modes")(digits)
    return {"stacked_modes": out["modes_captured"], "stacked_reverse_kl": out["reverse_kl"]}


@torch.no_grad()
def infogan_code_accuracy(run, dataset, batch_size: int = 500) -> dict:
    """How well InfoGAN's categorical code c1 alone classifies labelled data: Q's most likely
    value of c1 for each real item, values matched one-to-one to classes for the best accuracy
    (Hungarian). Chen et al. 2016, section 7.1, report a 5% error rate on MNIST."""
    gan, k = run.gan, run.gan.latent.categorical
    if not k:
        raise ConfigError("'infogan_accuracy' needs an InfoGAN run with a categorical code "
                          "(model.info_categorical, e.g. --preset infogan)")
    if getattr(dataset, "y", None) is None or not dataset.num_classes:
        raise ConfigError(f"'infogan_accuracy' needs labelled data; {dataset.name} has no labels")
    was_training = gan.D.training
    gan.D.eval()  # BatchNorm's running statistics: an item's code does not depend on its batch
    preds, labels = [], []
    try:
        for i in range(0, len(dataset), batch_size):
            x, y = dataset.get(torch.arange(i, min(i + batch_size, len(dataset))))
            out = gan.critic(gan.to_model(x.to(gan.device)),
                             y.to(gan.device) if gan.conditional else None, features=True)
            preds.append(out.q[:, :k].argmax(dim=1).cpu())
            labels.append(y)
    finally:
        gan.D.train(was_training)
    result = matched_accuracy(torch.cat(preds), torch.cat(labels), k, dataset.num_classes)
    return {"infogan_accuracy": result["matched_accuracy"], "infogan_error": result["matched_error"]}


def infogan_accuracy(ctx: Context) -> dict:
    ref = ctx.reference
    ctx.protocol["infogan_accuracy"] = {"data": f"{ref.name} ({len(ref)} items)",
                                        "prediction": "argmax of Q's categorical code c1",
                                        "matching": "Hungarian, one code value per class"}
    return infogan_code_accuracy(ctx.run, ref)


EVALUATORS: Registry[Callable[[Context], dict]] = Registry("metric")
EVALUATORS.add("modes", modes)
for _name in ("fid", "kid", "prdc"):
    EVALUATORS.add(_name, feature_metric(_name))
EVALUATORS.add("classifier_score", classifier_score)
EVALUATORS.add("parzen", parzen)
EVALUATORS.add("stacked_mnist", stacked_mnist)
EVALUATORS.add("infogan_accuracy", infogan_accuracy)


def evaluate(run, metrics: list[str], n: int | None = None, seed: int = 0, data_dir=None,
             cache_dir=None, log=print, classifier_settings: ClassifierSettings = ClassifierSettings()) -> dict:
    """Flat results (one key per figure) plus a `protocol` object describing how they were made."""
    fns = {name: EVALUATORS.get(name) for name in metrics}  # unknown names fail before any work
    if n is None and "stacked_mnist" in metrics:
        n = 26000  # the VEEGAN / PacGAN protocol
    ctx = Context(run, n, seed, data_dir, cache_dir, log, classifier_settings)
    results: dict = {}
    t0 = time.perf_counter()
    for fn in fns.values():
        results.update(fn(ctx))
    ctx.protocol["metrics"] = list(metrics)
    ctx.protocol["seconds"] = round(time.perf_counter() - t0, 1)
    results = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in results.items()}
    return {**results, "protocol": ctx.protocol}
