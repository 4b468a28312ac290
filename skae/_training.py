"""The training machinery that every skae estimator shares.

The autoencoders and :class:`~skae.EncoderClassifier` build their skorch net,
seed it, feed it and keep its state through these functions, so that a fix
here is a fix everywhere:

- every call (``fit``, a warm-started ``fit``, ``partial_fit``) builds a new
  net from the estimator's current parameters around the module it trains,
  so no training parameter is ever silently kept from an earlier call;
- randomness comes from the fit's own :class:`~skae.modules._random.FitGenerators`,
  never torch's global streams;
- with validation, the best (score, weights) pair is carried across calls
  and phases, so ``best_validation_score_`` always describes the weights the
  estimator holds;
- a failed call restores the estimator as it was.
"""

import contextlib
from numbers import Integral

import torch
from skorch.helper import predefined_split

from ._inference import block_rows
from ._net import GrowBatch, TensorBatches
from ._precision import fused_optimizer_options
from ._warnings import SkaeConvergenceWarning, warn_user
from .modules._random import use_generators

OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
}


class TrainedNetMixin:
    """The fitted views every estimator that owns a skorch ``net_`` shares."""

    @property
    def module_(self):
        """The trained torch module (lives in ``net_``)."""
        return self.net_.module_

    @property
    def device_(self):
        """The device the weights live on."""
        return torch.device(self.net_.device)


def check_widths(sizes, name):
    """Return layer widths as a list of positive ints, or raise naming ``name``."""
    sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
    if any(not isinstance(s, Integral) or s < 1 for s in sizes):
        raise ValueError(f"{name} must hold positive integers, got {sizes}.")
    return sizes


def resolve_batch_size(batch_size, n_samples, min_batches=1):
    """Rows per minibatch: an int, or "auto" = ``min(200, n_samples)``.

    ``min_batches`` > 1 makes "auto" split a small table into at least that
    many batches per epoch (an estimator that needs more optimizer steps
    than ``max_iter`` one-batch epochs give).
    """
    if batch_size == "auto":
        size = min(200, -(-n_samples // min_batches))
    else:
        size = batch_size
    return max(1, min(size, n_samples))


#: The large-data batch policy of ``batch_size="auto"`` under bfloat16 on the
#: CPU: from this many training rows, GROWN_AFTER epochs at 200 rows, then
#: batches of GROWN_BATCH with the learning rate scaled by their square root.
#: bfloat16 matrix units need large products to pay: on a 2-core Xeon with
#: AMX (784-256-32) an epoch at 1024 rows costs 0.38x one at 200, but from
#: the start needs 1.7x the epochs; grown after 3 epochs it keeps most of
#: both (benchmarks/README.md, "Speed"). Float32 gains nothing from larger
#: batches there (1.32x the time to the same error), so it keeps 200.
GROW_ROWS = 20_000
GROWN_AFTER = 3
GROWN_BATCH = 1024


def batch_growth(estimator, n_samples, device):
    """Return the policy's ``(name, GrowBatch)`` callback pair in a list, or []."""
    if (
        estimator.batch_size != "auto"
        or estimator.precision != "bfloat16"
        or torch.device(device).type != "cpu"
        or n_samples < GROW_ROWS
    ):
        return []
    return [("batch_growth", GrowBatch(after=GROWN_AFTER, size=GROWN_BATCH))]


@contextlib.contextmanager
def restore_on_failure(estimator):
    """Restore the estimator's attributes if the call raises."""
    state = estimator.__dict__.copy()
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise


def net_arguments(estimator, *, n_samples, n_features, device, lr=None):
    """Return the skorch arguments every skae net takes from the estimator."""
    optimizer, optimizer_kwargs = OPTIMIZERS[estimator.optimizer]
    fused = fused_optimizer_options(optimizer, device)
    optimizer_kwargs = {**optimizer_kwargs, **fused}
    return dict(
        optimizer=optimizer,
        lr=estimator.learning_rate_init if lr is None else lr,
        **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
        batch_size=resolve_batch_size(
            estimator.batch_size,
            n_samples,
            getattr(estimator, "_auto_min_batches", 1),
        ),
        iterator_train=TensorBatches,
        iterator_train__shuffle=getattr(estimator, "shuffle", True),
        iterator_valid=TensorBatches,
        # Validation needs no gradients: inference-sized blocks, which also
        # bound the memory of densified sparse rows.
        iterator_valid__batch_size=block_rows(n_samples, n_features, device),
        train_split=None,
        device=device,
        verbose=estimator.verbose,
    )


def run_epochs(net, generators, train, valid, epochs):
    """Train ``net`` for at most ``epochs`` epochs, drawing from ``generators``."""
    net.train_split = predefined_split(valid) if valid is not None else None
    net.max_epochs = epochs
    try:
        with use_generators(generators):
            net.partial_fit(train)
    finally:
        net.train_split = None  # the net must not keep the data alive
    return dict(net.callbacks_)["stopping"]


def record_training(estimator, net, stopping, *, validate, warn, max_iter):
    """Set ``n_iter_``, ``loss_curve_``, the validation record; warn if needed."""
    history = net.history
    estimator.net_ = net
    estimator.n_iter_ = len(history)
    estimator.loss_curve_ = [float(epoch["train_loss"]) for epoch in history]
    if stopping is None:  # nothing was trained (n_components=0)
        estimator._best = None
        estimator.validation_scores_ = [] if validate else None
        estimator.best_validation_score_ = None
        return
    if validate:
        estimator._best = stopping.best_pair()
        # Epochs of earlier warm-started fits may have had no validation.
        estimator.validation_scores_ = [
            float(epoch["valid_score"]) for epoch in history if "valid_score" in epoch
        ]
        estimator.best_validation_score_ = estimator._best[0]
    else:
        estimator._best = None
        estimator.validation_scores_ = None
        estimator.best_validation_score_ = None
    if warn and not stopping.stopped_:
        warn_user(
            f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached "
            "and the optimization hasn't converged yet.",
            SkaeConvergenceWarning,
            estimator,
        )
