"""Lin et al. 2018 (PacGAN), Table 1: modes of the 2-D ring and grid captured by GAN and PacGAN4.

    python benchmarks/repro_pacgan.py --jobs 16                # ring8, grid25 x pack 1, 4 x 10 trials: 40 runs
    python benchmarks/repro_pacgan.py --jobs 16 --time-limit 540   # the same in slices: each call resumes
    python benchmarks/repro_pacgan.py --quick --jobs 2         # smoke test: 2 trials of 100 steps each
    python benchmarks/repro_pacgan.py --datasets grid25 --packs 1,4 --trials 3 --steps 40000

Each run is gankit's own loop (`gankit.train`) on `ring8` (8 Gaussians of std 0.01 on the unit
circle) or `grid25` (25 Gaussians of std 0.05, spacing 2); trial t uses train.seed t; D judges
packs of train.pack samples (1: GAN, 4: PacGAN4). Each finished run is scored with the paper's
protocol (`gankit evaluate --metrics modes`): 2,500 samples drawn with the trial's seed, a sample
is high quality within 3 std of its nearest mode, modes captured = modes with a high-quality
sample, reverse KL = KL(histogram of high-quality samples over modes || uniform). Prints one JSON
line per run as it ends, then the paper's means beside gankit's mean +- standard error over
trials, and writes OUT/results.json. Runs already finished in --out are reused, unfinished ones
resumed from their newest checkpoint (one every 5,000 steps, and one when a run is stopped by
Ctrl-C, SIGTERM or --time-limit); RUN/repro.json carries a run's training seconds across such
slices. --jobs N trains N runs at once, each in a process of its own with one thread.

Settings, from the authors' code (github.com/fjxmlzn/PacGAN, synthetic_data_experiments/
2DRing_GAN&PacGAN and 2DGrid_GAN&PacGAN: config.py, pacgan_task.py, PacGAN/pacgan/bricks.py;
the two datasets share them):
  G     z ~ N(0, I_2) -> 4 x [Linear 400, batch norm, ReLU] -> Linear 2
  D     3 x LinearMaxout (200 units x 5 pieces) -> Linear 1; input 2 x pack; no dropout
  loss  D: softplus(-D(x)) + softplus(D(G(z))); G: -log D(G(z)) (non-saturating)
  Adam for both nets, lr 1e-4, beta1 0.8 (beta2 0.999, the blocks default); minibatches of 100
  packs, i.e. 100 x pack real and 100 x pack generated samples; 400 epochs of 100,000 packs =
  400,000 updates of each net: the default --steps.
Where gankit's mlp model cannot follow, and what runs instead:
  - G has no batch norm: plain Linear + ReLU layers, with biases (the authors' hidden layers
    have none; batch norm's shift plays that part). This is the largest departure.
  - PyTorch's default initialisation, not N(0, 0.02^2) weights and zero biases.
  - alternating updates (D on a batch, then G on fresh noise), not one simultaneous update of
    both nets from the same batch (ALI's ali_algorithm, which the authors' loop uses).
  - 50,000 training points per trial (gankit's dataset size), not 100,000 rows of packs.
  - the health monitor only warns (health.divergence=warn): its rollback would lower the
    learning rates mid-run. Each run's health.txt says what it saw; what training printed is in
    RUN/console.txt.

Paper, Table 1 (mean of 10 trials): ring GAN 6.3 modes, 98.2% high quality, reverse KL 0.45;
PacGAN4 7.8, 95.9%, 0.07. Grid GAN 17.3, 94.8%, 0.70; PacGAN4 24.8, 93.6%, 0.04.

Cost: 400,000 steps of ring8 at pack 1 took 3.9 h of one core (2-core x86 machine, busy with
other work); a pack-4 step costs ~1.25x a pack-1 step, so the 40 runs are ~175 core-hours,
~11-12 h with --jobs 16.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import multiprocessing
import os
import signal
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch

import gankit
from gankit.config import Config, flatten, set_value, validate
from gankit.errors import ConfigError
from gankit.evaluate import evaluate
from gankit.run import RESUMABLE
from gankit.training.checkpoint import list_checkpoints

SETTINGS = {
    "model.name": "mlp", "model.latent_dim": 2, "model.prior": "normal",
    "model.g_hidden": (400, 400, 400, 400), "model.d_hidden": (200, 200, 200),
    "model.maxout_pieces": 5, "model.d_dropout": 0.0,
    "train.loss": "nonsaturating", "train.d_steps": 1, "train.optimizer": "adam",
    "train.lr_g": 1e-4, "train.lr_d": 1e-4, "train.betas": (0.8, 0.999),
    "health.divergence": "warn",
}
PACKS_PER_BATCH = 100  # train.batch_size counts samples: 100 packs are 100 x pack of them
PAPER_STEPS = 400_000  # 400 epochs x (100,000 packs / 100 per minibatch)
SAMPLES = 2500
# (dataset, pack) -> Table 1's (modes captured, % high quality, reverse KL)
PAPER = {("ring8", 1): (6.3, 98.2, 0.45), ("ring8", 4): (7.8, 95.9, 0.07),
         ("grid25", 1): (17.3, 94.8, 0.70), ("grid25", 4): (24.8, 93.6, 0.04)}
TARGETS = {"ring8": "2D-ring (8 modes)", "grid25": "2D-grid (25 modes)"}
METRICS = ("modes_captured", "high_quality_fraction", "reverse_kl")


def run_config(dataset: str, pack: int, trial: int, steps: int, device: str) -> Config:
    cfg = Config()
    for key, value in {**SETTINGS, "data.name": dataset, "train.pack": pack,
                       "train.batch_size": PACKS_PER_BATCH * pack, "train.steps": steps,
                       "train.seed": trial, "train.device": device, "train.log_every": 1000,
                       "train.sample_every": max(steps // 10, 1000),
                       "train.checkpoint_every": 5000}.items():  # a few minutes: a killed run loses little
        set_value(cfg, key, value)
    return cfg


def changed_settings(out: Path, cfg: Config) -> list[str]:
    """Settings of the run in `out` that differ from cfg, beyond those a resume may change."""
    old, new = flatten(Config.load(out / "config.json").to_dict()), flatten(cfg.to_dict())
    return [k for k in new if k not in RESUMABLE and k != "gankit_version" and old.get(k) != new[k]]


# Set when any run stops early (--time-limit, Ctrl-C, SIGTERM): the runs in progress stop at their
# next step and no new one starts, so the same command can resume them all. With --jobs > 1 the
# pool's multiprocessing.Event, shared by this process and the workers.
STOP = threading.Event()


def use_stop_event(event, worker: bool = True) -> None:
    """Share `event` as STOP. A worker ignores Ctrl-C and SIGTERM between runs (they would break
    the pool); in training, gankit's loop takes them over and stops the run cleanly."""
    global STOP
    STOP = event
    if worker:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


