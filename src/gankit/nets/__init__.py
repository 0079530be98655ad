"""Plain nn.Modules, and the registry that builds a (generator, discriminator) pair by name."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import ModelConfig
from ..errors import ConfigError
from ..registry import Registry
from .dcgan import DCGANDiscriminator, DCGANGenerator, upsampling_plan
from .mlp import Maxout, MLPDiscriminator, MLPGenerator

MODELS: Registry = Registry("model")


@MODELS.register("mlp")
def build_mlp(cfg: ModelConfig, sample_shape: tuple[int, ...], kind: str) -> tuple[nn.Module, nn.Module]:
    output = "sigmoid" if kind == "image" else "linear"  # images live in [0, 1], points anywhere
    g = MLPGenerator(cfg.latent_dim, sample_shape, cfg.g_hidden, output)
    d = MLPDiscriminator(sample_shape, cfg.d_hidden, cfg.maxout_pieces, cfg.d_dropout)
    return g, d


@MODELS.register("dcgan")
def build_dcgan(cfg: ModelConfig, sample_shape: tuple[int, ...], kind: str) -> tuple[nn.Module, nn.Module]:
    if kind != "image" or len(sample_shape) != 3 or sample_shape[1] != sample_shape[2]:
        raise ConfigError(
            f"the dcgan model needs square images, but the data has items of shape {sample_shape}: "
            "use --model mlp for points or vectors"
        )
    channels, resolution = sample_shape[0], sample_shape[1]
    try:
        upsampling_plan(resolution)
    except ValueError as e:
        raise ConfigError(f"{e} (pass --resolution to resize the data)") from None
    width = cfg.width or (128 if resolution <= 28 else 64)
    return (DCGANGenerator(cfg.latent_dim, resolution, channels, width),
            DCGANDiscriminator(resolution, channels, width))


# Miyato et al. 2018: divide each weight by its largest singular value (one power iteration per
# training forward), so every layer of D, and D itself, is at most 1-Lipschitz. The power
# iteration's vectors u, v are buffers: they travel in the checkpoint with the weights.
def spectral_normalize_(module: nn.Module) -> nn.Module:
    """Spectral normalisation on every conv and linear layer of `module`, in place."""
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)):
            spectral_norm(layer)
    return module


def build_models(cfg: ModelConfig, sample_shape: tuple[int, ...], kind: str):
    G, D = MODELS.get(cfg.name)(cfg, tuple(sample_shape), kind)
    return G, spectral_normalize_(D) if cfg.spectral_norm else D


__all__ = ["MODELS", "build_models", "spectral_normalize_", "DCGANGenerator", "DCGANDiscriminator", "MLPGenerator",
           "MLPDiscriminator", "Maxout"]
