"""Stacked MNIST mode coverage (VEEGAN Table 2, PacGAN Table 2): DCGAN and PacDCGAN2.

    python benchmarks/repro_stacked_mnist.py --data-dir ../shared/datasets                 # 2 x 3 runs
    python benchmarks/repro_stacked_mnist.py --data-dir ../shared/datasets --quick         # smoke test

Trains gankit's `--preset dcgan` on `stacked-mnist` (three MNIST digits in the three channels of a
28 x 28 image: 1,000 modes) once per seed as DCGAN (train.pack=1) and as PacDCGAN2 (train.pack=2:
D judges pairs of samples stacked along the channels), then scores each run with the VEEGAN /
PacGAN protocol (gankit evaluate --metrics stacked_mnist): 26,000 samples, each channel labelled
by gankit's MNIST classifier; modes = digit triples with at least one sample, KL = KL(histogram of
triples || uniform over 1,000). Prints a JSON line per run, then mean +- standard error over seeds
beside the paper. Finished runs in --out are reused (and unfinished ones resumed), so a second
call with more --seeds or --steps only trains what is missing.
Paper (modes / KL): DCGAN 99 / 3.40 (VEEGAN's run, reprinted in PacGAN), DCGAN 78.9 / 4.50 and
PacDCGAN2 1000 / 0.06 (PacGAN's own runs, 10 trials each).

Where this differs from the authors' code (fjxmlzn/PacGAN, stacked_MNIST_experiments/
VEEGAN_experiment), because gankit's presets are used as they are:
- length: 50 epochs of 128,000 triples at batch 64 = 100,000 D updates, each followed by two G
  updates; here --steps (default 10,000) steps of one D and one G update;
- nets: theirs is DCGAN-tensorflow's (5 x 5 kernels; D 64-128-256-512 + linear, ~4.3M weights;
  G linear -> 512 x 2 x 2 -> 256 -> 128 -> 64 -> 3); gankit's dcgan at 28 px has D 128-256 + a
  7 x 7 conv (~0.5M) and G 256 x 7 x 7 -> 128 -> 3 (~1.8M), 4 x 4 kernels;
- batch and noise: theirs 64 packs (64 x m images) per side and z ~ U(-1, 1); the dcgan preset
  128 images (128 / m packs) and z ~ N(0, 1). --authors-setup takes theirs (batch 64 x m, uniform);
- data: theirs draws 128,000 triples from MNIST train + test, gankit's stacked-mnist is one fixed
  draw of 60,000 triples from MNIST train; the classifier: a Keras CNN there, gankit's own here.
D's capacity: this table (VEEGAN's setup) used the full DCGAN D above, as large as G. The reduced
D (1/2 and 1/4 of G's weights) is PacGAN's Table 3, Metz et al.'s unrolled-GAN setup with its own
small nets. gankit's model.width sizes G and D together, so D alone cannot be made smaller without
changing gankit; --width changes both (0: gankit's 128 at 28 px).

The MNIST classifier is trained once (on the CPU, a minute or two on 16 cores) before the first
run and cached in $GANKIT_CACHE or ~/.cache/gankit/classifiers (--cache-dir), keyed by the data and
its settings; every run, and every later call, reads it from there.
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
from gankit.data import load_dataset
from gankit.errors import CheckpointError
from gankit.evaluate import evaluate
from gankit.metrics.classifier import ClassifierSettings, get_classifier
from gankit.presets import PRESETS
from gankit.run import resolve_device

SAMPLES = 26000  # VEEGAN / PacGAN
VARIANTS = {1: "DCGAN", 2: "PacDCGAN2"}  # train.pack -> name
PAPER = {1: ("99 (VEEGAN), 78.9 (PacGAN)", "3.40, 4.50"), 2: ("1000", "0.06")}  # modes, KL
DEFAULTS = {"steps": 10000, "seeds": [0, 1, 2], "samples": SAMPLES, "out": "runs/repro-stacked"}
# --quick: a CPU smoke test of every step, minutes on 2 cores; its numbers mean nothing.
QUICK = {"steps": 20, "seeds": [0], "samples": 2000, "out": "runs/repro-stacked-quick"}
QUICK_CLASSIFIER = ClassifierSettings(epochs=1, min_steps=30, train_size=2000)


def make_config(args, pack: int, seed: int) -> Config:
    cfg = Config()
    for key, value in PRESETS.get("dcgan").items():
        set_value(cfg, key, value)
    cfg.preset = "dcgan"
    every = max(args.steps // 4, 1)
    settings = {"data.name": "stacked-mnist", "data.data_dir": args.data_dir, "model.width": args.width,
                "train.pack": pack, "train.steps": args.steps, "train.seed": seed,
                "train.device": args.device, "train.sample_every": every,
                "train.checkpoint_every": every, "train.log_every": 100}
    if args.authors_setup:
        settings.update({"train.batch_size": 64 * pack, "model.prior": "uniform"})
    for key, value in settings.items():
        set_value(cfg, key, value)
    return cfg


def run_name(args, pack: int, seed: int) -> str:
    width = f"-w{args.width}" if args.width else ""
    authors = "-authors" if args.authors_setup else ""
    return f"{VARIANTS[pack].lower()}{width}{authors}-seed{seed}"


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


def fmt(values: list, digits: int) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    mean = statistics.mean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    return f"{mean:.{digits}f}" + ("" if se is None else f" +- {se:.{digits}f}")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for pack, name in VARIANTS.items():
        mine = [r for r in rows if r["pack"] == pack]
        if mine:
            out.append({"model": name, "seeds": len(mine), "steps": sorted({r["steps"] for r in mine}),
                        "modes": fmt([r["stacked_modes"] for r in mine], 1),
                        "paper_modes": PAPER[pack][0],
                        "kl": fmt([r["stacked_reverse_kl"] for r in mine], 2),
                        "paper_kl": PAPER[pack][1],
                        "train_seconds": fmt([r["train_seconds"] for r in mine], 1),
                        "cpu_seconds": fmt([r["cpu_seconds"] for r in mine], 1)})
    return out


def print_table(table: list[dict], env: dict) -> None:
    print("\n| model | seeds | steps | modes (of 1000) | paper | KL | paper | train s / run | CPU s / run |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in table:
        steps = ", ".join(map(str, s["steps"]))
        print(f"| {s['model']} | {s['seeds']} | {steps} | {s['modes']} | {s['paper_modes']} | {s['kl']} "
              f"| {s['paper_kl']} | {s['train_seconds']} | {s['cpu_seconds']} |")
    print(f"\nmean +- standard error over seeds; {env['samples']} samples per run; classifier test "
          f"accuracy {env['classifier_test_accuracy']:.4f}; device {env['device']}; torch "
          f"{env['torch']}; gankit {env['gankit']}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="holds mnist/*.gz (else $GANKIT_DATA, or download)")
    p.add_argument("--steps", type=int, default=None,
                   help="G updates per run; default 10,000: about a minute per run on one H100 "
                        "(estimated at ~200 steps/s, not measured; each run prints its steps/s)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--out", default=None, help="runs directory (default runs/repro-stacked)")
    p.add_argument("--width", type=int, default=0, help="model.width of G and D (0: gankit's choice)")
    p.add_argument("--authors-setup", action="store_true",
                   help="the authors' batch (64 packs per side) and z ~ U(-1, 1)")
    p.add_argument("--samples", type=int, default=None, help=f"samples per evaluation (default {SAMPLES})")
    p.add_argument("--cache-dir", default=None, help="classifier cache (default gankit's)")
    p.add_argument("--quick", action="store_true", help="smoke test: 20 steps, one seed, small "
                   "samples and classifier, in runs/repro-stacked-quick")
    args = p.parse_args()
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    out = Path(args.out)
    settings = QUICK_CLASSIFIER if args.quick else ClassifierSettings()
    cache_dir = args.cache_dir or (out / "classifiers" if args.quick else None)

    # Train (or load) the MNIST classifier now, once: every evaluation below finds it cached.
    mnist = [load_dataset("mnist", data_dir=args.data_dir, split=s) for s in ("train", "test")]
    _, record = get_classifier(*mnist, settings, cache_dir=cache_dir)
    device = resolve_device(args.device)
    env = {"device": device_name(device), "torch": torch.__version__, "gankit": gankit.__version__,
           "samples": args.samples, "classifier": record["key"],
           "classifier_test_accuracy": record["test_accuracy"]}

    done, rows = previous_rows(out), []
    for pack in VARIANTS:
        for seed in args.seeds:
            path = out / run_name(args, pack, seed)
            run, timing = train_run(make_config(args, pack, seed), path)
            old = done.get(str(path))
            if reusable(old, run.step, timing) and (old["samples"], old["classifier"]) == (args.samples, record["key"]):
                rows.append(old)  # trained and scored by an earlier call
            else:
                r = evaluate(run, ["stacked_mnist"], n=args.samples, seed=seed, data_dir=args.data_dir,
                             cache_dir=cache_dir, classifier_settings=settings)
                rows.append({"run": str(path), "model": VARIANTS[pack], "pack": pack, "seed": seed,
                             "steps": run.step, "batch_size": run.config.train.batch_size,
                             **known_seconds(timing, old, run.step),
                             "stacked_modes": r["stacked_modes"],
                             "stacked_reverse_kl": r["stacked_reverse_kl"], "samples": args.samples,
                             "classifier": record["key"], "eval_seconds": r["protocol"]["seconds"],
                             "device": env["device"], "stop_reason": run.stop_reason or None})
            print(json.dumps(rows[-1]), flush=True)
            out.mkdir(parents=True, exist_ok=True)  # after every run, so a crash keeps the rest
            (out / "results.json").write_text(json.dumps({"environment": env, "runs": rows}, indent=2) + "\n")

    table = summary(rows)
    print_table(table, env)
    (out / "results.json").write_text(json.dumps({"environment": env, "runs": rows, "summary": table},
                                                 indent=2) + "\n")


if __name__ == "__main__":
    main()
