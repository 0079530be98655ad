"""A run's GAN from its settings and what the data is: the latent layout, the nets sized for it,
the objective with its settings bound, and the extra terms of InfoGAN and EBGAN."""

from __future__ import annotations

from ..config import Config
from ..errors import ConfigError
from ..losses import build_loss, pulling_away
from ..nets import build_models
from .gan import GAN, Term
from .infogan import info_loss
from .latent import LatentLayout


def build_gan(cfg: Config, sample_shape: tuple[int, ...], kind: str, num_classes: int = 0,
              data_name: str = "this data") -> GAN:
    m, t = cfg.model, cfg.train
    loss = build_loss(t)
    if m.conditional and num_classes < 1:
        raise ConfigError(f"model.conditional needs labelled data (mnist, fashion-mnist, digits, an "
                          f"image folder with class sub-folders, an .npz with labels); {data_name} "
                          "has no labels")
    if m.conditional and loss.autoencoder:
        raise ConfigError("EBGAN's autoencoder D (train.loss energy) reads no labels: "
                          "drop model.conditional or choose another loss")
    latent = LatentLayout(m.latent_dim, m.prior, num_classes if m.conditional else 0,
                          m.info_categorical, m.info_continuous)
    G, D = build_models(m, sample_shape, kind, latent_width=latent.dim, num_classes=num_classes,
                        pack=t.pack, energy=loss.autoencoder)
    terms = []
    if latent.categorical or latent.continuous:
        terms.append(Term("info", lambda out, parts: info_loss(out.q, parts, latent.categorical),
                          t.info_weight, ("d", "g")))
    if t.pt_weight > 0:
        terms.append(Term("pt", lambda out, parts: pulling_away(out.features), t.pt_weight, ("g",)))
    return GAN(G, D, loss, m.latent_dim, m.prior, latent=latent, pack=t.pack,
               feature_matching=t.feature_matching, terms=terms)
