"""Mixed precision: precision="bfloat16" in training and inference."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch.callbacks import Callback

import skae
from skae import (
    AutoEncoderTransformer,
    ContractiveAE,
    DenoisingAE,
    EncoderClassifier,
    SparseAE,
    VariationalAE,
)
from skae._inference import map_row_blocks
from skae._precision import autocast_context, fused_optimizer_options

from ._digits import digits_split, mse
from .test_common import EXPECTED_FAILED_CHECKS

FAST = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, device="cpu")


def digits(dtype=np.float32):
    return (load_digits().data[:400] / 16).astype(dtype)


class RecordingAutoEncoder(torch.nn.Module):
    """A one-layer autoencoder that records the dtype of the codes it makes.

    Training forwards (gradients on) and inference forwards are kept apart:
    the estimator may also run the module to check its shapes.
    """

    def __init__(self, n_features, n_components):
        super().__init__()
        self.encoder = torch.nn.Linear(n_features, n_components)
        self.decoder = torch.nn.Linear(n_components, n_features)
        self.trained_in = set()
        self.inferred_in = set()

    def encode(self, x):
        z = self.encoder(x)
        if torch.is_grad_enabled():
            self.trained_in.add(z.dtype)
        elif torch.is_inference_mode_enabled():
            self.inferred_in.add(z.dtype)
        return z

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


def recording_architecture(n_features, n_components, input_shape):
    return RecordingAutoEncoder(n_features, n_components)


def recorder(est):
    (module,) = [
        m for m in est.module_.modules() if isinstance(m, RecordingAutoEncoder)
    ]
    return module


# ------------------------------------------------------------ the helpers
def test_autocast_context_float32_changes_nothing():
    layer = torch.nn.Linear(4, 3)
    with autocast_context("float32", torch.device("cpu")):
        assert layer(torch.ones(2, 4)).dtype == torch.float32


def test_autocast_context_bfloat16_computes_in_bfloat16():
    layer = torch.nn.Linear(4, 3)
    with autocast_context("bfloat16", "cpu"):
        assert layer(torch.ones(2, 4)).dtype == torch.bfloat16
    # Master weights stay float32.
    assert layer.weight.dtype == torch.float32


def test_autocast_context_rejects_unknown_precision():
    with pytest.raises(ValueError, match="precision must be one of"):
        autocast_context("float16", "cpu")


def test_fused_optimizer_options_build_an_optimizer():
    params = [torch.zeros(3, requires_grad=True)]
    for optimizer in (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD):
        options = fused_optimizer_options(optimizer, "cpu")
        assert options in ({}, {"fused": True})
        optimizer(params, lr=0.1, **options)
    # An optimizer without a fused kernel is left alone.
    assert fused_optimizer_options(torch.optim.Rprop, "cpu") == {}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
def test_map_row_blocks_bfloat16_keeps_input_dtype(dtype, sparse):
    torch.manual_seed(0)
    module = torch.nn.Linear(64, 5)
    X = digits(dtype)
    X_in = sp.csr_matrix(X) if sparse else X
    exact = map_row_blocks(module, lambda m, x: m(x), X_in, 5, "codes")
    mixed = map_row_blocks(
        module, lambda m, x: m(x), X_in, 5, "codes", precision="bfloat16"
    )
    assert mixed.dtype == dtype
    assert np.isfinite(mixed).all()
    # bfloat16 keeps 8 significant bits: about 3 significant digits.
    assert_allclose(mixed, exact, atol=2e-2 * np.abs(exact).max())
    assert not np.array_equal(mixed, exact)


# ---------------------------------------------- estimators (integration)
def test_bfloat16_trains_and_infers_in_bfloat16():
    est = AutoEncoderTransformer(
        architecture=recording_architecture, precision="bfloat16", **FAST
    ).fit(digits())
    module = recorder(est)
    assert module.trained_in == {torch.bfloat16}
    assert module.encoder.weight.dtype == torch.float32  # float32 master weights
    module.inferred_in.clear()
    est.transform(digits())
    assert module.inferred_in == {torch.bfloat16}


def test_bfloat16_trains_in_bfloat16_from_float64_input():
    # autocast leaves float64 tensors alone: the module must be float32.
    est = AutoEncoderTransformer(
        architecture=recording_architecture, precision="bfloat16", **FAST
    ).fit(digits(np.float64))
    assert recorder(est).trained_in == {torch.bfloat16}


def test_float32_precision_never_uses_bfloat16():
    est = AutoEncoderTransformer(architecture=recording_architecture, **FAST)
    est.fit(digits())
    est.transform(digits())
    module = recorder(est)
    assert module.trained_in == module.inferred_in == {torch.float32}


def test_float64_input_trains_in_float32_and_infers_in_float64():
    est = AutoEncoderTransformer(architecture=recording_architecture, **FAST)
    est.fit(digits(np.float64))
    module = recorder(est)
    assert module.trained_in == {torch.float32}
    assert module.encoder.weight.dtype == torch.float64
    module.inferred_in.clear()
    codes = est.transform(digits(np.float64))
    assert codes.dtype == np.float64 and module.inferred_in == {torch.float64}
    # partial_fit trains the float64 model in float32 again.
    module.trained_in.clear()
    est.partial_fit(digits(np.float64))
    assert module.trained_in == {torch.float32}
    assert module.encoder.weight.dtype == torch.float64


@pytest.mark.parametrize(
    "estimator",
    [
        AutoEncoderTransformer(early_stopping=True, warm_start=True, **FAST),
        DenoisingAE(early_stopping=True, **FAST),
        VariationalAE(early_stopping=True, **FAST),
    ],
    ids=["warm-start", "denoising", "variational"],
)
def test_float64_fits_end_float64_whatever_the_training_path(estimator):
    # Early stopping restores float32 best weights into the float32 network
    # before it returns to float64; a warm start trains it in float32 again.
    X = digits(np.float64)
    estimator.fit(X)
    if estimator.warm_start:
        estimator.fit(X)
    assert {p.dtype for p in estimator.module_.parameters()} == {torch.float64}
    assert estimator.transform(X).dtype == np.float64
    assert np.isfinite(estimator.score(X))


def test_float32_training_keeps_a_large_offset_in_float64_input():
    # Rows 1e8 + x: float32 spaces numbers near 1e8 by 8, so rows cast to
    # float32 before centring would lose x entirely.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 6))
    X += 0.1 * rng.normal(size=X.shape)  # an error floor of 0.01 per feature
    params = dict(n_components=2, max_iter=50, random_state=0, device="cpu")
    plain = AutoEncoderTransformer(**params).fit(X)
    shifted = AutoEncoderTransformer(**params).fit(X + 1e8)
    assert shifted.score(X + 1e8) == pytest.approx(plain.score(X), rel=0.05)
    assert shifted.score(X + 1e8) > -0.1 * X.var(axis=0).mean()  # R² > 0.9


def test_bfloat16_fit_is_reproducible():
    X = digits()
    first = AutoEncoderTransformer(precision="bfloat16", **FAST).fit(X)
    second = AutoEncoderTransformer(precision="bfloat16", **FAST).fit(X)
    assert_array_equal(first.loss_curve_, second.loss_curve_)
    assert_array_equal(first.transform(X), second.transform(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bfloat16_outputs_follow_input_dtype(dtype):
    X = digits(dtype)
    est = AutoEncoderTransformer(precision="bfloat16", **FAST).fit(X)
    codes = est.transform(X)
    outputs = [
        codes,
        est.inverse_transform(codes),
        est.reconstruct(X),
    ]
    for out in outputs:
        assert out.dtype == dtype
        assert np.isfinite(out).all()
    assert est.score_samples(X).dtype == np.float64  # squared errors' range


@pytest.mark.parametrize(
    "estimator",
    [
        AutoEncoderTransformer(precision="bfloat16", **FAST),
        SparseAE(sparsity="kl", precision="bfloat16", **FAST),
        ContractiveAE(precision="bfloat16", **FAST),
        DenoisingAE(precision="bfloat16", **FAST),
        VariationalAE(precision="bfloat16", **FAST),
    ],
    ids=lambda est: type(est).__name__,
)
def test_every_autoencoder_fits_in_bfloat16(estimator):
    X = digits()
    codes = estimator.fit(X).transform(X)
    assert codes.dtype == np.float32
    assert np.isfinite(codes).all()
    assert np.isfinite(estimator.loss_curve_).all()


def test_bfloat16_reconstructs_as_well_as_float32():
    X_train, X_test = digits_split()
    errors = {}
    for precision in ("float32", "bfloat16"):
        est = AutoEncoderTransformer(
            n_components=8,
            hidden_layer_sizes=(64,),
            max_iter=30,
            random_state=0,
            precision=precision,
        ).fit(X_train)
        errors[precision] = mse(est.reconstruct(X_test), X_test)
    assert errors["bfloat16"] <= 1.05 * errors["float32"]


def test_precision_is_saved_and_loaded(tmp_path):
    X = digits()
    est = AutoEncoderTransformer(precision="bfloat16", **FAST).fit(X)
    path = tmp_path / "model.skae"
    skae.save(est, path)
    loaded = skae.load(path)
    assert loaded.precision == "bfloat16"
    assert_array_equal(loaded.transform(X), est.transform(X))


# As in test_common: the checks' 2-feature data with n_components=2.
@pytest.mark.filterwarnings("ignore::skae._warnings.BottleneckWarning")
@parametrize_with_checks(
    [
        AutoEncoderTransformer(
            precision="bfloat16", max_iter=5, hidden_layer_sizes=(8,)
        ),
        EncoderClassifier(
            AutoEncoderTransformer(**{**FAST, "hidden_layer_sizes": (8,)}),
            precision="bfloat16",
            learning_rate_init=0.01,
            max_iter=10,
            random_state=0,
            device="cpu",
        ),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_in_bfloat16(estimator, check):
    check(estimator)


# ------------------------------------------------------ EncoderClassifier
class DtypeRecorder(Callback):
    """Record the dtype of every linear layer's output, training or not."""

    def on_train_begin(self, net, **kwargs):
        for module in net.module_.modules():
            if isinstance(module, torch.nn.Linear):
                module.register_forward_hook(self._record)

    def _record(self, module, inputs, output):
        RECORDED.add((torch.is_grad_enabled(), output.dtype))


