"""AutoEncoderOutlierDetector: anomaly detection by reconstruction error."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, clone, is_outlier_detector
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
from skae._outlier import DETECTOR_TRAINING, AutoEncoderOutlierDetector, robust_offset

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
    # Nine digit classes make nine groups of codes, not one Gaussian: the
    # reconstruction score suits them (see the class docstring).
    detector = AutoEncoderOutlierDetector(ae, anomaly_score="reconstruction")
    detector.fit(normal)
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


@pytest.fixture(scope="module")
def three_rows():
    """A plane of training rows and three rows: typical, off it, far out on it."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T  # orthonormal rows
    X = rng.normal(size=(300, 2)) @ basis + 0.05 * rng.normal(size=(300, 8))
    normal_row = 0.5 * basis[0]
    off_plane = (
        normal_row + 1.5 * np.linalg.qr(np.c_[basis.T, rng.normal(size=8)])[0][:, 2]
    )  # a unit direction orthogonal to the plane
    far_out = 6.0 * basis[0] + 6.0 * basis[1]  # 8.5 standard deviations out
    rows = np.vstack([normal_row, off_plane, far_out])
    detector = AutoEncoderOutlierDetector(linear_ae(max_iter=200)).fit(X)
    return rows, detector


def test_the_residual_part_sees_rows_off_the_manifold_only(three_rows):
    rows, detector = three_rows
    normal, off, far = detector.residual_distances(rows)
    assert off > 20 * normal
    assert far < off / 5  # on the plane: reconstructed about as well


def test_the_code_part_sees_rows_far_out_on_the_manifold_only(three_rows):
    rows, detector = three_rows
    normal, off, far = detector.code_distances(rows)
    assert far > 20 * normal
    assert off < far / 5  # its code is the typical row's


def test_the_combined_score_ranks_both_kinds_below_a_typical_row(three_rows):
    rows, detector = three_rows
    normal, off, far = detector.score_samples(rows)
    assert off < normal and far < normal
    assert np.all(detector.predict(rows) == [1, -1, -1])
    # The reconstruction error alone misses the row far out on the plane.
    errors = detector.feature_errors(rows).mean(axis=1)
    assert errors[2] < errors[1] / 50


def test_each_part_is_one_on_the_median_training_row(planted):
    X, detector = planted
    m_r, m_c = detector.part_scales_
    assert np.median(detector.residual_distances(X)) == pytest.approx(m_r)
    assert np.median(detector.code_distances(X)) == pytest.approx(m_c)
    assert detector.code_mean_.shape == (2,)
    assert detector.code_precision_.shape == (2, 2)
    scales = detector.feature_scales_
    assert scales.shape == (8,) and np.all(scales >= 0.1 * scales.mean() * 0.999)


def test_outliers_among_the_training_rows_do_not_widen_the_code_density():
    # 10 % of the training rows lie far out along the plane: a plain
    # covariance would stretch to cover them, the robust fit does not.
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T
    Z = rng.normal(size=(300, 2))
    Z[:30] *= 6
    X = Z @ basis + 0.05 * rng.normal(size=(300, 8))
    detector = AutoEncoderOutlierDetector(linear_ae(max_iter=200)).fit(X)
    distances = detector.code_distances(X)
    assert np.min(distances[:30]) > np.quantile(distances[30:], 0.5)
    assert np.mean(detector.predict(X[:30]) == -1) > 0.8
    assert np.mean(detector.predict(X[30:]) == -1) < 0.05


@pytest.mark.parametrize("kind", ["combined", "code"])
def test_auto_threshold_flags_a_few_percent_of_clean_rows(kind):
    X = make_data(n_samples=400)
    detector = AutoEncoderOutlierDetector(linear_ae(), anomaly_score=kind).fit(X)
    # Median + 3 robust deviations of a skewed part: a few percent (about 6 %
    # for a chi-square with 2 degrees of freedom, the code part of clean rows).
    assert 0.0 < np.mean(detector.predict(X) == -1) < 0.08


def test_code_score_is_minus_the_scaled_code_part(planted):
    X, detector = planted
    code = clone(detector).set_params(anomaly_score="code").fit(X)
    assert_allclose(
        code.score_samples(X), -code.code_distances(X) / code.part_scales_[1]
    )


def test_a_bottleneck_of_zero_leaves_the_residual_part():
    X = make_data()
    ae = AutoEncoderTransformer(n_components=0, **FAST)
    detector = AutoEncoderOutlierDetector(ae).fit(X)
    assert_array_equal(detector.code_distances(X), 0.0)
    assert_allclose(
        detector.score_samples(X),
        -detector.residual_distances(X) / detector.part_scales_[0],
    )


