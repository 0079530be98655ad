"""gankit evaluate RUN --metrics NAME[,NAME...] [-n N] [--seed S] [--json OUT]"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigError


def register(subs) -> None:
    from ..evaluate import EVALUATORS

    p = subs.add_parser("evaluate", help="score a run's samples; print a table, write JSON",
                        description="Score a run. Metrics: " + ", ".join(EVALUATORS.names()))
    p.add_argument("run", help="run directory")
    p.add_argument("--metrics", required=True, help="comma-separated metric names")
    p.add_argument("-n", type=int, default=None, help="samples (default 2500 for points, 10000 for images)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the results here (default RUN/eval.jsonl, appended)")
    p.add_argument("--data-dir", help="where the reference data lives (default: the run's)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..evaluate import evaluate
    from ..run import load

    if args.n is not None and args.n <= 1:
        raise ConfigError(f"-n must be at least 2, got {args.n}")
    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if not names:
        raise ConfigError("--metrics needs at least one name")
    run_ = load(args.run)
    result = evaluate(run_, names, n=args.n, seed=args.seed, data_dir=args.data_dir)
    width = max(len(k) for k in result if k != "protocol")
    for key, value in result.items():
        if key != "protocol":
            print(f"{key:<{width}}  {value:.6g}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    else:
        with (Path(args.run) / "eval.jsonl").open("a") as f:
            f.write(json.dumps(result) + "\n")
    return 0
