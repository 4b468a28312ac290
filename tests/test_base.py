"""Behaviour of the shared autoencoder base on the plain AE."""

import copy
import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from skorch.callbacks import Callback, LRScheduler

from skae import AutoEncoderTransformer
from skae._data import split_rows
from skae._validation import check_fitted_input
from skae.modules import MLPAutoEncoder


def make_data(n_samples=120, n_features=10, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_samples, 2))
    mixing = rng.normal(size=(2, n_features))
    return (
        np.tanh(latent @ mixing) + 0.05 * rng.normal(size=(n_samples, n_features))
    ).astype(dtype)


def fast(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0, device="cpu")
    return AutoEncoderTransformer(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted():
    return fast().fit(make_data())


# ----------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outputs_follow_input_dtype(dtype):
    X = make_data(dtype=dtype)
    ae = fast().fit(X)
    assert next(ae.module_.parameters()).dtype == getattr(torch, np.dtype(dtype).name)
    Z = ae.transform(X)
    assert Z.dtype == dtype and Z.shape == (len(X), 2)
    assert ae.inverse_transform(Z).dtype == dtype
    assert ae.reconstruct(X).dtype == dtype
    # Squared errors need float64's range (see the extreme-scale test).
    assert ae.score_samples(X).dtype == np.float64


@pytest.mark.parametrize("factor", [1e19, 1e-24])
def test_float32_data_of_any_magnitude_fits_and_scores(factor):
    # Squares of float32 data at 1e19 overflow and at 1e-24 underflow: the
    # start's covariance and the scores square rows on the network's scale.
    X = make_data(dtype=np.float32)
    scaled = X * np.float32(factor)
    ae = fast(n_components=2, random_state=0).fit(scaled)
    scores = ae.score_samples(scaled)
    assert np.isfinite(scores).all() and (scores < 0).all()
    # The same fit in units near 1 gives the same scores, times factor².
    reference = fast(n_components=2, random_state=0).fit(X).score_samples(X)
    assert_allclose(scores / factor**2, reference, rtol=0.1)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float16, bool])
def test_other_numeric_input_is_computed_as_float32(dtype):
    X = (make_data() * 3).astype(dtype)
    ae = fast().fit(X)
    assert next(ae.module_.parameters()).dtype == torch.float32
    assert ae.transform(X).dtype == np.float32


def test_transform_of_other_dtype_than_fit_follows_the_new_input(fitted):
    X32 = make_data(dtype=np.float32)
    Z = fitted.transform(X32)
    assert Z.dtype == np.float32
    assert_allclose(Z, fitted.transform(X32.astype(np.float64)), rtol=1e-5, atol=1e-6)


# ------------------------------------------------- names, pandas, sklearn
def test_feature_names_out_are_class_prefixed(fitted):
    assert_array_equal(
        fitted.get_feature_names_out(),
        ["autoencodertransformer0", "autoencodertransformer1"],
    )


def test_pandas_output_and_feature_names_in():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(make_data(), columns=[f"f{i}" for i in range(10)])
    ae = fast().set_output(transform="pandas").fit(X)
    assert_array_equal(ae.feature_names_in_, X.columns)
    codes = ae.transform(X)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == ["autoencodertransformer0", "autoencodertransformer1"]
    assert_array_equal(codes.index, X.index)


def test_pickle_round_trip_gives_identical_outputs(fitted):
    X = make_data()
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.transform(X), fitted.transform(X))
    # The module the estimator exposes is the one its net trains.
    assert restored.module_ is restored.net_.module_


def test_clone_is_unfitted_with_same_params(fitted):
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params()
    with pytest.raises(NotFittedError):
        twin.transform(make_data())


def test_fitted_attributes(fitted):
    assert fitted.n_features_in_ == 10
    assert fitted.n_components_ == 2
    assert fitted.n_iter_ == len(fitted.loss_curve_)
    assert fitted.n_iter_ < fitted.max_iter  # converged from PCA's start
    assert fitted.validation_scores_ is None and fitted.best_validation_score_ is None
    assert isinstance(fitted.module_.inner, MLPAutoEncoder)
    # The halves share the trained layers, in the user's units.
    assert fitted.encoder_[1] is fitted.module_.inner.encoder[0]
    assert fitted.decoder_[-2] is fitted.module_.inner.decoder[-1]
    assert fitted.device_ == torch.device("cpu")
    X = torch.from_numpy(make_data())
    with torch.no_grad():
        assert_allclose(fitted.encoder_(X).numpy(), fitted.transform(X.numpy()))
        codes = fitted.encoder_(X)
        assert_allclose(
            fitted.decoder_(codes).numpy(), fitted.inverse_transform(codes.numpy())
        )