def stop_reason(deadline: float | None) -> str:
    if deadline and time.time() >= deadline:
        return "--time-limit"
    return "asked to stop" if STOP.is_set() else ""


class StopWhenAsked(gankit.training.Callback):
    """Ends training cleanly (a checkpoint, then a stopped row) at the deadline or on STOP."""

    def __init__(self, deadline: float | None):
        self.deadline = deadline

    def on_step(self, trainer, stats) -> None:
        reason = stop_reason(self.deadline)
        if reason and not trainer.stop_requested:  # keep the loop's own reason (SIGINT, SIGTERM)
            trainer.stop_requested, trainer.stop_reason = True, reason


def train_trial(job: dict) -> dict:
    """Train (or reuse, or resume) one run and score it: one row of results. RUN/repro.json keeps
    the run's training seconds so far, so a run stopped and resumed counts all of its time."""
    torch.set_num_threads(1)
    out, steps = Path(job["out"]), job["steps"]
    cfg = run_config(job["dataset"], job["pack"], job["trial"], steps, job["device"])
    resume = bool(list_checkpoints(out))
    before = json.loads((out / "repro.json").read_text()) if resume and (out / "repro.json").exists() else {}
    cpu, wall = before.get("cpu_seconds", 0.0), before.get("wall_seconds", 0.0)
    if stop_reason(job["deadline"]):
        return failure(job, f"not started ({stop_reason(job['deadline'])})", resumable=True)
    row = {"dataset": job["dataset"], "pack": job["pack"], "trial": job["trial"], "run": str(out)}
    run = gankit.load(out, device=job["device"]) if resume else None
    reused = run is not None and run.step >= steps
    if not reused:
        console = io.StringIO()  # health warnings and reports: kept with the run, off our stdout
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            with contextlib.redirect_stdout(console), contextlib.redirect_stderr(console):
                run = gankit.train(cfg, out, resume=resume, force=not resume, progress=False,
                                   callbacks=[StopWhenAsked(job["deadline"])])
        finally:
            if out.exists():
                with (out / "console.txt").open("a") as f:
                    f.write(console.getvalue())
        cpu, wall = cpu + time.process_time() - c0, wall + time.perf_counter() - t0
    row.update({"steps": run.step, "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
                "reused": reused, "resumed": resume and not reused})
    if run.step < steps:  # --time-limit, Ctrl-C or SIGTERM: the run saved a checkpoint and stopped
        (out / "repro.json").write_text(json.dumps(row, indent=2) + "\n")
        return {**row, **failure(job, f"stopped at step {run.step} of {steps} ({run.stop_reason})", True)}
    scores = evaluate(run, ["modes"], n=SAMPLES, seed=job["trial"])
    row.update({k: scores[k] for k in METRICS})
    if not reused:
        (out / "repro.json").write_text(json.dumps(row, indent=2) + "\n")
    return row


