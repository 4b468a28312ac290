"""AutoEncoderTransformer: quality against its baselines, and scikit-learn tooling."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from scipy.linalg import LinAlgWarning
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, KernelPCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    cross_val_score,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

import skae._autoencoder
from skae import AutoEncoderTransformer, EncoderClassifier
from skae._data import split_rows


def mse(a, b):
    return float(np.mean((a - b) ** 2))


@pytest.fixture(scope="module")
def digits():
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = (data.data / 16).astype(np.float32)
    return train_test_split(X, data.target, test_size=0.25, random_state=0)


@pytest.fixture(scope="module")
def kernel_pca_mse(digits):
    """Best held-out MSE of an RBF KernelPCA over a grid (tuned on the test set)."""
    X_train, X_test, _, _ = digits
    best = {}
    for k in (4, 8):
        errors = []
        for gamma in (0.05, 0.1, 0.2):  # the best lies inside this grid
            for alpha in (1e-4, 1e-3, 1e-2):
                kpca = KernelPCA(
                    k,
                    kernel="rbf",
                    gamma=gamma,
                    alpha=alpha,
                    fit_inverse_transform=True,
                )
                # The grid's smallest ridges leave the kernel ill-conditioned
                # for the inverse map; scipy says so and solves it anyway.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", LinAlgWarning)
                    kpca.fit(X_train)
                errors.append(
                    mse(kpca.inverse_transform(kpca.transform(X_test)), X_test)
                )
        best[k] = min(errors)
    return best


@pytest.mark.parametrize("k", [4, 8])
def test_digits_beats_pca_and_kernel_pca(digits, kernel_pca_mse, k):
    X_train, X_test, y_train, y_test = digits
    ae = AutoEncoderTransformer(n_components=k, max_iter=300, random_state=0).fit(
        X_train
    )
    pca = PCA(k).fit(X_train)
    ae_mse = mse(ae.reconstruct(X_test), X_test)
    pca_mse = mse(pca.inverse_transform(pca.transform(X_test)), X_test)
    assert ae_mse <= 0.65 * pca_mse
    assert ae_mse < kernel_pca_mse[k]

    def accuracy(codes_train, codes_test):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        return clf.fit(codes_train, y_train).score(codes_test, y_test)

    assert accuracy(ae.transform(X_train), ae.transform(X_test)) >= accuracy(
        pca.transform(X_train), pca.transform(X_test)
    )


def test_three_dimensional_manifold_in_forty_dimensions():
    # A 3-D cube bent into 40 dimensions by a random two-layer tanh map:
    # PCA(3) keeps 88% of the variance, an autoencoder nearly all of it.
    rng = np.random.default_rng(0)
    latent = rng.uniform(-1, 1, size=(3000, 3))
    hidden = np.tanh(
        latent @ (1.5 * rng.normal(size=(3, 16))) + 0.5 * rng.normal(size=16)
    )
    X = np.tanh(hidden @ (rng.normal(size=(16, 40)) / 2)).astype(np.float32)
    X_train, X_test = X[:2400], X[2400:]
    pca = PCA(3).fit(X_train)
    pca_mse = mse(pca.inverse_transform(pca.transform(X_test)), X_test)
    # The default stopping rule ends while the error still falls slowly
    # (measured 0.15 of PCA's); a tighter tol trains on to 0.07.
    ae = AutoEncoderTransformer(n_components=3, random_state=0).fit(X_train)
    assert mse(ae.reconstruct(X_test), X_test) <= 0.2 * pca_mse
    ae.set_params(tol=1e-4)
    ae.fit(X_train)
    assert mse(ae.reconstruct(X_test), X_test) <= 0.1 * pca_mse


class ThreadRecorder(Callback):
    def on_train_begin(self, net, **kwargs):
        self.threads_ = torch.get_num_threads()


def test_gridsearch_over_n_components_in_a_pipeline_with_two_jobs(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(
        AutoEncoderTransformer(
            max_iter=20, random_state=0, callbacks=[ThreadRecorder()]
        ),
        LogisticRegression(max_iter=500),
    )
    search = GridSearchCV(
        pipe, {"autoencodertransformer__n_components": [2, 8]}, cv=2, n_jobs=2
    ).fit(X_train, y_train)
    assert search.best_params_ == {"autoencodertransformer__n_components": 8}
    assert search.score(X_test, y_test) > 0.5

    # Each of the 2 workers may use at most cores / 2 torch threads.
    results = cross_validate(
        pipe, X_train, y_train, cv=2, n_jobs=2, return_estimator=True
    )
    limit = max(1, (torch.get_num_threads()) // 2)
    for fitted in results["estimator"]:
        recorder = dict(fitted[0].net_.callbacks_)["ThreadRecorder"]
        assert recorder.threads_ <= limit


def test_gridsearch_without_a_scorer_uses_score(digits):
    X_train = digits[0]
    search = GridSearchCV(
        AutoEncoderTransformer(max_iter=30, random_state=0),
        {"n_components": [1, 8]},
        cv=2,
    ).fit(X_train)
    assert search.best_params_ == {"n_components": 8}


def test_column_transformer_and_cross_val_score(digits):
    X_train, _, y_train, _ = digits
    columns = ColumnTransformer(
        [
            (
                "ae",
                AutoEncoderTransformer(n_components=4, max_iter=10, random_state=0),
                slice(0, 32),
            ),
            ("pass", "passthrough", slice(32, 64)),
        ]
    )
    out = columns.fit_transform(X_train)
    assert out.shape == (len(X_train), 4 + 32)
    assert list(columns.get_feature_names_out()[:2]) == [
        "ae__autoencodertransformer0",
        "ae__autoencodertransformer1",
    ]
    scores = cross_val_score(
        make_pipeline(columns, LogisticRegression(max_iter=500)), X_train, y_train, cv=3
    )
    assert scores.mean() > 0.5


# ------------------------------------------------------- a drop-in for PCA
def test_n_components_zero_gives_empty_codes_and_the_mean():
    X = np.random.default_rng(0).normal(size=(50, 4)) * 10 + 3
    ae = AutoEncoderTransformer(n_components=0, random_state=0, device="cpu").fit(X)
    codes = ae.transform(X)
    assert codes.shape == (50, 0)
    np.testing.assert_allclose(ae.reconstruct(X), np.tile(X.mean(axis=0), (50, 1)))
    np.testing.assert_allclose(ae.inverse_transform(codes), ae.reconstruct(X))
    assert ae.n_iter_ == 0
    assert ae.score(X) == pytest.approx(-X.var(axis=0).mean())


def test_a_code_wider_than_the_input_is_refused_and_as_wide_warned():
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match="n_components=4 must be at most n_features=3"):
        AutoEncoderTransformer(n_components=4, device="cpu").fit(X)
    with pytest.warns(UserWarning, match="no bottleneck"):
        AutoEncoderTransformer(n_components=3, max_iter=2, device="cpu").fit(X)


def test_codes_do_not_depend_on_the_data_units():
    X = np.random.default_rng(0).normal(size=(80, 6))
    params = dict(n_components=2, max_iter=20, random_state=0, device="cpu")
    small = AutoEncoderTransformer(**params).fit(X)
    huge = AutoEncoderTransformer(**params).fit(X * 1e6 + 5e6)
    # The two networks train in float32, where the inputs' last-bit
    # differences grow (Adam's first steps are signs of near-zero gradients
    # at the PCA start): equal codes up to training noise, well below their
    # spread (about 1), and equally good reconstructions.
    np.testing.assert_allclose(
        huge.transform(X * 1e6 + 5e6), small.transform(X), atol=0.1
    )
    assert huge.score(X * 1e6 + 5e6) / 1e12 == pytest.approx(small.score(X), rel=0.02)
    assert huge.scale_ == pytest.approx(small.scale_ * 1e6)


def test_fractional_search_keeps_the_r2_of_every_size_tried():
    X = load_digits().data[:400] / 16
    ae = AutoEncoderTransformer(
        n_components=0.15, max_iter=10, random_state=0, device="cpu"
    ).fit(X)
    scores = ae.bottleneck_scores_
    assert ae.n_components_ in scores and scores[ae.n_components_] >= 0.15
    assert all(score < 0.15 for k, score in scores.items() if k < ae.n_components_)
    assert ae.best_validation_score_ == scores[ae.n_components_]
    fixed = AutoEncoderTransformer(max_iter=2, device="cpu").fit(X)
    assert fixed.bottleneck_scores_ is None


# --------------------------------------------------- a drop-in for PCA
SMALL_DATA_SETS = [
    ("iris", 1),
    ("iris", 2),
    ("wine", 2),
    ("wine", 3),  # standardized: 0.024 below PCA without weight decay
    ("wine", 4),
    ("breast_cancer", 2),
    ("diabetes", 4),
]


@pytest.mark.parametrize("scaling", ["raw", "standardized"])
@pytest.mark.parametrize("name, k", SMALL_DATA_SETS)
def test_defaults_are_never_worse_than_pca_and_converge(name, k, scaling):
    # 0.1's defaults ended up to 0.5 below PCA here (iris) and ran out of
    # epochs on most of them.
    X = getattr(datasets, f"load_{name}")().data
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    if scaling == "standardized":
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    total = np.sum((X_test - X_train.mean(axis=0)) ** 2)
    pca = PCA(k).fit(X_train)
    pca_r2 = (
        1 - np.sum((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2) / total
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ae = AutoEncoderTransformer(n_components=k, random_state=0).fit(X_train)
    ae_r2 = 1 - np.sum((ae.reconstruct(X_test) - X_test) ** 2) / total
    assert ae.n_iter_ < ae.max_iter
    assert ae_r2 >= pca_r2 - 0.01


def test_the_pca_start_is_learnt_from_the_training_rows_only(monkeypatch):
    seen = []
    learn = skae._autoencoder.principal_directions
    monkeypatch.setattr(
        skae._autoencoder,
        "principal_directions",
        lambda X, k, scale: seen.append(X.copy()) or learn(X, k, scale),
    )
    X = np.random.default_rng(0).normal(size=(100, 6))
    estimators = [
        AutoEncoderTransformer(2, max_iter=2, random_state=0),
        AutoEncoderTransformer(
            2, max_iter=2, early_stopping=True, validation_fraction=0.2, random_state=0
        ),
        AutoEncoderTransformer(0.5, max_iter=2, random_state=0),
    ]
    for estimator in estimators:
        estimator.fit(X)
    assert_array_equal(seen[0], X)
    for estimator, rows in zip(estimators[1:], seen[1:], strict=True):
        train, _ = split_rows(100, estimator.validation_fraction, estimator._seed)
        assert_array_equal(rows, X[train])


class StartComputed(Exception):
    """Raised by a stand-in for principal_directions."""


def refuse_a_pca_start(X, n_components, scale):
    raise StartComputed


def test_the_classifier_pretrains_from_a_random_start(monkeypatch):
    monkeypatch.setattr(skae._autoencoder, "principal_directions", refuse_a_pca_start)
    X, y = load_digits(return_X_y=True)
    template = AutoEncoderTransformer(8, max_iter=2, random_state=0)
    clf = EncoderClassifier(template, max_iter=2).fit(X[:200] / 16, y[:200])
    # "auto" reads as "random" for pretraining, through the public parameter
    # of the clone; the template is untouched.
    assert clf.autoencoder_.init == "random"
    assert template.init == "auto"
    # An explicit start is the user's choice and is kept.
    with pytest.raises(StartComputed):
        EncoderClassifier(
            AutoEncoderTransformer(8, init="pca", max_iter=2), max_iter=2
        ).fit(X[:200] / 16, y[:200])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(activation="tanh"), "odd part is not linear"),
        (dict(hidden_layer_sizes=(3,)), "narrower than 2 \\* n_components"),
        (dict(architecture="gru", input_shape=(8, 8)), "not the dense 'mlp'"),
        (dict(output_activation="sigmoid", loss="bce"), "not centred"),
    ],
)
def test_init_pca_is_refused_where_the_network_cannot_start_there(params, match):
    X = load_digits().data[:100] / 16
    ae = AutoEncoderTransformer(2, init="pca", max_iter=2, **params)
    with pytest.raises(ValueError, match=match):
        ae.fit(X)
    assert not hasattr(ae, "n_components_")


def test_init_random_skips_the_pca_start(monkeypatch):
    monkeypatch.setattr(skae._autoencoder, "principal_directions", refuse_a_pca_start)
    X = load_digits().data[:100] / 16
    AutoEncoderTransformer(2, init="random", max_iter=2).fit(X)  # no StartComputed
    with pytest.raises(StartComputed):
        AutoEncoderTransformer(2, max_iter=2).fit(X)


@pytest.mark.parametrize("n_samples, early_stopping", [(1, False), (2, True)])
def test_init_pca_with_fewer_than_two_training_rows_says_so(n_samples, early_stopping):
    X = load_digits().data[:n_samples] / 16
    ae = AutoEncoderTransformer(
        2, init="pca", max_iter=2, early_stopping=early_stopping, device="cpu"
    )
    match = f"at least 2 training rows, and n_samples={n_samples} leaves 1"
    with pytest.raises(ValueError, match=match):
        ae.fit(X)
    assert not hasattr(ae, "n_components_")
