"""Typed configuration: every setting of a run, its defaults, k=v overrides and JSON.

A run's config.json is exactly ``Config.to_dict()``; ``Config.from_dict`` refuses unknown keys
and wrong types, so a misspelt setting is an error and never silently ignored.
"""

from __future__ import annotations

import dataclasses
import json
import os
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
    limit: int = 0                       # train on the first N items only; 0 = all (MNIST: 50000
                                         # keeps train[50000:] out, as Goodfellow et al. did)


@dataclass
class ModelConfig:
    name: str = "dcgan"                  # mlp | dcgan
    latent_dim: int = 100
    prior: str = "normal"                # normal | uniform (on [-1, 1]) | uniform-sqrt3 (unit variance)
    g_hidden: tuple[int, ...] = (1200, 1200)  # mlp: generator hidden widths
    d_hidden: tuple[int, ...] = (240, 240)    # mlp: maxout units per discriminator layer
    maxout_pieces: int = 5               # mlp
    d_dropout: float = 0.0               # mlp: dropout on D's input
    d_hidden_dropout: float = 0.0        # mlp: dropout on the input of each of D's later layers
    g_init: float = 0.0                  # G's weights ~ U(-r, r) and biases 0 (pylearn2's irange);
    d_init: float = 0.0                  # D's likewise; 0 = PyTorch's default init
    g_bias_from_data: bool = False       # mlp: G's output starts at the data's mean image
    width: int = 0                       # dcgan: channels next to the image; 0 = 128 up to 28 px, else 64
    spectral_norm: bool = False          # any model: spectral normalisation of D's conv/linear layers
    minibatch_std: bool = False          # D: minibatch std-deviation feature before its last layer
    conditional: bool = False            # labels y into G (one-hot next to z) and D (Mirza & Osindero)
    conditioning: str = "concat"         # how D reads y: concat (input) | projection (Miyato & Koyama)
    info_categorical: int = 0            # InfoGAN: values of a categorical code c1 (0 = none)
    info_continuous: int = 0             # InfoGAN: continuous codes ~ U(-1, 1) after it


@dataclass
class TrainConfig:
    steps: int = 2000                    # total generator updates of the run
    batch_size: int = 64
    d_steps: int = 1                     # k: discriminator updates per generator update
    simultaneous: bool = False           # k = 1: D and G step at once on one batch of fakes, both
                                         # gradients at the same point (Goodfellow et al.'s code)
    loss: str = "nonsaturating"
    penalty: str = "none"                # none | gp (Gulrajani et al.) | r1 (Mescheder et al.), on D
    penalty_weight: float = 10.0         # gp: lambda; r1: gamma (D's loss gets gamma/2 * R1)
    clip: float = 0.0                    # clamp D's weights to [-clip, clip] after each D step; 0 = off
    ema: float = 0.0                     # decay of an average of G's weights (e.g. 0.999); 0 = off
    feature_matching: bool = False       # G matches mean D features of real data (Salimans et al.)
    label_smoothing: float = 0.0         # D's real targets 1 - this (one-sided; e.g. 0.1); 0 = off
    instance_noise: float = 0.0          # std of noise on D's inputs, annealed to 0 by the last step
    pack: int = 1                        # PacGAN: D judges packs of this many samples (1..4)
    info_weight: float = 1.0             # InfoGAN: lambda of the mutual-information term
    margin: float = 1.0                  # EBGAN (loss energy): D pushes fake energies up to this
    pt_weight: float = 0.0               # EBGAN: weight of the pulling-away term in G's loss
    optimizer: str = "adam"              # adam | sgd | rmsprop
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # adam
    momentum: float = 0.5                # sgd
    momentum_final: float = 0.5          # sgd: momentum moves linearly to this...
    momentum_ramp: tuple[int, int] = (0, 0)  # ...from the first to the second generator step
    lr_decay: float = 1.0                # both lrs are divided by this after every generator step...
    min_lr: float = 0.0                  # ...but not below this (pylearn2's ExponentialDecay)
    seed: int = 0
    device: str = "auto"                 # auto | cpu | cuda
    precision: str = "fp32"              # fp32 | bf16 | fp16: autocast dtype of forwards and losses
    sync_batchnorm: bool = False         # under torchrun: BatchNorm statistics over the global batch
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    tensorboard: bool = False            # also write TensorBoard events to RUN/tensorboard/


