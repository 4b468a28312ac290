"""Input validation shared by the skae estimators."""

import contextlib

import numpy as np
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_is_fitted, validate_data

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _NonNumericInputError(ValueError, TypeError):
    """Input that cannot become a float array.

    A ValueError, as the docs promise, that is also the TypeError that
    scikit-learn's own estimator checks expect.
    """


@contextlib.contextmanager
def numeric_input():
    """Report input that cannot become a float array as a ValueError.

    scikit-learn's validation raises TypeError for cells such as ``pd.NA`` in
    an object array, and for sparse input where dense is required.
    """
    try:
        yield
    except TypeError as exc:
        raise _NonNumericInputError(f"Input must be a numeric array: {exc}") from exc


def check_fitted_input(estimator, X):
    """Validate X for a fitted estimator's prediction methods.

    Returns a float32/float64 ndarray or CSR/CSC matrix with the fitted
    number of features, as ``validate_data(reset=False)`` would.
    """
    check_is_fitted(estimator)
    if _is_plain_float_matrix(estimator, X):
        # The common case, already in its final form: validate_data would
        # only check finiteness, after ~60 us of container inspection (20% of
        # a load_digits-sized forward pass).
        assert_all_finite(X, input_name="X", estimator_name=type(estimator).__name__)
        return X
    with numeric_input():
        return validate_data(
            estimator,
            X,
            reset=False,
            accept_sparse=("csr", "csc"),
            dtype=(np.float32, np.float64),
        )


def _is_plain_float_matrix(estimator, X):
    """Whether validate_data(reset=False) would return X unchanged but checked."""
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _FLOAT_DTYPES
        and X.shape[0] > 0
        and X.shape[1] == getattr(estimator, "n_features_in_", None)
        # Fitted on a DataFrame: validate_data warns about the missing names.
        and not hasattr(estimator, "feature_names_in_")
    )
