"""When training stops: the stopping rule and the unit-free score it watches."""

import copy
import math

from skorch.callbacks import Callback

from ._progress import progress_callbacks


def copy_weights(module):
    """Return a detached copy of ``module``'s state dict (weights and buffers)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


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
    # The user's callbacks may record scores the progress shows; the stopping
    # rule ends an epoch by raising, so it goes last and every other
    # callback sees the last epoch too.
    return [
        ("train_score", UnitFreeTrainScore(total)),
        *copy.deepcopy(estimator.callbacks or []),
        *progress_callbacks(estimator.verbose),
        ("stopping", stopping),
    ]
