"""AutoEncoderOutlierDetector: anomaly detection by reconstruction error."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_outlier_detector
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import (
    AutoEncoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
    VariationalAE,
)
from skae._outlier import AutoEncoderOutlierDetector, robust_offset

FAST = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, device="cpu")


def make_data(n_samples=200, n_features=8, n_outliers=0, dtype=np.float64, seed=0):
    """Rows near a 2-D plane; the first ``n_outliers`` rows lie far off it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 2)) @ rng.normal(size=(2, n_features))
    X += 0.05 * rng.normal(size=X.shape)
    X[:n_outliers] = rng.normal(scale=3, size=(n_outliers, n_features))
    return X.astype(dtype)


def linear_ae(**params):
    defaults = dict(
        n_components=2,
        hidden_layer_sizes=(),
        learning_rate_init=1e-2,
        max_iter=100,
        random_state=0,
        device="cpu",
    )
    return AutoEncoderTransformer(**{**defaults, **params})


@pytest.fixture(scope="module")
def planted():
    X = make_data(n_outliers=10)
    ae = linear_ae(learning_rate_init=3e-2, max_iter=150)
    return X, AutoEncoderOutlierDetector(ae).fit(X)


@pytest.fixture(scope="module")
def digits_without_sevens():
    data = load_digits()
    X = (data.data / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, data.target, test_size=0.5, stratify=data.target, random_state=0
    )
    normal = X_train[y_train != 7]
    ae = AutoEncoderTransformer(
        n_components=4, max_iter=100, random_state=0, device="cpu"
    )
    detector = AutoEncoderOutlierDetector(ae).fit(normal)
    return normal, X_test, y_test == 7, detector


# ------------------------------------------------------- what it must show
def test_digits_sevens_are_found_better_than_by_pca(digits_without_sevens):
    normal, X_test, is_seven, detector = digits_without_sevens
    pca = PCA(n_components=4).fit(normal)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, 1)
    pca_auc = roc_auc_score(is_seven, pca_error)
    ae_auc = roc_auc_score(is_seven, -detector.score_samples(X_test))
    # Measured: 0.979 against PCA's 0.947.
    assert ae_auc >= pca_auc
    assert ae_auc > 0.95


@pytest.mark.parametrize("contamination", [0.02, 0.05, 0.1, 0.25])
def test_predict_flags_the_contamination_fraction_of_training_rows(
    digits_without_sevens, contamination
):
    normal, _, _, detector = digits_without_sevens
    # The fitted autoencoder is reused: only the threshold is set again.
    frozen = FrozenEstimator(detector.autoencoder_)
    refit = AutoEncoderOutlierDetector(frozen, contamination=contamination)
    flagged = np.mean(refit.fit_predict(normal) == -1)
    assert abs(flagged - contamination) <= 0.02


def test_auto_threshold_is_median_minus_three_robust_deviations(
    digits_without_sevens,
):
    normal, X_test, is_seven, detector = digits_without_sevens
    scores = detector.score_samples(normal).astype(np.float64)
    median = np.median(scores)
    mad = np.median(np.abs(scores - median))
    assert detector.offset_ == pytest.approx(median - 3 * 1.4826 * mad)
    # A few percent of the clean training rows, most of the unseen sevens.
    assert 0.005 < np.mean(detector.predict(normal) == -1) < 0.1
    assert np.mean(detector.predict(X_test[is_seven]) == -1) > 0.5


def test_auto_threshold_catches_planted_outliers(planted):
    X, detector = planted
    labels = detector.predict(X)
    assert_array_equal(labels[:10], -1)
    assert np.mean(labels[10:] == -1) < 0.05


def test_auto_threshold_flags_a_few_percent_of_zero_inflated_data():
    # 120 idle (all-zero) rows and 80 rows of small noise: the zero rows all
    # get one score, the MAD of the scores is 0, and the plain median rule
    # flagged every noise row (40 %).
    X = np.zeros((200, 6))
    X[120:] = 0.01 * np.random.default_rng(0).normal(size=(80, 6))
    detector = AutoEncoderOutlierDetector(linear_ae()).fit(X)
    scores = detector.score_samples(X)
    assert_array_equal(scores[:120], scores[0])
    flagged = detector.predict(X) == -1
    assert not flagged[:120].any()
    assert flagged.mean() <= 0.05


