"""Sample quality of train.precision bf16 against fp32 with the same budget (steps, batch, seeds).

    python benchmarks/precision_quality.py --data digits --steps 2000 --seeds 0,1
    python benchmarks/precision_quality.py --data ring8 --model mlp --metrics modes --seeds 0,1,2
    python benchmarks/precision_quality.py --data mnist --steps 1500 --seeds 0

For each seed, trains one run per precision (fp32 first, then bf16: the two runs of a seed share
every setting but train.precision) and scores it as `gankit evaluate RUN --metrics ...` does;
prints one row per run, then the mean and spread per precision. Same runs by hand:

    gankit train --data digits --steps 2000 --seed 0 --precision bf16 --out runs/q/digits-bf16-0
    gankit evaluate runs/q/digits-bf16-0 --metrics fid,kid,prdc
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import gankit
from gankit.config import Config, set_value
from gankit.evaluate import evaluate

SHOWN = ("fid", "kid", "precision", "recall", "density", "coverage", "modes", "high", "reverse")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="digits")
    p.add_argument("--model", default="dcgan")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--metrics", default="fid,kid,prdc")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", default="runs/precision-quality")
    args = p.parse_args()

    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for precision in args.precisions.split(","):
            cfg = Config()
            for key, value in {"data.name": args.data, "model.name": args.model,
                               "data.data_dir": args.data_dir, "train.steps": args.steps,
                               "train.seed": seed, "train.precision": precision}.items():
                set_value(cfg, key, value)
            for item in args.set:
                key, _, value = item.partition("=")
                set_value(cfg, key, value)
            out = Path(args.out) / f"{args.data}-{args.model}-{precision}-{seed}"
            t0 = time.perf_counter()
            run = gankit.train(cfg, out, force=True, progress=False)
            seconds = time.perf_counter() - t0
            scores = evaluate(gankit.load(out), args.metrics.split(","), seed=0, log=lambda *a: None)
            with (out / "eval.jsonl").open("a") as f:
                f.write(json.dumps(scores) + "\n")
            row = {"dtype": precision, "seed": seed, "train_s": seconds, "step": run.step,
                   **{k: v for k, v in scores.items() if isinstance(v, (int, float))}}
            rows.append(row)
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}),
                  flush=True)

    keys = [k for k in rows[0] if k.split("_")[0] in SHOWN and "floor" not in k and "std" not in k]
    load = os.getloadavg()
    print(f"\n{args.data} / {args.model}, {args.steps} steps, seeds {args.seeds}, "
          f"load average {load[0]:.2f}")
    print("| train.precision | seed | train s | " + " | ".join(keys) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in keys) + " |")
    for r in rows:
        print(f"| {r['dtype']} | {r['seed']} | {r['train_s']:.0f} | "
              + " | ".join(f"{r[k]:.4g}" for k in keys) + " |")
    for precision in args.precisions.split(","):
        mine = [r for r in rows if r["dtype"] == precision]
        cells = []
        for k in keys:
            values = [r[k] for r in mine]
            spread = f" ± {statistics.stdev(values):.2g}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.4g}{spread}")
        print(f"| {precision} mean | | {statistics.mean(r['train_s'] for r in mine):.0f} | "
              + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
