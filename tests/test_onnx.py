"""ONNX export: onnxruntime gives what scikit-learn gives, for every kind."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skae
from skae import (
    AutoEncoderOutlierDetector,
    AutoEncoderTransformer,
    EncoderClassifier,
    VariationalAE,
    to_onnx,
)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

ATOL = 1e-5
FAST = {"max_iter": 3, "random_state": 0}
ARCHITECTURES = {
    "mlp": {"hidden_layer_sizes": (8,)},
    "conv": {
        "architecture": "conv",
        "input_shape": (1, 3, 4),
        "hidden_layer_sizes": (4,),
    },
    "lstm": {"architecture": "lstm", "input_shape": (4, 3), "hidden_layer_sizes": (6,)},
    "gru": {"architecture": "gru", "input_shape": (4, 3), "hidden_layer_sizes": (6,)},
}


def _data(n_samples=60, n_features=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)) * 3 + 1
    y = (X[:, 0] + X[:, 1] > 2).astype(np.int64)
    return X.astype(np.float32), y


def _run(model, X):
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def test_import_skae_needs_no_onnx():
    code = (
        "import sys, skae; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('onnx', 'onnxruntime', 'onnxscript', 'skl2onnx')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_missing_extra_names_it(monkeypatch):
    est = AutoEncoderTransformer(n_components=2, **FAST).fit(_data()[0])
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'skae\[onnx\]'"):
        to_onnx(est, _data()[0])


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_codes_match_transform(name):
    X, _ = _data()
    est = AutoEncoderTransformer(n_components=3, **ARCHITECTURES[name], **FAST).fit(X)
    model = to_onnx(est, X[:1])
    onnx.checker.check_model(model)
    assert [output.name for output in model.graph.output] == ["codes"]
    # The batch dimension is dynamic: one row, or any number.
    for rows in (X[:1], X):
        (codes,) = _run(model, rows)
        assert codes.dtype == np.float32
        np.testing.assert_allclose(codes, est.transform(rows), rtol=0, atol=ATOL)


def test_every_autoencoder_exports():
    X, _ = _data()
    for est in (
        skae.SparseAE(sparsity="kl"),
        skae.ContractiveAE(),
        skae.DenoisingAE(),
        skae.VariationalAE(),
    ):
        est.set_params(n_components=2, hidden_layer_sizes=(8,), **FAST).fit(X)
        (codes,) = _run(to_onnx(est, X[:1]), X)
        np.testing.assert_allclose(codes, est.transform(X), rtol=0, atol=ATOL)


# A VariationalAE's reconstruction score is its ELBO, which is not exported
# (refused, as _OwnScores is below); its parts are.
@pytest.mark.parametrize(
    "anomaly_score, autoencoder",
    [
        ("combined", AutoEncoderTransformer),
        ("reconstruction", AutoEncoderTransformer),
        ("code", AutoEncoderTransformer),
        ("combined", VariationalAE),
        ("code", VariationalAE),
    ],
)
def test_outlier_detector_scores_and_labels(anomaly_score, autoencoder):
    X, _ = _data()
    detector = AutoEncoderOutlierDetector(
        autoencoder(n_components=2, hidden_layer_sizes=(8,), **FAST),
        anomaly_score=anomaly_score,
        contamination=0.1,
    ).fit(X)
    model = to_onnx(detector, X[:1])
    names = [output.name for output in model.graph.output]
    assert names == ["label", "scores", "score_samples"]
    label, scores, score_samples = _run(model, X)
    np.testing.assert_array_equal(label[:, 0], detector.predict(X))
    np.testing.assert_allclose(
        scores[:, 0], detector.decision_function(X), rtol=1e-4, atol=ATOL
    )
    # float32 within 1e-4 relative: the combined score runs to tens.
    np.testing.assert_allclose(
        score_samples[:, 0], detector.score_samples(X), rtol=1e-4, atol=ATOL
    )
    # Through skl2onnx without options: skl2onnx's two outlier outputs.
    skae.register_onnx_converters()
    plain = skl2onnx.to_onnx(detector, X[:1])
    assert [output.name for output in plain.graph.output] == ["label", "scores"]


@pytest.mark.parametrize("labels", [np.array([3, 7]), np.array(["cat", "dog"])])
def test_classifier_probabilities_and_labels(labels):
    X, y = _data()
    clf = EncoderClassifier(
        AutoEncoderTransformer(n_components=2, hidden_layer_sizes=(8,), **FAST),
        head_hidden_layer_sizes=(4,),
        **FAST,
    ).fit(X, labels[y])
    model = to_onnx(clf, X[:1])
    label, proba = _run(model, X)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, clf.predict(X))


def test_pipeline_converts_with_skl2onnx():
    X, y = _data()
    pipe = make_pipeline(
        StandardScaler(),
        AutoEncoderTransformer(n_components=3, hidden_layer_sizes=(8,), **FAST),
        LogisticRegression(),
    ).fit(X, y)
    skae.register_onnx_converters()
    model = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    label, proba = _run(model, X)
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, pipe.predict(X))
    # skae.to_onnx gives the same graph's outputs, the ZipMap off by default.
    label, proba = _run(to_onnx(pipe, X[:1]), X)
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=ATOL)


def test_float64_models_and_graphs():
    X, _ = _data()
    X64 = X.astype(np.float64)
    est = AutoEncoderTransformer(n_components=2, hidden_layer_sizes=(8,), **FAST)
    est.fit(X64)
    assert next(est.module_.parameters()).dtype == torch.float64
    # A float64 sample gives a float64 graph, equal to transform.
    (codes,) = _run(to_onnx(est, X64[:1]), X64)
    assert codes.dtype == np.float64
    np.testing.assert_allclose(codes, est.transform(X64), rtol=0, atol=1e-12)
    # A float32 sample gives a float32 graph: float64 weights rounded.
    (codes,) = _run(to_onnx(est, X[:1]), X)
    assert codes.dtype == np.float32
    np.testing.assert_allclose(codes, est.transform(X), rtol=0, atol=ATOL)


def test_integer_sample_gives_float32_graph():
    X, _ = _data()
    est = AutoEncoderTransformer(n_components=2, **FAST).fit(X)
    model = to_onnx(est, np.round(X[:1]).astype(np.int64))
    (codes,) = _run(model, X)
    np.testing.assert_allclose(codes, est.transform(X), rtol=0, atol=ATOL)


def test_sparse_sample_is_refused():
    X, _ = _data()
    est = AutoEncoderTransformer(n_components=2, **FAST).fit(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="ONNX graphs take dense tensors"):
        to_onnx(est, sp.csr_matrix(X[:1]))
    (codes,) = _run(to_onnx(est, X[:1]), X)
    np.testing.assert_allclose(codes, est.transform(X), rtol=0, atol=ATOL)


def test_wrong_width_is_refused():
    X, _ = _data()
    est = AutoEncoderTransformer(n_components=2, **FAST).fit(X)
    with pytest.raises(ValueError, match="expects 2-D rows of 12 features"):
        to_onnx(est, X[:1, :5])


def test_old_opset_is_refused():
    X, _ = _data()
    est = AutoEncoderTransformer(n_components=2, **FAST).fit(X)
    with pytest.raises(ValueError, match="opset 18 or later"):
        to_onnx(est, X[:1], target_opset=13)


def test_unfitted_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(AutoEncoderTransformer(), _data()[0])


class _ValueBranch(torch.nn.Module):
    """A module whose encoding branches on tensor values: torch.export fails."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.encoder = torch.nn.Linear(n_features, n_components)
        self.decoder = torch.nn.Linear(n_components, n_features)

    def encode(self, x):
        z = self.encoder(x)
        return z if z.sum() > 0 else -z

    def decode(self, z):
        return self.decoder(z)


