"""A run directory, and the Python API over it: train, resume, load, sample, describe.

    RUN/config.json      every setting (Config), with the gankit version
    RUN/data.json        what the data was: kind, item shape, classes, mode centers
    RUN/log.jsonl        one JSON line per logging interval
    RUN/samples/         fixed-noise grids, step-XXXXXXXX.png
    RUN/curves.png       losses and D outputs against step
    RUN/checkpoints/     step-XXXXXXXX/ (weights + training state), newest last
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import torch

from .config import Config, HealthConfig, flatten, validate
from .data import load_dataset
from .data.base import data_mean, first_items
from .errors import CheckpointError, ConfigError
from .gans import GAN
from .gans import build_gan as assemble_gan
from .training import distributed
from .training.callbacks import Checkpointer, Curves, JsonlLog, ProgressBar, SampleGrid
from .training.checkpoint import (
    D_FILE,
    G_EMA_FILE,
    G_FILE,
    clean_partial_saves,
    latest_checkpoint,
    load_state,
    load_weights,
)
from .training.ema import make_ema
from .training.health import HealthMonitor
from .training.loop import Trainer
from .training.tensorboard import TensorBoard, summary_writer_class

# Settings that may change when a run is resumed; the rest would make it a different run.
RESUMABLE = {"train.steps", "train.device", "train.log_every", "train.sample_every",
             "train.checkpoint_every", "train.keep_checkpoints", "data.data_dir", "data.download",
             "train.tensorboard", *(f"health.{f.name}" for f in dataclasses.fields(HealthConfig))}


@dataclass
class DataInfo:
    """What G must produce, saved so a run can be sampled without its dataset."""

    name: str
    kind: str
    sample_shape: tuple[int, ...]
    size: int
    num_classes: int = 0
    class_names: list[str] | None = None
    modes: list[list[float]] | None = None
    mode_std: float | None = None

    @classmethod
    def of(cls, data) -> "DataInfo":
        modes = getattr(data, "modes", None)
        return cls(name=data.name, kind=data.kind, sample_shape=tuple(data.sample_shape),
                   size=len(data), num_classes=data.num_classes,
                   class_names=data.class_names,
                   modes=None if modes is None else modes.tolist(),
                   mode_std=getattr(data, "mode_std", None))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "DataInfo":
        try:
            d = json.loads(path.read_text())
            d["sample_shape"] = tuple(d["sample_shape"])
            return cls(**d)
        except FileNotFoundError:
            raise CheckpointError(f"{path} is missing: is {path.parent} a gankit run directory?") from None
        except (ValueError, TypeError, KeyError) as e:
            raise CheckpointError(f"{path} is unreadable ({e})") from None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but PyTorch sees no CUDA GPU: use --device cpu")
    return torch.device(name)


def build_gan(cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> GAN:
    return assemble_gan(cfg, info.sample_shape, info.kind, info.num_classes, info.name).to(device)


def load_models(ckpt: Path, gan: GAN, G_ema: torch.nn.Module | None = None) -> None:
    """A checkpoint's weights into G, D and (if given) G's moving average."""
    load_weights(gan.G, ckpt / G_FILE)
    load_weights(gan.D, ckpt / D_FILE)
    if G_ema is not None:
        load_weights(G_ema, ckpt / G_EMA_FILE)


class Run:
    """A trained (or training) GAN and its run directory. G_ema is the moving average of G's
    weights for runs trained with train.ema, else None."""

    def __init__(self, path: Path, cfg: Config, info: DataInfo, gan: GAN, step: int,
                 G_ema: torch.nn.Module | None = None):
        self.path, self.config, self.data_info, self.gan, self.step = Path(path), cfg, info, gan, step
        self.G_ema = G_ema
        self.stop_reason = ""  # why training stopped early: SIGINT, equilibrium, mode collapse

    @property
    def G(self) -> torch.nn.Module:
        return self.gan.G

    @property
    def D(self) -> torch.nn.Module:
        return self.gan.D

    def sample(self, n: int, seed: int | None = 0, raw: bool = False,
               labels: torch.Tensor | int | None = None) -> torch.Tensor:
        """n samples in the data's own shape and range ([0, 1] for images), from the moving
        average of G's weights when the run keeps one, unless raw=True (the last G); `labels`
        (one class for all, or one per sample) for conditional runs."""
        return self.gan.sample(n, seed=seed, G=None if raw else self.G_ema, labels=labels)

    def parameter_counts(self) -> dict[str, int]:
        return {"generator": sum(p.numel() for p in self.G.parameters()),
                "discriminator": sum(p.numel() for p in self.D.parameters())}

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {
            "run": str(self.path), "model": c.model.name, "preset": c.preset,
            "data": f"{self.data_info.name} ({self.data_info.kind}, {self.data_info.size} items "
                    f"of shape {'x'.join(map(str, self.data_info.sample_shape))})",
            "loss": c.train.loss, "penalty": c.train.penalty, "clip": c.train.clip,
            "ema": c.train.ema, "optimizer": c.train.optimizer, "d_steps": c.train.d_steps,
            "batch_size": c.train.batch_size, "latent": f"{c.model.latent_dim} ({c.model.prior})",
            "steps_trained": self.step, "steps_target": c.train.steps,
            **{f"params_{k}": v for k, v in self.parameter_counts().items()},
            "settings": self.non_defaults() or "gankit's defaults",
        }

    def non_defaults(self) -> str:
        """Every setting that differs from gankit's defaults (packing, codes, noise, health,
        ...), as `key=value`: what `--set` flags would rebuild this run on the defaults."""
        mine, base = flatten(dataclasses.asdict(self.config)), flatten(dataclasses.asdict(Config()))
        skip = {"data.data_dir", "data.name", "preset"}
        return " ".join(f"{k}={_text(v)}" for k, v in mine.items() if k not in skip and v != base.get(k))


def _text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def load(path: str | Path, device: str = "cpu", raw: bool = False) -> Run:
    """Rebuild a run's GAN from its directory alone (config, data.json, newest checkpoint).
    raw=True leaves out the moving average of G, so the run samples from the last G."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"run directory {path} does not exist")
    cfg = validate(Config.load(path / "config.json"))
    info = DataInfo.load(path / "data.json")
    gan = build_gan(cfg, info, resolve_device(device))
    G_ema = make_ema(gan.G) if cfg.train.ema > 0 and not raw else None
    ckpt = latest_checkpoint(path)
    load_models(ckpt, gan, G_ema)
    step, _ = load_state(ckpt)
    return Run(path, cfg, info, gan, step, G_ema)


