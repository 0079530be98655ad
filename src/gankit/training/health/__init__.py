"""Training health: cheap signals, detectors that warn or act, and a report at the end.

The monitor is a run's first callback, so every logger after it (log.jsonl, TensorBoard, your
own callbacks) sees the signals it adds to each step's stats:
  grad_norm_g, grad_norm_d  every step: the L2 norm of G's / D's latest gradients. The loop
                            leaves them in .grad until its next zero_grad, so this costs one
                            fused norm per network and no extra backward pass.
  diversity                 at each check: the mean pairwise distance of a fixed batch of
                            samples in a feature space, over the same for as many real items
                            (1 = as spread out as the data). The space is the domain
                            classifier's features when the cache already holds one (it is never
                            trained here), the coordinates of 2-D points, else pixels (randomly
                            projected to PIXEL_DIMS dimensions above that).
  class_entropy             at each check, where classes can be told (the cached classifier, or
                            the nearest true mode of ring8 / grid25): the entropy of the
                            samples' class histogram over the data's.
  eval_<key>                every health.eval_every steps: health.eval_metric, as gankit evaluate
                            computes it; the best model by it is kept in checkpoints/best/.

Detectors, each health.<name> = off | warn | act, judged every health.every steps:
  divergence   NaN or Inf in a loss, weight or gradient, or a loss spike. act: reload the
               newest checkpoint (or the starting weights), multiply both learning rates by
               lr_factor and go on; after `rollbacks` of them, stop with a one-line
               TrainingError. It also looks before every checkpoint is written, so a saved
               checkpoint is always finite.
  collapse     diversity below collapse_ratio, or class entropy below collapse_entropy, for
               `patience` checks in a row: the numbers and a picture of the near-duplicate
               samples (RUN/health/collapse-step-N.png). act: stop the run (exit 1). The cure,
               packing (--pack 2, PacGAN), changes D's input, so it needs a new run, not a
               switch mid-run; the warning says so.
  vanishing    D rejects at least vanishing_acc of the fakes while |grad G| is below
               vanishing_grad times its largest so far, for `patience` checks. act: the
               vanishing_action -- nonsaturating (a minimax G loss becomes -log D(G(z))), noise
               (the loop's instance noise on everything D reads, std noise_std annealed to 0 by
               the last step like --instance-noise) or d_steps (halve D's steps per G step).
  equilibrium  D's accuracy within equilibrium_tol of 50% for equilibrium_window steps. act
               (--stop-at-equilibrium): stop the run, a success (exit 0).
Vanishing and equilibrium read D's accuracy, which means something for the probabilistic losses
(minimax, nonsaturating) only; under other losses they stay silent and the report says so.

Decisions depend only on the signals, and the monitor's accumulators and state travel in every
checkpoint (Trainer.state_dict's "callbacks"), so a resumed run decides the same things at the
same steps as a run straight through. The monitor draws from none of the training RNGs. Under
torchrun every rank runs it (the ranks see the same averaged statistics and act alike); only
rank 0 writes files.

Where each part lives:
  signals.py    the signals as pure functions of tensors (gradient norms, spread, class entropy,
                near-duplicates), the feature spaces diversity is measured in, and Signals, the
                record of one check.
  detectors.py  Detector and the four detectors, registered by name in DETECTORS, and ORDER,
                the order they are judged in.
  actions.py    what acting does: rollback (and the starting-weights snapshot), stop, the
                vanishing cures (VANISHING_ACTIONS) and the adjustments they leave, evaluation
                and the best checkpoint.
  report.py     what the monitor writes and says: events, the collapse picture, health.txt.
  monitor.py    HealthMonitor, the callback that ties them together and keeps the state.
"""

from ..distributed import is_main
from .actions import (
    LOWER_IS_BETTER,
    VANISHING_ACTIONS,
    add_instance_noise,
    halve_d_steps,
    snapshot,
    use_nonsaturating,
)
from .detectors import DETECTORS, ORDER, Collapse, Detector, Divergence, Equilibrium, Vanishing
from .monitor import SEED_OFFSET, HealthMonitor
from .signals import (
    PIXEL_DIMS,
    WATCHED,
    FeatureSpace,
    Signals,
    entropy,
    feature_space,
    fmt,
    grad_norm,
    near_duplicates,
    norm_of,
    spread,
    weight_norm,
)

__all__ = [
    "DETECTORS", "LOWER_IS_BETTER", "ORDER", "PIXEL_DIMS", "SEED_OFFSET", "VANISHING_ACTIONS",
    "WATCHED", "Collapse", "Detector", "Divergence", "Equilibrium", "FeatureSpace",
    "HealthMonitor", "Signals", "Vanishing", "add_instance_noise", "entropy", "feature_space",
    "fmt", "grad_norm", "halve_d_steps", "is_main", "near_duplicates", "norm_of", "snapshot",
    "spread", "use_nonsaturating", "weight_norm",
]
