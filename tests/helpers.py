"""Small pieces several test files share."""

from gankit.training import Callback


class StopAt(Callback):
    """Requests a stop after generator step `step`, as Ctrl-C does between two steps."""

    def __init__(self, step):
        self.step = step

    def on_step(self, trainer, stats):
        if trainer.step == self.step:
            trainer.stop_requested = True


def weights(run):
    """Every tensor of a run's G and D (parameters and buffers), by name."""
    return {**{f"G.{k}": v for k, v in run.G.state_dict().items()},
            **{f"D.{k}": v for k, v in run.D.state_dict().items()}}