def _prepare_dir(out: Path, force: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ConfigError(
                f"{out} already exists: pass --force to overwrite it, --resume to continue it, "
                "or choose another --out"
            )
        if not (out / "config.json").exists():
            raise ConfigError(f"{out} is not a gankit run directory; refusing to delete it with --force")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def train(cfg: Config, out: str | Path, *, resume: bool = False, force: bool = False,
          progress: bool = True, callbacks: Iterable[Any] = ()) -> Run:
    """Train a new run in `out`, or continue it (resume=True) up to cfg.train.steps."""
    out = Path(out)
    validate(cfg)
    device = distributed.init(resolve_device(cfg.train.device))  # joins torchrun's group, if any
    data = load_dataset(cfg.data.name, data_dir=cfg.data.data_dir, resolution=cfg.data.resolution,
                        channels=cfg.data.channels, download=cfg.data.download,
                        skip_bad=cfg.data.skip_bad, seed=cfg.train.seed)
    data = first_items(data, cfg.data.limit)
    info = DataInfo.of(data)
    monitor = HealthMonitor(out, cfg, data, info)  # its settings fail here, before any writing
    if cfg.train.tensorboard:
        summary_writer_class()  # without the tensorboard package: one line, before any writing
    if resume:
        saved = DataInfo.load(out / "data.json")
        if saved.sample_shape != info.sample_shape:
            raise ConfigError(f"the data now has items of shape {info.sample_shape}, the run was "
                              f"trained on {saved.sample_shape}: resume with the same data")
    torch.manual_seed(cfg.train.seed)  # initial weights follow --seed
    gan = build_gan(cfg, info, device)
    if cfg.model.g_bias_from_data and not resume:
        gan.G.start_at_(gan.to_model(data_mean(data)))
    trainer = Trainer(gan, data, cfg.train)
    if resume:
        distributed.on_main(clean_partial_saves, out)
        ckpt = latest_checkpoint(out)
        load_models(ckpt, gan, trainer.g_ema)
        _, state = load_state(ckpt)
        trainer.load_state_dict(state)
    else:
        distributed.on_main(_prepare_dir, out, force)  # rank 0 writes; the others wait
        distributed.on_main(info.save, out / "data.json")
    distributed.on_main(cfg.save, out / "config.json")  # on resume: records the new target steps

    log = JsonlLog(out / "log.jsonl", cfg.train.log_every)
    real = modes = None
    if info.kind == "points":
        real = data.get(torch.arange(min(len(data), 2000)))[0]
        modes = getattr(data, "modes", None)
    trainer.callbacks = [
        monitor, log, ProgressBar(log, enabled=progress),
        SampleGrid(out / "samples", cfg.train.sample_every, n=1000 if real is not None else 64,
                   seed=cfg.train.seed, real=real, modes=modes),
        Checkpointer(out, cfg.train.checkpoint_every, cfg.train.keep_checkpoints),
        Curves(out / "log.jsonl", out / "curves.png"),
        *([TensorBoard(out / "tensorboard", log, out / "samples", cfg.train.sample_every,
                       report=out / "health.txt")] if cfg.train.tensorboard else []),
        *callbacks,
    ]
    trainer.callbacks = distributed.for_this_rank(trainer.callbacks)  # rank 0 alone writes
    trainer.run()
    run = Run(out, cfg, info, gan, trainer.step, trainer.g_ema)
    run.stop_reason = trainer.stop_reason
    return run
