"""InfoGAN on MNIST (Chen et al. 2016): the categorical code c1 as a digit classifier, 5% error.

    python benchmarks/repro_infogan.py --data-dir ../shared/datasets                 # 3 seeds
    python benchmarks/repro_infogan.py --data-dir ../shared/datasets --quick         # smoke test

Trains `--preset infogan` (a 10-valued code c1 and two continuous codes beside 62 uniform noise
variables, lambda = 1, Adam 2e-4 for D and Q, 1e-3 for G, batch 128) with gankit's dcgan nets on
MNIST once per seed, then scores each run with gankit evaluate --metrics infogan_accuracy: Q reads
c1 from each of the 10,000 MNIST test digits (D in eval mode), the ten values of c1 are matched
one-to-one to the ten digits for the best accuracy (Hungarian), and error = 1 - accuracy. Prints a
JSON line per run, then mean +- standard error over seeds beside the paper. Finished runs in --out
are reused (and unfinished ones resumed), so a second call only trains what is missing.
Paper: "c1 ... achieves 5% error rate in classifying digits" (one number, no spread given).

Where this differs from the authors' setup (paper, Appendix C; openai/InfoGAN,
launchers/run_mnist_exp.py):
- length: theirs 50 epochs of 100 updates at batch 128 = 5,000 updates, the default here;
- nets: theirs D = conv 64, conv 128 + BN, FC 1024 + BN, with Q = FC 128 + BN on the same trunk,
  G = FC 1024, FC 7 x 7 x 128, upconv 64, upconv 1; gankit's dcgan has no FC layers (D 128-256 +
  a 7 x 7 conv, G 256 x 7 x 7 -> 128 -> 1 at its default width) and Q = FC 128 without BN.
  --width 64 gives the paper's conv channel counts (D 64-128, G 128 -> 64).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

import torch

import gankit
from gankit.config import Config, set_value
from gankit.errors import CheckpointError
from gankit.evaluate import evaluate
from gankit.presets import PRESETS
from gankit.run import resolve_device

PAPER_ERROR = 0.05
DEFAULTS = {"steps": 5000, "seeds": [0, 1, 2], "out": "runs/repro-infogan"}
# --quick: a CPU smoke test of every step, minutes on 2 cores; its numbers mean nothing.
QUICK = {"steps": 20, "seeds": [0], "out": "runs/repro-infogan-quick"}


def make_config(args, seed: int) -> Config:
    cfg = Config()
    for key, value in PRESETS.get("infogan").items():
        set_value(cfg, key, value)
    cfg.preset = "infogan"
    every = max(args.steps // 4, 1)
    for key, value in {"data.name": "mnist", "data.data_dir": args.data_dir, "model.name": "dcgan",
                       "model.width": args.width, "train.steps": args.steps, "train.seed": seed,
                       "train.device": args.device, "train.sample_every": every,
                       "train.checkpoint_every": every, "train.log_every": 100}.items():
        set_value(cfg, key, value)
    return cfg


def train_run(cfg: Config, out: Path) -> tuple[gankit.Run, dict]:
    """Train the run in `out`, resume it, or load it if it already has cfg.train.steps; the
    timings cover the training done by this call (None when there was none)."""
    run = None
    if (out / "config.json").exists():
        try:
            run = gankit.load(out, device=cfg.train.device)
        except CheckpointError:  # stopped before its first checkpoint: start it again
            run = None
        if run is not None and run.step >= cfg.train.steps:
            return run, {"train_seconds": None, "cpu_seconds": None, "steps_per_s": None, "resumed_from": None}
    start = 0 if run is None else run.step
    wall, cpu = time.perf_counter(), time.process_time()
    run = gankit.train(cfg, out, resume=run is not None, force=run is None, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return run, {"train_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                 "steps_per_s": round((run.step - start) / wall, 1), "resumed_from": start or None}


def reusable(old: dict | None, step: int, timing: dict) -> bool:
    """An earlier call's row describes this run as it is now: nothing was trained since."""
    return old is not None and old["steps"] == step and timing["steps_per_s"] is None


