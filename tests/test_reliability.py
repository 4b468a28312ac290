"""Reliability: pickles across devices, sparse input, threads, joblib.

CUDA on a CPU-only machine is faked faithfully: torch pickles each tensor
storage with a location tag, and ``torch.serialization.location_tag`` is
patched so that the weights' storages are tagged ``"cuda:0"``, exactly as a
CUDA-fitted model's are. Loading such a storage without device mapping fails
("Attempting to deserialize object on a CUDA device", checked below), so the
tests exercise the same code path a real CUDA pickle does. On a GPU machine,
``torch.cuda.is_available`` is patched to return False while unpickling, and
a real CUDA round trip runs in a subprocess without visible GPUs.
"""

import copy
import importlib.util
import os
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV
from skorch.exceptions import DeviceWarning

from skae import AutoEncoderTransformer
from skae._inference import block_rows

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ROOT = Path(__file__).resolve().parents[1]


def make_data(n_samples=120, n_features=10, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = np.tanh(rng.normal(size=(n_samples, 2)) @ rng.normal(size=(2, n_features)))
    return (X + 0.05 * rng.normal(size=X.shape)).astype(dtype)


def fast(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, device="cpu")
    return AutoEncoderTransformer(**{**defaults, **params})


@pytest.fixture
def slow_selected(request):
    """Skip unless slow tests were asked for (``make slow`` or ``-m slow``)."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with `make slow` (pytest -m slow)")


def bench_memory():
    spec = importlib.util.spec_from_file_location(
        "bench_memory", ROOT / "benchmarks" / "bench_memory.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------- CUDA pickle on a CPU
def tensors_of(ae):
    net = ae.net_
    found = list(net.module_.state_dict().values())
    for state in net.optimizer_.state.values():
        found += [t for t in state.values() if isinstance(t, torch.Tensor) and t.dim()]
    for hook in (net.penalty, net.corruption):
        found += (
            [t for t in vars(hook).values() if isinstance(t, torch.Tensor)]
            if (hook is not None and hasattr(hook, "__dict__"))
            else []
        )
    return found


def pickle_as_if_fitted_on_cuda(ae, monkeypatch):
    """Pickle ``ae`` as a fit with device="cuda" would have written it."""
    ae = copy.deepcopy(ae)
    ae.device = "cuda"
    ae.net_.device = "cuda"
    states = ae._generator_state["states"]
    states["cuda:0"] = states["cpu"].clone()  # a CUDA fit's generator state
    cuda = {t.untyped_storage().data_ptr() for t in tensors_of(ae)}
    real_tag = torch.serialization.location_tag

    def tag(storage):
        return "cuda:0" if storage.data_ptr() in cuda else real_tag(storage)

    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", tag)
        return pickle.dumps(ae), pickle.dumps(next(ae.module_.parameters()))


def unpickle_without_cuda(blob, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(torch.cuda, "is_available", lambda: False)
        return pickle.loads(blob)


def test_fake_cuda_pickle_needs_device_mapping(monkeypatch):
    ae = fast().fit(make_data())
    _, weight = pickle_as_if_fitted_on_cuda(ae, monkeypatch)
    with pytest.raises(RuntimeError, match="deserialize object on a CUDA device"):
        unpickle_without_cuda(weight, monkeypatch)


def test_cuda_fitted_pickle_unpickles_on_cpu_with_a_warning(monkeypatch):
    X = make_data()
    ae = fast().fit(X)
    blob, _ = pickle_as_if_fitted_on_cuda(ae, monkeypatch)
    with (
        pytest.warns(DeviceWarning, match="no CUDA devices are available"),
        pytest.warns(DeviceWarning, match=r"requested device \(cuda\) is not"),
    ):
        again = unpickle_without_cuda(blob, monkeypatch)
    assert again.device_ == torch.device("cpu")
    assert_array_equal(again.transform(X), ae.transform(X))
    # The module given to the net and its module_ are one object, stored once.
    assert again.net_.module is again.net_.module_
    # Training continues on the CPU from the CPU half of the RNG state.
    again.set_params(device="cpu").partial_fit(X)
    reference = copy.deepcopy(ae).partial_fit(X)
    assert again.n_iter_ == ae.n_iter_ + 1
    assert_array_equal(again.transform(X), reference.transform(X))


class ShiftByColumnMeans:
    """A picklable corruption holding a tensor, as the family's hooks may."""

    def __init__(self, means):
        self.means = means

    def __call__(self, x):
        return x + 0.01 * self.means


class ShiftingAutoEncoder(AutoEncoderTransformer):
    def _corruption(self, data):
        return ShiftByColumnMeans(torch.as_tensor(np.asarray(data.X.mean(axis=0))))


def test_tensors_in_penalty_and_corruption_are_device_mapped(monkeypatch):
    X = make_data()
    ae = ShiftingAutoEncoder(hidden_layer_sizes=(8,), max_iter=2, device="cpu").fit(X)
    blob, _ = pickle_as_if_fitted_on_cuda(ae, monkeypatch)
    with pytest.warns(DeviceWarning):
        again = unpickle_without_cuda(blob, monkeypatch)
    assert again.net_.corruption.means.device.type == "cpu"
    assert_array_equal(again.transform(X), ae.transform(X))


def test_pickle_stores_the_weights_once():
    ae = fast(hidden_layer_sizes=(256,)).fit(make_data(n_features=200))
    weight_bytes = sum(t.nbytes for t in ae.module_.state_dict().values())
    # weights + Adam's two moments; a second copy of the module would be 4x
    assert len(pickle.dumps(ae)) < 3.3 * weight_bytes


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_real_cuda_pickle_unpickles_where_no_gpu_is_visible(tmp_path):
    X = make_data(dtype=np.float32)
    ae = fast(device="cuda").fit(X)
    (tmp_path / "ae.pkl").write_bytes(pickle.dumps(ae))
    np.save(tmp_path / "X.npy", X)
    script = (
        "import pickle, warnings, numpy as np\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    ae = pickle.loads(open({str(tmp_path / 'ae.pkl')!r}, 'rb').read())\n"
        "print(ae.device_, any('CUDA' in str(x.message) for x in w))\n"
        f"np.save({str(tmp_path / 'Z.npy')!r}, "
        f"ae.transform(np.load({str(tmp_path / 'X.npy')!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["cpu", "True"]
    assert_allclose(np.load(tmp_path / "Z.npy"), ae.transform(X), rtol=1e-4)


# -------------------------------------------------------------- sparse input
@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_input_gives_the_dense_results(fmt, dtype):
    X = make_data(dtype=dtype)
    X[np.abs(X) < 0.5] = 0
    S = fmt(X)
    dense, sparse = fast().fit(X), fast().fit(S)
    dense.partial_fit(X[:50])
    sparse.partial_fit(S[:50])
    tight = dict(rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-7)
    assert_allclose(sparse.transform(S), dense.transform(X), **tight)
    assert_allclose(sparse.reconstruct(S), dense.reconstruct(X), **tight)
    assert_allclose(sparse.score_samples(S), dense.score_samples(X), **tight)
    assert sparse.score(S) == pytest.approx(dense.score(X), rel=1e-6)
    assert sparse.transform(S).dtype == dtype
    decoded = sparse.inverse_transform(sparse.transform(S))
    assert isinstance(decoded, np.ndarray) and decoded.dtype == dtype
    assert_allclose(decoded, dense.reconstruct(X), **tight)


def test_sparse_rows_are_densified_batch_by_batch(monkeypatch):
    rng = np.random.default_rng(0)
    n_samples, n_features = 3000, 10_000  # no batch holds over 2**24 values
    S = sp.random(n_samples, n_features, density=1e-3, format="csc", rng=rng)
    densified = []
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        real = cls.toarray

        def spy(self, *args, _real=real, **kwargs):
            densified.append(self.shape[0])
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(cls, "toarray", spy)
    ae = fast(hidden_layer_sizes=(), max_iter=2, batch_size=100).fit(S)
    ae.partial_fit(S)
    for method in (ae.transform, ae.reconstruct, ae.score_samples):
        method(S)
    assert densified, "the spy saw nothing"
    assert max(densified) <= 2**24 // n_features < n_samples


def test_inference_blocks_are_cache_sized_on_cpu_and_large_on_gpus():
    cpu_rows = block_rows(10**6, 784, torch.device("cpu"))
    gpu_rows = block_rows(10**6, 784, torch.device("cuda"))
    assert 1 <= cpu_rows * 784 <= 2**21 < gpu_rows * 784 <= 2**24
    assert block_rows(10, 784, "cpu") == 10  # never more rows than there are
    assert block_rows(5, 10**8, "cpu") == 1  # one row even when it is huge


@pytest.mark.slow
def test_big_sparse_matrix_fits_one_epoch_in_bounded_memory(slow_selected):
    # 200,000 x 50,000 with 400k non-zeros: 40 GB if it were densified.
    result = bench_memory().measure(
        200_000, 50_000, hidden=(), sparse=True, nnz=400_000
    )
    assert result["dense_size"] == 40e9
    assert result["n_iter"] == 1
    assert result["peak"] - result["baseline"] < 2**30


@pytest.mark.slow
def test_fitting_float32_keeps_no_second_copy(slow_selected):
    # 200 MB of float32: fitting may add at most half the data on top of it.
    result = bench_memory().measure(50_000, 1000)
    assert result["data"] == 200e6
    assert result["growth_ratio"] <= 1.5


# -------------------------------------------------------------------- threads
def test_transform_and_score_samples_are_thread_safe():
    ae = fast().fit(make_data())
    X64 = make_data(n_samples=3000, seed=1)
    X32 = X64.astype(np.float32)
    calls = [
        (ae.transform, X64),
        (ae.score_samples, X64),
        (ae.reconstruct, X32),
        (ae.score_samples, X32),
    ]
    expected = [method(X) for method, X in calls]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(*calls[i % 4]) for i in range(16)]
        results = [future.result() for future in futures]
    for i, result in enumerate(results):
        assert_array_equal(result, expected[i % 4])


# --------------------------------------------------------------------- joblib
def torch_threads(estimator, X, y=None):
    """A 'scorer' that reports the torch threads of the process it runs in."""
    return torch.get_num_threads()


def reconstruction_score(estimator, X, y=None):
    return estimator.score(X)


def test_gridsearch_with_two_jobs_limits_threads_and_matches_one_job():
    X = make_data()
    grid = {"n_components": [1, 3], "hidden_layer_sizes": [(), (8,)]}
    scoring = {"score": reconstruction_score, "threads": torch_threads}
    one = GridSearchCV(fast(), grid, cv=2, n_jobs=1, scoring=scoring, refit=False)
    two = GridSearchCV(fast(), grid, cv=2, n_jobs=2, scoring=scoring, refit=False)
    one.fit(X)
    two.fit(X)
    assert_allclose(
        two.cv_results_["mean_test_score"],
        one.cv_results_["mean_test_score"],
        rtol=1e-5,
    )
    # Torch threads as seen inside the two joblib workers: their share only.
    threads = [two.cv_results_[f"split{i}_test_threads"] for i in range(2)]
    assert np.max(threads) <= max(1, joblib.cpu_count() // 2)
