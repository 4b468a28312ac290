"""skae on a dask.distributed cluster: joblib's Dask backend, dask-ml.

One LocalCluster of two worker processes (one thread each) serves the module.
The ``dask`` extra installs what these tests need; without it they skip.
"""

import logging
import os
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV

from skae import AutoEncoderTransformer

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")
wrappers = pytest.importorskip("dask_ml.wrappers")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def make_data(n_samples=400, n_features=10, seed=0):
    rng = np.random.default_rng(seed)
    X = np.tanh(rng.normal(size=(n_samples, 2)) @ rng.normal(size=(2, n_features)))
    return (X + 0.05 * rng.normal(size=X.shape)).astype(np.float32)


def fast(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, device="cpu")
    return AutoEncoderTransformer(**{**defaults, **params})


def reconstruction_score(estimator, X, y=None):
    return estimator.score(X)


def process_id(estimator, X, y=None):
    """A 'scorer' that reports which process ran the fit."""
    return os.getpid()


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_gridsearch_on_the_dask_backend_matches_one_job(client):
    X = make_data(n_samples=150)
    grid = {"n_components": [1, 3], "hidden_layer_sizes": [(), (8,)]}
    scoring = {"score": reconstruction_score, "pid": process_id}
    local = GridSearchCV(fast(), grid, cv=2, n_jobs=1, scoring=scoring, refit="score")
    local.fit(X)
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(fast(), grid, cv=2, scoring=scoring, refit="score")
        remote.fit(X)
    assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-5,
    )
    assert remote.best_params_ == local.best_params_
    # The fits ran in the cluster's worker processes, not here.
    workers = set(client.run(os.getpid).values())
    ran_on = {
        int(pid) for i in range(2) for pid in remote.cv_results_[f"split{i}_test_pid"]
    }
    assert ran_on <= workers and os.getpid() not in ran_on


def test_incremental_trains_block_by_block_like_partial_fit(client):
    X = make_data()
    blocks = da.from_array(X, chunks=(100, X.shape[1]))
    incremental = wrappers.Incremental(fast(), shuffle_blocks=False).fit(blocks)
    in_memory = fast()
    for start in range(0, len(X), 100):
        in_memory.partial_fit(X[start : start + 100])
    fitted = incremental.estimator_
    assert fitted.n_iter_ == in_memory.n_iter_ == 4
    assert_allclose(fitted.loss_curve_, in_memory.loss_curve_, rtol=1e-5)
    assert_allclose(fitted.transform(X), in_memory.transform(X), rtol=1e-4, atol=1e-6)
    # Incremental is a ParallelPostFit: transform maps over the blocks too.
    codes = incremental.transform(blocks)
    assert isinstance(codes, da.Array)
    assert_allclose(codes.compute(), fitted.transform(X), rtol=1e-6)


def test_parallel_post_fit_transforms_a_dask_array_on_the_cluster(client):
    X = make_data(n_samples=1000)
    estimator = fast().fit(X[:300])
    blocks = da.from_array(X, chunks=(250, X.shape[1]))
    codes = wrappers.ParallelPostFit(estimator).transform(blocks)
    assert isinstance(codes, da.Array) and codes.numblocks == (4, 1)
    assert_allclose(codes.compute(), estimator.transform(X), rtol=1e-6)
    scores = blocks.map_blocks(
        estimator.score_samples, drop_axis=1, dtype=np.float32
    ).compute()
    assert_allclose(scores, estimator.score_samples(X), rtol=1e-6)