def test_score_samples_is_minus_row_mse(fitted):
    X = make_data(seed=1)
    expected = -np.mean((fitted.reconstruct(X) - X) ** 2, axis=1)
    assert_allclose(fitted.score_samples(X), expected, rtol=1e-10)
    assert fitted.score(X) == pytest.approx(expected.mean())
    assert_allclose(
        fitted.reconstruct(X), fitted.inverse_transform(fitted.transform(X))
    )


# --------------------------------------------------------- reproducibility
def test_random_state_gives_bitwise_identical_results_and_spares_global_rng():
    X = make_data()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = fast(random_state=7).fit(X).transform(X)
    assert torch.equal(torch.get_rng_state(), before)
    second = fast(random_state=7).fit(X).transform(X)
    assert_array_equal(first, second)
    other = fast(random_state=8).fit(X).transform(X)
    assert not np.allclose(first, other)


def test_partial_fit_trains_one_epoch_per_call_and_keeps_state():
    X = make_data()
    ae = fast()
    ae.partial_fit(X)
    assert ae.n_iter_ == 1
    weights = copy.deepcopy(ae.module_.state_dict())
    ae.partial_fit(X)
    assert ae.n_iter_ == 2 and len(ae.loss_curve_) == 2
    changed = any(
        not torch.equal(weights[k], v) for k, v in ae.module_.state_dict().items()
    )
    assert changed
    with pytest.raises(ValueError, match="features"):
        ae.partial_fit(X[:, :5])


def test_partial_fit_sequence_is_reproducible():
    X = make_data()
    runs = []
    for _ in range(2):
        ae = fast()
        for _ in range(3):
            ae.partial_fit(X)
        runs.append(ae.transform(X))
    assert_array_equal(*runs)


def test_warm_start_continues_training():
    X = make_data()
    ae = fast(warm_start=True, max_iter=5).fit(X)
    first_curve = list(ae.loss_curve_)
    ae.fit(X)
    assert ae.n_iter_ == 10
    assert ae.loss_curve_[:5] == first_curve
    assert ae.loss_curve_[-1] < first_curve[0]
    cold = fast(max_iter=5).fit(X)
    cold.fit(X)
    assert cold.n_iter_ == 5


# ---------------------------------------------------------------- training
def test_early_stopping_records_scores_and_keeps_best_weights():
    X = make_data(n_samples=200)
    ae = fast(early_stopping=True, max_iter=300, n_iter_no_change=3, tol=1e-2)
    ae.fit(X)
    assert ae.n_iter_ < 300
    assert len(ae.validation_scores_) == ae.n_iter_
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    # The kept weights are the best epoch's: rescore the held-out rows (R²).
    _, valid_rows = split_rows(len(X), ae.validation_fraction, ae._seed)
    held_out = X[valid_rows]
    sse = np.sum((ae.reconstruct(held_out) - held_out) ** 2)
    sst = np.sum((held_out - ae._data_mean) ** 2)
    assert 1 - sse / sst == pytest.approx(ae.best_validation_score_, rel=1e-6)


def test_tol_and_n_iter_no_change_stop_training():
    X = make_data()
    ae = fast(max_iter=500, tol=10.0, n_iter_no_change=2).fit(X)
    # As MLP: epoch 1 improves on inf, then 3 misses exceed the patience of 2.
    assert ae.n_iter_ == 4


def test_convergence_warning_when_max_iter_is_hit():
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        fast(max_iter=2).fit(make_data())


def test_verbose_prints_an_epoch_table(capsys):
    fast(max_iter=3, verbose=2).fit(make_data())
    captured = capsys.readouterr()
    assert re.search(r"epoch\s+train_loss\s+train_score\s+dur", captured.out)
    assert len(re.findall(r"^\s+[123]\s+\S*\d", captured.out, flags=re.M)) == 3
    assert captured.err == ""  # the table alone: verbose=1 is the bar


