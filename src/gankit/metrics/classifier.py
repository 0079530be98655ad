"""The domain classifier whose features and class probabilities feed FID, KID, precision/recall,
the classifier score and mode counting.

No hub download: gankit trains it on the dataset's own training split (a small CNN) and caches
the weights on disk, keyed by a hash of the training data and every setting that shapes the
network, so the same key always means the same classifier. Its test accuracy is measured once,
at training time, and recorded next to the weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

CLASSIFIER_VERSION = 1  # bump when the architecture or training recipe changes


@dataclass(frozen=True)
class ClassifierSettings:
    epochs: int = 4
    min_steps: int = 1500    # small datasets (digits) get more epochs, not fewer updates
    train_size: int = 0      # 0: the whole training split; else its first train_size items (tests)
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    width: int = 32
    features: int = 128


class DomainClassifier(nn.Module):
    """Two conv blocks and a 128-d feature layer; any square size >= 8, 1 or 3 channels."""

    def __init__(self, channels: int, num_classes: int, width: int = 32, features: int = 128):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),                      # 2w x 4 x 4
            nn.Linear(2 * width * 16, features), nn.ReLU(),             # the feature space
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(features, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B x C x H x W in [0, 1] -> B logits
        return self.head(self.trunk(x * 2 - 1))

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate features, class probabilities) in eval mode, batched; computed on the
        model's device, returned on the CPU where the metrics work."""
        self.eval()
        device = next(self.parameters()).device
        feats, probs = [], []
        for i in range(0, len(x), batch_size):
            f = self.trunk(x[i:i + batch_size].to(device) * 2 - 1)
            feats.append(f.cpu())
            probs.append(F.softmax(self.head(f), dim=1).cpu())
        return torch.cat(feats), torch.cat(probs)


def data_hash(x: torch.Tensor, y: torch.Tensor) -> str:
    h = hashlib.sha256()
    h.update(str(tuple(x.shape)).encode())
    h.update(x.contiguous().numpy().tobytes())
    h.update(y.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def cache_key(train_hash: str, channels: int, num_classes: int, settings: ClassifierSettings) -> str:
    blob = json.dumps({"data": train_hash, "channels": channels, "classes": num_classes,
                       "version": CLASSIFIER_VERSION, **asdict(settings)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_cache_dir() -> Path:
    return Path(os.environ.get("GANKIT_CACHE", "~/.cache/gankit")).expanduser() / "classifiers"


def fit(model: DomainClassifier, x: torch.Tensor, y: torch.Tensor, settings: ClassifierSettings,
        log=print) -> None:
    gen = torch.Generator().manual_seed(settings.seed)
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    steps_per_epoch = max(1, len(x) // settings.batch_size)
    epochs = max(settings.epochs, -(-settings.min_steps // steps_per_epoch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, settings.lr * 3, total_steps=epochs * steps_per_epoch)
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        t0, total = time.perf_counter(), 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * settings.batch_size:(i + 1) * settings.batch_size]
            loss = F.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if epoch + 1 == epochs or (epoch + 1) % max(1, epochs // 4) == 0:
            log(f"classifier epoch {epoch + 1}/{epochs}: loss {total / steps_per_epoch:.4f} "
                f"({time.perf_counter() - t0:.0f} s)")


def accuracy(model: DomainClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    _, probs = model.embed(x)
    return float((probs.argmax(1) == y).float().mean())


def _cache_entry(train, settings: ClassifierSettings, cache_dir: Path | None):
    """(x, y, weights path, record path, key) of `train`'s classifier in the cache."""
    x, y = train.x, train.y
    if settings.train_size:
        x, y = x[: settings.train_size], y[: settings.train_size]
    if y is None or not train.num_classes:
        raise ValueError("the domain classifier needs a labelled dataset")
    key = cache_key(data_hash(x, y), x.shape[1], train.num_classes, settings)
    folder = Path(cache_dir or default_cache_dir())
    return x, y, folder / f"{train.name}-{key}.safetensors", folder / f"{train.name}-{key}.json", key


def cached_classifier(train, settings: ClassifierSettings = ClassifierSettings(),
                      cache_dir: Path | None = None, device="cpu") -> DomainClassifier | None:
    """`train`'s classifier if the cache already holds it, else None: never trains one."""
    if getattr(train, "x", None) is None or getattr(train, "y", None) is None \
            or not getattr(train, "num_classes", 0):
        return None  # streamed or unlabelled data: no classifier
    x, _, weights, record_path, _ = _cache_entry(train, settings, cache_dir)
    if not (weights.exists() and record_path.exists()):
        return None
    model = DomainClassifier(x.shape[1], train.num_classes, settings.width, settings.features)
    model.load_state_dict(load_file(weights))
    return model.to(device).eval()


def get_classifier(train, test, settings: ClassifierSettings = ClassifierSettings(),
                   cache_dir: Path | None = None, log=print, device="cpu") -> tuple[DomainClassifier, dict]:
    """The cached classifier for `train` (a labelled image dataset), training it if needed, on
    `device` (the weights, and so the cache entry, do not depend on it beyond float rounding).

    Returns the model and its record: cache key, data hash, settings, test accuracy.
    """
    x, y, weights, record_path, key = _cache_entry(train, settings, cache_dir)
    folder = weights.parent
    channels, classes = x.shape[1], train.num_classes
    model = DomainClassifier(channels, classes, settings.width, settings.features)
    if weights.exists() and record_path.exists():
        model.load_state_dict(load_file(weights))
        return model.to(device).eval(), json.loads(record_path.read_text())
    torch.manual_seed(settings.seed)
    model = DomainClassifier(channels, classes, settings.width, settings.features).to(device)
    log(f"training the {train.name} domain classifier once (cached in {folder})")
    t0 = time.perf_counter()
    fit(model, x, y, settings, log)
    record = {"dataset": train.name, "key": key, "version": CLASSIFIER_VERSION,
              "settings": asdict(settings), "train_size": len(x),
              "test_accuracy": accuracy(model, test.x, test.y),
              "train_seconds": round(time.perf_counter() - t0, 1)}
    folder.mkdir(parents=True, exist_ok=True)
    tmp = weights.with_suffix(".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, weights)
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    model.eval()
    return model, record
