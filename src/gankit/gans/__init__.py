from .build import build_gan
from .gan import GAN, PRIORS, Term, pack
from .latent import LatentLayout, LatentParts

__all__ = ["GAN", "PRIORS", "LatentLayout", "LatentParts", "Term", "build_gan", "pack"]
