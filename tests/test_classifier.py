"""EncoderClassifier: pretraining on unlabelled rows, then probe and fine-tune."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from skorch.callbacks import Callback

from skae import AutoEncoderTransformer
from skae._classifier import EncoderClassifier

FAST = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, device="cpu")


def with_unlabelled(y, rows):
    """A copy of ``y`` with ``rows`` marked unlabelled (-1)."""
    y = np.array(y, dtype=object if np.asarray(y).dtype.kind in "OU" else None)
    y[np.asarray(list(rows), dtype=int)] = -1
    return y


def make_data(n_samples=120, n_features=10, dtype=np.float64, seed=0):
    """Three classes around the corners of a curved 2-D sheet."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % 3
    centers = np.array([[-2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    latent = centers[y] + 0.5 * rng.normal(size=(n_samples, 2))
    X = np.tanh(latent @ rng.normal(size=(2, n_features)))
    X += 0.05 * rng.normal(size=X.shape)
    return X.astype(dtype), y


def fast(**params):
    ae = params.pop("autoencoder", AutoEncoderTransformer(**FAST))
    defaults = dict(max_iter=20, random_state=0, device="cpu")
    return EncoderClassifier(ae, **{**defaults, **params})


@pytest.fixture(scope="module")
def fitted():
    X, y = make_data()
    return fast().fit(X, y)


def labelled_subset(y, per_class, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), per_class, replace=False)
            for c in range(10)
        ]
    )


def digits_split(n_noise_features=0):
    data = load_digits()
    X = data.data / 16
    if n_noise_features:
        noise = np.random.default_rng(0).uniform(size=(len(X), n_noise_features))
        X = np.hstack([X, noise])
    return train_test_split(
        X.astype(np.float32),
        data.target,
        test_size=0.25,
        stratify=data.target,
        random_state=0,
    )


# ------------------------------------------------------- what it must show
def test_five_labels_per_class_beat_logistic_regression_on_pixels():
    X_train, X_test, y_train, y_test = digits_split()
    labelled = labelled_subset(y_train, 5)
    unlabelled = np.setdiff1d(np.arange(len(y_train)), labelled)
    pixels = LogisticRegression(max_iter=2000).fit(X_train[labelled], y_train[labelled])
    ae = AutoEncoderTransformer(n_components=16, random_state=0, device="cpu")
    clf = EncoderClassifier(ae, random_state=0, device="cpu")
    clf.fit(X_train, with_unlabelled(y_train, unlabelled))
    # Measured: 0.929 against 0.856 (0.840 in 0.2, before fine-tuning used
    # the unlabelled rows).
    assert clf.score(X_test, y_test) >= pixels.score(X_test, y_test) + 0.04


def test_pretraining_pays_when_most_features_are_noise():
    # 300 uniform-noise features next to the 64 pixels, 2 labels per class.
    X_train, X_test, y_train, y_test = digits_split(n_noise_features=300)
    labelled = labelled_subset(y_train, 2)
    unlabelled = np.setdiff1d(np.arange(len(y_train)), labelled)
    X_labelled, y_labelled = X_train[labelled], y_train[labelled]
    pixels = LogisticRegression(max_iter=2000).fit(X_labelled, y_labelled)
    # The same network as the classifier's, trained on the labels only.
    scratch = MLPClassifier((128, 16), alpha=0.1, max_iter=1000, random_state=0)
    scratch.fit(X_labelled, y_labelled)
    ae = AutoEncoderTransformer(n_components=16, random_state=0, device="cpu")
    clf = EncoderClassifier(ae, alpha=0.1, random_state=0, device="cpu")
    clf.fit(X_train, with_unlabelled(y_train, unlabelled))
    accuracy = clf.score(X_test, y_test)
    # Measured: 0.540 against 0.451 (pixels) and 0.367 (from scratch); 0.50 to
    # 0.55 over the autoencoder's random_state 0-3. (0.631 in 0.1, before the
    # autoencoder centred and scaled its input.)
    assert accuracy >= pixels.score(X_test, y_test) + 0.05
    assert accuracy >= scratch.score(X_test, y_test) + 0.1


# ----------------------------------------------------------------- recipe
class PhaseRecorder(Callback):
    """Records the learning rate and whether the encoder trains, per epoch."""

    def initialize(self):
        self.epochs_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        encoder = net.module_.encoder
        self.epochs_.append(
            (
                net.optimizer_.param_groups[0]["lr"],
                all(p.requires_grad for p in encoder.parameters()),
                encoder.training,
            )
        )