def test_verbose_zero_is_silent(capsys):
    fast(max_iter=3).fit(make_data())
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


class EpochCounter(Callback):
    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


def test_user_callbacks_run_and_are_not_mutated():
    counter = EpochCounter()
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    ae = fast(max_iter=4, callbacks=[counter, ("lr", scheduler)]).fit(make_data())
    assert not hasattr(counter, "epochs_")  # the user's object stays as given
    trained = dict(ae.net_.callbacks_)
    assert trained["EpochCounter"].epochs_ == 4
    assert ae.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5**4)


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_losses_and_optimizers_reduce_the_loss(loss, optimizer):
    ae = fast(loss=loss, optimizer=optimizer, max_iter=30, learning_rate_init=1e-2)
    ae.fit(make_data())
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]


def test_bce_needs_sigmoid_output_and_unit_interval_data():
    X = (make_data() > 0).astype(np.float32)
    ae = fast(loss="bce", output_activation="sigmoid").fit(X)
    assert ae.reconstruct(X).min() >= 0 and ae.reconstruct(X).max() <= 1
    with pytest.raises(ValueError, match="output_activation"):
        fast(loss="bce").fit(X)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fast(loss="bce", output_activation="sigmoid").fit(X * 2)


def test_linear_autoencoder_with_no_hidden_layers():
    ae = fast(hidden_layer_sizes=(), max_iter=5).fit(make_data())
    assert [type(m).__name__ for m in ae.encoder_] == ["Standardize", "Linear"]


# ------------------------------------------------------------------ input
def test_sparse_input_matches_dense():
    X = make_data()
    X[np.abs(X) < 0.5] = 0
    dense = fast().fit(X)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        ae = fast().fit(fmt(X))
        assert_allclose(ae.transform(fmt(X)), dense.transform(X), rtol=1e-10)
        assert_allclose(ae.score_samples(fmt(X)), dense.score_samples(X), rtol=1e-10)
        assert_allclose(ae.reconstruct(fmt(X)), dense.reconstruct(X), rtol=1e-10)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "infinity"),
        (np.arange(5.0), "2D array"),
        (np.empty((0, 3)), "0 sample"),
        (np.empty((3, 0)), "0 feature"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "could not convert|convert"),
        (np.array([[1 + 1j, 2], [3, 4]]), "[Cc]omplex"),
    ],
)
def test_bad_training_input_raises_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        fast().fit(X)


def test_bad_input_after_fit_raises_and_changes_nothing(fitted):
    X = make_data()
    before = fitted.transform(X)
    state = {k: v for k, v in vars(fitted).items() if k != "net_"}
    with pytest.raises(ValueError, match="10 features"):
        fitted.transform(X[:, :4])
    with pytest.raises(ValueError, match="NaN"):
        fitted.fit(np.full((5, 10), np.nan))
    with pytest.raises(ValueError, match="2D array"):
        fitted.score_samples(X[0])
    with pytest.raises(ValueError, match="n_components_"):
        fitted.inverse_transform(np.zeros((3, 5)))
    assert_array_equal(fitted.transform(X), before)
    assert {k: v for k, v in vars(fitted).items() if k != "net_"}.keys() == state.keys()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_arrays_are_validated_like_any_other_input(fitted, dtype):
    # Plain float ndarrays skip validate_data's container inspection; every
    # other container goes through it. Both must agree on results and errors.
    class ArraySubclass(np.ndarray):
        """Same values, but not a plain ndarray: takes validate_data's path."""

    X = make_data(dtype=dtype)
    codes = fitted.transform(X)
    assert codes.dtype == dtype
    assert_array_equal(fitted.transform(X.view(ArraySubclass)), codes)
    # Column-major input takes another BLAS path: equal up to rounding.
    assert_allclose(fitted.transform(np.asfortranarray(X)), codes, rtol=1e-5)
    read_only = X.copy()
    read_only.flags.writeable = False
    assert_array_equal(fitted.transform(read_only), codes)
    for bad, match in ((np.nan, "Input X contains NaN"), (np.inf, "infinity")):
        X_bad = X.copy()
        X_bad[3, 4] = bad
        for variant in (X_bad, X_bad.view(ArraySubclass)):
            with pytest.raises(ValueError, match=match):
                fitted.transform(variant)
    with pytest.raises(ValueError, match="0 sample"):
        fitted.transform(X[:0])


