"""When training stops: the stopping rule and the unit-free score it watches."""

import copy
import math

from skorch.callbacks import Callback

from ._progress import progress_callbacks


def copy_weights(module):
    """Return a detached copy of ``module``'s state dict (weights and buffers)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# The rule's two constants, measured on recorded training curves
# (benchmarks/README.md, "The stopping rule"): a score below LEARNT has not
# left the level of reconstructing the mean, so a plateau there is a slow
# start, not convergence; RELATIVE_TOL caps the gain asked of an epoch at
# that share of the error that remains, so near-perfect fits, where a gain
# of ``tol`` is most of what is left, keep training while they improve.
LEARNT = 0.05
RELATIVE_TOL = 0.02
# A training R² this high means the data are learnt whatever the start: a
# PCA start on data PCA explains (0.9999) that Adam's first steps move to
# 0.998 has not "learnt nothing", and does not warn.
NEAR_PERFECT = 0.99


def needed_gain(best, tol):
    """Return the gain over ``best`` that counts as an improvement.

    ``tol``, capped at ``RELATIVE_TOL`` times the remaining error
    ``1 - best`` of the unit-free score (1 is a perfect fit).
    """
    return min(tol, RELATIVE_TOL * max(1.0 - best, 0.0))


class StopOnPlateau(Callback):
    """The default stopping rule, with best weights kept across calls.

    An epoch improves when its monitored score (higher is better, 1 a
    perfect fit) beats the best so far by at least :func:`needed_gain`;
    training stops after more than ``patience`` epochs in a row without
    one, but never while the best score is below ``LEARNT``. An unbounded
    score (a VariationalAE's training ELBO, noisy from its sampled codes)
    is watched as its mean over the last ``patience + 1`` epochs of the
    call: a single lucky epoch would otherwise keep resetting the count
    while the trend gains less than ``tol`` an epoch. With
    ``keep_best`` the weights of the best epoch, over this call and the
    ``best`` handed over from earlier calls, are restored at the end.
    skorch's ``EarlyStopping`` only remembers weights that beat the
    threshold, so it would keep a different epoch than scikit-learn does.

    Parameters
    ----------
    monitor : str
        History key to watch, e.g. ``"train_score"`` or ``"valid_score"``.
    patience : int
        ``n_iter_no_change``.
    tol : float
        Improvement that resets the patience counter (see
        :func:`needed_gain`).
    keep_best : bool
        Restore the best epoch's weights when training ends.
    best : tuple (score, state_dict) or None, default=None
        The best of earlier calls on the same validation split.
    bounded : bool, default=True
        Whether the score is an R²: at most 1, and 0 for reconstructing
        the mean. Only then do the floor ``LEARNT`` and the relative cap
        apply; an unbounded score (a VariationalAE's training ELBO, which
        can stay negative while it learns) asks every epoch for ``tol``,
        on its running mean.
    """

    def __init__(self, monitor, patience, tol, keep_best, best=None, bounded=True):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.keep_best = keep_best
        self.best = best
        self.bounded = bounded

    def on_train_begin(self, net, **kwargs):
        # A warm start's history holds the earlier calls' epochs: the running
        # mean only averages this call's.
        self.first_epoch_ = len(net.history)
        score, weights = self.best if self.best is not None else (-math.inf, None)
        self.best_ = score
        self.best_weights_ = weights
        self.misses_ = 0
        self.stopped_ = False

    def on_epoch_end(self, net, **kwargs):
        score = self.watched(net.history)
        if self.improves(score):
            self.misses_ = 0
        elif not self.bounded or max(self.best_, score) >= LEARNT:
            self.misses_ += 1
        if score > self.best_:
            self.best_ = score
            if self.keep_best:
                self.best_weights_ = copy_weights(net.module_)
        if self.misses_ > self.patience:
            self.stopped_ = True
            raise KeyboardInterrupt  # skorch's own way to end fit_loop early

    def watched(self, history):
        """Return the score the rule compares: the last, or a running mean."""
        if self.bounded:
            return history[-1, self.monitor]
        recent = [
            epoch[self.monitor]
            for epoch in history[self.first_epoch_ :][-(self.patience + 1) :]
            if self.monitor in epoch
        ]
        return sum(recent) / len(recent)

    def improves(self, score):
        """Whether ``score`` improves on the best so far."""
        if self.best_ == -math.inf:
            return True
        needed = needed_gain(self.best_, self.tol) if self.bounded else self.tol
        return score > self.best_ and score - self.best_ >= needed

    def on_train_end(self, net, **kwargs):
        if self.keep_best and self.best_weights_ is not None:
            net.module_.load_state_dict(self.best_weights_)

    def best_pair(self):
        """Return the (score, weights) to hand to the next call, or None."""
        if not self.keep_best or self.best_weights_ is None:
            return None
        return float(self.best_), self.best_weights_


def learnt_too_little(history, validate, tol):
    """Return the kept epoch's training score if the fit learnt (almost) nothing.

    Nothing was learnt when the training score of the weights the fit
    keeps (the last epoch's, or the best validation epoch's with
    ``validate``) is below ``LEARNT``, or more than ``tol`` below the
    first epoch's and below ``NEAR_PERFECT``: the fit ended worse than it
    started. Returns None otherwise.
    """
    scores = [epoch.get("train_score", math.nan) for epoch in history]
    if not scores:
        return None
    kept = len(scores) - 1
    if validate:
        valid = [epoch.get("valid_score", -math.inf) for epoch in history]
        kept = max(range(len(valid)), key=valid.__getitem__)
    reached = scores[kept]
    if reached < LEARNT or (reached < scores[0] - tol and reached < NEAR_PERFECT):
        return float(reached)
    return None


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


def train_score_is_r2(estimator):
    """Whether ``estimator``'s training score is an R² (at most 1)."""
    return getattr(estimator, "_train_score_is_r2", True)


def training_callbacks(estimator, *, validate, total, best):
    """Return the stopping rule, progress bar and user callbacks (copied)."""
    stopping = StopOnPlateau(
        monitor="valid_score" if validate else "train_score",
        patience=estimator.n_iter_no_change,
        tol=estimator.tol,
        keep_best=validate,
        best=best if validate else None,
        bounded=validate or train_score_is_r2(estimator),
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