def test_linear_probe_then_fine_tuning_at_a_tenth_of_the_rate():
    X, y = make_data()
    clf = fast(max_iter=8, learning_rate_init=1e-3, callbacks=[PhaseRecorder()])
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    epochs = dict(clf.net_.callbacks_)["PhaseRecorder"].epochs_
    assert epochs[:8] == [(pytest.approx(1e-2), False, False)] * 8
    assert epochs[8:] == [(pytest.approx(1e-3), True, True)] * 8
    assert clf.n_iter_ == len(clf.loss_curve_) == 16


def test_fine_tune_false_only_trains_the_head():
    X, y = make_data()
    clf = fast(fine_tune=False).fit(X, y)
    assert encoder_drift(clf) == 0.0
    assert clf.n_iter_ <= 20


def test_fine_tuning_moves_a_copy_of_the_encoder(fitted):
    X, _ = make_data()
    pretrained = fitted.autoencoder_.encoder_
    assert fitted.module_.encoder is not pretrained
    changed = [
        not torch.equal(weight, pretrained.state_dict()[name])
        for name, weight in fitted.module_.encoder.state_dict().items()
    ]
    assert any(changed)
    # autoencoder_ is the pretrained autoencoder, untouched by fine-tuning.
    with torch.no_grad():
        codes = pretrained(torch.from_numpy(X)).numpy()
    assert_array_equal(fitted.autoencoder_.transform(X), codes)


def encoder_drift(clf):
    pretrained = clf.autoencoder_.encoder_.state_dict()
    return sum(
        float(torch.sum((weight - pretrained[name]) ** 2))
        for name, weight in clf.module_.encoder.state_dict().items()
    )


def test_alpha_keeps_the_encoder_near_its_pretrained_weights():
    X, y = make_data()
    free, held = (
        fast(alpha=alpha, learning_rate_init=1e-2, max_iter=30).fit(X, y)
        for alpha in (0.0, 10.0)
    )
    assert encoder_drift(held) < 0.1 * encoder_drift(free)
    # The penalty is L2-SP, (alpha / 2) * squared distance to the pretrained
    # weights, added to the cross-entropy while the encoder trains.
    net = held.net_
    net.anchor_ = list(held.autoencoder_.encoder_.parameters())
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    with torch.no_grad():
        logits = net.module_(Xt)
        plain = net.get_loss(logits, yt, X=Xt, training=False)
        penalised = net.get_loss(logits, yt, X=Xt, training=True)
    net.anchor_ = None
    assert float(penalised - plain) == pytest.approx(5.0 * encoder_drift(held))


def test_head_hidden_layers():
    X, y = make_data()
    clf = fast(head_hidden_layer_sizes=(16, 8)).fit(X, y)
    layers = [type(m).__name__ for m in clf.module_.head]
    assert layers == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert clf.module_.head[-1].out_features == 3
    assert [m.__class__.__name__ for m in fast().fit(X, y).module_.head] == ["Linear"]


class RowCounter(Callback):
    """Records how many rows each training pass saw."""

    def initialize(self):
        self.rows_ = []
        return self

    def on_train_begin(self, net, X=None, **kwargs):
        self.rows_.append(len(X))


def test_pretraining_and_fine_tuning_use_the_unlabelled_rows_too():
    X, y = make_data()
    X_unlabeled, _ = make_data(n_samples=50, seed=1)
    ae = AutoEncoderTransformer(**FAST, callbacks=[("rows", RowCounter())])
    X_all = np.vstack([X, X_unlabeled])
    y_all = np.concatenate([y, np.full(50, -1)])
    clf = fast(autoencoder=ae, callbacks=[("rows", RowCounter())]).fit(X_all, y_all)
    assert -1 not in clf.classes_
    assert dict(clf.autoencoder_.net_.callbacks_)["rows"].rows_ == [170]
    # The probe trains on the labelled rows, fine-tuning on every row.
    assert dict(clf.net_.callbacks_)["rows"].rows_ == [120, 170]
    without = fast(consistency_weight=0.0, callbacks=[("rows", RowCounter())])
    without.fit(X_all, y_all)
    assert dict(without.net_.callbacks_)["rows"].rows_ == [120, 120]