def failure(job: dict, error: str, resumable: bool) -> dict:
    """The row of a run that did not finish; a resumable one goes on when the command is run again."""
    return {"dataset": job["dataset"], "pack": job["pack"], "trial": job["trial"], "run": job["out"],
            "error": error, "resumable": resumable}


def trial_or_error(job: dict) -> dict:
    """train_trial, or a row with the error: one failed run must not stop the others."""
    try:
        return train_trial(job)
    except Exception as e:
        return failure(job, f"{type(e).__name__}: {e}", resumable=False)
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, resumable from the last checkpoint
        return failure(job, "interrupted", resumable=True)


def run_all(jobs: list[dict], workers: int):
    """Rows as runs finish, from `workers` processes (or this one). Ctrl-C or SIGTERM here sets
    STOP; the runs in training get Ctrl-C from the terminal themselves."""
    pool = None
    if workers > 1:  # spawn: each worker starts clean (no forked thread pools; CUDA works in workers)
        ctx = multiprocessing.get_context("spawn")
        use_stop_event(ctx.Event(), worker=False)
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=use_stop_event, initargs=(STOP,))
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: STOP.set())
    if pool is None:
        rows = map(trial_or_error, jobs)
    else:
        futures = {pool.submit(trial_or_error, job): job for job in jobs}
        rows = (collect(future, futures[future]) for future in as_completed(futures))
    try:
        for row in rows:
            if row.get("resumable"):
                STOP.set()
            yield row
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def collect(future, job: dict) -> dict:
    try:
        return future.result()
    except Exception as e:  # the worker died (killed, out of memory): the pool is broken
        return failure(job, f"{type(e).__name__}: {e}", resumable=True)


def mean_se(values: list[float]) -> dict:
    """Mean and standard error (None where undefined: JSON has no NaN)."""
    mean = statistics.mean(values) if values else None
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    return {"mean": mean, "se": se}


