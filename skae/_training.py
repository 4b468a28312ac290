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
import copy
import functools
import math
import os
import sys
import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from skorch.callbacks import Callback, ProgressBar
from skorch.helper import predefined_split

from ._precision import fused_optimizer_options
from .modules._random import seeded_construction, use_generators

OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
}


def resolve_device(device):
    """Turn the ``device`` parameter into an available :class:`torch.device`."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a valid torch device string."
        ) from None
    kind = resolved.type
    if kind == "cuda":
        available = torch.cuda.is_available() and (
            resolved.index is None or resolved.index < torch.cuda.device_count()
        )
    elif kind == "mps":
        available = torch.backends.mps.is_available()
    else:
        available = kind == "cpu"
    if not available:
        raise ValueError(
            f"device={device!r} is not available on this machine; use "
            "device='cpu' or device='auto'."
        )
    return resolved


def check_widths(sizes, name):
    """Return layer widths as a list of positive ints, or raise naming ``name``."""
    sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
    if any(not isinstance(s, Integral) or s < 1 for s in sizes):
        raise ValueError(f"{name} must hold positive integers, got {sizes}.")
    return sizes


def resolve_batch_size(batch_size, n_samples):
    """Rows per minibatch: an int, or "auto" = ``min(200, n_samples)``."""
    size = min(200, n_samples) if batch_size == "auto" else batch_size
    return max(1, min(size, n_samples))


def new_seed(random_state):
    """Draw the seed of a fit (split, generators) from ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def seed_clone(estimator, seed):
    """Give a cloned inner estimator ``seed`` when its own random_state is None.

    An outer estimator seeded by the user seeds the estimators it clones,
    so that its own results are reproducible; an inner seed the user set
    is kept. ``seed=None`` (the outer estimator unseeded) changes nothing.
    """
    params = estimator.get_params(deep=False)
    if seed is not None and params.get("random_state", 0) is None:
        estimator.set_params(random_state=seed)
    return estimator


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


def split_rows(n_samples, fraction, seed):
    """Shuffled (train, validation) row indices, each non-empty when possible."""
    order = np.random.RandomState(seed).permutation(n_samples)
    n_valid = min(max(1, int(round(fraction * n_samples))), n_samples - 1)
    if n_valid < 1:
        raise ValueError(
            "early_stopping needs at least 2 samples to hold out a validation split."
        )
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def to_device(data, target, device, dtype, nbytes):
    """Move small dense data to an accelerator once, not once per batch.

    ``data`` and ``target`` are tensors or scipy sparse matrices (those stay
    on the host and are densified batch by batch).
    """
    if device.type == "cpu" or nbytes > 2**30:
        return data, target
    if not sp.issparse(data):
        data = data.to(device, dtype)
    if target is not None and not sp.issparse(target):
        target = target.to(device, dtype if target.is_floating_point() else None)
    return data, target


def copy_weights(module):
    """Return a detached copy of ``module``'s state dict (weights and buffers)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def build_module(generators, build):
    """Call ``build()`` with its random initialisation drawn from ``generators``."""
    with seeded_construction(generators):
        return build()


class StopOnPlateau(Callback):
    """MLPRegressor's stopping rule, with best weights kept across calls.

    Training stops once the monitored score (higher is better) has failed to
    improve on the best so far by at least ``tol`` for more than
    ``patience`` epochs in a row. With ``keep_best`` the weights of the best
    epoch, over this call and the ``best`` handed over from earlier calls,
    are restored at the end. skorch's ``EarlyStopping`` only remembers
    weights that beat the threshold, so it would keep a different epoch
    than scikit-learn does.

    Parameters
    ----------
    monitor : str
        History key to watch, e.g. ``"train_score"`` or ``"valid_score"``.
    patience : int
        ``n_iter_no_change``.
    tol : float
        Minimum improvement that resets the patience counter.
    keep_best : bool
        Restore the best epoch's weights when training ends.
    best : tuple (score, state_dict) or None, default=None
        The best of earlier calls on the same validation split.
    """

    def __init__(self, monitor, patience, tol, keep_best, best=None):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.keep_best = keep_best
        self.best = best

    def on_train_begin(self, net, **kwargs):
        score, weights = self.best if self.best is not None else (-math.inf, None)
        self.best_ = score
        self.best_weights_ = weights
        self.misses_ = 0
        self.stopped_ = False

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        self.misses_ = self.misses_ + 1 if score < self.best_ + self.tol else 0
        if score > self.best_:
            self.best_ = score
            if self.keep_best:
                self.best_weights_ = copy_weights(net.module_)
        if self.misses_ > self.patience:
            self.stopped_ = True
            raise KeyboardInterrupt  # skorch's own way to end fit_loop early

    def on_train_end(self, net, **kwargs):
        if self.keep_best and self.best_weights_ is not None:
            net.module_.load_state_dict(self.best_weights_)

    def best_pair(self):
        """Return the (score, weights) to hand to the next call, or None."""
        if not self.keep_best or self.best_weights_ is None:
            return None
        return float(self.best_), self.best_weights_


class UnitFreeTrainScore(Callback):
    """Record ``train_score = 1 - train_loss / total variance per row``.

    The training loss as a fraction of the data's variance is unit-free, so
    ``tol`` means the same for any data scale and number of features, and
    the same kind of quantity as the held-out R² of early stopping.
    """

    def __init__(self, total):
        self.total = total

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "train_loss"]
        total = self.total if self.total > 0 else 1.0
        net.history.record("train_score", 1.0 - loss / total)


def training_callbacks(estimator, *, validate, total, best):
    """Return the stopping rule, progress bar and user callbacks (copied)."""
    stopping = StopOnPlateau(
        monitor="valid_score" if validate else "train_score",
        patience=estimator.n_iter_no_change,
        tol=estimator.tol,
        keep_best=validate,
        best=best if validate else None,
    )
    callbacks = [("train_score", UnitFreeTrainScore(total))]
    if estimator.verbose:
        callbacks.append(("progress", ProgressBar()))
    # The stopping rule ends an epoch by raising: it goes after the user's
    # callbacks, so that they see the last epoch too.
    callbacks += copy.deepcopy(estimator.callbacks or [])
    return callbacks + [("stopping", stopping)]


def net_arguments(estimator, *, n_samples, n_features, device, lr=None):
    """Return the skorch arguments every skae net takes from the estimator."""
    from ._net import TensorBatches, batch_rows

    optimizer, optimizer_kwargs = OPTIMIZERS[estimator.optimizer]
    fused = fused_optimizer_options(optimizer, device)
    optimizer_kwargs = {**optimizer_kwargs, **fused}
    return dict(
        optimizer=optimizer,
        lr=estimator.learning_rate_init if lr is None else lr,
        **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
        batch_size=resolve_batch_size(estimator.batch_size, n_samples),
        iterator_train=TensorBatches,
        iterator_train__shuffle=getattr(estimator, "shuffle", True),
        iterator_valid=TensorBatches,
        iterator_valid__batch_size=batch_rows(n_samples, n_features),
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
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached "
            "and the optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=caller_stacklevel(),
        )


# Frames a warning should skip to reach the user's line: skae's and
# scikit-learn's own code, and the decorators they wrap methods in.
_LIBRARY_FILES = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(sklearn.__file__) + os.sep,
    contextlib.__file__,
    functools.__file__,
)


def caller_stacklevel():
    """Stack level of the first frame outside skae and scikit-learn.

    The warning then points at the user's line, as scikit-learn's own
    ConvergenceWarnings do.
    """
    frame = sys._getframe(1)  # the caller of this function
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_FILES):
        frame = frame.f_back
        level += 1
    return level
