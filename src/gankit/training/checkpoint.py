"""Checkpoints are data, not code: safetensors for every tensor, JSON for everything else.

A checkpoint is a directory ``checkpoints/step-00001000/`` holding
  generator.safetensors, discriminator.safetensors   the weights (and BatchNorm buffers)
  generator_ema.safetensors                         the moving average of G (runs with train.ema)
  state.safetensors + state.json                    optimizer states, RNG states, counters
It is written under a temporary name, every file fsynced, then renamed in one atomic step: a
crash mid-save leaves a stray ``*.tmp-*`` folder (ignored and cleaned) and the previous
checkpoint intact. Nothing here ever unpickles.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError

STEP_DIR = re.compile(r"^step-(\d{8,})$")
G_FILE, D_FILE = "generator.safetensors", "discriminator.safetensors"
G_EMA_FILE = "generator_ema.safetensors"
STATE_TENSORS, STATE_JSON = "state.safetensors", "state.json"
CHECKPOINTS, BEST = "checkpoints", "checkpoints/best"  # the newest K; the best by a metric


# Nested state (optimizer state_dicts, RNG states) <-> a JSON tree + a flat dict of tensors.
def encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: encode(v, tensors) for k, v in obj.items()}
        return {"__items__": [[k, encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, tensors) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__items__" in obj:
            return {k: decode(v, tensors) for k, v in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(decode(v, tensors) for v in obj["__tuple__"])
        return {k: decode(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    return obj


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def save_checkpoint(run_dir: Path, step: int, G: torch.nn.Module, D: torch.nn.Module,
                    state: dict[str, Any], keep: int = 2, *,
                    G_ema: torch.nn.Module | None = None, folder: str = CHECKPOINTS) -> Path:
    """Atomically write the checkpoint for `step` in run_dir/folder, then keep only the
    newest `keep` there."""
    root = Path(run_dir) / folder
    final = root / f"step-{step:08d}"
    if final.exists():  # this exact step is already safe on disk
        return final
    tmp = root / f"{final.name}.tmp-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        save_file(_state_dict(G), tmp / G_FILE)
        save_file(_state_dict(D), tmp / D_FILE)
        if G_ema is not None:
            save_file(_state_dict(G_ema), tmp / G_EMA_FILE)
        tensors: dict[str, torch.Tensor] = {}
        tree = encode(state, tensors)
        save_file(tensors, tmp / STATE_TENSORS)
        (tmp / STATE_JSON).write_text(json.dumps({"step": step, "state": tree}))
        for f in tmp.iterdir():
            _fsync(f)
        _fsync(tmp)
        os.rename(tmp, final)
        _fsync(root)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(
            f"could not save the checkpoint for step {step} in {root} ({e.strerror or e}); "
            "the previous checkpoint is intact: free some space or fix permissions, then --resume"
        ) from None
    for old in list_checkpoints(run_dir, folder)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir: Path, folder: str = CHECKPOINTS) -> list[Path]:
    """Complete checkpoints, oldest first (temporary folders of interrupted saves are skipped)."""
    root = Path(run_dir) / folder
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and STEP_DIR.match(p.name)]
    return sorted(found, key=lambda p: int(STEP_DIR.match(p.name).group(1)))


def latest_checkpoint(run_dir: Path) -> Path:
    ckpts = list_checkpoints(run_dir)
    if not ckpts:
        raise CheckpointError(f"{run_dir} has no checkpoint yet: train it first (gankit train --out {run_dir})")
    return ckpts[-1]


def clean_partial_saves(run_dir: Path) -> None:
    for folder in (CHECKPOINTS, BEST):
        root = Path(run_dir) / folder
        if root.is_dir():
            for p in root.glob("step-*.tmp-*"):
                shutil.rmtree(p, ignore_errors=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write beside, fsync, rename over: readers see the old text or the new, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    _fsync(tmp)
    os.replace(tmp, path)


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing: the checkpoint is incomplete") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e})") from None


def load_weights(module: torch.nn.Module, path: Path) -> None:
    """Load safetensors weights into `module`, refusing any mismatch with its config."""
    tensors = _load_tensors(path)
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3]) or first[0]
        raise CheckpointError(f"{path} does not match the model in config.json: {detail}") from None


def load_state(ckpt: Path) -> tuple[int, dict[str, Any]]:
    tensors = _load_tensors(ckpt / STATE_TENSORS)
    try:
        meta = json.loads((ckpt / STATE_JSON).read_text())
        return int(meta["step"]), decode(meta["state"], tensors)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{ckpt / STATE_JSON} is unreadable ({e}): resume from another checkpoint") from None
