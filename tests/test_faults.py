"""Training that survives faults: SIGKILL at any moment (mid-checkpoint included), a full disk
or a refused write while saving, and pickles planted where gankit reads checkpoints."""

import errno
import json
import os
import pickle
import random
import shutil
import signal
import sys
import time

import pytest
import torch

import gankit
from gankit.cli.main import main
from gankit.training import checkpoint as ck

TINY = ["--data", "ring8", "--model", "mlp", "--batch-size", "32", "--latent-dim", "4",
        "--set", "model.g_hidden=16", "--set", "model.d_hidden=8", "--set", "model.maxout_pieces=2",
        "--log-every", "5", "--set", "health.every=5", "--quiet"]


def gankit_cli(*argv):
    return main([str(a) for a in argv])


def files_of(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- SIGKILL, many times -----------------------------------------------------------------------
def spawn(argv, sabotage=None):
    """Run `gankit argv` in a forked child (no interpreter start-up to pay); returns its pid.
    `sabotage`, run in the child first, may plant a self-kill in the checkpoint writer."""
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 70
        try:
            torch.set_num_threads(1)  # the parent's OpenMP pool does not survive a fork
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            if sabotage is not None:
                sabotage()
            code = main([str(a) for a in argv])
        finally:
            os._exit(code)
    return pid


def die_on_call(owner, name, call):
    """Make owner.name SIGKILL this process when it is called for the `call`-th time."""
    real, calls = getattr(owner, name), [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(owner, name, wrapper)


def half_delete_then_die(path, *args, **kwargs):
    """shutil.rmtree that, pruning an old checkpoint, removes one of its files and dies."""
    if ck.STEP_DIR.match(path.name):
        for file in sorted(p for p in path.iterdir() if p.is_file())[:1]:
            os.remove(file)
        os.kill(os.getpid(), signal.SIGKILL)
    return REAL_RMTREE(path, *args, **kwargs)


REAL_RMTREE = shutil.rmtree
SABOTAGE = {  # deterministic kills inside a checkpoint save, beside the random ones
    "before the rename": lambda: die_on_call(ck.os, "rename", 3),
    "between two weight files": lambda: die_on_call(ck, "save_file", 5),
    "while pruning old checkpoints": lambda: setattr(ck.shutil, "rmtree", half_delete_then_die),
}


def newest_step(run_dir) -> int:
    ckpts = ck.list_checkpoints(run_dir)
    return int(ckpts[-1].name.split("-")[1]) if ckpts else -1


def kill_soon_after(pid, run_dir, step, rng) -> None:
    """SIGKILL the child a random moment after its newest checkpoint passes `step`."""
    deadline = time.time() + 60
    while newest_step(run_dir) < step and time.time() < deadline:
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 0.05))  # a few steps at most, each mostly spent saving
    os.kill(pid, signal.SIGKILL)


def wait(pid, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"child {pid} hung")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")
def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    """Eleven SIGKILLs of a run that saves a checkpoint every step -- eight at random moments
    (most land inside a save, which dominates a step here), three planted inside a save --
    and every --resume starts from an intact checkpoint; the finished run has the very weights
    of one that was never interrupted."""
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    steps = 100
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the children; this run also imports what they need
    try:
        assert gankit_cli("train", *TINY, "--steps", steps, "--out", straight) == 0
    finally:
        torch.set_num_threads(threads)

    kills = ["random"] * 7 + list(SABOTAGE)
    rng.shuffle(kills)
    kills.insert(0, "random")  # the first run dies a random moment after its first saves
    pid = spawn(["train", *TINY, "--steps", steps, "--checkpoint-every", 1, "--out", killed])
    last_step, mid_save = 0, 0
    for i, kill in enumerate(kills):
        if kill == "random":
            kill_soon_after(pid, killed, last_step + rng.randint(1, 4), rng)
        status = wait(pid)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (seed, kill)
        stray = list((killed / "checkpoints").glob("*.tmp-*"))
        mid_save += bool(stray)
        if kill in ("before the rename", "between two weight files"):
            assert stray, (seed, kill)
        run = gankit.load(killed)  # the newest checkpoint is whole and loads
        assert last_step <= run.step < steps, (seed, kill)
        last_step = run.step
        if i + 1 < len(kills):
            pid = spawn(["train", "--resume", killed], SABOTAGE.get(kills[i + 1]))
    assert gankit_cli("train", "--resume", killed, "--checkpoint-every", 1000) == 0
    a, b = gankit.load(straight), gankit.load(killed)
    assert b.step == steps and mid_save >= 2
    for x, y in zip([*a.G.state_dict().values(), *a.D.state_dict().values()],
                    [*b.G.state_dict().values(), *b.D.state_dict().values()]):
        assert torch.equal(x, y), seed


# --- a full disk, a refused write ---------------------------------------------------------------
def fail_second_checkpoint(monkeypatch, error):
    """The second checkpoint's save fails with `error` half-way through its files."""
    real, calls = ck.save_file, [0]

    def save_file(tensors, path):
        calls[0] += 1
        if calls[0] == 5:  # G, D, state of the first; G, then D of the second
            raise error
        real(tensors, path)

    monkeypatch.setattr(ck, "save_file", save_file)