def summarize(rows: list[dict]) -> list[dict]:
    """Per dataset and pack, in the order of `rows`: the paper's means and gankit's over trials."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        if "error" not in row:
            groups.setdefault((row["dataset"], row["pack"]), []).append(row)
    summary = []
    for (dataset, pack), runs in groups.items():
        paper = PAPER.get((dataset, pack))
        summary.append({
            "dataset": dataset, "pack": pack, "trials": len(runs),
            "paper": dict(zip(("modes_captured", "high_quality_percent", "reverse_kl"), paper)) if paper else None,
            "modes_captured": mean_se([r["modes_captured"] for r in runs]),
            "high_quality_percent": mean_se([100 * r["high_quality_fraction"] for r in runs]),
            # KL is undefined (None) for a run without a single high-quality sample
            "reverse_kl": mean_se([r["reverse_kl"] for r in runs if r["reverse_kl"] is not None]),
            "reverse_kl_undefined": sum(r["reverse_kl"] is None for r in runs),
            "cpu_seconds": round(sum(r["cpu_seconds"] or 0.0 for r in runs), 1),
        })
    return summary


def cell(stat: dict, digits: int, suffix: str = "") -> str:
    if stat["mean"] is None:
        return "n/a"
    spread = "" if stat["se"] is None else f" +- {stat['se']:.{digits}f}"
    return f"{stat['mean']:.{digits}f}{spread}{suffix}"


def table(summary: list[dict]) -> str:
    lines = ["| target | model | trials | modes: paper | modes: gankit | high quality: paper | "
             "high quality: gankit | reverse KL: paper | reverse KL: gankit | CPU s |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in summary:
        paper = e["paper"] or {}
        modes, hq, kl = (f"{paper[k]:{f}}" if paper else "-" for k, f in
                         (("modes_captured", ".1f"), ("high_quality_percent", ".1f"), ("reverse_kl", ".2f")))
        model = "GAN" if e["pack"] == 1 else f"PacGAN{e['pack']}"
        ours_kl = cell(e["reverse_kl"], 2)
        if e["reverse_kl_undefined"]:
            ours_kl += f" ({e['reverse_kl_undefined']} without a high-quality sample)"
        lines.append(f"| {TARGETS[e['dataset']]} | {model} | {e['trials']} | {modes} | "
                     f"{cell(e['modes_captured'], 1)} | {hq}{'%' if paper else ''} | "
                     f"{cell(e['high_quality_percent'], 1, '%')} | {kl} | {ours_kl} | {e['cpu_seconds']:.0f} |")
    return "\n".join(lines)


def parse_list(kind):
    return lambda text: [kind(v) for v in text.split(",") if v.strip()]


def parse_args() -> tuple[argparse.Namespace, list[dict]]:
    """The options, and the runs they ask for."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=PAPER_STEPS,
                   help="generator updates per run (default: the authors' 400 epochs x 1,000 minibatches)")
    p.add_argument("--trials", type=int, default=10, help="runs per dataset and pack; trial t uses seed t")
    p.add_argument("--datasets", type=parse_list(str), default=["ring8", "grid25"],
                   help="comma-separated: ring8, grid25")
    p.add_argument("--packs", type=parse_list(int), default=[1, 4], help="comma-separated; 1 = plain GAN")
    p.add_argument("--out", help="runs directory (default runs/repro-pacgan, with --quick runs/repro-pacgan-quick)")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once, each in its own 1-thread process")
    p.add_argument("--device", default="cpu", help="train.device of every run (cpu, cuda)")
    p.add_argument("--time-limit", type=float, default=0, metavar="SECONDS",
                   help="stop every run cleanly (with a checkpoint) this long after the start; "
                        "the same command again resumes them (0 = no limit)")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 trials of 100 steps")
    args = p.parse_args()
    if args.quick:
        args.trials, args.steps = 2, 100
    args.out = args.out or ("runs/repro-pacgan-quick" if args.quick else "runs/repro-pacgan")
    if args.jobs < 1 or args.trials < 1 or args.steps < 1:
        p.error("--jobs, --trials and --steps must be positive")
    if set(args.datasets) - set(TARGETS):
        p.error(f"--datasets: Table 1 has {', '.join(TARGETS)}, not {', '.join(set(args.datasets) - set(TARGETS))}")
    try:
        return args, plan(args)
    except ConfigError as e:
        p.error(str(e))


