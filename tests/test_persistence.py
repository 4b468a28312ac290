"""Safe model files: skae._persistence.save / load."""

import hashlib
import inspect
import io
import json
import pickle
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import torch
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import LRScheduler

import skae
from skae import (
    AutoEncoderOutlierDetector,
    AutoEncoderTransformer,
    ContractiveAE,
    DenoisingAE,
    EncoderClassifier,
    SparseAE,
    VariationalAE,
)
from skae._net import adopt_optimizer_state
from skae._persistence import _CLASSES, MAGIC, STRING_BYTES_PER_JSON_BYTE, load, save

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

OUTPUTS = (
    "transform",
    "reconstruct",
    "score_samples",
    "decision_function",
    "predict",
    "predict_proba",
)


def make_data(n_samples=90, n_features=6, seed=0):
    rng = np.random.default_rng(seed)
    X = np.tanh(rng.normal(size=(n_samples, 2)) @ rng.normal(size=(2, n_features)))
    X = (X + 0.05 * rng.normal(size=X.shape)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "up", "down")
    return X, y


def fast_autoencoder(**params):
    defaults = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, device="cpu")
    return AutoEncoderTransformer(**{**defaults, **params})


def skae_estimators():
    """One fast instance of every estimator that skae exports right now."""
    instances = []
    for name in skae.__all__:
        cls = getattr(skae, name)
        if not inspect.isclass(cls):
            continue
        accepted = inspect.signature(cls).parameters
        fast = {
            "autoencoder": fast_autoencoder(),
            "hidden_layer_sizes": (8,),
            "max_iter": 3,
            "random_state": 0,
            "device": "cpu",
        }
        instances.append(cls(**{k: v for k, v in fast.items() if k in accepted}))
    return instances


def fit(estimator, X, y):
    return estimator.fit(X, y) if is_classifier(estimator) else estimator.fit(X)


def round_trip(estimator, **kwargs):
    buffer = io.BytesIO()
    save(estimator, buffer)
    return load(io.BytesIO(buffer.getvalue()), **kwargs)


def file_bytes(estimator):
    buffer = io.BytesIO()
    save(estimator, buffer)
    return buffer.getvalue()


def split(data):
    """(json document, weights bytes) of a model file."""
    start = len(MAGIC)
    (n_json,) = struct.unpack("<Q", data[start : start + 8])
    document = json.loads(data[start + 8 : start + 8 + n_json])
    return document, data[start + 16 + n_json :]


def join(document, weights):
    text = json.dumps(document).encode()
    return b"".join(
        [MAGIC, struct.pack("<Q", len(text)), text, struct.pack("<Q", len(weights))]
        + [weights]
    )


@pytest.fixture(scope="module")
def fitted():
    X, _ = make_data()
    return fast_autoencoder().fit(X)