def test_unlabelled_rows_change_the_fitted_classifier():
    # The same rows, pretrained autoencoder and labels; with consistency_weight=0
    # fine-tuning sees the labelled rows only, which the probe ends at.
    X, y = make_data(n_samples=150)
    y_partial = with_unlabelled(y, np.setdiff1d(np.arange(150), np.arange(0, 150, 10)))
    ae = FrozenEstimator(AutoEncoderTransformer(**{**FAST, "max_iter": 20}).fit(X))
    with_rows, without_rows = (
        fast(autoencoder=ae, consistency_weight=weight).fit(X, y_partial)
        for weight in (3.0, 0.0)
    )
    assert not np.allclose(with_rows.predict_proba(X), without_rows.predict_proba(X))
    # Same labelled rows, different unlabelled ones: a different classifier.
    other = np.vstack([X[::10], make_data(n_samples=135, seed=1)[0]])
    y_other = np.concatenate([y[::10], np.full(135, -1)])
    moved = fast(autoencoder=ae).fit(other, y_other)
    assert not np.allclose(moved.predict_proba(X), with_rows.predict_proba(X))


def test_consistency_makes_predictions_agree_under_noise():
    X, _, y, _ = digits_split()
    X, y = X[:600], y[:600]
    y_partial = with_unlabelled(y, np.arange(60, 600))
    ae = AutoEncoderTransformer(n_components=16, max_iter=20, random_state=0)
    ae = FrozenEstimator(ae.fit(X))
    rng = np.random.default_rng(0)
    noisy = [X + 0.5 * X.std(axis=0) * rng.normal(size=X.shape) for _ in range(2)]

    def disagreement(weight):
        clf = fast(autoencoder=ae, consistency_weight=weight, max_iter=30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y_partial)
        first, second = (clf.predict_proba(x) for x in noisy)
        return np.mean(np.sum((first - second) ** 2, axis=1))

    # Measured: 0.044 against 0.059.
    assert disagreement(3.0) < 0.85 * disagreement(0.0)


def test_early_stopping_holds_its_rows_out_of_fine_tuning():
    X, y = make_data(n_samples=150)
    y_partial = with_unlabelled(y, np.arange(100, 150))
    clf = fast(
        early_stopping=True, validation_fraction=0.2, callbacks=[("rows", RowCounter())]
    ).fit(X, y_partial)
    # 100 labelled rows, 20 held out: the probe trains on 80, fine-tuning on
    # those 80 and the 50 unlabelled ones.
    assert dict(clf.net_.callbacks_)["rows"].rows_ == [80, 130]


@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix])
def test_sparse_input_matches_dense(fmt):
    X, y = make_data()
    X[np.abs(X) < 0.3] = 0
    y = with_unlabelled(y, np.arange(40))
    dense = fast().fit(X, y)
    sparse = fast().fit(fmt(X), y)
    for clf in (sparse,):
        assert_allclose(clf.predict_proba(fmt(X)), dense.predict_proba(X), rtol=1e-7)


def test_early_stopping_monitors_held_out_accuracy():
    X, y = make_data(n_samples=150)
    clf = fast(
        early_stopping=True, validation_fraction=0.2, max_iter=100, n_iter_no_change=3
    ).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # Accuracies of a stratified 30-row split: multiples of 1/30.
    scores = np.array(clf.validation_scores_) * 30
    assert_allclose(scores, np.round(scores), atol=1e-9)


def test_without_early_stopping_there_are_no_validation_scores(fitted):
    assert fitted.validation_scores_ is None
    assert fitted.best_validation_score_ is None


def test_convergence_warning_when_max_iter_is_hit():
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        fast(max_iter=2).fit(*make_data())


def test_verbose_prints_the_epoch_table(capsys):
    fast(max_iter=2, verbose=2, early_stopping=True).fit(*make_data())
    out = capsys.readouterr().out
    assert re.search(
        r"epoch\s+train_loss\s+train_score\s+valid_loss\s+valid_score", out
    )


# --------------------------------------------------------------- outputs
def test_string_labels():
    X, y = make_data()
    names = np.array(["cat", "dog", "emu"])[y]
    clf = fast().fit(X, names)
    assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    predicted = clf.predict(X)
    assert set(predicted) <= {"cat", "dog", "emu"}
    assert clf.score(X, names) == np.mean(predicted == names) > 0.8
    proba = clf.predict_proba(X)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)


