"""Checkpoint files: data not code, atomic, and round-tripping every kind of training state."""

import json
import pickle

import pytest
import torch

from gankit.errors import CheckpointError
from gankit.training import checkpoint as ck


def modules():
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    D = torch.nn.Linear(4, 1)
    return G, D


def optimizer_state():
    p = torch.nn.Parameter(torch.randn(3))
    opt = torch.optim.Adam([p], lr=1e-3, betas=(0.5, 0.9))
    p.grad = torch.randn(3)
    opt.step()
    return opt.state_dict()


def test_state_round_trip_keeps_types(tmp_path):
    G, D = modules()
    state = {"opt": optimizer_state(), "rng": torch.get_rng_state(), "pos": 3, "none": None,
             "pair": (1, 2.5), "gen": torch.Generator().manual_seed(5).get_state()}
    ck.save_checkpoint(tmp_path, 7, G, D, state)
    step, loaded = ck.load_state(ck.latest_checkpoint(tmp_path))
    assert step == 7 and loaded["pos"] == 3 and loaded["none"] is None and loaded["pair"] == (1, 2.5)
    assert list(loaded["opt"]["state"].keys()) == [0]  # int keys survive JSON
    assert loaded["opt"]["param_groups"][0]["betas"] == (0.5, 0.9)
    assert torch.equal(loaded["opt"]["state"][0]["exp_avg"], state["opt"]["state"][0]["exp_avg"])
    assert torch.equal(loaded["rng"], state["rng"])
    G2, D2 = modules()
    for m in (G2, D2):
        for p in m.parameters():
            torch.nn.init.zeros_(p)
    ck.load_weights(G2, ck.latest_checkpoint(tmp_path) / ck.G_FILE)
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G2.state_dict().values()))


def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    G, D = modules()
    ck.save_checkpoint(tmp_path, 1, G, D, {"x": 1})
    before = {p.name: p.read_bytes() for p in ck.latest_checkpoint(tmp_path).iterdir()}
    calls = {"n": 0}
    real_save = ck.save_file

    def disk_full(tensors, path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real_save(tensors, path)

    monkeypatch.setattr(ck, "save_file", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device.*previous checkpoint is intact"):
        ck.save_checkpoint(tmp_path, 2, G, D, {"x": 2})
    assert [p.name for p in ck.list_checkpoints(tmp_path)] == ["step-00000001"]
    assert {p.name: p.read_bytes() for p in ck.latest_checkpoint(tmp_path).iterdir()} == before
    assert not list((tmp_path / "checkpoints").glob("*.tmp-*"))


def test_interrupted_save_is_ignored_and_cleaned(tmp_path):
    G, D = modules()
    ck.save_checkpoint(tmp_path, 1, G, D, {})
    stray = tmp_path / "checkpoints" / "step-00000002.tmp-999"
    stray.mkdir()
    (stray / ck.G_FILE).write_bytes(b"half")
    assert ck.latest_checkpoint(tmp_path).name == "step-00000001"
    ck.clean_partial_saves(tmp_path)
    assert not stray.exists()


def test_keeps_only_the_newest(tmp_path):
    G, D = modules()
    for step in (1, 2, 3, 4):
        ck.save_checkpoint(tmp_path, step, G, D, {}, keep=2)
    assert [p.name for p in ck.list_checkpoints(tmp_path)] == ["step-00000003", "step-00000004"]


def test_a_pickle_in_place_of_weights_is_refused_and_never_run(tmp_path):
    G, D = modules()
    ck.save_checkpoint(tmp_path, 1, G, D, {})
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = ck.latest_checkpoint(tmp_path) / ck.G_FILE
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        ck.load_weights(G, path)
    assert not marker.exists()


def test_unreadable_state_json(tmp_path):
    G, D = modules()
    ck.save_checkpoint(tmp_path, 1, G, D, {})
    (ck.latest_checkpoint(tmp_path) / ck.STATE_JSON).write_text("{not json")
    with pytest.raises(CheckpointError, match="state.json is unreadable"):
        ck.load_state(ck.latest_checkpoint(tmp_path))


def test_state_json_is_plain_json(tmp_path):
    G, D = modules()
    ck.save_checkpoint(tmp_path, 1, G, D, {"opt": optimizer_state()})
    meta = json.loads((ck.latest_checkpoint(tmp_path) / ck.STATE_JSON).read_text())
    assert meta["step"] == 1 and "__tensor__" in json.dumps(meta)
