"""The CUDA paths: training in each precision, exact resume, and runs that move between devices.
Skipped where PyTorch sees no GPU (CI has none); run on a GPU machine with
`python -m pytest tests/test_cuda.py`."""

import numpy as np
import pytest
import torch

import gankit
from gankit.cli.main import main as cli
from gankit.config import Config, set_value
from helpers import StopAt, weights

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def config(precision="fp32", steps=12, **extra):
    cfg = Config()
    for key, value in {"data.name": "digits", "model.name": "dcgan", "model.width": 8,
                       "model.latent_dim": 16, "train.steps": steps, "train.batch_size": 16,
                       "train.precision": precision, "train.device": "cuda", "train.log_every": 4,
                       "train.sample_every": 1000, "train.checkpoint_every": 1000, **extra}.items():
        set_value(cfg, key, value)
    return cfg


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_trains_on_cuda_with_float32_master_weights(tmp_path, precision):
    run = gankit.train(config(precision), tmp_path / precision, progress=False)
    assert run.step == 12
    for name, t in weights(run).items():
        assert t.device.type == "cuda", name
        if t.is_floating_point():
            assert t.dtype == torch.float32 and torch.isfinite(t).all(), name


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_resume_on_cuda_matches_a_straight_run(tmp_path, precision):
    """cuDNN may pick non-deterministic kernels, so equal to float tolerance, not bit for bit."""
    straight = gankit.train(config(precision), tmp_path / "a", progress=False)
    assert gankit.train(config(precision), tmp_path / "b", progress=False, callbacks=[StopAt(5)]).step == 5
    resumed = gankit.train(config(precision), tmp_path / "b", resume=True, progress=False)
    a, b = weights(straight), weights(resumed)
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
    assert worst < 1e-3


def test_a_cuda_run_samples_on_cpu_and_on_cuda(tmp_path):
    gankit.train(config(), tmp_path / "r", progress=False)
    on_cpu = gankit.load(tmp_path / "r").sample(8, seed=0)
    on_gpu = gankit.load(tmp_path / "r", device="cuda").sample(8, seed=0)
    assert on_cpu.device.type == "cpu" and on_gpu.device.type == "cuda"
    assert on_cpu.shape == on_gpu.shape == (8, 1, 8, 8)
    assert cli(["sample", str(tmp_path / "r"), "-n", "8", "-o", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (8, 1, 8, 8)


def test_a_cpu_run_resumes_on_cuda(tmp_path):
    cpu = config(steps=6)
    set_value(cpu, "train.device", "cpu")
    gankit.train(cpu, tmp_path / "r", progress=False)
    run = gankit.train(config(steps=10), tmp_path / "r", resume=True, progress=False)
    assert run.step == 10 and next(run.G.parameters()).device.type == "cuda"


def test_evaluate_a_cuda_run_trains_and_uses_the_classifier_on_the_gpu(tmp_path):
    from gankit.evaluate import evaluate
    from gankit.metrics.classifier import ClassifierSettings

    gankit.train(config(), tmp_path / "r", progress=False)
    run = gankit.load(tmp_path / "r", device="cuda")
    out = evaluate(run, ["fid", "kid", "prdc"], n=200, cache_dir=tmp_path / "cache", log=lambda *a: None,
                   classifier_settings=ClassifierSettings(epochs=1, min_steps=20))
    assert out["fid"] >= 0 and 0 <= out["precision"] <= 1 and out["protocol"]["classifier"]["test_accuracy"] > 0.1