def test_finite_values_whose_sum_overflows_pass_validation():
    # The first finiteness pass sums the array; an overflowing sum must defer
    # to the element-wise check, not report an infinity that is not there.
    big = np.full((4, 10), np.finfo(np.float32).max / 2, dtype=np.float32)
    ae = fast(max_iter=1).fit(make_data(dtype=np.float32))
    assert_array_equal(check_fitted_input(ae, big), big)
    with config_context(assume_finite=True):
        assert check_fitted_input(ae, np.full((4, 10), np.nan)).shape == (4, 10)


def test_arrays_after_a_dataframe_fit_still_warn_about_feature_names():
    pd = pytest.importorskip("pandas")
    X = make_data()
    ae = fast(max_iter=1).fit(pd.DataFrame(X, columns=[f"f{i}" for i in range(10)]))
    with pytest.warns(UserWarning, match="feature names"):
        ae.transform(X)


def test_diverging_training_raises_and_leaves_the_estimator_unchanged():
    X = make_data()
    ae = fast().fit(X)
    before = ae.transform(X)
    n_iter = ae.n_iter_
    with pytest.raises(ValueError, match="learning_rate_init"):
        fast(optimizer="sgd", learning_rate_init=1e30).fit(X)
    ae.set_params(warm_start=True)
    # A warm start keeps the first fit's scaling: data 1e300 times larger
    # overflows the network.
    with pytest.raises(ValueError, match="scale the data|Scale the data"):
        ae.fit(X.astype(np.float64) * 1e300)
    assert ae.n_iter_ == n_iter
    assert len(ae.net_.history) == n_iter
    assert_array_equal(ae.transform(X), before)


def test_non_finite_codes_raise_instead_of_being_returned():
    X = make_data(dtype=np.float32)
    ae = fast().fit(X)
    with pytest.raises(ValueError, match="non-finite"):
        ae.transform(X.astype(np.float64) * 1e300)


def test_hidden_layer_sizes_must_be_positive():
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        fast(hidden_layer_sizes=(8, 0)).fit(make_data())


def test_input_shape_must_match_feature_count():
    with pytest.raises(ValueError, match="input_shape"):
        fast(input_shape=(3, 3)).fit(make_data())
    assert fast(input_shape=(2, 5)).fit(make_data()).n_features_in_ == 10


# ---------------------------------------------------------------- devices
def test_auto_device_resolves_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert fast(device="auto").fit(make_data()).device_.type == expected


@pytest.mark.parametrize("device", ["cuda:7", "nonsense", "mps"])
def test_unavailable_device_raises_naming_it(device):
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("MPS is available on this machine")
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    with pytest.raises(ValueError, match=re.escape(device)):
        fast(device=device).fit(make_data())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fit_matches_cpu_closely():
    X = make_data(dtype=np.float32)
    gpu = fast(device="cuda").fit(X)
    assert gpu.device_.type == "cuda"
    assert gpu.transform(X).dtype == np.float32
    again = fast(device="cuda").fit(X)
    assert_array_equal(gpu.transform(X), again.transform(X))


# ----------------------------------------------------------- architecture
class TinyModule(torch.nn.Module):
    def __init__(self, n_features, n_components, broken=None):
        super().__init__()
        self.down = torch.nn.Linear(n_features, n_components)
        self.up = torch.nn.Linear(n_components, n_features)
        self.broken = broken

    def encode(self, x):
        z = self.down(x)
        return z[:, :1] if self.broken == "encode" else z

    def decode(self, z):
        return self.up(z)


def test_callable_architecture():
    ae = fast(architecture=lambda n, k, shape: TinyModule(n, k)).fit(make_data())
    assert isinstance(ae.module_.inner, TinyModule)
    assert ae.transform(make_data()).shape == (120, 2)
    assert ae.encoder_(torch.zeros(1, 10, dtype=torch.float64)).shape == (1, 2)


def test_callable_architecture_is_validated():
    with pytest.raises(ValueError, match="encode"):
        fast(architecture=lambda n, k, shape: torch.nn.Linear(n, k)).fit(make_data())
    with pytest.raises(ValueError, match=r"encode\(x\) must return"):
        fast(architecture=lambda n, k, s: TinyModule(n, k, "encode")).fit(make_data())


