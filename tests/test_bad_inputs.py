"""Bad input, clearly refused: every case of bad_inputs/cases.json through the command line --
exit code 2, its one-line message, no traceback, and no file written or changed."""

import gzip
import io
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.cli.main import main

CASES = json.loads((Path(__file__).parent / "bad_inputs" / "cases.json").read_text())["cases"]


def idx_bytes(magic: int, count: int, gzip_it: bool = False) -> bytes:
    dims = (count, 28, 28) if magic == 2051 else (count,)
    raw = struct.pack(f">{1 + len(dims)}i", magic, *dims) + bytes(int(np.prod(dims)))
    return gzip.compress(raw, mtime=0) if gzip_it else raw


def png_bytes(size: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.arange(size * size, dtype=np.uint8).reshape(size, size)).save(buf, "PNG")
    return buf.getvalue()


def array(spec: dict) -> np.ndarray:
    shape, dtype = tuple(spec["shape"]), spec["dtype"]
    if dtype == "object":
        return np.array([[i, "x"] for i in range(shape[0])], dtype=object)
    value = float(spec["value"]) if "value" in spec else 0
    return np.full(shape, value, dtype=dtype)


# file spec kind -> what to write there
WRITERS = {
    "idx": lambda path, s: path.write_bytes(idx_bytes(s["magic"], s["count"], s.get("gzip"))),
    "png": lambda path, s: path.write_bytes(png_bytes(s["size"])),
    "npz": lambda path, s: np.savez(path, **{k: array(v) for k, v in s.items()}),
    "npy": lambda path, s: np.save(path, array(s)),
    "dir": lambda path, s: path.mkdir(parents=True, exist_ok=True),
}


def build(case: dict, tmp: Path, small_run: Path) -> None:
    for name, spec in case.get("files", {}).items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        [(kind, options)] = spec.items()
        WRITERS[kind](path, options)
        if isinstance(options, dict) and "keep_bytes" in options:
            path.write_bytes(path.read_bytes()[: options["keep_bytes"]])
    if not case.get("run"):
        return
    run = tmp / "run"
    shutil.copytree(small_run, run)
    if "config" in case:
        cfg = json.loads((run / "config.json").read_text())
        for key, value in case["config"]:
            *parents, last = key.split(".")
            node = cfg
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        (run / "config.json").write_text(json.dumps(cfg))
    for name, text in case.get("write", {}).items():
        (run / name).write_text(text)
    for name in case.get("delete", []):
        shutil.rmtree(run / name)


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "small"
    assert main(["train", "--data", "ring8", "--model", "mlp", "--steps", "2", "--batch-size", "16",
                 "--latent-dim", "4", "--set", "model.g_hidden=16", "--set", "model.d_hidden=8",
                 "--set", "model.maxout_pieces=2", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_is_refused_in_one_line(case, tmp_path, small_run, capsys):
    build(case, tmp_path, small_run)
    capsys.readouterr()
    before = snapshot(tmp_path)
    code = main([a.format(tmp=tmp_path, run=tmp_path / "run") for a in case["argv"]])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"gankit {case['argv'][0]}: error: ") and case["message"] in err, err
    assert snapshot(tmp_path) == before  # nothing created, nothing overwritten


def test_the_corpus_is_small_and_every_case_is_named_once():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)) >= 25
    folder = Path(__file__).parent / "bad_inputs"
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 50_000
