"""gankit: generative adversarial networks you can train, resume, sample and evaluate."""

__version__ = "0.1.0"
