"""The README gallery: every preset trained on MNIST for the same number of generator steps.

    python benchmarks/gallery.py --data-dir ../shared/datasets --steps 600
    python benchmarks/gallery.py --data-dir ../shared/datasets --steps 5000 --device cuda

Each entry trains with `gankit.train` for --steps generator updates (batch 64 unless its preset
says otherwise), then draws 64 samples with noise seed 0. Writes docs/gallery/NAME.png and
docs/gallery.md with the CPU and wall minutes each entry took (kept per entry in
RUN/gallery.json, so `--only NAME` remakes one entry and keeps the others' rows): objectives with 5 critic steps
per generator step (wgan, wgan-gp, hinge) cost several times more per step.
One run per entry, training seed 0.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import gankit
from gankit.cli.main import main as cli
from gankit.config import Config, set_value
from gankit.presets import PRESETS


def machine(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    n = torch.get_num_threads()
    return f"{platform.machine()} CPU, {n} thread{'s' if n > 1 else ''} per run, torch {torch.__version__}"

# name -> (preset, extra settings, sample flags)
ENTRIES: dict[str, tuple[str, dict, list[str]]] = {
    "gan2014": ("gan2014", {}, []),
    "dcgan": ("dcgan", {"train.batch_size": 64}, []),
    "lsgan": ("lsgan", {"model.name": "dcgan"}, []),
    "wgan": ("wgan", {"model.name": "dcgan"}, []),
    "wgan-gp": ("wgan-gp", {"model.name": "dcgan"}, []),
    "hinge": ("hinge", {"model.name": "dcgan"}, []),
    "ebgan": ("ebgan", {"model.name": "dcgan"}, []),
    "conditional": ("dcgan", {"train.batch_size": 64, "model.conditional": True}, ["--grid", "classes", "-n", "10"]),
    "infogan": ("infogan", {"model.name": "dcgan", "train.batch_size": 64}, ["--vary", "c1", "-n", "10"]),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--runs", default="runs/gallery")
    p.add_argument("--docs", default="docs")
    p.add_argument("--only", nargs="*", help="entries to (re)make; default all")
    p.add_argument("--device", default="cpu", help="cpu or cuda (train.device)")
    args = p.parse_args()

    for name, (preset, extra, sample_flags) in ENTRIES.items():
        if args.only and name not in args.only:
            continue
        cfg = Config()
        for key, value in {**PRESETS.get(preset), **extra}.items():
            set_value(cfg, key, value, f"gallery {name}")
        cfg.preset = preset
        for key, value in {"data.name": "mnist", "data.data_dir": args.data_dir, "train.steps": args.steps,
                           "train.device": args.device,
                           "train.sample_every": args.steps, "train.checkpoint_every": args.steps}.items():
            set_value(cfg, key, value)
        t0, c0 = time.perf_counter(), time.process_time()
        run = gankit.train(cfg, Path(args.runs) / name, force=True, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        out = Path(args.docs) / "gallery" / f"{name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        cli(["sample", str(run.path), "-n", "64", "--seed", "0", "-o", str(out), "--force", *sample_flags])
        record = {"steps": run.step, "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
                  "machine": machine(args.device), "device": args.device}
        (run.path / "gallery.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"{name}: {run.step} steps, {cpu / 60:.1f} CPU min, {wall / 60:.1f} wall min", flush=True)
    write_page(Path(args.runs), Path(args.docs))


def write_page(runs: Path, docs: Path) -> None:
    """docs/gallery.md from every entry made so far (RUN/gallery.json), so that remaking a few
    entries with --only keeps the others' rows."""
    made = {name: json.loads((runs / name / "gallery.json").read_text()) for name in ENTRIES
            if (runs / name / "gallery.json").exists()}
    steps = sorted({r["steps"] for r in made.values()})
    machines = sorted({r["machine"] for r in made.values()})
    if len(machines) > 1:  # say which entries ran where
        machines = [f"{m}: {', '.join(n for n, r in made.items() if r['machine'] == m)}" for m in machines]
    devices = sorted({r["device"] for r in made.values()})
    command = f"python benchmarks/gallery.py --data-dir ../shared/datasets --steps {','.join(map(str, steps))}"
    command += "".join(f" --device {d}" for d in devices if d != "cpu")
    lines = ["# Gallery: every preset on MNIST with the same number of generator steps", "",
             f"```bash\n{command}\n```",
             "", f"One run per entry (training seed 0, {'; '.join(machines)}); grids drawn with "
             "`gankit sample -n 64 --seed 0` (plus the flags shown). CPU minutes are the process's "
             "CPU time; wall minutes depend on what else ran on the machine.", "",
             "| entry | settings | generator steps | CPU min | wall min | samples |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for name, r in made.items():
        preset, extra, flags = ENTRIES[name]
        settings = f"`--preset {preset}`" + "".join(f" `{k}={v}`" for k, v in extra.items())
        flag_text = f" (`{' '.join(flags)}`)" if flags else ""
        lines.append(f"| {name} | {settings} | {r['steps']} | {r['cpu_seconds'] / 60:.1f} | "
                     f"{r['wall_seconds'] / 60:.1f} | <img src=\"gallery/{name}.png\" width=\"200\">{flag_text} |")
    lines += ["", "A few hundred steps is an early point of every run. gan2014 starts from the mean digit "
              "(the authors' init) and is still collapsed there; it trains out of it within a few "
              "thousand steps ([results.md](results.md) shows it after 40,000)."]
    (docs / "gallery.md").write_text("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