def plan(args: argparse.Namespace) -> list[dict]:
    """One job per run, pack-4 runs first (they take longest, so the pool ends on short ones).
    Bad packs, and runs in --out trained with other settings, fail here, before hours of work."""
    deadline = time.time() + args.time_limit if args.time_limit > 0 else None
    jobs = [{"dataset": d, "pack": m, "trial": t, "steps": args.steps, "device": args.device,
             "out": str(Path(args.out) / f"{d}-pack{m}-trial{t}"), "deadline": deadline}
            for m in sorted(args.packs, reverse=True) for d in args.datasets for t in range(args.trials)]
    for job in jobs:
        cfg = validate(run_config(job["dataset"], job["pack"], job["trial"], job["steps"], job["device"]))
        changed = changed_settings(Path(job["out"]), cfg) if list_checkpoints(job["out"]) else []
        if changed:
            raise ConfigError(f"{job['out']} was trained with other settings ({', '.join(changed)}): "
                              "remove it or choose another --out")
    return jobs


def report(args: argparse.Namespace, rows: list[dict], summary: list[dict], wall: float, loads) -> int:
    """Print the table and what happened to every run; the exit status."""
    done = [r for r in rows if "error" not in r]
    unfinished = [r for r in rows if r.get("resumable")]
    failed = [r for r in rows if "error" in r and not r.get("resumable")]
    cpu = sum(r.get("cpu_seconds") or 0.0 for r in rows)
    print(f"\nPacGAN Table 1 (Lin et al. 2018) vs gankit: {args.steps} steps, {SAMPLES} samples per run, "
          "mean +- standard error over trials\n")
    print(table(summary))
    print(f"\ntotal CPU seconds of training {cpu:.0f} (runs trained now: {sum(not r['reused'] for r in done)}, "
          f"reused: {sum(r['reused'] for r in done)}, unfinished: {len(unfinished)}); wall {wall:.0f} s with "
          f"--jobs {args.jobs}; load average {loads[0][0]:.2f} at start, {loads[1][0]:.2f} at end")
    if unfinished:
        print(f"{len(unfinished)} runs unfinished (left out of the table): the same command resumes them")
    for r in failed:
        print(f"FAILED {r['run']}: {r['error']}")
    return 1 if failed or unfinished else 0


def main():
    args, jobs = parse_args()
    load_start, t0 = os.getloadavg(), time.perf_counter()
    print(f"{len(jobs)} runs of {args.steps} steps, {args.jobs} at a time, on {args.device}; "
          f"load average {load_start[0]:.2f}", file=sys.stderr, flush=True)
    rows = []
    for row in run_all(jobs, args.jobs):
        rows.append(row)
        print(json.dumps(row), flush=True)
    wall, load_end = time.perf_counter() - t0, os.getloadavg()

    order = [(d, m) for d in args.datasets for m in sorted(args.packs)]  # the paper's: GAN, then PacGAN
    rows.sort(key=lambda r: (order.index((r["dataset"], r["pack"])), r["trial"]))
    summary = summarize(rows)
    status = report(args, rows, summary, wall, (load_start, load_end))
    record = {"paper": "Lin et al. 2018, PacGAN, Table 1", "settings": SETTINGS,
              "batch_size": f"{PACKS_PER_BATCH} x train.pack", "samples": SAMPLES, "args": vars(args),
              "torch": torch.__version__, "cpu_count": os.cpu_count(),
              "load_average_start": load_start, "load_average_end": load_end, "wall_seconds": round(wall, 1),
              "cpu_seconds": round(sum(r.get("cpu_seconds") or 0.0 for r in rows), 1),
              "summary": summary, "runs": rows}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