def _value_branch(n_features, n_components, input_shape):
    return _ValueBranch(n_features, n_components)


def test_untraceable_module_is_refused():
    X, _ = _data()
    est = AutoEncoderTransformer(
        n_components=2, architecture=_value_branch, **FAST
    ).fit(X)
    with pytest.raises(ValueError, match="Cannot export AutoEncoderTransformer"):
        to_onnx(est, X[:1])


class _PCAWithReconstruct(PCA):
    def reconstruct(self, X):
        return self.inverse_transform(self.transform(X))


def test_detector_on_a_foreign_autoencoder_is_refused():
    X, _ = _data()
    detector = AutoEncoderOutlierDetector(_PCAWithReconstruct(n_components=2))
    detector.fit(X)
    with pytest.raises(ValueError, match="built on _PCAWithReconstruct: the export"):
        to_onnx(detector, X[:1])


def test_bfloat16_model_exports_a_float32_graph():
    X, _ = _data()
    est = AutoEncoderTransformer(
        n_components=2, hidden_layer_sizes=(8,), precision="bfloat16", **FAST
    ).fit(X)
    (codes,) = _run(to_onnx(est, X[:1]), X)
    # The weights are float32; the graph runs them without autocast.
    with torch.no_grad():
        expected = est.module_.encode(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(codes, expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(codes, est.transform(X), rtol=0.05, atol=0.05)


class _OwnScores(AutoEncoderTransformer):
    def score_samples(self, X):
        return -np.abs(self.transform(X)).sum(axis=1)


def test_detector_on_other_scores_is_refused():
    X, _ = _data()
    detector = AutoEncoderOutlierDetector(
        _OwnScores(n_components=2, **FAST), anomaly_score="reconstruction"
    ).fit(X)
    with pytest.raises(ValueError, match="not what _OwnScores.score_samples"):
        to_onnx(detector, X[:1])
    # The combined score does not use score_samples: it exports.
    detector.set_params(anomaly_score="combined").fit(X)
    label, _, _ = _run(to_onnx(detector, X[:1]), X)
    np.testing.assert_array_equal(label[:, 0], detector.predict(X))


class _OwnCodes(AutoEncoderTransformer):
    def transform(self, X):
        return 2 * super().transform(X)


def test_detector_on_other_codes_is_refused():
    X, _ = _data()
    detector = AutoEncoderOutlierDetector(_OwnCodes(n_components=2, **FAST)).fit(X)
    with pytest.raises(ValueError, match="overrides transform"):
        to_onnx(detector, X[:1])
