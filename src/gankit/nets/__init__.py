"""Plain nn.Modules, and the registry that builds a (generator, discriminator) pair by name.

A model family says how to build its G, its D and its autoencoder D (EBGAN) for any input
shape. ``build_models`` sizes them for the run: G's input is the noise plus any label or
InfoGAN codes; D's input widens for PacGAN packs and concatenated labels; D is then wrapped
for conditioning (nets/conditional.py) and InfoGAN's Q head (nets/infogan.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import ModelConfig
from ..errors import ConfigError
from ..registry import Registry
from .conditional import CONDITIONINGS, ConcatDiscriminator, ProjectionDiscriminator
from .dcgan import DCGANDiscriminator, DCGANGenerator, upsampling_plan
from .ebgan import ConvAutoencoder, MLPAutoencoder
from .infogan import InfoGANDiscriminator, QHead
from .layers import DOutput, MinibatchStd
from .mlp import Maxout, MLPDiscriminator, MLPGenerator

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ModelFamily:
    # (cfg, input width, item shape, kind) -> G
    generator: Callable[[ModelConfig, int, Shape, str], nn.Module]
    discriminator: Callable[[ModelConfig, Shape], nn.Module]        # (cfg, D's input shape)
    autoencoder: Callable[[ModelConfig, Shape], nn.Module]          # EBGAN's D, same arguments
    label_maps: bool = False  # concatenated labels enter D as constant maps, not a vector
    check: Callable[[Shape, str], None] = lambda shape, kind: None  # refuses data it cannot model


MODELS: Registry[ModelFamily] = Registry("model")


def mlp_generator(cfg: ModelConfig, width: int, shape: Shape, kind: str) -> nn.Module:
    output = "sigmoid" if kind == "image" else "linear"  # images live in [0, 1], points anywhere
    return MLPGenerator(width, shape, cfg.g_hidden, output)


MODELS.add("mlp", ModelFamily(
    generator=mlp_generator,
    discriminator=lambda cfg, shape: MLPDiscriminator(shape, cfg.d_hidden, cfg.maxout_pieces,
                                                      cfg.d_dropout, cfg.minibatch_std,
                                                      cfg.d_hidden_dropout),
    autoencoder=lambda cfg, shape: MLPAutoencoder(shape, cfg.d_hidden, cfg.minibatch_std),
))


def check_dcgan(shape: Shape, kind: str) -> None:
    if kind != "image" or len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(
            f"the dcgan model needs square images, but the data has items of shape {shape}: "
            "use --model mlp for points or vectors"
        )
    try:
        upsampling_plan(shape[1])
    except ValueError as e:
        raise ConfigError(f"{e} (pass --resolution to resize the data)") from None


def dcgan_width(cfg: ModelConfig, resolution: int) -> int:
    return cfg.width or (128 if resolution <= 28 else 64)


MODELS.add("dcgan", ModelFamily(
    generator=lambda cfg, width, shape, kind: DCGANGenerator(width, shape[1], shape[0],
                                                             dcgan_width(cfg, shape[1])),
    discriminator=lambda cfg, shape: DCGANDiscriminator(shape[1], shape[0],
                                                        dcgan_width(cfg, shape[1]), cfg.minibatch_std),
    autoencoder=lambda cfg, shape: ConvAutoencoder(shape[1], shape[0], dcgan_width(cfg, shape[1]),
                                                   cfg.minibatch_std),
    label_maps=True, check=check_dcgan,
))


# Miyato et al. 2018: divide each weight by its largest singular value (one power iteration per
# training forward), so every layer of D, and D itself, is at most 1-Lipschitz. The power
# iteration's vectors u, v are buffers: they travel in the checkpoint with the weights.
def spectral_normalize_(module: nn.Module) -> nn.Module:
    """Spectral normalisation on every conv and linear layer of `module`, in place."""
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)):
            spectral_norm(layer)
    return module


def uniform_init_(module: nn.Module, r: float) -> nn.Module:
    """Weights of every conv and linear layer ~ U(-r, r), their biases 0: pylearn2's `irange`,
    the init of Goodfellow et al.'s MLP GAN (r = .05 for G, .005 for D). Norm layers keep theirs."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)):
            nn.init.uniform_(layer.weight, -r, r)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def d_input_shape(cfg: ModelConfig, family: ModelFamily, shape: Shape, num_classes: int,
                  pack: int) -> Shape:
    """What D reads: `pack` items along the first axis (PacGAN), plus one-hot labels when they
    are concatenated to its input."""
    shape = (pack * shape[0], *shape[1:])
    if not (cfg.conditional and CONDITIONINGS.get(cfg.conditioning) is ConcatDiscriminator):
        return shape
    extra = pack * num_classes
    return (shape[0] + extra, *shape[1:]) if family.label_maps else (math.prod(shape) + extra,)


def build_models(cfg: ModelConfig, sample_shape: Shape, kind: str, *, latent_width: int | None = None,
                 num_classes: int = 0, pack: int = 1, energy: bool = False):
    """G and D for items of `sample_shape`. latent_width: G's input (default cfg.latent_dim;
    gans/latent.py adds the label and InfoGAN codes); num_classes: the labels a conditional D
    reads; pack: items D judges at once; energy: D is an autoencoder (EBGAN)."""
    family, shape = MODELS.get(cfg.name), tuple(sample_shape)
    family.check(shape, kind)
    if cfg.conditional and num_classes < 1:
        raise ValueError("a conditional model needs num_classes")
    G = family.generator(cfg, latent_width or cfg.latent_dim, shape, kind)
    build_d = family.autoencoder if energy else family.discriminator
    D = build_d(cfg, d_input_shape(cfg, family, shape, num_classes, pack))
    if cfg.conditional:
        D = CONDITIONINGS.get(cfg.conditioning)(D, num_classes, family.label_maps)
    if cfg.info_categorical or cfg.info_continuous:
        D = InfoGANDiscriminator(D, QHead(D.feature_dim, cfg.info_categorical, cfg.info_continuous))
    for net, r in ((G, cfg.g_init), (D, cfg.d_init)):
        if r > 0:
            uniform_init_(net, r)
    return G, spectral_normalize_(D) if cfg.spectral_norm else D


__all__ = ["MODELS", "ModelFamily", "build_models", "spectral_normalize_", "uniform_init_", "DCGANGenerator",
           "DCGANDiscriminator", "MLPGenerator", "MLPDiscriminator", "Maxout", "MinibatchStd", "DOutput",
           "ConcatDiscriminator", "ProjectionDiscriminator", "InfoGANDiscriminator", "QHead",
           "MLPAutoencoder", "ConvAutoencoder"]
