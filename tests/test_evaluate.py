"""gankit evaluate: each metric wired to the right inputs, with its protocol recorded."""

import json
import math

import pytest
import torch

from gankit.cli.main import main
from gankit.config import Config
from gankit.data import load_dataset
from gankit.evaluate import evaluate
from gankit.metrics.classifier import ClassifierSettings
from gankit.run import DataInfo

FAST = ClassifierSettings(epochs=1, min_steps=60)


class FixedRun:
    """A stand-in for a trained run whose samples we choose: real data, or garbage."""

    def __init__(self, data_name, samples, step=0):
        self.config = Config()
        self.config.data.name = data_name
        self.data_info = DataInfo.of(load_dataset(data_name))
        self.samples, self.step = samples, step

    def sample(self, n, seed=0):
        return self.samples[:n]


def test_modes_of_the_true_distribution_and_of_a_collapsed_one():
    ring = load_dataset("ring8", seed=5)
    perfect = evaluate(FixedRun("ring8", ring.x), ["modes"], n=2500)
    # a 2-D Gaussian puts 1 - exp(-9/2) = 98.9% of its mass within 3 std of its center
    assert perfect["modes_captured"] == 8
    assert perfect["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)
    assert perfect["reverse_kl"] < 0.01
    modes = torch.tensor(FixedRun("ring8", ring.x).data_info.modes)
    collapsed = modes[:2].repeat(1250, 1)  # all mass on two modes
    out = evaluate(FixedRun("ring8", collapsed), ["modes"], n=2500)
    assert out["modes_captured"] == 2 and out["reverse_kl"] == pytest.approx(torch.log(torch.tensor(4.0)).item())
    assert out["protocol"]["samples"] == 2500 and out["protocol"]["modes"]["count"] == 8


def test_feature_metrics_tell_real_images_from_noise(tmp_path):
    digits = load_dataset("digits")
    real_like = FixedRun("digits", digits.x[torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))])
    noise = FixedRun("digits", torch.rand(len(digits), 1, 8, 8, generator=torch.Generator().manual_seed(0)))
    kw = dict(metrics=["fid", "kid", "prdc", "classifier_score"], n=290, cache_dir=tmp_path, log=lambda *a: None,
              classifier_settings=FAST)
    good, bad = evaluate(real_like, **kw), evaluate(noise, **kw)
    assert good["fid"] < bad["fid"] / 3
    assert good["precision"] > 0.5 > bad["precision"]
    assert good["kid"] < bad["kid"]
    assert good["fid_real_floor"] == pytest.approx(bad["fid_real_floor"])  # floor: data only
    p = good["protocol"]
    assert p["classifier"]["key"] and 0 <= p["classifier"]["test_accuracy"] <= 1
    assert "test split" in p["reference"] and "not Inception" in p["features"]
    # the classifier was cached: a second evaluation reuses it (same key, no retraining)
    assert len(list(tmp_path.glob("*.safetensors"))) == 1


def test_cli_evaluate_writes_flat_json(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["train", "--data", "ring8", "--model", "mlp", "--steps", "3", "--out", str(out),
                 "--set", "model.g_hidden=16", "--batch-size", "16", "--quiet"]) == 0
    assert main(["evaluate", str(out), "--metrics", "modes", "--json", str(tmp_path / "e.json")]) == 0
    result = json.loads((tmp_path / "e.json").read_text())
    assert {"modes_captured", "high_quality_fraction", "reverse_kl", "protocol"} <= result.keys()
    assert result["protocol"]["run_step"] == 3
    assert main(["evaluate", str(out), "--metrics", "modes"]) == 0
    assert (out / "eval.jsonl").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(out), "--metrics", "inception"]) == 2
    assert "unknown metric 'inception'" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--metrics", "fid"]) == 2
    assert "labelled image dataset" in capsys.readouterr().err


def test_stacked_mnist_modes(tmp_path, shared_data):
    stacked = load_dataset("stacked-mnist", data_dir=shared_data, split="test")
    assert stacked.sample_shape == (3, 28, 28) and stacked.num_classes == 1000

    class StackedRun(FixedRun):
        def __init__(self, samples):
            self.config = Config()
            self.config.data.name = "stacked-mnist"
            self.config.data.data_dir = str(shared_data)
            self.data_info = DataInfo.of(stacked)
            self.samples, self.step = samples, 0

    kw = dict(metrics=["stacked_mnist"], n=2000, cache_dir=tmp_path, log=lambda *a: None,
              classifier_settings=ClassifierSettings(epochs=1, min_steps=80, batch_size=64, train_size=4000))
    varied = evaluate(StackedRun(stacked.x), **kw)
    collapsed = evaluate(StackedRun(stacked.x[:1].repeat(2000, 1, 1, 1)), **kw)
    # 2,000 draws over 1,000 near-uniform modes reach 1 - e^-2 = 86% of them; one image is one mode
    assert varied["stacked_modes"] > 750 and varied["stacked_reverse_kl"] < 0.8
    assert collapsed["stacked_modes"] == 1 and collapsed["stacked_reverse_kl"] == pytest.approx(math.log(1000))
    assert varied["protocol"]["stacked_mnist"]["modes"] == 1000