@pytest.mark.parametrize("tied_error", [0.0, 1.0, 3.0])
@pytest.mark.parametrize("share", [0.1, 0.3, 0.49, 0.5, 0.6, 0.9, 0.99])
def test_auto_threshold_flags_a_few_percent_whatever_the_share_of_tied_rows(
    share, tied_error
):
    # Errors of clean rows (a skewed chi-square, median 0.89) and a share of
    # identical rows whose error lies below, inside or above them.
    rng = np.random.default_rng(0)
    n_tied = int(share * 1000)
    errors = np.r_[np.full(n_tied, tied_error), rng.chisquare(6, 1000 - n_tied) / 6]
    offset = robust_offset(-errors)
    assert np.mean(-errors < offset) <= 0.05
    assert -tied_error >= offset  # a score that common is no outlier's


@pytest.mark.parametrize("n_tied", [0, 1, 5, 99])
def test_auto_threshold_is_unchanged_without_a_point_mass(n_tied):
    # Under 10 % of the rows share a score: the plain median and MAD rule.
    scores = -np.random.default_rng(0).chisquare(6, 1001) / 6
    scores[:n_tied] = scores[-1]
    median = np.median(scores)
    mad = np.median(np.abs(scores - median))
    assert robust_offset(scores) == pytest.approx(median - 3 * 1.4826 * mad)


def test_auto_threshold_of_identical_scores_flags_nothing():
    assert robust_offset(np.full(50, -0.25)) == -0.25


# ----------------------------------------------------------------- methods
def test_scores_decision_and_labels_agree(planted):
    X, detector = planted
    scores = detector.score_samples(X)
    assert_array_equal(scores, detector.autoencoder_.score_samples(X))
    assert_allclose(detector.decision_function(X), scores - detector.offset_)
    assert_array_equal(
        detector.predict(X), np.where(detector.decision_function(X) < 0, -1, 1)
    )
    assert detector.predict(X).dtype.kind == "i"


def test_feature_errors_are_squared_residuals_that_average_to_the_score(planted):
    X, detector = planted
    errors = detector.feature_errors(X)
    assert errors.shape == X.shape
    assert_allclose(errors, (X - detector.autoencoder_.reconstruct(X)) ** 2)
    assert_allclose(-errors.mean(axis=1), detector.score_samples(X), rtol=1e-10)


@pytest.mark.parametrize(
    "estimator", [AutoEncoderTransformer, SparseAE, ContractiveAE, DenoisingAE]
)
def test_score_is_minus_the_mean_feature_error_for_the_error_scored_family(
    estimator,
):
    X = make_data(n_outliers=5)
    detector = AutoEncoderOutlierDetector(estimator(n_components=2, **FAST)).fit(X)
    scores = detector.score_samples(X)
    assert_array_equal(scores, detector.autoencoder_.score_samples(X))
    assert_allclose(scores, -detector.feature_errors(X).mean(axis=1), rtol=1e-10)


def test_score_with_a_variational_autoencoder_is_its_elbo():
    X = make_data(n_outliers=5)
    vae = VariationalAE(n_components=2, **FAST)
    detector = AutoEncoderOutlierDetector(vae).fit(X)
    scores = detector.score_samples(X)
    assert_array_equal(scores, detector.autoencoder_.score_samples(X))
    # feature_errors stays the squared residual of the decoded mean code, but
    # its row mean is not the score: the ELBO is on another scale.
    assert_allclose(
        detector.feature_errors(X), (X - detector.autoencoder_.reconstruct(X)) ** 2
    )
    assert not np.allclose(scores, -detector.feature_errors(X).mean(axis=1))
    assert detector.predict(X).shape == (200,)


def test_feature_errors_point_at_the_corrupted_pixel(digits_without_sevens):
    normal, _, _, detector = digits_without_sevens
    # Pixels along the border that are (nearly) always blank in the digits.
    blank = np.flatnonzero(normal.max(axis=0) <= 0.25)[:8]
    rows = normal[: len(blank)].copy()
    rows[np.arange(len(blank)), blank] = 1.0
    assert_array_equal(detector.feature_errors(rows).argmax(axis=1), blank)
    assert np.all(detector.score_samples(rows) < detector.score_samples(normal[:8]))