def refuse_second_rename(monkeypatch, error):
    real, calls = os.rename, [0]

    def rename(src, dst):
        calls[0] += 1
        if calls[0] == 2:
            raise error
        real(src, dst)

    monkeypatch.setattr(ck.os, "rename", rename)


@pytest.mark.parametrize("break_it,error,message", [
    (fail_second_checkpoint, OSError(errno.ENOSPC, "No space left on device"), "No space left"),
    (refuse_second_rename, PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
])
def test_a_failed_save_is_one_line_and_the_previous_checkpoint_survives(
        tmp_path, capsys, monkeypatch, break_it, error, message):
    out = tmp_path / "run"
    assert gankit_cli("train", *TINY, "--steps", 2, "--out", out) == 0
    before = files_of(out / "checkpoints")
    break_it(monkeypatch, error)
    code = gankit_cli("train", "--resume", out, "--steps", 6, "--checkpoint-every", 2, "--quiet")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "Traceback" not in "\n".join(err)
    assert err[-1].startswith("gankit train: error: could not save the checkpoint for step 6")
    assert message in err[-1] and "previous checkpoint is intact" in err[-1]
    after = files_of(out / "checkpoints")
    assert {k: v for k, v in after.items() if k.parts[0] == "step-00000002"} == before
    assert not list((out / "checkpoints").glob("*.tmp-*"))
    assert gankit.load(out).step == 4  # the save before the failed one
    monkeypatch.undo()
    assert gankit_cli("train", "--resume", out, "--steps", 6, "--quiet") == 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders; the rename test covers it")
def test_a_read_only_checkpoints_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert gankit_cli("train", *TINY, "--steps", 2, "--out", out) == 0
    (out / "checkpoints").chmod(0o555)
    try:
        assert gankit_cli("train", "--resume", out, "--steps", 4, "--quiet") == 2
        assert "Permission denied" in capsys.readouterr().err
    finally:
        (out / "checkpoints").chmod(0o755)
    assert gankit.load(out).step == 2


# --- loading never runs code --------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "small"
    assert gankit_cli("train", *TINY, "--steps", 2, "--out", out) == 0
    return out


class Exploit:
    """Unpickling this creates the marker file: proof that a pickle ran."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("target,argv", [
    (ck.G_FILE, ["sample", "{run}", "-n", "4", "-o", "{tmp}/x.npy"]),
    (ck.D_FILE, ["train", "--resume", "{run}", "--steps", "4", "--quiet"]),
    (ck.STATE_TENSORS, ["train", "--resume", "{run}", "--steps", "4", "--quiet"]),
    (ck.STATE_TENSORS, ["sample", "{run}", "-n", "4", "-o", "{tmp}/x.npy"]),
    (ck.STATE_JSON, ["train", "--resume", "{run}", "--steps", "4", "--quiet"]),
    ("torch.save", ["sample", "{run}", "-n", "4", "-o", "{tmp}/x.npy"]),
])
def test_a_pickle_where_a_checkpoint_file_belongs_is_refused_and_never_run(
        small_run, tmp_path, capsys, target, argv):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    Exploit.marker = str(tmp_path / "pwned")
    ckpt = ck.latest_checkpoint(run)
    if target == "torch.save":  # torch's own zip-of-pickles format
        torch.save({"weight": Exploit()}, ckpt / ck.G_FILE)
    else:
        (ckpt / target).write_bytes(pickle.dumps(Exploit()))
    before = files_of(run)
    code = gankit_cli(*[a.format(run=run, tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "is not a readable safetensors file" in err or "state.json is unreadable" in err
    assert not (tmp_path / "pwned").exists()
    assert files_of(run) == before and not (tmp_path / "x.npy").exists()


# --- TensorBoard ----------------------------------------------------------------------------------
def test_tensorboard_scalars_images_and_histograms(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "tb"
    assert gankit_cli("train", *TINY, "--steps", 6, "--sample-every", 3, "--log-every", 3,
                      "--out", out, "--tensorboard") == 0
    events = EventAccumulator(str(out / "tensorboard"),
                              size_guidance={"images": 0, "histograms": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    assert {"loss_d", "loss_g", "d_real", "grad_norm_g", "diversity"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("loss_d")] == [3, 6]
    assert "samples" in tags["images"] and [e.step for e in events.Images("samples")] == [3, 6]
    assert any(t.startswith("G/") for t in tags["histograms"])
    assert any(t.startswith("health") for t in tags["tensors"])  # the report, as text
    assert json.loads((out / "config.json").read_text())["train"]["tensorboard"] is True


def test_tensorboard_without_the_package_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    code = gankit_cli("train", *TINY, "--steps", 2, "--out", tmp_path / "tb", "--tensorboard")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--tensorboard needs the tensorboard package" in err and "gankit[tensorboard]" in err
    assert not (tmp_path / "tb").exists()
