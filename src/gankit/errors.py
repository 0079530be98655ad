"""User-facing errors: one line that says what is wrong and what to do.

The CLI turns any GankitError into that line on stderr and exit code 2, with no traceback.
"""


class GankitError(Exception):
    """A problem with the user's input or environment that gankit can explain in one line."""


class ConfigError(GankitError):
    """A bad flag, preset, config key or value."""


class DataError(GankitError):
    """A dataset that cannot be found, downloaded, verified or parsed."""


class CheckpointError(GankitError):
    """A run directory or checkpoint that cannot be written or read."""


class TrainingError(GankitError):
    """Training that cannot go on: it diverged again after every allowed rollback."""