def test_predict_proba_is_a_distribution_over_classes_(fitted):
    X, y = make_data()
    proba = fitted.predict_proba(X)
    assert proba.shape == (120, 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba >= 0)
    assert fitted.score(X, y) > 0.9


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probabilities_follow_input_dtype(dtype):
    X, y = make_data(dtype=dtype)
    clf = fast(max_iter=3).fit(X, y)
    assert next(clf.module_.parameters()).dtype == getattr(torch, np.dtype(dtype).name)
    assert clf.predict_proba(X).dtype == dtype


def test_random_state_gives_identical_results_and_spares_global_rng():
    X, y = make_data()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    # The default autoencoder (random_state=None) is seeded from ours.
    params = dict(autoencoder=AutoEncoderTransformer(max_iter=5, device="cpu"))
    first = fast(**params).fit(X, y).predict_proba(X)
    assert torch.equal(torch.get_rng_state(), before)
    assert_array_equal(fast(**params).fit(X, y).predict_proba(X), first)
    assert not np.allclose(
        fast(**params, random_state=1).fit(X, y).predict_proba(X), first
    )


def test_default_autoencoder_follows_the_device():
    X, y = make_data(n_samples=30)
    clf = EncoderClassifier(max_iter=2, random_state=0, device="cpu").fit(1e-3 * X, y)
    assert type(clf.autoencoder_) is AutoEncoderTransformer
    assert clf.autoencoder_.device == "cpu"
    assert clf.device_ == torch.device("cpu")


def test_a_frozen_autoencoder_is_not_refitted():
    X, y = make_data()
    ae = AutoEncoderTransformer(**FAST).fit(X)
    before = ae.transform(X)
    clf = fast(autoencoder=FrozenEstimator(ae)).fit(X, with_unlabelled(y, range(60)))
    assert clf.autoencoder_.estimator is ae
    assert ae.n_iter_ == 5
    assert_array_equal(ae.transform(X), before)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(head_hidden_layer_sizes=(4, 0)), "head_hidden_layer_sizes"),
        (dict(autoencoder=PCA(2)), "encoder_"),
        (dict(autoencoder="pca"), "autoencoder"),
        (dict(optimizer="lbfgs"), "optimizer"),
        (dict(consistency_weight=-1.0), "consistency_weight"),
        (dict(consistency_noise=0.0), "consistency_noise"),
        (dict(device="cuda:7"), re.escape("cuda:7")),
    ],
)
def test_invalid_parameters_raise(params, match):
    if params.get("device") == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    with pytest.raises(ValueError, match=match):
        fast(**params).fit(*make_data())


def test_one_class_is_refused():
    X, y = make_data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        fast().fit(X, np.zeros_like(y))


def test_continuous_targets_are_refused():
    X, _ = make_data()
    with pytest.raises(ValueError, match="Unknown label type"):
        fast().fit(X, np.linspace(0, 1, len(X)))


def test_all_rows_unlabelled_is_refused():
    X, y = make_data()
    with pytest.raises(ValueError, match="needs labelled rows"):
        fast().fit(X, np.full(len(y), -1))


def test_x_unlabeled_is_gone():
    X, y = make_data()
    with pytest.raises(TypeError, match="X_unlabeled"):
        fast().fit(X, y, X_unlabeled=X)


def test_bad_input_raises_and_changes_nothing(fitted):
    X, y = make_data()
    clf = pickle.loads(pickle.dumps(fitted))
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="10 features"):
        clf.predict(X[:, :4])
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert_array_equal(clf.predict_proba(X), before)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_unfitted_classifier_raises_not_fitted(method):
    X, y = make_data()
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError):
        getattr(fast(), method)(*args)


# -------------------------------------------------------------- sklearn
def test_is_a_classifier_that_clones_and_pickles(fitted):
    X, _ = make_data()
    assert is_classifier(fitted)
    twin = clone(fitted)
    assert twin.get_params()["fine_tune"] is True
    assert not hasattr(twin, "classes_")
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert restored.module_ is restored.net_.module_


def test_dataframe_input_records_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = make_data()
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    clf = fast(max_iter=3).fit(X, pd.Series(y))
    assert_array_equal(clf.feature_names_in_, X.columns)
    assert clf.predict(X).shape == (120,)
