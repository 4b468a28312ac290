"""The shared training machinery: warm starts, early stopping, seeds, labels."""

import io
import re
import threading
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skae import (
    AutoEncoderTransformer,
    DenoisingAE,
    EncoderClassifier,
    SparseAE,
    VariationalAE,
)
from skae._data import split_rows
from skae._persistence import load, save
from tests.test_persistence import join, split


def make_data(n_samples=200, n_features=10, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_samples, 3))
    return latent @ rng.normal(size=(3, n_features)) + 0.1 * rng.normal(
        size=(n_samples, n_features)
    )


def fast(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, device="cpu")
    return AutoEncoderTransformer(**{**defaults, **params})


# ------------------------------------------------- 1. parameters read afresh
def test_warm_start_reads_every_training_parameter_afresh():
    X = make_data()
    ae = fast(warm_start=True).fit(X)
    ae.set_params(
        learning_rate_init=0.05, batch_size=17, tol=0.5, n_iter_no_change=2, alpha=0.1
    )
    ae.fit(X)
    net = ae.net_
    assert net.lr == 0.05 and net.optimizer_.param_groups[0]["lr"] == 0.05
    assert net.batch_size == 17
    stopping = dict(net.callbacks_)["stopping"]
    assert (stopping.tol, stopping.patience) == (0.5, 2)
    decay = {g["weight_decay"] for g in net.optimizer_.param_groups}
    assert decay == {0.0, 0.1}  # biases are not decayed
    # SGD's steps grow with the activations: at 0.05 it diverges on this
    # data from PCA's start (an error saying so); 0.01 converges.
    ae.set_params(optimizer="sgd", learning_rate_init=0.01)
    ae.fit(X)
    assert isinstance(ae.net_.optimizer_, torch.optim.SGD)


def test_partial_fit_keeps_the_optimizer_state_with_the_new_learning_rate():
    X = make_data()
    ae = fast()
    ae.partial_fit(X)
    steps = float(ae.net_.optimizer_.state_dict()["state"][0]["step"])
    ae.set_params(learning_rate_init=0.02)
    ae.partial_fit(X)
    state = ae.net_.optimizer_.state_dict()
    assert state["state"][0]["step"] > steps  # Adam's moments continued
    assert state["param_groups"][0]["lr"] == 0.02


def test_partial_fit_never_writes_to_the_previous_optimizer():
    # The previous net is the roll-back point of a failed call: its Adam
    # moments must not be the tensors the next call updates in place.
    X = make_data()
    ae = fast()
    ae.partial_fit(X)
    previous = ae.net_.optimizer_
    before = {
        id(p): {k: v.clone() for k, v in previous.state[p].items()}
        for p in previous.state
    }
    ae.partial_fit(X)
    for p in previous.state:
        for key, value in previous.state[p].items():
            assert torch.equal(value, before[id(p)][key])


@pytest.mark.parametrize("alphas", [(0.0, 0.1), (0.1, 0.0)])
def test_partial_fit_keeps_the_optimizer_state_when_alpha_changes(alphas):
    # Without weight decay the biases need no group of their own, so the
    # optimizer's groups change with alpha; every moment must follow.
    X = make_data()
    ae = fast(alpha=alphas[0])
    ae.partial_fit(X)
    before = ae.net_.optimizer_
    moments = {id(p): before.state[p]["exp_avg"].clone() for p in before.state}
    ae.set_params(alpha=alphas[1])
    ae.partial_fit(X)
    after = ae.net_.optimizer_
    decay = {g["weight_decay"] for g in after.param_groups}
    assert decay == ({0.0, 0.1} if alphas[1] else {0.0})
    parameters = [p for g in after.param_groups for p in g["params"]]
    assert {id(p) for p in parameters} == set(moments)
    for p in parameters:
        assert float(after.state[p]["step"]) == 2.0  # one step per partial_fit
        assert not torch.equal(after.state[p]["exp_avg"], moments[id(p)])


@pytest.mark.parametrize(
    "name, value",
    [
        ("n_components", 3),
        ("hidden_layer_sizes", (8,)),
        ("activation", "tanh"),
        ("output_activation", "sigmoid"),
        ("architecture", "gru"),
        ("input_shape", (5, 2)),
        ("dropout", 0.2),
    ],
)
def test_a_change_that_reshapes_the_network_is_refused(name, value):
    X = make_data()
    ae = fast(warm_start=True).fit(X)
    before = ae.transform(X)
    ae.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"{name} changed"):
        ae.fit(X)
    with pytest.raises(ValueError, match=f"{name} changed"):
        ae.partial_fit(X)
    assert_array_equal(ae.transform(X), before)
    shaped = name in ("architecture", "input_shape")
    # A cold fit builds the new network.
    ae.set_params(warm_start=False, input_shape=(5, 2) if shaped else None).fit(X)


