"""Typed configuration: every setting of a run, its defaults, k=v overrides and JSON.

A run's config.json is exactly ``Config.to_dict()``; ``Config.from_dict`` refuses unknown keys
and wrong types, so a misspelt setting is an error and never silently ignored.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError

FORMAT_VERSION = 1  # bump when a run directory written by an older gankit can no longer be read


@dataclass
class DataConfig:
    name: str = "digits"                 # a registered dataset or a path (image folder, .npy, .npz)
    data_dir: str | None = None          # where MNIST-style files live (else $GANKIT_DATA)
    resolution: int | None = None        # resize images to this; None keeps the data's own
    channels: int | None = None          # 1 or 3; None keeps the data's own
    skip_bad: bool = False               # skip unreadable images with a warning instead of failing
    download: bool = True


@dataclass
class ModelConfig:
    name: str = "dcgan"                  # mlp | dcgan
    latent_dim: int = 100
    prior: str = "normal"                # normal | uniform (on [-1, 1])
    g_hidden: tuple[int, ...] = (1200, 1200)  # mlp: generator hidden widths
    d_hidden: tuple[int, ...] = (240, 240)    # mlp: maxout units per discriminator layer
    maxout_pieces: int = 5               # mlp
    d_dropout: float = 0.0               # mlp: dropout on D's input
    width: int = 0                       # dcgan: channels next to the image; 0 = 128 up to 28 px, else 64
    spectral_norm: bool = False          # any model: spectral normalisation of D's conv/linear layers


@dataclass
class TrainConfig:
    steps: int = 2000                    # total generator updates of the run
    batch_size: int = 64
    d_steps: int = 1                     # k: discriminator updates per generator update
    loss: str = "nonsaturating"
    penalty: str = "none"                # none | gp (Gulrajani et al.) | r1 (Mescheder et al.), on D
    penalty_weight: float = 10.0         # gp: lambda; r1: gamma (D's loss gets gamma/2 * R1)
    clip: float = 0.0                    # clamp D's weights to [-clip, clip] after each D step; 0 = off
    ema: float = 0.0                     # decay of an average of G's weights (e.g. 0.999); 0 = off
    optimizer: str = "adam"              # adam | sgd | rmsprop
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # adam
    momentum: float = 0.5                # sgd
    seed: int = 0
    device: str = "auto"                 # auto | cpu | cuda
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["gankit_version"] = __version__
        d["format_version"] = FORMAT_VERSION
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> "Config":
        d = dict(d)
        fmt = d.pop("format_version", None)
        d.pop("gankit_version", None)
        if fmt != FORMAT_VERSION:
            raise ConfigError(
                f"{source} has format version {fmt}, this gankit reads {FORMAT_VERSION}: "
                "use the gankit version that wrote it"
            )
        cfg = cls()
        for key, value in flatten(d).items():
            set_value(cfg, key, value, source)
        return cfg

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Config":
        try:
            d = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path} not found: is this a gankit run directory?") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path} is not valid JSON ({e}): restore it or start a new run") from None
        if not isinstance(d, dict):
            raise ConfigError(f"{path} must hold a JSON object")
        return cls.from_dict(d, source=str(path))


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train": {"steps": 5}} -> {"train.steps": 5}."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def keys() -> list[str]:
    """Every settable key, dotted."""
    return sorted(flatten(dataclasses.asdict(Config())))


def set_value(cfg: Config, key: str, value: Any, source: str = "override") -> None:
    """Set a dotted key, converting strings and checking the type against the default's."""
    *path, name = key.split(".")
    target: Any = cfg
    for part in path:
        target = getattr(target, part, None)
    if target is None or not dataclasses.is_dataclass(target) or name not in {
        f.name for f in dataclasses.fields(target)
    }:
        raise ConfigError(f"{source}: unknown setting '{key}'; known settings: {', '.join(keys())}")
    hint = typing.get_type_hints(type(target))[name]
    setattr(target, name, coerce(value, hint, f"{source}: {key}"))


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Turn value (a string from the command line, or a JSON value) into the type `hint`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0], where)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{where} must be a comma-separated list, got {value!r}")
        items = [i for i in items if not (isinstance(i, str) and i.strip() == "")]
        if args[-1] is Ellipsis:
            return tuple(coerce(i, args[0], where) for i in items)
        if len(items) != len(args):
            raise ConfigError(f"{where} needs {len(args)} comma-separated values, got {value!r}")
        return tuple(coerce(i, a, where) for i, a in zip(items, args))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        if isinstance(value, (int, float)) and (hint is float or float(value).is_integer()):
            return hint(value)
        if isinstance(value, str):
            try:
                return hint(value)
            except ValueError:
                pass
        kind = "an integer" if hint is int else "a number"
        raise ConfigError(f"{where} must be {kind}, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where} must be a string, got {value!r}")
    raise TypeError(f"no conversion for {hint}")  # a gankit bug, not a user error


POSITIVE = ["train.steps", "train.batch_size", "train.d_steps", "train.lr_g", "train.lr_d",
            "train.log_every", "train.sample_every", "train.checkpoint_every",
            "train.keep_checkpoints", "model.latent_dim", "model.maxout_pieces"]


def validate(cfg: Config) -> Config:
    """Range checks that types alone cannot express."""
    values = flatten(dataclasses.asdict(cfg))
    for key in POSITIVE:
        if values[key] <= 0:
            raise ConfigError(f"{key} must be positive, got {values[key]}")
    for key in ("model.g_hidden", "model.d_hidden"):
        if any(v <= 0 for v in values[key]):
            raise ConfigError(f"{key} sizes must be positive, got {values[key]}")
    for key in ("data.resolution", "data.channels"):
        if values[key] is not None and values[key] <= 0:
            raise ConfigError(f"{key} must be positive, got {values[key]}")
    if values["data.channels"] not in (None, 1, 3):
        raise ConfigError(f"data.channels must be 1 or 3, got {values['data.channels']}")
    if not 0.0 <= cfg.model.d_dropout < 1.0:
        raise ConfigError(f"model.d_dropout must be in [0, 1), got {cfg.model.d_dropout}")
    for key in ("train.penalty_weight", "train.clip"):
        if values[key] < 0:
            raise ConfigError(f"{key} must be 0 (off) or positive, got {values[key]}")
    if not 0.0 <= cfg.train.ema < 1.0:
        raise ConfigError(f"train.ema must be in [0, 1) (0 = off, e.g. 0.999), got {cfg.train.ema}")
    if cfg.model.width < 0:
        raise ConfigError(f"model.width must be 0 (automatic) or positive, got {cfg.model.width}")
    if cfg.train.device not in ("auto", "cpu", "cuda") and not cfg.train.device.startswith("cuda:"):
        raise ConfigError(f"train.device must be auto, cpu or cuda, got '{cfg.train.device}'")
    return cfg
