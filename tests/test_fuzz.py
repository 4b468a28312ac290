"""Property-based tests: every call returns finite, well-shaped output or says no.

For fuzzed input (shapes down to one row and one feature, more components
than features; float16/32/64, integers, bool, object and pandas nullable
dtypes with and without ``pd.NA``; extreme magnitudes; NaN and inf anywhere;
CSR/CSC matrices), each of ``fit``, ``partial_fit``, ``transform``,
``inverse_transform``, ``reconstruct``, ``score_samples`` and ``score`` of
every skae autoencoder (the classes in ``skae.__all__`` built on
``BaseAutoEncoder``, with their default regularisation) must
either return finite values of the right shape and dtype or raise a
ValueError with a message, and a call that raises changes nothing.

The default profile runs a few examples per test in the normal suite; set
``SKAE_FUZZ_PROFILE=fuzz`` (``make fuzz``) for 2,000 examples per test.
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import skae
from skae._base import BaseAutoEncoder
from skae._warnings import BottleneckWarning

settings.register_profile(
    "skae-small",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(os.environ.get("SKAE_FUZZ_PROFILE", "skae-small"))

NUMPY_DTYPES = [
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int64,
    np.uint8,
    np.uint64,
    np.bool_,
]
PANDAS_DTYPES = ["Float64", "Int64", "boolean", "float64"]
# Whole-matrix scales: tiny (subnormal products), ordinary, large, extreme.
SCALES = [1.0, 1e-300, 1e-30, 1e3, 1e15, 1e30, 1e38, 1e300]
EDGE_VALUES = [np.nan, np.inf, -np.inf, 1e308, -1e308, 3e38, 5e-324, 0.0]


@st.composite
def matrices(draw, n_rows=None, n_cols=None):
    """Draw (X, expected float dtype or None when not fixed) for fuzzing."""
    n_rows = draw(st.integers(1, 6)) if n_rows is None else n_rows
    n_cols = draw(st.integers(1, 5)) if n_cols is None else n_cols
    kind = draw(st.sampled_from(["numpy", "numpy", "sparse", "pandas", "object"]))
    base = draw(
        st.lists(
            st.floats(-3, 3, allow_nan=False, width=32),
            min_size=n_rows * n_cols,
            max_size=n_rows * n_cols,
        )
    )
    values = np.array(base, dtype=np.float64).reshape(n_rows, n_cols)
    values *= draw(st.sampled_from(SCALES))
    for _ in range(draw(st.integers(0, 2))):  # NaN, inf or extremes anywhere
        row, col = draw(st.integers(0, n_rows - 1)), draw(st.integers(0, n_cols - 1))
        values[row, col] = draw(st.sampled_from(EDGE_VALUES))
    if kind == "numpy":
        dtype = draw(st.sampled_from(NUMPY_DTYPES))
        with np.errstate(all="ignore"):
            if np.issubdtype(dtype, np.integer):
                info = np.iinfo(dtype)
                finite = np.nan_to_num(values, posinf=info.max, neginf=info.min)
                X = np.clip(finite, info.min, info.max).astype(dtype)
            else:
                X = values.astype(dtype)
        expected = dtype if dtype in (np.float32, np.float64) else np.float32
        return X, np.dtype(expected)
    if kind == "sparse":
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        with np.errstate(all="ignore"):
            values = values.astype(dtype)
        values[np.abs(values) < 1] = 0
        fmt = draw(st.sampled_from([sp.csr_matrix, sp.csc_matrix, sp.csr_array]))
        return fmt(values), np.dtype(dtype)
    if kind == "pandas":
        dtype = draw(st.sampled_from(PANDAS_DTYPES))
        columns = {}
        for j in range(n_cols):
            column = values[:, j]
            if dtype == "Int64":
                column = np.nan_to_num(np.clip(column, -(2**62), 2**62)).astype(
                    np.int64
                )
            elif dtype == "boolean":
                column = column > 0
            column = pd.array(column, dtype=dtype)
            if dtype != "float64" and draw(st.booleans()):
                column[draw(st.integers(0, n_rows - 1))] = pd.NA
            columns[f"c{j}"] = column
        return pd.DataFrame(columns), None
    # object arrays: numbers mixed with None, pd.NA, numeric and other strings
    cells = [
        draw(st.sampled_from([None, pd.NA, "1.5", "x", True]))
        if draw(st.integers(0, 4)) == 0
        else value
        for value in values.ravel().tolist()
    ]
    X = np.empty(len(cells), dtype=object)
    X[:] = cells
    return X.reshape(n_rows, n_cols), None


AUTOENCODERS = [
    cls
    for cls in (getattr(skae, name) for name in skae.__all__)
    if isinstance(cls, type) and issubclass(cls, BaseAutoEncoder)
]


@st.composite
def estimators(draw):
    cls = draw(st.sampled_from(AUTOENCODERS))
    return cls(
        n_components=draw(st.integers(1, 6)),
        hidden_layer_sizes=draw(st.sampled_from([(), (3,)])),
        activation=draw(st.sampled_from(["relu", "tanh", "sigmoid"])),
        batch_size=draw(st.sampled_from(["auto", 1, 4])),
        early_stopping=draw(st.booleans()),
        max_iter=2,
        random_state=0,
        device="cpu",
    )


def call(method, *args):
    """Return the method's result, or None after checking its ValueError."""
    try:
        result = method(*args)
    except ValueError as exc:
        assert len(str(exc)) > 10, f"unclear ValueError: {exc!r}"
        event(f"{method.__name__}: ValueError")
        return None
    event(f"{method.__name__}: returned")
    return result