@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix])
def test_sparse_input_matches_dense(fmt):
    X = make_data(n_outliers=5)
    X[np.abs(X) < 0.5] = 0
    dense = AutoEncoderOutlierDetector(linear_ae(max_iter=10)).fit(X)
    sparse = AutoEncoderOutlierDetector(linear_ae(max_iter=10)).fit(fmt(X))
    assert sparse.offset_ == pytest.approx(dense.offset_, rel=1e-10)
    assert_allclose(sparse.score_samples(fmt(X)), dense.score_samples(X), rtol=1e-10)
    assert_allclose(sparse.feature_errors(fmt(X)), dense.feature_errors(X), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_dtypes(dtype):
    # Scores are the autoencoder's, of its dtype; errors follow X.
    X = make_data(dtype=dtype)
    detector = AutoEncoderOutlierDetector(AutoEncoderTransformer(**FAST)).fit(X)
    scores = detector.autoencoder_.score_samples(X)
    assert detector.score_samples(X).dtype == scores.dtype
    assert detector.decision_function(X).dtype == scores.dtype
    assert detector.feature_errors(X).dtype == dtype


# ------------------------------------------------------- the autoencoder
def test_the_autoencoder_is_cloned_and_never_fitted_in_place():
    ae = AutoEncoderTransformer(**FAST)
    detector = AutoEncoderOutlierDetector(ae).fit(make_data())
    assert not hasattr(ae, "net_")
    assert detector.autoencoder_ is not ae
    assert detector.autoencoder_.get_params() == ae.get_params()


def test_default_autoencoder_is_a_plain_autoencoder_transformer():
    # Rows of tiny values: the default network converges in a few epochs.
    detector = AutoEncoderOutlierDetector().fit(1e-3 * make_data(n_samples=20))
    assert type(detector.autoencoder_) is AutoEncoderTransformer
    assert detector.autoencoder_.get_params() == AutoEncoderTransformer().get_params()


def test_a_frozen_autoencoder_is_used_as_fitted():
    X = make_data()
    ae = AutoEncoderTransformer(**FAST).fit(X)
    before = ae.transform(X)
    detector = AutoEncoderOutlierDetector(FrozenEstimator(ae)).fit(X[:100])
    assert detector.autoencoder_.estimator is ae
    assert ae.n_iter_ == 5
    assert_array_equal(ae.transform(X), before)
    assert_array_equal(detector.score_samples(X), ae.score_samples(X))


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(contamination=0.6), "contamination"),
        (dict(contamination=0.0), "contamination"),
        (dict(contamination="most"), "contamination"),
        (dict(autoencoder=PCA()), "autoencoder"),
    ],
)
def test_invalid_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        AutoEncoderOutlierDetector(**params).fit(make_data())


def test_bad_input_raises_and_changes_nothing(planted):
    X, detector = planted
    detector = pickle.loads(pickle.dumps(detector))
    before = detector.decision_function(X)
    with pytest.raises(ValueError, match="8 features"):
        detector.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        detector.fit(np.full((5, 8), np.nan))
    with pytest.raises(ValueError, match="2D array"):
        detector.feature_errors(X[0])
    assert detector.n_features_in_ == 8
    assert_array_equal(detector.decision_function(X), before)


@pytest.mark.parametrize(
    "method", ["predict", "decision_function", "score_samples", "feature_errors"]
)
def test_unfitted_detector_raises_not_fitted(method):
    with pytest.raises(NotFittedError):
        getattr(AutoEncoderOutlierDetector(), method)(make_data())


# -------------------------------------------------------------- sklearn
def test_is_an_outlier_detector_that_clones_and_pickles(planted):
    X, detector = planted
    assert is_outlier_detector(detector)
    twin = clone(detector)
    assert twin.get_params()["contamination"] == "auto"
    assert not hasattr(twin, "offset_")
    restored = pickle.loads(pickle.dumps(detector))
    assert_array_equal(restored.decision_function(X), detector.decision_function(X))


def test_dataframe_input_records_feature_names():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(make_data(), columns=[f"f{i}" for i in range(8)])
    detector = AutoEncoderOutlierDetector(AutoEncoderTransformer(**FAST)).fit(X)
    assert_array_equal(detector.feature_names_in_, X.columns)
    assert detector.predict(X).shape == (200,)
    with pytest.raises(ValueError, match="feature names"):
        detector.predict(X.rename(columns={"f0": "other"}))


def test_random_state_makes_fit_predict_equal_fit_then_predict():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    detector = AutoEncoderOutlierDetector(random_state=0)
    assert_array_equal(detector.fit_predict(X), clone(detector).fit(X).predict(X))
    assert detector.autoencoder is None  # nothing passed in is changed


def test_default_bottleneck_is_below_the_feature_count():
    X = np.random.default_rng(0).normal(size=(60, 2))
    detector = AutoEncoderOutlierDetector(random_state=0).fit(X)
    assert detector.autoencoder_.n_components_ == 1