RECORDED = set()


def labelled_digits(dtype=np.float64):
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16).astype(dtype), y[:400]


def classifier(**params):
    return EncoderClassifier(
        AutoEncoderTransformer(**FAST),
        max_iter=5,
        random_state=0,
        device="cpu",
        **params,
    )


def test_classifier_trains_and_validates_in_bfloat16():
    X, y = labelled_digits()
    RECORDED.clear()
    classifier(
        precision="bfloat16", early_stopping=True, callbacks=[DtypeRecorder()]
    ).fit(X, y)
    assert RECORDED == {(True, torch.bfloat16), (False, torch.bfloat16)}
    RECORDED.clear()
    clf = classifier(early_stopping=True, callbacks=[DtypeRecorder()]).fit(X, y)
    # float64 rows train in float32, as the autoencoders' do; the model
    # returns to float64, and so do its probabilities.
    assert RECORDED == {(True, torch.float32), (False, torch.float32)}
    assert {p.dtype for p in clf.module_.parameters()} == {torch.float64}
    assert clf.predict_proba(X).dtype == np.float64


def test_classifier_float32_training_keeps_a_large_offset_in_float64_input():
    # float32 spaces numbers near 1e8 by 8: pixels / 16 cast before the
    # encoder's centring would all read 1e8.
    X, y = labelled_digits()

    def fitted(rows):
        autoencoder = AutoEncoderTransformer(**{**FAST, "max_iter": 30})
        clf = EncoderClassifier(autoencoder, random_state=0, device="cpu")
        return clf.fit(rows, y).score(rows, y)

    plain, shifted = fitted(X), fitted(X + 1e8)
    assert plain > 0.8
    assert shifted == pytest.approx(plain, abs=0.05)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classifier_in_bfloat16_is_reproducible_and_keeps_the_dtype(dtype):
    X, y = labelled_digits(dtype)
    first = classifier(precision="bfloat16").fit(X, y)
    second = classifier(precision="bfloat16").fit(X, y)
    proba = first.predict_proba(X)
    assert proba.dtype == dtype
    assert_array_equal(proba, second.predict_proba(X))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-2)
    assert next(first.module_.parameters()).dtype == torch.float32


def test_classifier_precision_is_saved_and_loaded(tmp_path):
    X, y = labelled_digits()
    clf = classifier(precision="bfloat16").fit(X, y)
    path = tmp_path / "classifier.skae"
    skae.save(clf, path)
    loaded = skae.load(path)
    assert loaded.precision == "bfloat16"
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
