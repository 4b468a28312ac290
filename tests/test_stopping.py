"""The default stopping rule, pinned on small training curves.

The curves are scores a fit records per epoch (``train_score``); the rule
sees nothing else, so each decision can be checked without training.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.history import History

from skae import AutoEncoderTransformer, VariationalAE
from skae._stopping import LEARNT, StopOnPlateau, learnt_too_little

# A GRU on sine sequences (issue data, seed 0): it reconstructs the mean for
# about 18 epochs, then starts to learn.
GRU_START = [-0.0003, 0.0026, 0.0042, 0.0059, 0.0071, 0.0078, 0.0082, 0.0086,
             0.0087, 0.0088, 0.0091, 0.0092, 0.0093, 0.0095, 0.0099, 0.0102,
             0.0105, 0.0112, 0.0125, 0.0177, 0.0369, 0.0617, 0.0890, 0.1055,
             0.1172, 0.1224, 0.1295, 0.1356, 0.1393, 0.1432]  # fmt: skip


# The defaults every decision below is pinned at.
TOL = AutoEncoderTransformer().tol
PATIENCE = AutoEncoderTransformer().n_iter_no_change


class _Net:
    def __init__(self):
        self.history = History()
        self.module_ = torch.nn.Linear(1, 1)


def epochs_run(
    curve, *, tol=TOL, patience=PATIENCE, monitor="train_score", bounded=True
):
    """Feed ``curve`` to the rule; return the epochs run before it stops."""
    rule = StopOnPlateau(monitor, patience, tol, keep_best=False, bounded=bounded)
    return epochs_run_with(rule, curve, monitor)


def epochs_run_with(rule, curve, monitor="train_score", earlier=()):
    """Feed ``curve`` to ``rule``; return the epochs run before it stops.

    ``earlier`` scores fill the history first, as an earlier call's epochs
    do on a warm start.
    """
    net = _Net()
    for score in earlier:
        net.history.new_epoch()
        net.history.record(monitor, score)
    rule.on_train_begin(net)
    for epoch, score in enumerate(curve, start=1):
        net.history.new_epoch()
        net.history.record(monitor, score)
        try:
            rule.on_epoch_end(net)
        except KeyboardInterrupt:
            assert rule.stopped_
            return epoch
    assert not rule.stopped_
    return len(curve)


def test_a_plateau_at_the_start_is_not_convergence():
    # 18 epochs below the learnt level, mostly gaining less than tol: the
    # 0.2 rule stopped at 12.
    assert max(GRU_START[:19]) < LEARNT
    assert epochs_run(GRU_START) == len(GRU_START)


def test_a_plateau_below_the_learnt_level_never_stops_however_long():
    assert epochs_run([-0.2] + [0.01] * 200) == 201


def test_a_plateau_after_learning_stops_after_the_patience():
    curve = GRU_START[:5] + [LEARNT + 0.1] * 20
    # Epoch 6 reaches the plateau; 6 misses in a row exceed a patience of 5.
    assert epochs_run(curve, patience=5) == 12


def test_a_slow_steady_descent_near_a_perfect_fit_keeps_training():
    # Each epoch removes 3 % of the remaining error: gains of 6e-4 to 1e-4,
    # all below tol, but above 2 % of what is left.
    curve = [1 - 0.02 * 0.97**epoch for epoch in range(60)]
    assert max(np.diff(curve)) < TOL
    assert epochs_run(curve) == 60


def test_a_converged_run_stops_after_the_patience():
    # Gains of 1e-4 at R² 0.87: below tol and below 2 % of the remaining 0.13.
    curve = [0.87 + 1e-4 * epoch for epoch in range(50)]
    assert epochs_run(curve, patience=5) == 7


def test_a_start_at_a_near_perfect_solution_stops_quickly():
    # PCA's start on data PCA explains: nothing left to gain.
    assert epochs_run([0.9999] * 50, patience=5) == 7


def test_a_gain_of_tol_counts_far_from_a_perfect_fit():
    curve = [0.5 + 1e-3 * epoch for epoch in range(40)]
    assert epochs_run(curve, tol=7e-4) == 40
    assert epochs_run(curve, tol=2e-3, patience=5) == 7


def test_the_validation_score_follows_the_same_rule():
    assert epochs_run(GRU_START, monitor="valid_score") == len(GRU_START)


def test_an_unbounded_score_asks_each_epoch_for_tol():
    # A VariationalAE's training ELBO can stay below 0 while it learns: no
    # floor there, and no cap relative to a "remaining error".
    curve = [-0.5 + 0.01 * epoch for epoch in range(10)] + [-0.41] * 30
    assert epochs_run(curve) == len(curve)  # as an R²: below LEARNT, never
    # Watched as a running mean over PATIENCE + 1 epochs, the score keeps
    # rising until the plateau fills the window, then the patience runs.
    stopped = epochs_run(curve, bounded=False)
    assert 10 + PATIENCE + 1 < stopped <= 10 + 2 * (PATIENCE + 1)


# A VariationalAE's defaults: its ELBO is unbounded.
VAE_TOL = VariationalAE().tol
VAE_PATIENCE = VariationalAE().n_iter_no_change


def noisy_rise(gain, noise, epochs=200):
    """A score gaining ``gain`` an epoch, every other epoch ``noise`` high."""
    return [gain * epoch + noise * (epoch % 2) for epoch in range(epochs)]


def test_an_unbounded_score_that_gains_less_than_tol_stops_despite_noise():
    # Standardized wine's ELBO gains about 0.003 an epoch late in training
    # while single epochs jump by 0.01: each lucky epoch beat the best by
    # tol, so a default VariationalAE ran all 200 epochs.
    curve = noisy_rise(0.003, 0.005)
    unsmoothed = StopOnPlateau(
        "train_score", VAE_PATIENCE, VAE_TOL, keep_best=False, bounded=False
    )
    unsmoothed.watched = lambda history: history[-1, "train_score"]
    assert epochs_run_with(unsmoothed, curve) == len(curve)
    assert epochs_run(curve, tol=VAE_TOL, patience=VAE_PATIENCE, bounded=False) < 30


def test_an_unbounded_score_that_gains_more_than_tol_keeps_training_despite_noise():
    curve = noisy_rise(0.008, 0.005)
    assert epochs_run(curve, tol=VAE_TOL, patience=VAE_PATIENCE, bounded=False) == len(
        curve
    )


def test_a_variational_fit_with_a_negative_elbo_score_stops_and_does_not_warn():
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(load_wine().data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # beta=1 (0.2's default): its training score stays below LEARNT, the
        # case under test.
        vae = VariationalAE(beta=1.0, random_state=0).fit(X)
    assert vae.net_.history[-1, "train_score"] < LEARNT
    assert vae.n_iter_ < vae.max_iter


def _history(train, valid=None):
    history = History()
    for epoch, score in enumerate(train):
        history.new_epoch()
        history.record("train_score", score)
        if valid is not None:
            history.record("valid_score", valid[epoch])
    return history


@pytest.mark.parametrize(
    "train, expected",
    [
        ([-0.3, 0.0, 0.02], 0.02),  # never left the mean's level
        ([0.6, 0.5, 0.4], 0.4),  # ended worse than it started
        ([0.0, 0.2, 0.4], None),
        ([0.9999, 0.99989], None),  # a start that had nothing left to gain
        ([0.9999, 0.998], None),  # ... that Adam moved a little: still learnt
        ([0.98, 0.95], 0.95),
    ],
)
def test_learnt_too_little_reads_the_kept_epoch(train, expected):
    assert learnt_too_little(_history(train), validate=False, tol=TOL) == expected


def test_learnt_too_little_reads_the_best_validation_epoch():
    history = _history([0.01, 0.3, 0.02], valid=[0.0, 0.4, 0.1])
    assert learnt_too_little(history, validate=True, tol=TOL) is None
    history = _history([0.3, 0.02, 0.4], valid=[0.0, 0.4, 0.1])
    assert learnt_too_little(history, validate=True, tol=TOL) == 0.02


def _slow_learner(**params):
    X = np.random.default_rng(0).normal(size=(200, 12))
    ae = AutoEncoderTransformer(
        n_components=3,
        hidden_layer_sizes=(16,),
        init="random",
        learning_rate_init=1e-6,
        random_state=0,
        **params,
    )
    return ae, X


def test_a_fit_that_learnt_nothing_keeps_training_and_warns_naming_what_to_try():
    ae, X = _slow_learner(max_iter=30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ae.fit(X)
    # Gains far below tol at a score near 0: the rule does not stop.
    assert ae.n_iter_ == 30
    messages = [str(w.message) for w in caught if w.category is not None]
    learnt = [m for m in messages if "learnt almost nothing" in m]
    assert len(learnt) == 1
    assert "learning_rate_init" in learnt[0] and "max_iter" in learnt[0]
    assert all(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_a_fit_that_learnt_warns_nothing():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 12))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutoEncoderTransformer(n_components=2, random_state=0).fit(X)


def test_an_incremental_fit_does_not_judge_one_epoch():
    ae, X = _slow_learner(max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ae.partial_fit(X)


def test_an_unbounded_running_mean_only_averages_this_calls_epochs():
    # A warm start keeps the earlier call's epochs in the history: averaged
    # in, the old plateau's scores leaving the window looked like misses and
    # a fit still gaining 0.02 an epoch stopped after 8.
    rule = StopOnPlateau(
        "train_score", VAE_PATIENCE, VAE_TOL, keep_best=False, bounded=False
    )
    curve = [-0.5 + 0.02 * epoch for epoch in range(1, 41)]
    assert epochs_run_with(rule, curve, earlier=[0.9] * 20) == len(curve)