def assert_same(loaded, original, where="estimator"):
    """Assert that a loaded value is the saved one: same types, same values."""
    assert type(loaded) is type(original), where
    if isinstance(original, BaseEstimator):
        assert repr(loaded) == repr(original), where
        assert vars(loaded).keys() == vars(original).keys(), where
        for name, value in vars(original).items():
            if name == "net_":
                value, loaded_value = value.module_, loaded.net_.module_
                value, loaded_value = value.state_dict(), loaded_value.state_dict()
            else:
                loaded_value = getattr(loaded, name)
            assert_same(loaded_value, value, f"{where}.{name}")
    elif isinstance(original, np.ndarray):
        assert loaded.dtype == original.dtype, where
        assert_array_equal(loaded, original, err_msg=where)
    elif isinstance(original, torch.Tensor):
        assert loaded.dtype == original.dtype, where
        assert torch.equal(loaded.cpu(), original.cpu()), where
    elif isinstance(original, dict):
        assert list(loaded) == list(original), where  # keys, their types, order
        assert [type(k) for k in loaded] == [type(k) for k in original], where
        for key, value in original.items():
            assert_same(loaded[key], value, f"{where}[{key!r}]")
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original), where
        for i, (a, b) in enumerate(zip(loaded, original, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(original, float) and np.isnan(original):
        assert np.isnan(loaded), where
    else:
        assert loaded == original, where


# ---------------------------------------------------------------- round trip
@pytest.mark.parametrize("estimator", skae_estimators(), ids=lambda e: type(e).__name__)
def test_round_trip_gives_identical_outputs_for_every_skae_estimator(
    estimator, tmp_path
):
    X, y = make_data()
    fit(estimator, X, y)
    path = tmp_path / "model.skae"
    save(estimator, path)
    loaded = load(path)
    assert type(loaded) is type(estimator)
    assert loaded.get_params().keys() == estimator.get_params().keys()
    assert repr(loaded) == repr(estimator)
    checked = 0
    for method in OUTPUTS:
        if hasattr(estimator, method):
            assert_array_equal(
                getattr(loaded, method)(X), getattr(estimator, method)(X)
            )
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize("estimator", skae_estimators(), ids=lambda e: type(e).__name__)
def test_unfitted_estimator_round_trips_unfitted(estimator):
    loaded = round_trip(estimator)
    assert repr(loaded) == repr(estimator)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(loaded)


FAST = {"hidden_layer_sizes": (8,), "max_iter": 2, "random_state": 0}
SEQUENCE = {"input_shape": (8, 3)}  # 24 features: 8 steps of 3 channels
# Every setting the documentation describes, each fitted on 40 rows of 24
# features in [0, 1] (binary cross-entropy needs them there).
SETTINGS = {
    "early_stopping": lambda: AutoEncoderTransformer(early_stopping=True, **FAST),
    "float-n_components": lambda: AutoEncoderTransformer(n_components=0.9, **FAST),
    "n_components=0": lambda: AutoEncoderTransformer(n_components=0, **FAST),
    "dropout": lambda: AutoEncoderTransformer(dropout=0.3, **FAST),
    "bfloat16": lambda: AutoEncoderTransformer(precision="bfloat16", **FAST),
    "mlp": lambda: AutoEncoderTransformer(architecture="mlp", **FAST),
    "conv": lambda: AutoEncoderTransformer(
        architecture="conv", input_shape=(2, 3, 4), **FAST
    ),
    "lstm": lambda: AutoEncoderTransformer(architecture="lstm", **SEQUENCE, **FAST),
    "gru": lambda: AutoEncoderTransformer(architecture="gru", **SEQUENCE, **FAST),
    "transformer": lambda: AutoEncoderTransformer(
        architecture="transformer", **SEQUENCE, **FAST
    ),
    **{
        f"denoising-{noise}": lambda noise=noise: DenoisingAE(noise=noise, **FAST)
        for noise in ("gaussian", "uniform", "masking", "salt_and_pepper")
    },
    **{
        f"sparse-{sparsity}": lambda s=sparsity: SparseAE(sparsity=s, **FAST)
        for sparsity in ("l1", "kl")
    },
    "contractive": lambda: ContractiveAE(**FAST),
    "variational-mse": lambda: VariationalAE(loss="mse", **FAST),
    "variational-l1": lambda: VariationalAE(loss="l1", **FAST),
    "variational-bce": lambda: VariationalAE(
        loss="bce", output_activation="sigmoid", **FAST
    ),
    "variational-conv-dropout": lambda: VariationalAE(
        architecture="conv", input_shape=(2, 3, 4), dropout=0.2, **FAST
    ),
    "outlier-detector": lambda: AutoEncoderOutlierDetector(
        AutoEncoderTransformer(**FAST), contamination=0.1, random_state=0
    ),
    "classifier": lambda: EncoderClassifier(
        AutoEncoderTransformer(dropout=0.2, **FAST), max_iter=2, random_state=0
    ),
    "classifier-early_stopping": lambda: EncoderClassifier(
        AutoEncoderTransformer(**FAST),
        early_stopping=True,
        max_iter=2,
        random_state=0,
    ),
}


@pytest.mark.parametrize("setting", SETTINGS)
def test_round_trip_of_every_documented_setting(setting):
    rng = np.random.default_rng(0)
    X = rng.random((40, 24)).astype(np.float32)
    y = np.where(X[:, 0] > 0.5, "up", "down")
    estimator = fit(SETTINGS[setting](), X, y)
    loaded = round_trip(estimator)
    assert_same(loaded, estimator)
    for method in OUTPUTS:
        if hasattr(estimator, method):
            expected = getattr(estimator, method)(X)
            assert_array_equal(getattr(loaded, method)(X), expected, err_msg=method)


def test_integer_keys_stay_integers():
    # A float n_components keeps the R² of every size tried, by size.
    X, _ = make_data()
    ae = fast_autoencoder(n_components=0.9).fit(X)
    document, _ = split(file_bytes(ae))
    scores = document["estimator"]["fitted"]["bottleneck_scores_"]
    assert scores["keys"] == "int"
    loaded = round_trip(ae)
    assert loaded.bottleneck_scores_ == ae.bottleneck_scores_
    assert all(type(k) is int for k in loaded.bottleneck_scores_)


def test_dict_with_mixed_keys_cannot_be_saved():
    ae = fast_autoencoder()
    ae.mixed_ = {1: 0.5, "two": 0.25}
    with pytest.raises(ValueError, match=r"'mixed_' is a dict.*pickle"):
        file_bytes(ae)


@pytest.mark.parametrize("key", ["01", "+1", "1.0", "x", "1" * 20, " 1"])
def test_malformed_integer_keys_are_rejected(key):
    X, _ = make_data()
    document, weights = split(file_bytes(fast_autoencoder(n_components=0.9).fit(X)))
    scores = document["estimator"]["fitted"]["bottleneck_scores_"]
    scores["items"][key] = 0.5
    with pytest.raises(ValueError, match="bad key in"):
        load(io.BytesIO(join(document, weights)))


def test_model_files_name_exactly_the_estimators_of_skae_all():
    public = {
        name
        for name in skae.__all__
        if isinstance(getattr(skae, name), type)
        and issubclass(getattr(skae, name), BaseEstimator)
    }
    assert set(_CLASSES) == public
    assert all(_CLASSES[name] is getattr(skae, name) for name in public)


def test_fitted_attributes_survive(fitted):
    loaded = round_trip(fitted)
    for name in ("n_features_in_", "n_components_", "n_iter_", "loss_curve_"):
        assert getattr(loaded, name) == getattr(fitted, name)
    assert loaded.validation_scores_ is None
    assert loaded.hidden_layer_sizes == (8,)  # a tuple stays a tuple
    assert loaded.module_.training is False
    for key, value in fitted.module_.state_dict().items():
        assert torch.equal(loaded.module_.state_dict()[key], value)


@pytest.mark.parametrize(
    "estimator",
    [e for e in skae_estimators() if hasattr(type(e), "partial_fit")]
    + [DenoisingAE(noise="salt_and_pepper", hidden_layer_sizes=(8,), max_iter=3)],
    ids=lambda e: "-".join(
        [type(e).__name__, *([e.noise] if "noise" in e.get_params() else [])]
    ),
)
def test_partial_fit_after_load_continues_exactly(estimator):
    X, _ = make_data()
    estimator = clone(estimator).set_params(random_state=0, device="cpu").fit(X)
    original = pickle.loads(pickle.dumps(estimator))
    loaded = round_trip(estimator)
    X_more, _ = make_data(seed=1)
    original.partial_fit(X_more)
    loaded.partial_fit(X_more)
    # Same optimizer state, RNG state and history: bitwise the same step.
    assert_array_equal(loaded.transform(X), original.transform(X))
    assert loaded.n_iter_ == original.n_iter_ == estimator.n_iter_ + 1
    assert loaded.loss_curve_ == original.loss_curve_


def test_a_file_with_the_bias_group_of_earlier_versions_loads_and_continues():
    # Before 0.2's single optimizer group (alpha=0), the biases always had a
    # group of their own; such files must load and continue training.
    X, _ = make_data()
    ae = fast_autoencoder().fit(X)
    current = ae.net_.optimizer_
    vars(ae.net_)["optimizer__param_groups"] = [("*bias*", {"weight_decay": 0.0})]
    ae.net_.initialize_optimizer()
    adopt_optimizer_state(ae.net_.optimizer_, current)
    assert len(ae.net_.optimizer_.param_groups) == 2
    original = pickle.loads(pickle.dumps(ae))
    loaded = round_trip(ae)
    assert len(loaded.net_.optimizer_.param_groups) == 2
    X_more, _ = make_data(seed=1)
    original.partial_fit(X_more)
    loaded.partial_fit(X_more)
    assert_array_equal(loaded.transform(X), original.transform(X))


def test_variational_samples_survive():
    X, _ = make_data()
    vae = VariationalAE(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    vae.set_params(device="cpu").fit(X)
    loaded = round_trip(vae)
    assert_array_equal(loaded.sample(5, random_state=1), vae.sample(5, random_state=1))


def test_early_stopping_estimator_round_trips():
    X, _ = make_data()
    ae = fast_autoencoder(early_stopping=True).fit(X)
    loaded = round_trip(ae)
    assert loaded.validation_scores_ == ae.validation_scores_
    assert loaded.best_validation_score_ == ae.best_validation_score_
    assert_array_equal(loaded.transform(X), ae.transform(X))


def test_float64_model_and_pandas_output_round_trip():
    X, _ = make_data()
    frame = pd.DataFrame(X.astype(np.float64), columns=[f"f{i}" for i in range(6)])
    ae = fast_autoencoder().set_output(transform="pandas").fit(frame)
    loaded = round_trip(ae)
    assert next(loaded.module_.parameters()).dtype == torch.float64
    assert_array_equal(loaded.feature_names_in_, ae.feature_names_in_)
    codes = loaded.transform(frame)
    assert isinstance(codes, pd.DataFrame)
    pd.testing.assert_frame_equal(codes, ae.transform(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.transform(frame.rename(columns={"f0": "other"}))


def test_loading_spares_the_global_torch_rng(fitted):
    data = file_bytes(fitted)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    load(io.BytesIO(data))
    assert torch.equal(torch.rand(3), expected)


def test_save_to_a_path_leaves_no_temporary_file(fitted, tmp_path):
    save(fitted, tmp_path / "a.skae")
    save(fitted, str(tmp_path / "a.skae"))  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["a.skae"]
    assert (tmp_path / "a.skae").read_bytes().startswith(MAGIC)


def test_versions_are_recorded(fitted):
    document, _ = split(file_bytes(fitted))
    assert document["versions"]["skae"] == skae.__version__
    assert document["versions"]["torch"] == torch.__version__
    assert set(document["versions"]) >= {"skae", "torch", "sklearn"}


def test_other_skae_version_warns(fitted):
    document, weights = split(file_bytes(fitted))
    document["versions"]["skae"] = "0.0.1"
    with pytest.warns(UserWarning, match="saved with skae 0.0.1"):
        load(io.BytesIO(join(document, weights)))


# -------------------------------------------------------------------- device
def test_device_argument_places_weights_and_sets_the_parameter(fitted):
    loaded = round_trip(fitted, device="cpu")
    assert loaded.device_ == torch.device("cpu")
    assert loaded.device == "cpu"
    assert next(loaded.module_.parameters()).device.type == "cpu"


def test_unavailable_device_argument_raises_naming_it(fitted):
    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    with pytest.raises(ValueError, match="cuda:7"):
        round_trip(fitted, device="cuda:7")


def as_if_saved_on_cuda(data):
    """The file a CUDA fit writes: device "cuda", a CUDA generator state."""
    document, weights = split(data)
    estimator = document["estimator"]
    estimator["params"]["device"] = "cuda"
    estimator["net"]["device"] = "cuda:0"
    states = estimator["fitted"]["_generator_state"]["items"]["states"]["items"]
    states["cuda:0"] = states["cpu"]
    return join(document, weights)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_saved_model_loads_on_the_cpu_with_a_warning(fitted):
    data = as_if_saved_on_cuda(file_bytes(fitted))
    with pytest.warns(UserWarning, match="device='cuda', which is not available"):
        loaded = load(io.BytesIO(data))
    assert loaded.device_ == torch.device("cpu")
    assert loaded.device == "cuda"  # parameters stay as saved
    X, _ = make_data()
    assert_array_equal(loaded.transform(X), fitted.transform(X))
    assert "cuda:0" in loaded._generator_state["states"]  # kept as saved


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_saved_model_loaded_with_device_cpu_keeps_training(fitted):
    data = as_if_saved_on_cuda(file_bytes(fitted))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(io.BytesIO(data), device="cpu")
    assert loaded.device == "cpu"
    X, _ = make_data()
    loaded.partial_fit(X)
    assert loaded.n_iter_ == fitted.n_iter_ + 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_round_trip_and_continued_training_on_cuda():
    X, _ = make_data()
    ae = fast_autoencoder(device="cuda").fit(X)
    on_cpu = round_trip(ae, device="cpu")
    on_gpu = round_trip(on_cpu, device="cuda")
    assert on_gpu.device_.type == "cuda"
    np.testing.assert_allclose(on_gpu.transform(X), ae.transform(X), rtol=1e-5)
    on_gpu.partial_fit(X)
    assert on_gpu.n_iter_ == ae.n_iter_ + 1


# ----------------------------------------------------------------- rejections
def test_pickle_file_is_rejected_without_unpickling(fitted, tmp_path, monkeypatch):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(fitted))
    monkeypatch.setattr(pickle, "loads", None)  # any unpickling would crash
    monkeypatch.setattr(pickle, "load", None)
    with pytest.raises(ValueError, match="looks like a pickle"):
        load(path)


class Bomb:
    def __reduce__(self):
        return (exec, ("raise SystemExit('code ran')",))


def test_malicious_pickle_runs_nothing(tmp_path):
    path = tmp_path / "evil.skae"
    path.write_bytes(pickle.dumps(Bomb()))
    with pytest.raises(ValueError, match="Not a skae model file"):
        load(path)


def test_zip_file_is_rejected(tmp_path, fitted):
    path = tmp_path / "model.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.skae", file_bytes(fitted))
    with pytest.raises(ValueError, match="zip archive"):
        load(path)


def test_torch_save_file_is_rejected(tmp_path, fitted):
    path = tmp_path / "weights.pt"
    torch.save(fitted.module_.state_dict(), path)
    with pytest.raises(ValueError, match="Not a skae model file"):
        load(path)


@pytest.mark.parametrize("keep", [0, 5, len(MAGIC) + 3, 200, -1])
def test_truncated_file_is_rejected(fitted, keep):
    data = file_bytes(fitted)
    with pytest.raises(ValueError, match="skae model file"):
        load(io.BytesIO(data[:keep]))


def test_wrong_magic_is_rejected(fitted):
    data = bytearray(file_bytes(fitted))
    data[1:5] = b"SKAF"
    with pytest.raises(ValueError, match="magic bytes"):
        load(io.BytesIO(bytes(data)))


def test_trailing_bytes_are_rejected(fitted):
    with pytest.raises(ValueError, match="unexpected bytes"):
        load(io.BytesIO(file_bytes(fitted) + b"\x00"))


def test_altered_weights_are_rejected(fitted):
    data = bytearray(file_bytes(fitted))
    data[-3] ^= 0xFF
    with pytest.raises(ValueError, match="SHA-256"):
        load(io.BytesIO(bytes(data)))


def tamper(document, what):
    estimator = document["estimator"]
    if what == "unknown class":
        estimator["class"] = "Popen"
    elif what == "private class":
        estimator["class"] = "BaseAutoEncoder"
    elif what == "bad parameter value":
        estimator["params"]["activation"] = "__import__('os')"
    elif what == "unknown parameter":
        estimator["params"]["command"] = "rm -rf /"
    elif what == "method as attribute":
        estimator["fitted"]["transform"] = 1
    elif what == "dunder attribute":
        estimator["fitted"]["__class__"] = "AutoEncoderTransformer"
    elif what == "wrong shape":
        estimator["fitted"]["n_components_"] = 3
    elif what == "unknown value type":
        estimator["fitted"]["n_iter_"] = {"type": "pickle", "value": "gASV"}
    elif what == "missing tensor":
        estimator["fitted"]["_data_mean"]["tensor"] = "nowhere"
    elif what == "bad dtype":
        estimator["net"]["dtype"] = "object"
    elif what == "format":
        document["format"] = "other"
    elif what == "newer format":
        document["format_version"] = 99
    return document


@pytest.mark.parametrize(
    "what, match",
    [
        ("unknown class", "'Popen' is not one of skae's estimators"),
        ("private class", "'BaseAutoEncoder' is not one of skae's"),
        ("bad parameter value", "activation"),
        ("unknown parameter", "command"),
        ("method as attribute", "fitted attribute 'transform'"),
        ("dunder attribute", "fitted attribute '__class__'"),
        ("wrong shape", "do not fit"),
        ("unknown value type", "unknown 'pickle'"),
        ("missing tensor", "no tensor 'nowhere'"),
        ("bad dtype", "bad dtype"),
        ("format", "not skae's"),
        ("newer format", "Upgrade skae"),
    ],
)
def test_tampered_json_is_rejected(fitted, what, match):
    document, weights = split(file_bytes(fitted))
    data = join(tamper(document, what), weights)
    with pytest.raises(ValueError, match=match):
        load(io.BytesIO(data))


def with_strings(data, dtype, items, shape=None, name="names_"):
    """A model file with one more fitted attribute: an array of strings."""
    document, weights = split(data)
    document["estimator"]["fitted"][name] = {
        "type": "ndarray",
        "dtype": dtype,
        "shape": [len(items)] if shape is None else shape,
        "items": items,
    }
    return join(document, weights)


def test_declared_string_width_is_refused_before_it_is_allocated(fitted):
    # A few bytes of JSON declaring 30,000,000-character strings: 114 MiB
    # each, 572 MiB for five, from a 16 KB file, before the bound.
    data = file_bytes(fitted)
    for i in range(5):
        data = with_strings(data, "<U30000000", ["f0"], name=f"names{i}_")
    assert len(data) < 20_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="arrays of strings would take more"):
            load(io.BytesIO(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < STRING_BYTES_PER_JSON_BYTE * len(data)


def test_string_arrays_wider_than_their_strings_round_trip_within_the_bound():
    X, _ = make_data()
    ae = fast_autoencoder().fit(X)
    ae.names_ = np.array([["a", "bb"], ["ccc", ""]], dtype="<U40")
    loaded = round_trip(ae)
    assert loaded.names_.dtype == np.dtype("<U40")
    assert_array_equal(loaded.names_, ae.names_)


def test_save_refuses_string_arrays_that_load_would_refuse():
    X, _ = make_data()
    ae = fast_autoencoder().fit(X)
    ae.names_ = np.array(["a", "b"], dtype="<U200000")
    with pytest.raises(
        ValueError, match=r"more than a model file allows.*np.array\(a.tolist\(\)\)"
    ):
        file_bytes(ae)
    ae.names_ = np.array(ae.names_.tolist())  # narrowed: saved
    assert round_trip(ae).names_.dtype == np.dtype("<U1")


@pytest.mark.parametrize(
    "dtype, items, shape, match",
    [
        ("<U1", ["abc"], None, "do not fit its dtype <U1"),
        ("<U0", [""], None, "do not fit its dtype"),
        ("<U3", ["a", 1], None, "do not fit its dtype"),
        ("<U3", ["a", "b"], [3], "bad array"),
        ("<U3", ["a", "b"], [2, 1000000000], "bad array"),
        ("<U3", ["a"], [True], "bad array"),
        ("<U3", [], [-1, 0], "bad array"),
        ("<U3", [], [0] * 65, "bad array"),
        ("object", ["a", {"type": "estimator"}], None, "bad array"),
        ("object", ["a", ["b"]], None, "bad array"),
        ("V8", ["a"], None, "bad dtype"),
        ("<U99999999999999999999", ["a"], None, "bad dtype"),
    ],
    ids=[
        "longer than the width",
        "no width",
        "a number in a string array",
        "more elements than items",
        "a huge dimension",
        "a boolean dimension",
        "a negative dimension",
        "65 dimensions",
        "an estimator in an object array",
        "a list in an object array",
        "a void dtype",
        "an impossible width",
    ],
)
def test_string_arrays_must_be_what_their_items_are(fitted, dtype, items, shape, match):
    data = with_strings(file_bytes(fitted), dtype, items, shape)
    with pytest.raises(ValueError, match=match):
        load(io.BytesIO(data))


def test_optimizer_state_of_another_shape_is_rejected(fitted):
    document, weights = split(file_bytes(fitted))
    tensors = safetensors.torch.load(weights)
    key = next(k for k in sorted(tensors) if k.endswith("exp_avg"))
    tensors[key] = tensors[key].flatten()[:1]  # would broadcast in a step
    weights = safetensors.torch.save(tensors)
    document["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    with pytest.raises(ValueError, match="shape is not its parameter's"):
        load(io.BytesIO(join(document, weights)))


def test_invalid_json_is_rejected(fitted):
    document, weights = split(file_bytes(fitted))
    text = json.dumps(document).encode()[:-1]  # drop the closing brace
    data = b"".join(
        [MAGIC, struct.pack("<Q", len(text)), text]
        + [struct.pack("<Q", len(weights)), weights]
    )
    with pytest.raises(ValueError, match="bad JSON"):
        load(io.BytesIO(data))


# ----------------------------------------------------------- what save refuses
class TinyModule(torch.nn.Module):
    def __init__(self, n_features, n_components):
        super().__init__()
        self.down = torch.nn.Linear(n_features, n_components)
        self.up = torch.nn.Linear(n_components, n_features)

    def encode(self, x):
        return self.down(x)

    def decode(self, z):
        return self.up(z)


def tiny(n_features, n_components, input_shape):
    return TinyModule(n_features, n_components)


def test_callable_architecture_cannot_be_saved_and_says_use_pickle():
    X, _ = make_data()
    ae = fast_autoencoder(architecture=tiny).fit(X)
    with pytest.raises(ValueError, match=r"'architecture' is a callable.*pickle"):
        file_bytes(ae)
    # pickle remains the way to keep such a model
    assert_array_equal(pickle.loads(pickle.dumps(ae)).transform(X), ae.transform(X))


def test_callbacks_cannot_be_saved_and_say_use_pickle():
    ae = fast_autoencoder(
        callbacks=[LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1)]
    )
    with pytest.raises(ValueError, match=r"'callbacks' is a LRScheduler.*pickle"):
        file_bytes(ae)


def test_random_state_instance_cannot_be_saved():
    with pytest.raises(ValueError, match=r"'random_state' is a RandomState.*pickle"):
        file_bytes(fast_autoencoder(random_state=np.random.RandomState(0)))


def test_subclass_outside_skae_cannot_be_saved():
    class Mine(AutoEncoderTransformer):
        pass

    with pytest.raises(ValueError, match="skae's own estimators only.*pickle"):
        file_bytes(Mine())


def test_failed_save_writes_nothing(tmp_path):
    ae = fast_autoencoder(random_state=np.random.RandomState(0))
    with pytest.raises(ValueError):
        save(ae, tmp_path / "model.skae")
    assert list(tmp_path.iterdir()) == []


def test_pickle_round_trip_still_works(fitted):
    X, _ = make_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no version or device warnings
        again = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(again.transform(X), fitted.transform(X))
    again.partial_fit(X)
    assert again.n_iter_ == fitted.n_iter_ + 1
