"""gankit train: resolve defaults < preset < flags into a Config, then train or resume."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import Config, set_value, validate
from ..errors import ConfigError
from ..presets import PRESETS

# flag -> the setting(s) it writes. Values stay strings here; config.coerce type-checks them.
FLAGS: dict[str, tuple[str, ...]] = {
    "--data": ("data.name",), "--data-dir": ("data.data_dir",),
    "--resolution": ("data.resolution",), "--channels": ("data.channels",),
    "--model": ("model.name",), "--latent-dim": ("model.latent_dim",), "--prior": ("model.prior",),
    "--loss": ("train.loss",), "--penalty": ("train.penalty",),
    "--penalty-weight": ("train.penalty_weight",), "--clip": ("train.clip",),
    "--ema": ("train.ema",), "--d-steps": ("train.d_steps",), "--steps": ("train.steps",),
    "--conditioning": ("model.conditioning",), "--pack": ("train.pack",),
    "--label-smoothing": ("train.label_smoothing",), "--instance-noise": ("train.instance_noise",),
    "--batch-size": ("train.batch_size",), "--seed": ("train.seed",),
    "--optimizer": ("train.optimizer",), "--lr": ("train.lr_g", "train.lr_d"),
    "--lr-g": ("train.lr_g",), "--lr-d": ("train.lr_d",), "--device": ("train.device",),
    "--precision": ("train.precision",),
    "--log-every": ("train.log_every",), "--sample-every": ("train.sample_every",),
    "--checkpoint-every": ("train.checkpoint_every",),
    "--eval-every": ("health.eval_every",), "--eval-metric": ("health.eval_metric",),
}
# on/off flags: flag -> (setting, value it writes, help)
SWITCHES: dict[str, tuple[str, str, str]] = {
    "--skip-bad": ("data.skip_bad", "true", "skip unreadable images with a warning"),
    "--conditional": ("model.conditional", "true", "labels into G and D (needs labelled data)"),
    "--feature-matching": ("train.feature_matching", "true", "G matches D's mean features on data"),
    "--minibatch-std": ("model.minibatch_std", "true", "a minibatch std-deviation feature in D"),
    "--no-download": ("data.download", "false", "never download data: use what is on disk"),
    "--tensorboard": ("train.tensorboard", "true", "also write TensorBoard events to RUN/tensorboard"),
    "--stop-at-equilibrium": ("health.equilibrium", "act",
                              "stop once D's accuracy has stayed near 50%% (health.equilibrium_*)"),
}
# runs the health monitor stopped: what to say and the exit code (signals give 130)
HEALTH_STOPS = {"equilibrium": ("D's accuracy stayed near 50%, the equilibrium", 0),
                "mode collapse": ("mode collapse", 1)}


def register(subs) -> None:
    p = subs.add_parser("train", help="train a GAN (or --resume one) into a run directory",
                        description="Train a GAN. Settings: defaults < --preset < flags < --set.")
    for flag, keys in FLAGS.items():
        p.add_argument(flag, metavar=keys[0].split(".")[1].upper(), help=f"sets {', '.join(keys)}")
    p.add_argument("--preset", help=f"named settings: {', '.join(PRESETS.names())}")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any setting, e.g. --set model.g_hidden=128,128 (see --dry-run for keys)")
    for flag, (key, _, text) in SWITCHES.items():
        p.add_argument(flag, action="store_true", help=f"{text} (sets {key})")
    p.add_argument("--out", help="run directory to create (or to continue with --resume)")
    p.add_argument("--resume", nargs="?", const=True, metavar="RUN",
                   help="continue RUN (or --out) from its newest checkpoint up to --steps")
    p.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def overrides(args) -> dict[str, str]:
    """The settings the user gave explicitly, as dotted key -> string."""
    given: dict[str, str] = {}
    for flag, keys in FLAGS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            given.update({k: value for k in keys})
    for flag, (key, value, _) in SWITCHES.items():
        if getattr(args, flag[2:].replace("-", "_")):
            given[key] = value
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got '{item}'")
        given[key.strip()] = value.strip()
    return given


def resolve(args) -> tuple[Config, Path, bool]:
    given = overrides(args)
    resume = args.resume is not None
    out = args.resume if isinstance(args.resume, str) else args.out
    if out is None:
        raise ConfigError("say where the run goes: --out RUN (or --resume RUN)")
    out = Path(out)
    if resume:
        from ..run import RESUMABLE

        if args.preset:
            raise ConfigError("--preset cannot be combined with --resume: the run keeps its settings")
        frozen = sorted(set(given) - RESUMABLE)
        if frozen:
            raise ConfigError(f"{', '.join(frozen)} cannot change when resuming (only "
                              f"{', '.join(sorted(RESUMABLE))} can): start a new run instead")
        if not (out / "config.json").exists():
            raise ConfigError(f"cannot resume {out}: it is not a gankit run directory")
        cfg = Config.load(out / "config.json")
    else:
        cfg = Config()
        if args.preset:
            for key, value in PRESETS.get(args.preset).items():
                set_value(cfg, key, value, f"preset {args.preset}")
            cfg.preset = args.preset
    for key, value in given.items():
        set_value(cfg, key, value, "flag")
    return validate(cfg), out, resume


def run(args) -> int:
    from ..run import train
    from ..training.distributed import is_main

    cfg, out, resume = resolve(args)
    if args.dry_run:
        print(json.dumps(cfg.to_dict(), indent=2))
        return 0
    result = train(cfg, out, resume=resume, force=args.force, progress=not args.quiet)
    say = print if is_main() else (lambda *a: None)  # under torchrun, rank 0 speaks for all
    samples = sorted((out / "samples").glob("step-*.png"))
    if result.step < cfg.train.steps and result.stop_reason in HEALTH_STOPS:
        what, code = HEALTH_STOPS[result.stop_reason]
        say(f"stopped at step {result.step} of {cfg.train.steps}: {what} "
            f"(see {out / 'health.txt'}); checkpoint saved in {out}")
        return code
    if result.step < cfg.train.steps:
        say(f"stopped at step {result.step} of {cfg.train.steps}; checkpoint saved in {out}. "
            f"Continue with: gankit train --resume {out}")
        return 130
    say(f"trained {result.step} steps into {out}" + (f"; samples: {samples[-1]}" if samples else ""))
    return 0
