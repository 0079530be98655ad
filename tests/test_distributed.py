"""Data-parallel training under torchrun (gloo on CPU): two processes train what one would.

One torchrun launch of a small worker script runs every multi-process scenario (starting
processes is the slow part); the single-process references run here.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file

import gankit
from gankit.config import Config, set_value
from gankit.training import distributed
from gankit.training.batches import Batches
from gankit.training.checkpoint import list_checkpoints

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETTINGS = {
    # MLP on ring8, no BatchNorm, no dropout: 2 ranks x 16 must equal 1 x 32 up to float order
    "mlp": {"data.name": "ring8", "model.name": "mlp", "train.batch_size": 32,
            "model.latent_dim": 8, "model.g_hidden": (32,), "model.d_hidden": (16,),
            "model.maxout_pieces": 2},
    # DCGAN on digits with BatchNorm over the global batch
    "dcgan-syncbn": {"data.name": "digits", "model.name": "dcgan", "train.batch_size": 32,
                     "model.latent_dim": 16, "model.width": 8, "train.sync_batchnorm": True},
}
# the gan2014 preset's way on the same MLP: simultaneous D and G steps, SGD with a momentum ramp
# and lr decay
SETTINGS["mlp-joint"] = {**SETTINGS["mlp"], "train.simultaneous": True, "train.optimizer": "sgd",
                         "train.lr_g": 0.05, "train.lr_d": 0.05, "train.momentum_final": 0.7,
                         "train.momentum_ramp": (2, 8), "train.lr_decay": 1.05}


def config(kind, steps):
    cfg = Config()
    for key, value in {**SETTINGS[kind], "train.steps": steps, "train.log_every": 4,
                       "train.sample_every": 1000, "train.checkpoint_every": 1000}.items():
        set_value(cfg, key, value)
    return cfg


WORKER = textwrap.dedent('''
    """Every rank: train the scenarios, and save its own final weights to compare ranks."""
    import os, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import gankit
    from gankit.cli.main import main as cli
    from safetensors.torch import save_file
    from test_distributed import config

    out, rank = Path(sys.argv[1]), int(os.environ["RANK"])

    class SaveWeights:
        def __init__(self, name):
            self.path = out / f"{{name}}-rank{{rank}}.safetensors"
        def on_start(self, trainer): pass
        def on_step(self, trainer, stats): pass
        def on_end(self, trainer):
            g = {{"G." + k: v.detach().contiguous() for k, v in trainer.gan.G.state_dict().items()}}
            d = {{"D." + k: v.detach().contiguous() for k, v in trainer.gan.D.state_dict().items()}}
            save_file({{**g, **d}}, self.path)

    gankit.train(config("mlp", 12), out / "mlp", progress=False, callbacks=[SaveWeights("mlp")])
    gankit.train(config("mlp", 5), out / "mlp-resumed", progress=False)
    gankit.train(config("mlp", 12), out / "mlp-resumed", resume=True, progress=False,
                 callbacks=[SaveWeights("mlp-resumed")])
    gankit.train(config("mlp-joint", 12), out / "mlp-joint", progress=False,
                 callbacks=[SaveWeights("mlp-joint")])
    gankit.train(config("dcgan-syncbn", 6), out / "dcgan", progress=False,
                 callbacks=[SaveWeights("dcgan")])
    # the command line: a batch that does not split over the ranks is one line, exit 2
    code = cli(["train", "--data", "ring8", "--model", "mlp", "--batch-size", "33", "--steps", "1",
                "--out", str(out / "odd"), "--quiet"])
    (out / f"cli-rank{{rank}}.json").write_text(str(code))
''')


def weights(run):
    return {**{f"G.{k}": v for k, v in run.G.state_dict().items()},
            **{f"D.{k}": v for k, v in run.D.state_dict().items()}}


def checkpoint_weights(run_dir):
    ckpt = list_checkpoints(run_dir)[-1]
    g, d = load_file(ckpt / "generator.safetensors"), load_file(ckpt / "discriminator.safetensors")
    return {**{f"G.{k}": v for k, v in g.items()}, **{f"D.{k}": v for k, v in d.items()}}


def assert_close(a, b, atol):
    assert a.keys() == b.keys()
    worst = {k: (a[k].double() - b[k].double()).abs().max().item() for k in a}
    assert max(worst.values()) <= atol, {k: v for k, v in worst.items() if v > atol}


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Run the worker under torchrun with 2 CPU processes; the folder it wrote into."""
    out = tmp_path_factory.mktemp("ddp")
    script = out / "worker.py"
    script.write_text(WORKER.format(tests=os.path.join(REPO, "tests")))
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([os.path.join(REPO, "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done


def test_two_ranks_keep_identical_weights(two_ranks):
    out, _ = two_ranks
    for name in ("mlp", "mlp-resumed", "mlp-joint", "dcgan"):
        r0 = load_file(out / f"{name}-rank0.safetensors")
        r1 = load_file(out / f"{name}-rank1.safetensors")
        params = [k for k in r0 if "running_" not in k and "num_batches" not in k]
        assert all(torch.equal(r0[k], r1[k]) for k in params), name
    # rank 0 wrote the checkpoint: it holds rank 0's final weights
    assert_close(checkpoint_weights(out / "mlp"), load_file(out / "mlp-rank0.safetensors"), 0.0)


def test_two_ranks_match_one_process_with_the_same_global_batch(two_ranks, tmp_path):
    out, _ = two_ranks
    one = gankit.train(config("mlp", 12), tmp_path / "mlp", progress=False)
    assert_close(checkpoint_weights(out / "mlp"), weights(one), atol=1e-5)
    # the logged statistics are averaged over ranks: the same log as one process
    logs = [[json.loads(line) for line in (d / "log.jsonl").read_text().splitlines()]
            for d in (out / "mlp", tmp_path / "mlp")]
    assert [r["step"] for r in logs[0]] == [r["step"] for r in logs[1]] == [4, 8, 12]
    for a, b in zip(*logs):
        assert a["loss_d"] == pytest.approx(b["loss_d"], abs=1e-4)
        assert a["loss_g"] == pytest.approx(b["loss_g"], abs=1e-4)
    one = gankit.train(config("mlp-joint", 12), tmp_path / "mlp-joint", progress=False)
    assert_close(checkpoint_weights(out / "mlp-joint"), weights(one), atol=1e-5)
    # BatchNorm over the global batch (train.sync_batchnorm) equals one process's BatchNorm
    one = gankit.train(config("dcgan-syncbn", 6), tmp_path / "dcgan", progress=False)
    assert_close(checkpoint_weights(out / "dcgan"), weights(one), atol=1e-4)


def test_two_ranks_resume_exactly(two_ranks):
    out, _ = two_ranks
    assert_close(load_file(out / "mlp-resumed-rank0.safetensors"),
                 load_file(out / "mlp-rank0.safetensors"), 0.0)
    assert [p.name for p in list_checkpoints(out / "mlp-resumed")] == ["step-00000005",
                                                                        "step-00000012"]


def test_a_batch_that_does_not_split_over_ranks_is_a_one_line_error(two_ranks):
    out, done = two_ranks
    assert (out / "cli-rank0.json").read_text() == "2" == (out / "cli-rank1.json").read_text()
    assert "must split evenly over 2 processes" in done.stderr
    assert "Traceback" not in done.stderr


def test_ranks_take_slices_of_the_same_global_batches():
    whole = Batches(100, 32, seed=3)
    halves = [Batches(100, 32, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for _ in range(10):  # crosses epochs (3 batches of 32 per epoch of 100)
        expected = whole.next()
        assert torch.equal(torch.cat([h.next() for h in halves]), expected)
    # any rank's state resumes the global order
    resumed = Batches(100, 32, seed=3, rank=1, world_size=2)
    resumed.load_state_dict(halves[0].state_dict())
    assert torch.equal(resumed.next(), whole.next()[16:])


def test_one_process_is_untouched():
    assert not dist.is_initialized()
    assert distributed.world_size() == 1 and distributed.is_main()
    assert distributed.init(torch.device("cpu")) == torch.device("cpu")
    assert distributed.on_main(lambda x: x + 1, 1) == 2
    assert isinstance(distributed.make_parallel(None, torch.device("cpu"), 33),
                      distributed.SingleProcess)
