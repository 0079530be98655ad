from .batches import Batches
from .loop import Callback, Trainer

__all__ = ["Batches", "Callback", "Trainer"]