def test_the_parts_of_a_reconstruction_detector_are_refused(planted):
    X, detector = planted
    # Refitted in place from "combined": the old parts do not linger.
    plain = pickle.loads(pickle.dumps(detector))
    plain.set_params(anomaly_score="reconstruction").fit(X)
    assert not hasattr(plain, "code_precision_")
    assert not hasattr(plain, "part_scales_")
    with pytest.raises(AttributeError, match='anomaly_score="reconstruction"'):
        plain.code_distances(X)
    with pytest.raises(AttributeError, match='anomaly_score="reconstruction"'):
        plain.residual_distances(X)


def test_the_default_network_trains_with_the_detector_stopping_rule():
    X = make_data(n_samples=300)
    detector = AutoEncoderOutlierDetector(random_state=0).fit(X)
    assert detector.autoencoder_.tol == DETECTOR_TRAINING["tol"]
    assert detector.autoencoder_.n_iter_ < AutoEncoderTransformer().max_iter


@pytest.mark.parametrize("contamination", [0.02, 0.05, 0.1, 0.25])
def test_predict_flags_the_contamination_fraction_of_training_rows(
    digits_without_sevens, contamination
):
    normal, _, _, detector = digits_without_sevens
    # The fitted autoencoder is reused: only the threshold is set again.
    frozen = FrozenEstimator(detector.autoencoder_)
    refit = AutoEncoderOutlierDetector(
        frozen, anomaly_score=detector.anomaly_score, contamination=contamination
    )
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
    # Squared errors are skewed: 3 robust deviations above the median flag
    # 3-8 % of these inliers, depending on the draw (seeds 0-5).
    assert np.mean(labels[10:] == -1) < 0.1


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
    m_r, m_c = detector.part_scales_
    assert_allclose(
        scores,
        -(detector.residual_distances(X) / m_r + detector.code_distances(X) / m_c),
    )
    assert_allclose(detector.decision_function(X), scores - detector.offset_)
    assert_array_equal(
        detector.predict(X), np.where(detector.decision_function(X) < 0, -1, 1)
    )
    assert detector.predict(X).dtype.kind == "i"


def test_feature_errors_are_squared_residuals_that_average_to_the_score(planted):
    X, detector = planted
    detector = clone(detector).set_params(anomaly_score="reconstruction").fit(X)
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
    detector = AutoEncoderOutlierDetector(
        estimator(n_components=2, **FAST), anomaly_score="reconstruction"
    ).fit(X)
    scores = detector.score_samples(X)
    assert_array_equal(scores, detector.autoencoder_.score_samples(X))
    assert_allclose(scores, -detector.feature_errors(X).mean(axis=1), rtol=1e-10)


def test_score_with_a_variational_autoencoder_is_its_elbo():
    X = make_data(n_outliers=5)
    vae = VariationalAE(n_components=2, **FAST)
    detector = AutoEncoderOutlierDetector(vae, anomaly_score="reconstruction").fit(X)
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
    expected = AutoEncoderTransformer(n_components=2, **DETECTOR_TRAINING)
    assert detector.autoencoder_.get_params() == expected.get_params()


def test_a_frozen_autoencoder_is_used_as_fitted():
    X = make_data()
    ae = AutoEncoderTransformer(**FAST).fit(X)
    before = ae.transform(X)
    detector = AutoEncoderOutlierDetector(
        FrozenEstimator(ae), anomaly_score="reconstruction"
    ).fit(X[:100])
    assert detector.autoencoder_.estimator is ae
    assert ae.n_iter_ == 5
    assert_array_equal(ae.transform(X), before)
    assert_array_equal(detector.score_samples(X), ae.score_samples(X))
    # The parts are fitted on the rows fit sees, through the same network.
    detector.set_params(anomaly_score="combined").fit(X[:100])
    assert_array_equal(ae.transform(X), before)
    assert_allclose(
        detector.feature_scales_,
        np.maximum(
            ((ae.reconstruct(X[:100]) - X[:100]) ** 2).mean(axis=0),
            0.1 * ((ae.reconstruct(X[:100]) - X[:100]) ** 2).mean(),
        ),
    )


# ------------------------------------------------------------------ errors
class _NoCodes(BaseEstimator):
    """An autoencoder without codes: reconstruct and score_samples only."""

    def fit(self, X, y=None):
        self.mean_ = np.mean(X, axis=0)
        return self

    def reconstruct(self, X):
        return np.broadcast_to(self.mean_, np.shape(X)).copy()

    def score_samples(self, X):
        return -np.mean((np.asarray(X) - self.mean_) ** 2, axis=1)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(contamination=0.6), "contamination"),
        (dict(contamination=0.0), "contamination"),
        (dict(contamination="most"), "contamination"),
        (dict(autoencoder=PCA()), "autoencoder"),
        (dict(anomaly_score="likelihood"), "anomaly_score"),
        (dict(autoencoder=_NoCodes(), anomaly_score="code"), "no transform method"),
    ],
)
def test_invalid_parameters_raise(params, match):
    # The same object is refused every time and never fitted.
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