@pytest.mark.parametrize(
    "estimator, name, value",
    [
        (SparseAE(sparsity="l1"), "sparsity", "kl"),
        (SparseAE(sparsity="kl"), "sparsity", "l1"),
        (VariationalAE(loss="mse"), "loss", "l1"),
    ],
    ids=["sparse-l1-kl", "sparse-kl-l1", "vae-mse-l1"],
)
def test_each_estimator_refuses_a_change_to_its_own_network_parameters(
    estimator, name, value
):
    # SparseAE's sparsity picks ReLU or sigmoid codes; VariationalAE's loss
    # picks the decoder's likelihood (and its learned noise scale).
    X = make_data()
    ae = clone(estimator).set_params(
        n_components=2, max_iter=3, random_state=0, warm_start=True
    )
    ae.fit(X)
    before = ae.transform(X)
    ae.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"{name} changed"):
        ae.fit(X)
    with pytest.raises(ValueError, match=f"{name} changed"):
        ae.partial_fit(X)
    assert_array_equal(ae.transform(X), before)
    assert name in type(ae)._network_parameters


def test_user_callbacks_change_between_warm_starts():
    class Counter(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    X = make_data()
    ae = fast(warm_start=True).fit(X)
    ae.set_params(callbacks=[("counter", Counter())])
    ae.fit(X)
    assert dict(ae.net_.callbacks_)["counter"].epochs_ == 5


# ------------------------------------------------ 2. early stopping across calls
def r2_on_split(ae, X):
    _, rows = split_rows(len(X), ae.validation_fraction, ae._seed)
    held_out = X[rows]
    sse = np.sum((ae.reconstruct(held_out) - held_out) ** 2)
    return 1 - sse / np.sum((held_out - ae._data_mean) ** 2)


def test_early_stopping_keeps_one_split_and_the_best_weights_across_warm_starts():
    X = make_data()
    ae = fast(early_stopping=True, warm_start=True, max_iter=40, batch_size=20)
    ae.fit(X)
    first_best = ae.best_validation_score_
    assert r2_on_split(ae, X) == pytest.approx(first_best, abs=1e-6)
    # A second call that only makes things worse keeps the first call's weights.
    ae.set_params(alpha=100.0, learning_rate_init=0.05, max_iter=3)
    ae.fit(X)
    assert len(ae.validation_scores_) == ae.n_iter_
    assert max(ae.validation_scores_[-3:]) < first_best
    assert ae.best_validation_score_ == pytest.approx(first_best)
    assert r2_on_split(ae, X) == pytest.approx(first_best, abs=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(early_stopping=True), "not available with early_stopping=True"),
        (dict(n_components=0.9), "not available with a fractional n_components"),
    ],
)
@pytest.mark.parametrize("cls", [AutoEncoderTransformer, DenoisingAE])
def test_partial_fit_is_hidden_where_it_cannot_run(cls, params, match):
    # As scikit-learn hides MLPClassifier.partial_fit for lbfgs: the method
    # is absent, so check_estimator and duck-typing users do not call it.
    ae = cls(max_iter=2, **params)
    assert not hasattr(ae, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
        ae.partial_fit(make_data())
    assert re.search(match, str(info.value.__cause__))  # the reason, chained
    assert not hasattr(ae, "net_")
    assert hasattr(ae.set_params(early_stopping=False, n_components=2), "partial_fit")


# ----------------------------------------------- 3. the classifier's two phases
class WeightsRecorder(Callback):
    def initialize(self):
        self.epochs_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        weights = {k: v.clone() for k, v in net.module_.state_dict().items()}
        self.epochs_.append((net.history[-1, "valid_score"], weights))


def test_classifier_keeps_the_best_weights_over_both_phases():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    clf = EncoderClassifier(
        fast(n_components=8, max_iter=20),
        max_iter=15,
        learning_rate_init=0.05,  # fine-tuning this fast hurts: the probe wins
        early_stopping=True,
        random_state=0,
        device="cpu",
        callbacks=[("weights", WeightsRecorder())],
    ).fit(X, y)
    epochs = dict(clf.net_.callbacks_)["weights"].epochs_
    scores = [score for score, _ in epochs]
    assert scores == clf.validation_scores_
    best = int(np.argmax(scores))
    assert clf.best_validation_score_ == scores[best]
    for name, value in clf.module_.state_dict().items():
        assert torch.equal(value, epochs[best][1][name]), name


def test_a_probe_that_runs_out_of_epochs_is_reported():
    X, y = load_digits(return_X_y=True)
    clf = EncoderClassifier(fast(), max_iter=1, random_state=0, device="cpu")
    with pytest.warns(ConvergenceWarning, match="linear probe"):
        clf.fit(X[:100] / 16, y[:100])


# --------------------------------------------------------- 4. seeds in threads
def test_fits_in_threads_are_reproducible_and_spare_other_threads_streams():
    X = make_data()
    noisy = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, device="cpu")
    reference = DenoisingAE(**noisy).fit(X).transform(X)
    results, draws = [None, None], []
    torch.manual_seed(1234)
    expected = torch.rand(2000)
    torch.manual_seed(1234)
    start = threading.Barrier(3)

    def fit(i):
        start.wait()
        results[i] = DenoisingAE(**noisy).fit(X).transform(X)

    def draw():
        start.wait()
        draws.extend(torch.rand(1).item() for _ in range(2000))

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(2)]
    threads.append(threading.Thread(target=draw))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert_array_equal(results[0], reference)
    assert_array_equal(results[1], reference)
    assert_array_equal(np.array(draws, dtype=np.float32), expected.numpy())