def check_output(result, shape, dtype):
    assert isinstance(result, np.ndarray), type(result)
    assert result.shape == shape
    assert np.isfinite(result).all(), result
    if dtype is None:
        assert result.dtype in (np.float32, np.float64)
    else:
        assert result.dtype == dtype


def state_of(estimator, X):
    return estimator.n_iter_, estimator.transform(X)


def check_unchanged(estimator, before, X):
    n_iter, codes = before
    assert estimator.n_iter_ == n_iter
    assert_array_equal(estimator.transform(X), codes)


def check_every_method(estimator, X, dtype):
    n_samples = X.shape[0]
    codes = call(estimator.transform, X)
    if codes is not None:
        check_output(codes, (n_samples, estimator.n_components_), dtype)
        decoded = call(estimator.inverse_transform, codes)
        if decoded is not None:
            check_output(decoded, (n_samples, estimator.n_features_in_), dtype)
    result = call(estimator.reconstruct, X)
    if result is not None:
        check_output(result, (n_samples, estimator.n_features_in_), dtype)
    result = call(estimator.score_samples, X)
    if result is not None:  # float64: squared errors need its range
        check_output(result, (n_samples,), np.float64)
    result = call(estimator.score, X)
    if result is not None:
        assert isinstance(result, float) and np.isfinite(result)


def fit_or_refuse(estimator, X, dtype):
    """Fit; on refusal check the estimator stayed unfitted. Return success."""
    if call(estimator.fit, X) is None:
        with pytest.raises(NotFittedError):
            estimator.transform(np.zeros((1, 1)))
        return False
    assert estimator.n_features_in_ == X.shape[1]
    assert len(estimator.loss_curve_) == estimator.n_iter_
    assert np.isfinite(estimator.loss_curve_).all()
    return True


@pytest.fixture(autouse=True)
def _quiet():
    # What the fuzzed input is meant to provoke: two epochs that do not
    # converge, codes as wide as the input, a DataFrame after a fit on an
    # array, extremes that overflow float32 when cast, and inf and -inf in
    # one row (their sum, in scikit-learn's finiteness check, is NaN).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", BottleneckWarning)
        warnings.filterwarnings("ignore", "X has feature names", UserWarning)
        warnings.filterwarnings(
            "ignore", "(overflow|invalid value) encountered", RuntimeWarning
        )
        yield


@settings(PROFILE)
@given(data=st.data(), estimator=estimators())
def test_every_method_on_fuzzed_input(data, estimator):
    X, dtype = data.draw(matrices(), label="X")
    if not fit_or_refuse(estimator, X, dtype):
        return
    check_every_method(estimator, X, dtype)
    # Other data of the same width, possibly of another dtype or container.
    other, other_dtype = data.draw(matrices(n_cols=X.shape[1]), label="other")
    check_every_method(estimator, other, other_dtype)
    before = state_of(estimator, np.ones((2, X.shape[1])))
    if not hasattr(estimator, "partial_fit"):  # hidden with early stopping
        return
    if call(estimator.partial_fit, other) is None:
        check_unchanged(estimator, before, np.ones((2, X.shape[1])))
    else:
        assert estimator.n_iter_ == before[0] + 1
        check_every_method(estimator, X, dtype)


@settings(PROFILE)
@given(data=st.data(), estimator=estimators())
def test_inverse_transform_of_fuzzed_codes(data, estimator):
    # The plain autoencoder refuses a code wider than its input.
    narrowest = (
        estimator.n_components
        if type(estimator).__name__ == ("AutoEncoderTransformer")
        else 1
    )
    X = np.random.default_rng(0).normal(size=(8, data.draw(st.integers(narrowest, 5))))
    estimator.fit(X.astype(data.draw(st.sampled_from([np.float32, np.float64]))))
    width = data.draw(
        st.sampled_from([estimator.n_components_, estimator.n_components_ + 1])
    )
    codes, dtype = data.draw(matrices(n_cols=width), label="codes")
    if sp.issparse(codes):
        codes = codes.toarray()
    decoded = call(estimator.inverse_transform, codes)
    if width != estimator.n_components_:
        assert decoded is None
    elif decoded is not None:
        check_output(decoded, (codes.shape[0], estimator.n_features_in_), dtype)


@settings(PROFILE)
@given(data=st.data(), estimator=estimators())
def test_wrong_width_is_refused_and_changes_nothing(data, estimator):
    X = np.random.default_rng(0).normal(size=(8, 7))  # wider than any code drawn
    estimator.fit(X)
    before = state_of(estimator, X)
    wrong, _ = data.draw(matrices(n_cols=data.draw(st.sampled_from([1, 2, 6, 8]))))
    methods = [
        estimator.transform,
        estimator.reconstruct,
        estimator.score_samples,
        estimator.score,
    ]
    if hasattr(estimator, "partial_fit"):  # hidden with early stopping
        methods.append(estimator.partial_fit)
    for method in methods:
        assert call(method, wrong) is None
    check_unchanged(estimator, before, X)
