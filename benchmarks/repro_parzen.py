"""Goodfellow et al. 2014, Table 1: Parzen-window log-likelihood of MNIST test digits.

    python benchmarks/repro_parzen.py --data-dir ../shared/datasets --steps 25000 --seeds 0 1 2
    python benchmarks/repro_parzen.py --data-dir ../shared/datasets --seeds --also runs/mnist-dcgan
    python benchmarks/repro_parzen.py ... --set train.simultaneous=false   # an ablation

Trains the paper's model (`--preset gan2014`: MLP G, maxout D, SGD + momentum, batch 100, the
authors' init and schedules, simultaneous D/G steps) on train[:50000] once per seed, then scores
each run with the paper's protocol (gankit evaluate --metrics parzen: 10,000 samples, sigma
from logspace(-1, 0, 10) chosen on train[50000:51000], mean log-likelihood of the 10,000 test
images +- standard error). Prints one row per run and the mean +- standard error over seeds;
`--also RUN` scores existing runs (e.g. a DCGAN) with the same protocol.
Paper: GAN 225 +- 2, Deep GSN 214 +- 1.1, Stacked CAE 121 +- 1.6, DBN 138 +- 2.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import gankit
from gankit.config import Config, set_value
from gankit.evaluate import evaluate
from gankit.presets import PRESETS


def train_gan2014(data_dir: str, steps: int, seed: int, out: Path,
                  overrides: dict[str, str]) -> tuple[gankit.Run, float]:
    if (out / "config.json").exists():
        run = gankit.load(out)
        if run.step >= steps:
            return run, float("nan")
    cfg = Config()
    for key, value in PRESETS.get("gan2014").items():
        set_value(cfg, key, value)
    cfg.preset = "gan2014"
    # the paper's split: G trains on train[:50000]; sigma is then chosen on train[50000:51000]
    for key, value in {"data.name": "mnist", "data.data_dir": data_dir, "data.limit": 50000,
                       "train.steps": steps,
                       "train.seed": seed, "train.sample_every": max(steps // 4, 1),
                       "train.checkpoint_every": max(steps // 4, 1), "train.log_every": 100,
                       **overrides}.items():
        set_value(cfg, key, value)
    t0 = time.process_time()
    run = gankit.train(cfg, out, resume=(out / "config.json").exists(), progress=False)
    return run, time.process_time() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--steps", type=int, default=40000,
                   help="generator updates per run (500 = 1 epoch; docs/results.md used 25000, then 40000)")
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    p.add_argument("--out", default="runs/repro-parzen")
    p.add_argument("--also", nargs="*", default=[], help="existing runs to score the same way")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="change the preset, e.g. train.simultaneous=false (an ablation)")
    args = p.parse_args()
    if any("=" not in item for item in args.set):
        p.error(f"--set takes KEY=VALUE items, got {' '.join(args.set)}")
    overrides = dict(item.split("=", 1) for item in args.set)

    rows = []
    for seed in args.seeds:
        run, cpu = train_gan2014(args.data_dir, args.steps, seed, Path(args.out) / f"gan2014-seed{seed}",
                                 overrides)
        r = evaluate(run, ["parzen"], n=10000, seed=seed, data_dir=args.data_dir)
        rows.append({"run": str(run.path), "model": "gan2014 MLP", "seed": seed, "steps": run.step,
                     "cpu_seconds": round(cpu, 1), **{k: r[k] for k in ("parzen_ll", "parzen_se", "parzen_sigma")}})
        print(json.dumps(rows[-1]), flush=True)
    for path in args.also:
        run = gankit.load(path)
        r = evaluate(run, ["parzen"], n=10000, seed=0, data_dir=args.data_dir)
        rows.append({"run": path, "model": run.config.model.name, "seed": run.config.train.seed,
                     "steps": run.step, "cpu_seconds": None,
                     **{k: r[k] for k in ("parzen_ll", "parzen_se", "parzen_sigma")}})
        print(json.dumps(rows[-1]), flush=True)

    print(f"\n{'run':<40}{'steps':>7}{'sigma':>8}{'log-likelihood':>20}")
    for row in rows:
        print(f"{row['run']:<40}{row['steps']:>7}{row['parzen_sigma']:>8.3f}"
              f"{row['parzen_ll']:>12.1f} +- {row['parzen_se']:.1f}")
    mlp = [r["parzen_ll"] for r in rows if r["model"] == "gan2014 MLP"]
    if len(mlp) > 1:
        se = statistics.stdev(mlp) / math.sqrt(len(mlp))
        print(f"gan2014 over {len(mlp)} seeds: {statistics.mean(mlp):.1f} +- {se:.1f} (paper: 225 +- 2)")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