def test_a_fit_leaves_the_global_streams_untouched():
    X = make_data()
    state = torch.random.get_rng_state()
    DenoisingAE(hidden_layer_sizes=(8,), max_iter=2, random_state=0, dropout=0.1)
    fast(dropout=0.1, max_iter=2).fit(X)
    assert torch.equal(torch.random.get_rng_state(), state)


# ------------------------------------------------- 5. semi-supervised labels
def test_unlabelled_rows_flow_through_a_pipeline_and_cross_validation():
    X, y = make_data(n_samples=150), np.repeat([0, 1, 2], 50)
    X = X + y[:, None]  # separable classes
    y_partial = y.copy()
    y_partial[::3] = -1
    clf = EncoderClassifier(fast(n_components=4), max_iter=10, random_state=0)
    pipe = make_pipeline(StandardScaler(), clf.set_params(device="cpu"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y_partial)
        scores = cross_val_score(pipe, X, y_partial, cv=3)
    scaler = pipe[0]
    np.testing.assert_allclose(scaler.mean_, X.mean(axis=0))  # every row scaled
    assert list(pipe[-1].classes_) == [0, 1, 2]
    assert pipe[-1].autoencoder_.n_features_in_ == X.shape[1]
    assert np.all(np.isfinite(scores))


def test_string_labels_mark_unlabelled_rows_with_minus_one():
    X = make_data(n_samples=90)
    y = np.array(["a", "b", "c"] * 30, dtype=object)
    y[:30] = -1
    clf = EncoderClassifier(fast(), max_iter=3, random_state=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        assert list(clf.classes_) == ["a", "b", "c"]
        as_strings = y.astype(str)  # numpy turns -1 into "-1"
        assert list(clf.fit(X, as_strings).classes_) == ["a", "b", "c"]


def test_ten_percent_labels_on_digits_match_logistic_regression():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=0, stratify=y
    )
    rng = np.random.default_rng(0)
    labelled = rng.random(len(y_train)) < 0.1
    y_partial = np.where(labelled, y_train, -1)
    baseline = LogisticRegression(max_iter=2000).fit(
        X_train[labelled], y_train[labelled]
    )
    ae = AutoEncoderTransformer(
        n_components=32, max_iter=60, random_state=0, device="cpu"
    )
    clf = EncoderClassifier(ae, alpha=0.1, max_iter=100, random_state=0, device="cpu")
    clf.fit(X_train, y_partial)
    assert clf.score(X_test, y_test) >= baseline.score(X_test, y_test)


# ------------------------------------------------ 6. targets checked as targets
def test_bce_checks_the_clean_targets_not_the_noisy_inputs():
    rng = np.random.default_rng(0)
    clean = rng.random((60, 6))
    noisy = clean + rng.normal(scale=0.3, size=clean.shape)  # outside [0, 1]
    params = dict(loss="bce", output_activation="sigmoid", max_iter=2, device="cpu")
    DenoisingAE(**params).fit(noisy, X_clean=clean)
    with pytest.raises(ValueError, match=r"requires data in \[0, 1\]"):
        DenoisingAE(**params).fit(clean, X_clean=noisy)


# ---------------------------------------------------- 7. crafted model files
def test_a_huge_declared_network_is_refused_before_it_is_built(monkeypatch):
    ae = fast().fit(make_data())
    buffer = io.BytesIO()
    save(ae, buffer)
    document, weights = split(buffer.getvalue())
    document["estimator"]["params"]["hidden_layer_sizes"] = {
        "type": "tuple",
        "items": [3_000_000],
    }

    def must_not_build(*args, **kwargs):
        raise AssertionError("the network was built before its shapes were checked")

    monkeypatch.setattr(AutoEncoderTransformer, "_rebuild_net", must_not_build)
    with pytest.raises(ValueError, match="do not fit"):
        load(io.BytesIO(join(document, weights)))


# -------------------------------------------------- the warning's stack level
def test_convergence_warning_points_at_the_callers_line():
    with pytest.warns(ConvergenceWarning) as record:
        fast(max_iter=1).fit(make_data())
    assert record[0].filename == __file__


def _label_containers():
    import pandas as pd

    labels = ["pos", "neg", "-1"] * 30
    # Bytes labels are left out: scikit-learn refuses them for every
    # classifier (check_classification_targets), and so does skae.
    return {
        "list of str": labels,
        "list with int -1": [-1 if v == "-1" else v for v in labels],
        "numpy U": np.array(labels),
        "numpy object": np.array(labels, dtype=object),
        "pandas object": pd.Series(labels, dtype=object),
        "pandas string": pd.Series(labels, dtype="string"),
        "pandas categorical": pd.Series(labels, dtype="category"),
    }


@pytest.mark.parametrize("container", list(_label_containers()))
def test_minus_one_is_unlabelled_in_every_label_container(container):
    y = _label_containers()[container]
    X = make_data(n_samples=90)
    clf = EncoderClassifier(fast(), max_iter=3, random_state=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert list(clf.classes_) == ["neg", "pos"]
    assert set(clf.predict(X)) <= {"neg", "pos"}


def _batches_per_epoch(estimator):
    return [len(epoch["batches"]) for epoch in estimator.net_.history]


def test_bfloat16_on_large_data_grows_the_batch_and_scales_the_learning_rate():
    from skae._training import GROW_ROWS, GROWN_AFTER, GROWN_BATCH

    X = np.random.default_rng(0).normal(size=(GROW_ROWS, 6)).astype(np.float32)
    # The policy is the CPU's: pinned, so that a CUDA machine tests it too.
    params = dict(max_iter=GROWN_AFTER + 2, random_state=0, tol=0.0, device="cpu")
    bf16 = AutoEncoderTransformer(2, precision="bfloat16", **params).fit(X)
    small, large = -(-GROW_ROWS // 200), -(-GROW_ROWS // GROWN_BATCH)
    assert _batches_per_epoch(bf16) == [small] * GROWN_AFTER + [large] * 2
    lr = bf16.net_.optimizer_.param_groups[0]["lr"]
    assert lr == pytest.approx(1e-3 * np.sqrt(GROWN_BATCH / 200))
    # The estimator's own parameters are untouched; a second fit is the same.
    assert bf16.batch_size == "auto" and bf16.learning_rate_init == 1e-3
    again = AutoEncoderTransformer(2, precision="bfloat16", **params).fit(X)
    np.testing.assert_array_equal(bf16.transform(X[:50]), again.transform(X[:50]))


@pytest.mark.parametrize(
    "params, rows",
    [
        ({}, None),  # float32 keeps 200 rows
        ({"precision": "bfloat16", "batch_size": 200}, None),  # an explicit size
        ({"precision": "bfloat16"}, 5_000),  # too few rows
    ],
)
def test_the_batch_grows_only_for_auto_bfloat16_on_large_data(params, rows):
    from skae._training import GROW_ROWS, GROWN_AFTER

    n = rows or GROW_ROWS
    X = np.random.default_rng(0).normal(size=(n, 6)).astype(np.float32)
    ae = AutoEncoderTransformer(
        2, max_iter=GROWN_AFTER + 1, random_state=0, tol=0.0, device="cpu", **params
    ).fit(X)
    assert set(_batches_per_epoch(ae)) == {-(-n // 200)}
    assert ae.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_the_batch_grows_for_training_only_and_counts_training_rows():
    from skae._training import GROW_ROWS, GROWN_AFTER, GROWN_BATCH

    # With a validation split the policy counts the training rows, and the
    # validation batches keep their size.
    n = int(GROW_ROWS / 0.9) + 10  # 90 % of the rows train: just over the line
    X = np.random.default_rng(0).normal(size=(n, 6)).astype(np.float32)
    ae = AutoEncoderTransformer(
        2,
        precision="bfloat16",
        early_stopping=True,
        max_iter=GROWN_AFTER + 1,
        tol=0.0,
        random_state=0,
        device="cpu",
    ).fit(X)
    history = ae.net_.history
    train = [sum(1 for b in e["batches"] if "train_loss" in b) for e in history]
    valid = [sum(1 for b in e["batches"] if "valid_loss" in b) for e in history]
    n_train = n - int(np.ceil(0.1 * n))
    assert n_train >= GROW_ROWS
    assert train[-1] == -(-n_train // GROWN_BATCH) < train[0]
    assert len(set(valid)) == 1  # the validation iterator is untouched
