"""Fits on small bundled tables that must stop on their own (batch policy tests)."""

import warnings

from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

from skae._warnings import SkaeConvergenceWarning


def standardized_wine():
    return StandardScaler().fit_transform(load_wine().data)


def fit_converging(estimator, X):
    """Fit ``estimator`` on X, failing on a convergence warning or at max_iter."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkaeConvergenceWarning)
        estimator.fit(X)
    assert estimator.n_iter_ < estimator.max_iter
    return estimator
