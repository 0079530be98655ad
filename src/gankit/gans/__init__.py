from .gan import GAN, PRIORS

__all__ = ["GAN", "PRIORS"]