class ModeRecordingModule(TinyModule):
    """Records, for every forward, whether it trained and the module's mode."""

    def __init__(self, n_features, n_components):
        super().__init__(n_features, n_components)
        self.modes = []

    def encode(self, x):
        self.modes.append((torch.is_grad_enabled(), self.training))
        return super().encode(x)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_training_batches_run_in_train_mode_and_scoring_in_eval_mode(
    early_stopping,
):
    # Training mode is set once per epoch, after validation, not per batch.
    ae = fast(
        architecture=lambda n, k, shape: ModeRecordingModule(n, k),
        early_stopping=early_stopping,
        max_iter=4,
        batch_size=30,
    ).fit(make_data())
    ae.transform(make_data())
    modes = ae.module_.inner.modes
    # Before training, fit probes the callable's output shapes once.
    modes = modes[[grad for grad, _ in modes].index(True) :]
    training_calls = [mode for grad, mode in modes if grad]
    assert len(training_calls) == ae.n_iter_ * 4  # 120 rows, 30 per batch
    assert all(training_calls)
    scoring_calls = [mode for grad, mode in modes if not grad]
    assert len(scoring_calls) >= (ae.n_iter_ if early_stopping else 0) + 1
    assert not any(scoring_calls)
    assert not ae.module_.training


# ------------------------------------------------------------ n_components
def test_fractional_n_components_picks_the_smallest_sufficient_bottleneck():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(400, 3))
    X = latent @ rng.normal(size=(3, 12)) + 0.01 * rng.normal(size=(400, 12))
    ae = fast(
        n_components=0.99, hidden_layer_sizes=(), max_iter=300, learning_rate_init=1e-2
    )
    ae.fit(X)
    assert ae.n_components_ == 3
    assert ae.transform(X).shape == (400, 3)
    assert ae.validation_scores_ is not None
    assert not hasattr(fast(n_components=0.5), "partial_fit")


# ----------------------------------------------------------- concurrency
def test_transform_is_thread_safe(fitted):
    from concurrent.futures import ThreadPoolExecutor

    X = make_data(n_samples=2000, seed=3)
    expected = fitted.transform(X)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: fitted.transform(X), range(8)))
    for result in results:
        assert_array_equal(result, expected)


def test_warm_start_can_switch_early_stopping_on():
    X = make_data(n_samples=200)
    ae = fast(warm_start=True, max_iter=3).fit(X)
    ae.set_params(early_stopping=True)
    ae.fit(X)
    assert ae.n_iter_ == 6
    assert len(ae.validation_scores_) == 3


def test_arrays_with_negative_strides_are_accepted():
    # X[::-1] and np.flip views have negative strides, which torch cannot
    # view; PCA accepts them, and so does skae (copying only those).
    X = make_data()
    ae = fast(random_state=0).fit(np.flip(X, 1))
    reference = fast(random_state=0).fit(np.ascontiguousarray(np.flip(X, 1)))
    assert_array_equal(ae.transform(X[:, ::-1]), reference.transform(X[:, ::-1]))
    assert_array_equal(ae.transform(X[::-1]), ae.transform(X)[::-1])
    assert_array_equal(ae.score_samples(X[::-1]), ae.score_samples(X)[::-1])


@pytest.mark.parametrize(
    "params", [dict(early_stopping=True), dict(n_components=0.5)], ids=str
)
def test_a_validation_split_of_one_row_is_refused_naming_n_samples(params):
    # scikit-learn's check_fit2d_1sample asks for "n_samples=1" in the message.
    ae = fast(**params)
    with pytest.raises(ValueError, match="needs at least 2 samples.*n_samples=1"):
        ae.fit(make_data(n_samples=1))
    assert not hasattr(ae, "n_features_in_")


def test_n_components_zero_keeps_the_rows_scale():
    X = make_data() * 100
    ae = fast(n_components=0).fit(X)
    assert ae.scale_ == pytest.approx(np.sqrt(X.var(axis=0).mean()))
    assert_allclose(ae.reconstruct(X), np.tile(X.mean(axis=0), (len(X), 1)))
