"""gankit: generative adversarial networks you can train, resume, sample and evaluate.

    run = gankit.load("runs/x")
    x = run.sample(16, seed=0)        # 16 samples in the data's shape and range
"""

__version__ = "0.1.0"

from .config import Config, DataConfig, ModelConfig, TrainConfig  # noqa: E402
from .errors import GankitError  # noqa: E402
from .run import Run, load, train  # noqa: E402

__all__ = ["Config", "DataConfig", "ModelConfig", "TrainConfig", "GankitError", "Run", "load",
           "train", "__version__"]
