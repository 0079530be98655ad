"""Exact resume: N steps + resume + M steps == N + M steps in one go, bit for bit (CPU)."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import gankit
from gankit.config import Config, set_value
from gankit.training.checkpoint import list_checkpoints
from helpers import StopAt, weights


def small_config(data="ring8", model="mlp", steps=12, **extra):
    cfg = Config()
    for key, value in {"data.name": data, "model.name": model, "train.steps": steps,
                       "train.batch_size": 16, "train.log_every": 5, "train.sample_every": 1000,
                       "train.checkpoint_every": 1000, "model.latent_dim": 8,
                       "model.g_hidden": (32,), "model.d_hidden": (16,), "model.maxout_pieces": 2,
                       "model.width": 8, **extra}.items():
        set_value(cfg, key, value)
    return cfg


@pytest.mark.parametrize("data,model,extra", [
    ("ring8", "mlp", {"model.d_dropout": 0.2}),                     # dropout: global RNG state
    ("digits", "dcgan", {"train.d_steps": 2}),                       # BatchNorm buffers, Adam
    ("ring8", "mlp", {"train.optimizer": "sgd", "train.lr_g": 0.01, "train.lr_d": 0.01}),
])
def test_interrupt_and_resume_is_bit_identical(tmp_path, data, model, extra):
    straight = gankit.train(small_config(data, model, **extra), tmp_path / "a", progress=False)

    stopped = gankit.train(small_config(data, model, **extra), tmp_path / "b", progress=False,
                           callbacks=[StopAt(5)])
    assert stopped.step == 5 and list_checkpoints(tmp_path / "b")[-1].name == "step-00000005"
    resumed = gankit.train(small_config(data, model, **extra), tmp_path / "b", resume=True,
                           progress=False)
    assert resumed.step == 12
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    # the saved checkpoint, reloaded, is the same model too
    loaded = weights(gankit.load(tmp_path / "b"))
    assert all(torch.equal(a[k], loaded[k]) for k in a)


def test_resume_extends_a_finished_run(tmp_path):
    gankit.train(small_config(steps=6), tmp_path / "r", progress=False)
    run = gankit.train(small_config(steps=10), tmp_path / "r", resume=True, progress=False)
    assert run.step == 10 and gankit.load(tmp_path / "r").step == 10
    assert gankit.load(tmp_path / "r").config.train.steps == 10


def test_sigint_saves_a_checkpoint_and_resume_finishes(tmp_path):
    """Ctrl-C on the real CLI: exit 130, a checkpoint on disk, --resume completes the run."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "gankit", "train", "--data", "ring8", "--model", "mlp",
           "--steps", "100000", "--batch-size", "16", "--out", str(out), "--quiet",
           "--log-every", "1", "--checkpoint-every", "100000", "--set", "model.g_hidden=16"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "log.jsonl").exists():
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Continue with: gankit train --resume" in stdout
    assert "Traceback" not in stderr
    ckpts = list_checkpoints(out)
    assert len(ckpts) == 1
    stopped_at = int(ckpts[0].name.split("-")[1])
    assert 0 < stopped_at < 100000
    done = subprocess.run([sys.executable, "-m", "gankit", "train", "--resume", str(out), "--steps",
                           str(stopped_at + 3), "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert gankit.load(out).step == stopped_at + 3


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gankit", "train", "--data", "ring8", "--model", "mlp",
                             "--steps", "100000", "--batch-size", "16", "--out", str(out), "--quiet",
                             "--log-every", "1", "--set", "model.g_hidden=16"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "log.jsonl").exists():
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert list_checkpoints(out)
