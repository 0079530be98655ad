"""The command line end to end on tiny runs, and every error path as one line with exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gankit.cli.main import main

TINY = ["--set", "model.g_hidden=16", "--set", "model.d_hidden=8", "--set", "model.maxout_pieces=2",
        "--latent-dim", "4", "--batch-size", "16", "--quiet"]


def gankit(*argv):
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ring"
    assert gankit("train", "--data", "ring8", "--model", "mlp", "--steps", 6, "--out", out, *TINY) == 0
    return out


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    assert gankit("train", "--data", "digits", "--model", "dcgan", "--steps", 4, "--out", out,
                  "--set", "model.width=8", *TINY) == 0
    return out


def test_train_writes_a_complete_run_directory(digits_run):
    for name in ("config.json", "data.json", "log.jsonl", "curves.png"):
        assert (digits_run / name).is_file(), name
    assert sorted(p.name for p in (digits_run / "samples").iterdir()) == ["step-00000004.png"]
    cfg = json.loads((digits_run / "config.json").read_text())
    assert cfg["gankit_version"] and cfg["train"]["steps"] == 4 and cfg["model"]["width"] == 8
    record = json.loads((digits_run / "log.jsonl").read_text().splitlines()[-1])
    assert {"step", "loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} <= record.keys()


def test_sample_grid_array_and_folder(digits_run, tmp_path, capsys):
    assert gankit("sample", digits_run, "-n", 10, "--seed", 0, "-o", tmp_path / "g.png") == 0
    assert Image.open(tmp_path / "g.png").size[0] > 8
    assert gankit("sample", digits_run, "-n", 10, "--seed", 0, "-o", tmp_path / "a.npy") == 0
    a = np.load(tmp_path / "a.npy")
    assert a.shape == (10, 1, 8, 8) and a.min() >= 0 and a.max() <= 1
    assert gankit("sample", digits_run, "-n", 10, "--seed", 0, "-o", tmp_path / "b.npy") == 0
    assert np.array_equal(a, np.load(tmp_path / "b.npy"))  # the seed fixes the samples
    assert gankit("sample", digits_run, "-n", 3, "-o", f"{tmp_path / 'each'}/") == 0
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == ["00000.png", "00001.png", "00002.png"]


def test_points_sample_as_array(ring_run, tmp_path):
    assert gankit("sample", ring_run, "-n", 50, "-o", tmp_path / "p.npy") == 0
    assert np.load(tmp_path / "p.npy").shape == (50, 2)
    assert gankit("sample", ring_run, "-n", 50, "-o", tmp_path / "p.png") == 0


def test_info(digits_run, capsys):
    assert gankit("info", digits_run) == 0
    out = capsys.readouterr().out
    assert "dcgan" in out and "steps_trained" in out and "params_generator" in out
    # every setting that differs from the defaults is listed, so a packed or noisy run says so
    settings = next(line for line in out.splitlines() if line.startswith("settings"))
    assert "train.steps=" in settings and "train.pack" not in settings


def test_info_names_the_family_settings(tmp_path, capsys):
    out = tmp_path / "packed"
    assert gankit("train", "--data", "ring8", "--model", "mlp", "--steps", 2, "--pack", 2,
                  "--set", "train.instance_noise=0.1", "--out", out, "--quiet") == 0
    capsys.readouterr()
    assert gankit("info", out) == 0
    settings = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("settings"))
    assert "train.pack=2" in settings and "train.instance_noise=0.1" in settings


def test_python_api(digits_run):
    import gankit as gk

    run = gk.load(digits_run)
    x = run.sample(16, seed=0)
    assert x.shape == (16, 1, 8, 8)


def test_dry_run_prints_preset_with_overrides(capsys):
    assert gankit("train", "--preset", "gan2014", "--lr", "0.05", "--out", "unused", "--dry-run") == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["model"]["name"] == "mlp" and cfg["model"]["g_hidden"] == [1200, 1200]
    assert cfg["train"]["optimizer"] == "sgd" and cfg["train"]["lr_g"] == 0.05


def test_python_dash_m_is_the_same_command():
    r = subprocess.run([sys.executable, "-m", "gankit", "train", "--preset", "dcgan", "--out", "x",
                        "--dry-run"], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["train"]["batch_size"] == 128


def test_existing_run_is_not_overwritten(ring_run, capsys):
    before = (ring_run / "config.json").read_text()
    assert gankit("train", "--data", "ring8", "--model", "mlp", "--steps", 2, "--out", ring_run, *TINY) == 2
    assert "already exists" in capsys.readouterr().err
    assert (ring_run / "config.json").read_text() == before


def test_sample_does_not_overwrite(ring_run, tmp_path, capsys):
    target = tmp_path / "keep.npy"
    target.write_bytes(b"precious")
    assert gankit("sample", ring_run, "-n", 5, "-o", target) == 2
    assert target.read_bytes() == b"precious"


@pytest.mark.parametrize("argv,message", [
    (["train", "--data", "nosuch", "--out", "{tmp}/r"], "unknown dataset 'nosuch'"),
    (["train", "--model", "vae", "--out", "{tmp}/r"], "unknown model 'vae'"),
    (["train", "--loss", "l2", "--out", "{tmp}/r"], "unknown loss 'l2'"),
    (["train", "--preset", "biggan", "--out", "{tmp}/r"], "unknown preset 'biggan'"),
    (["train", "--optimizer", "lion", "--out", "{tmp}/r"], "unknown optimizer 'lion'"),
    (["train", "--prior", "cauchy", "--out", "{tmp}/r"], "unknown prior 'cauchy'"),
    (["train", "--steps", "ten", "--out", "{tmp}/r"], "train.steps must be an integer"),
    (["train", "--steps", "0", "--out", "{tmp}/r"], "train.steps must be positive"),
    (["train", "--batch-size", "-4", "--out", "{tmp}/r"], "train.batch_size must be positive"),
    (["train", "--set", "train.stepz=3", "--out", "{tmp}/r"], "unknown setting 'train.stepz'"),
    (["train", "--data", "ring8", "--model", "dcgan", "--out", "{tmp}/r"], "needs square images"),
    (["train", "--data", "digits", "--batch-size", "5000", "--out", "{tmp}/r"], "larger than the dataset"),
    (["train", "--data", "{tmp}/missing.npz", "--out", "{tmp}/r"], "missing.npz"),
    (["train", "--steps", "5"], "--out RUN"),
    (["train", "--resume", "{tmp}/nothing"], "not a gankit run directory"),
    (["sample", "{tmp}/nothing", "-o", "{tmp}/x.png"], "does not exist"),
    (["sample", "{tmp}", "-o", "{tmp}/x.png"], "config.json not found"),
    (["info", "{tmp}/nothing"], "does not exist"),
])
def test_errors_are_one_line_exit_2(tmp_path, capsys, argv, message):
    code = gankit(*[a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_bad_sample_arguments(ring_run, tmp_path, capsys):
    assert gankit("sample", ring_run, "-n", 0, "-o", tmp_path / "x.npy") == 2
    assert gankit("sample", ring_run, "-n", 4, "-o", tmp_path / "x.jpg") == 2
    assert gankit("sample", ring_run, "-n", 4, "-o", f"{tmp_path / 'pts'}/") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "must be positive" in err[0] and ".png" in err[1] and "image data" in err[2]


def test_resume_refuses_changing_the_run(ring_run, capsys):
    assert gankit("train", "--resume", ring_run, "--lr", "0.1") == 2
    assert "cannot change when resuming" in capsys.readouterr().err


def test_argparse_errors_are_one_line_too():
    r = subprocess.run([sys.executable, "-m", "gankit", "sample"], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_checkpoint_not_matching_its_config(ring_run, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(ring_run, broken)
    cfg = json.loads((broken / "config.json").read_text())
    cfg["model"]["g_hidden"] = [32]
    (broken / "config.json").write_text(json.dumps(cfg))
    assert gankit("sample", broken, "-n", 4, "-o", tmp_path / "x.npy") == 2
    assert "does not match the model in config.json" in capsys.readouterr().err


def test_resume_through_out_flag(tmp_path):
    import gankit as gk

    out = tmp_path / "r"
    assert gankit("train", "--data", "ring8", "--model", "mlp", "--steps", 3, "--out", out, *TINY) == 0
    assert gankit("train", "--out", out, "--resume", "--steps", 5, "--quiet") == 0
    assert gk.load(out).step == 5


def test_debug_flag_shows_the_traceback():
    r = subprocess.run([sys.executable, "-m", "gankit", "--debug", "train", "--data", "nosuch",
                        "--out", "x"], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" in r.stderr and "unknown dataset" in r.stderr
