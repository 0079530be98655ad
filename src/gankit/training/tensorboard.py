"""TensorBoard beside the JSON lines (--tensorboard): `tensorboard --logdir RUN/tensorboard`.

Scalars are the log.jsonl records as they are written (every --log-every steps, the same
averages); images are the fixed-noise sample grids SampleGrid has just saved (so points get
their scatter plots); histograms are G's and D's weights, every --sample-every steps; the
health report goes in as text at the end. Needs the `tensorboard` package
(pip install "gankit[tensorboard]").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .callbacks import JsonlLog


def summary_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch's module imports the tensorboard package
        raise ConfigError("--tensorboard needs the tensorboard package: pip install "
                          "\"gankit[tensorboard]\" (or pip install tensorboard)") from None
    return SummaryWriter


class TensorBoard:
    rank_zero_only = True  # under torchrun, rank 0 alone writes the run directory

    def __init__(self, folder: Path, log: JsonlLog, samples: Path, every: int,
                 report: Path | None = None):
        self.writer_class = summary_writer_class()  # fails before training, not after
        self.folder, self.log, self.samples, self.every = Path(folder), log, Path(samples), every
        self.report = report
        self.writer = None
        self._shown: dict | None = None
        self._pictured = -1  # the step whose pictures were written last

    def on_start(self, trainer) -> None:
        # On resume, drop events a killed process wrote past the checkpoint being resumed.
        self.writer = self.writer_class(str(self.folder), purge_step=trainer.step or None)

    def on_step(self, trainer, stats) -> None:
        self.scalars()
        if trainer.step % self.every == 0:
            self.pictures(trainer)

    def on_end(self, trainer) -> None:
        self.scalars()
        self.pictures(trainer)
        if self.report is not None and self.report.exists():
            self.writer.add_text("health", "    " + self.report.read_text().replace("\n", "\n    "),
                                 trainer.step)
        self.writer.close()

    def scalars(self) -> None:
        record = self.log.last
        if not record or record is self._shown:
            return
        self._shown = record
        for key, value in record.items():
            if key != "step" and isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, record["step"])

    def pictures(self, trainer) -> None:
        if trainer.step == self._pictured:
            return
        self._pictured = trainer.step
        grid = self.samples / f"step-{trainer.step:08d}.png"
        if grid.exists():
            from PIL import Image

            with Image.open(grid) as img:
                self.writer.add_image("samples", np.asarray(img.convert("RGB")), trainer.step,
                                      dataformats="HWC")
        for prefix, module in (("G", trainer.gan.G), ("D", trainer.gan.D)):
            for name, p in module.named_parameters():
                self.writer.add_histogram(f"{prefix}/{name}", p.detach().float().cpu(),
                                          trainer.step)
        self.writer.flush()