def known_seconds(timing: dict, old: dict | None, step: int) -> dict:
    """The run's whole training time where known: this call's, plus the earlier call's that
    trained its first part (resumed), or the earlier call's alone (nothing trained now)."""
    earlier = old is not None and old.get("train_seconds") is not None
    if timing["steps_per_s"] is None:  # trained by an earlier call
        return {k: old.get(k) for k in timing} if earlier and old["steps"] == step else timing
    if not timing["resumed_from"]:
        return timing
    if earlier and old["steps"] == timing["resumed_from"]:
        return {**timing, **{k: round(timing[k] + old[k], 1) for k in ("train_seconds", "cpu_seconds")}}
    return {**timing, "train_seconds": None, "cpu_seconds": None}  # the first part's is unknown


def previous_rows(out: Path) -> dict[str, dict]:
    """The rows of an earlier call's results.json, by run directory."""
    try:
        return {row["run"]: row for row in json.loads((out / "results.json").read_text())["runs"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def fmt(values: list, digits: int, scale: float = 1.0) -> str:
    values = [scale * v for v in values if v is not None]
    if not values:
        return "-"
    mean = statistics.mean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    return f"{mean:.{digits}f}" + ("" if se is None else f" +- {se:.{digits}f}")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def summary(rows: list[dict], width: int) -> dict:
    return {"model": f"InfoGAN, dcgan nets (width {width or 'auto'})", "seeds": len(rows),
            "steps": sorted({r["steps"] for r in rows}),
            "error_percent": fmt([r["infogan_error"] for r in rows], 1, 100),
            "paper_error_percent": f"{100 * PAPER_ERROR:.0f}",
            "train_seconds": fmt([r["train_seconds"] for r in rows], 1),
            "cpu_seconds": fmt([r["cpu_seconds"] for r in rows], 1)}


def print_table(s: dict, env: dict) -> None:
    print("\n| model | seeds | steps | c1 error % | paper | train s / run | CPU s / run |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {s['model']} | {s['seeds']} | {', '.join(map(str, s['steps']))} | {s['error_percent']} "
          f"| {s['paper_error_percent']} | {s['train_seconds']} | {s['cpu_seconds']} |")
    print(f"\nmean +- standard error over seeds; error = 1 - accuracy of c1 on the 10,000 MNIST test "
          f"digits; device {env['device']}; torch {env['torch']}; gankit {env['gankit']}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="holds mnist/*.gz (else $GANKIT_DATA, or download)")
    p.add_argument("--steps", type=int, default=None,
                   help="G updates per run; default 5,000, the authors' training length: well under "
                        "a minute per run on one H100 (estimated, not measured; each run prints its steps/s)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--out", default=None, help="runs directory (default runs/repro-infogan)")
    p.add_argument("--width", type=int, default=0,
                   help="model.width of G and D (0: gankit's choice; 64: the paper's conv channels)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 20 steps, one seed, in runs/repro-infogan-quick")
    args = p.parse_args()
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    out = Path(args.out)
    env = {"device": device_name(resolve_device(args.device)), "torch": torch.__version__,
           "gankit": gankit.__version__}

    done, rows = previous_rows(out), []
    for seed in args.seeds:
        path = out / (f"infogan-w{args.width}-seed{seed}" if args.width else f"infogan-seed{seed}")
        run, timing = train_run(make_config(args, seed), path)
        old = done.get(str(path))
        if reusable(old, run.step, timing):
            rows.append(old)  # trained and scored by an earlier call
        else:
            r = evaluate(run, ["infogan_accuracy"], seed=seed, data_dir=args.data_dir)
            rows.append({"run": str(path), "seed": seed, "steps": run.step,
                         **known_seconds(timing, old, run.step),
                         "infogan_accuracy": r["infogan_accuracy"], "infogan_error": r["infogan_error"],
                         "eval_seconds": r["protocol"]["seconds"], "device": env["device"],
                         "stop_reason": run.stop_reason or None})
        print(json.dumps(rows[-1]), flush=True)
        out.mkdir(parents=True, exist_ok=True)  # after every run, so a crash keeps the rest
        (out / "results.json").write_text(json.dumps({"environment": env, "runs": rows}, indent=2) + "\n")

    table = summary(rows, args.width)
    print_table(table, env)
    (out / "results.json").write_text(json.dumps({"environment": env, "runs": rows, "summary": table},
                                                 indent=2) + "\n")


if __name__ == "__main__":
    main()