DETECTOR_MODES = ("off", "warn", "act")


@dataclass
class HealthConfig:
    """The training health monitor (training/health/): what it watches, when it speaks, what
    it may do. Each detector is off, warn (log it, say it, go on) or act (its documented cure)."""

    every: int = 50                      # steps between checks (diversity, weights, trends)
    warmup: int = 200                    # steps before collapse, vanishing, equilibrium are judged
    patience: int = 3                    # consecutive bad checks before collapse / vanishing fire
    samples: int = 256                   # generated and real items compared for diversity
    divergence: str = "act"              # NaN/Inf or a loss spike; act: roll back, lower both lrs
    spike: float = 20.0                  # |loss| > spike x max(1, recent median |loss|); 0 = off
    rollbacks: int = 3                   # act: at most this many rollbacks, then stop with an error
    lr_factor: float = 0.5               # act: both learning rates times this at each rollback
    collapse: str = "warn"               # diversity far below the data's; act: stop the run
    collapse_ratio: float = 0.1          # spread of samples / spread of real data below this
    collapse_entropy: float = 0.5        # or class-histogram entropy / the data's below this
    vanishing: str = "warn"              # D rejects every fake and G's gradient dies
    vanishing_action: str = "nonsaturating"  # act: nonsaturating (minimax G loss) | noise | d_steps
    vanishing_acc: float = 0.98          # D's accuracy on fakes at least this...
    vanishing_grad: float = 0.1          # ...and |grad G| below this fraction of its largest so far
    noise_std: float = 0.1               # vanishing_action=noise: instance noise std on D's inputs
    equilibrium: str = "off"             # D's accuracy near 50%; act (--stop-at-equilibrium): stop
    equilibrium_tol: float = 0.05        # |accuracy - 0.5| at most this...
    equilibrium_window: int = 500        # ...for this many steps
    eval_every: int = 0                  # run gankit evaluate's eval_metric every N steps; 0 = off
    eval_metric: str = ""                # e.g. modes (ring8, grid25), fid, kid (images)
    eval_samples: int = 0                # samples per evaluation; 0 = the metric's default
    best_by: str = ""                    # result key that picks checkpoints/best/; "" = the first


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
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
        """Written beside and renamed over, so a crash mid-write leaves the old file whole."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        os.replace(tmp, path)

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
    for key in ("d_dropout", "d_hidden_dropout"):
        if not 0.0 <= getattr(cfg.model, key) < 1.0:
            raise ConfigError(f"model.{key} must be in [0, 1), got {getattr(cfg.model, key)}")
    for key in ("train.penalty_weight", "train.clip"):
        if values[key] < 0:
            raise ConfigError(f"{key} must be 0 (off) or positive, got {values[key]}")
    if not 0.0 <= cfg.train.ema < 1.0:
        raise ConfigError(f"train.ema must be in [0, 1) (0 = off, e.g. 0.999), got {cfg.train.ema}")
    for key in ("data.limit", "model.g_init", "model.d_init", "train.min_lr"):
        if values[key] < 0:
            raise ConfigError(f"{key} must be 0 (off) or positive, got {values[key]}")
    if cfg.train.lr_decay < 1.0:
        raise ConfigError(f"train.lr_decay divides the learning rates at every step: it must be at least "
                          f"1 (1 = off, e.g. 1.000004), got {cfg.train.lr_decay}")
    start, end = cfg.train.momentum_ramp
    if not 0 <= start <= end:
        raise ConfigError(f"train.momentum_ramp is a start and an end step with 0 <= start <= end, "
                          f"got {start},{end}")
    if not 0.0 <= cfg.train.momentum_final < 1.0 or not 0.0 <= cfg.train.momentum < 1.0:
        raise ConfigError(f"train.momentum and train.momentum_final must be in [0, 1), got "
                          f"{cfg.train.momentum} and {cfg.train.momentum_final}")
    if cfg.train.simultaneous and cfg.train.d_steps != 1:
        raise ConfigError(f"train.simultaneous steps D and G together, once each: it needs "
                          f"train.d_steps 1, got {cfg.train.d_steps}")
    if cfg.model.g_bias_from_data and cfg.model.name != "mlp":
        raise ConfigError(f"model.g_bias_from_data sets the mlp generator's output bias; the "
                          f"{cfg.model.name} model has none to set: drop it or use --model mlp")
    if cfg.model.width < 0:
        raise ConfigError(f"model.width must be 0 (automatic) or positive, got {cfg.model.width}")
    if cfg.train.device not in ("auto", "cpu", "cuda") and not cfg.train.device.startswith("cuda:"):
        raise ConfigError(f"train.device must be auto, cpu or cuda, got '{cfg.train.device}'")
    validate_health(cfg.health)
    validate_family(cfg)
    return cfg


def validate_family(cfg: Config) -> None:
    """Conditional, InfoGAN, EBGAN and the Salimans et al. tricks."""
    m, t, values = cfg.model, cfg.train, flatten(dataclasses.asdict(cfg))
    for key in ("model.info_categorical", "model.info_continuous", "train.instance_noise",
                "train.info_weight", "train.pt_weight"):
        if values[key] < 0:
            raise ConfigError(f"{key} must be 0 (off) or positive, got {values[key]}")
    if m.info_categorical == 1:
        raise ConfigError("model.info_categorical must be 0 (no code) or at least 2 values, got 1")
    if not 0.0 <= t.label_smoothing < 1.0:
        raise ConfigError(f"train.label_smoothing must be in [0, 1) (e.g. 0.1), got {t.label_smoothing}")
    if t.margin <= 0:
        raise ConfigError(f"train.margin must be positive, got {t.margin}")
    if not 1 <= t.pack <= 4:
        raise ConfigError(f"train.pack must be 1 (off) to 4, got {t.pack}")
    if t.batch_size % t.pack:
        raise ConfigError(f"train.batch_size {t.batch_size} must be divisible by train.pack {t.pack}: "
                          f"D judges packs of {t.pack} samples")
    if t.pack > 1 and (m.info_categorical or m.info_continuous):
        raise ConfigError("InfoGAN's Q reads one sample's code, so train.pack must be 1 with "
                          "model.info_categorical / model.info_continuous")


def validate_health(h: HealthConfig) -> None:
    for key in ("every", "patience", "equilibrium_window"):
        if getattr(h, key) <= 0:
            raise ConfigError(f"health.{key} must be positive, got {getattr(h, key)}")
    for key in ("warmup", "rollbacks", "eval_every", "eval_samples", "spike", "noise_std"):
        if getattr(h, key) < 0:
            raise ConfigError(f"health.{key} must be 0 or positive, got {getattr(h, key)}")
    for key in ("divergence", "collapse", "vanishing", "equilibrium"):
        if getattr(h, key) not in DETECTOR_MODES:
            raise ConfigError(f"health.{key} must be one of {', '.join(DETECTOR_MODES)}, "
                              f"got '{getattr(h, key)}'")
    if h.samples < 2:
        raise ConfigError(f"health.samples must be at least 2, got {h.samples}")
    if not 0.0 < h.lr_factor < 1.0:
        raise ConfigError(f"health.lr_factor must be in (0, 1), got {h.lr_factor}")
    if h.eval_every and not h.eval_metric:
        raise ConfigError("health.eval_every needs health.eval_metric (e.g. --eval-metric modes)")
