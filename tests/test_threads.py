"""The thread policy: small dense fits run on one torch thread, safely."""

import os
import signal
import threading
import time

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from skorch.callbacks import Callback
from threadpoolctl import threadpool_info, threadpool_limits

import skae._threads
from skae import AutoEncoderTransformer
from skae._threads import SMALL_WORK, dense_work_per_row, intra_op_threads


class _SeenThreads(Callback):
    """Record torch's intra-op thread count during training."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _fit(X, **params):
    seen = _SeenThreads()
    ae = AutoEncoderTransformer(
        max_iter=3, random_state=0, device="cpu", callbacks=[("seen", seen)], **params
    )
    return ae.fit(X), seen


def test_a_small_dense_fit_trains_on_one_thread_and_restores(two_threads):
    X = np.random.default_rng(0).normal(size=(100, 8))
    ae, seen = _fit(X, n_components=2)
    assert ae.callbacks[0][1].seen == []  # the estimator's own is copied
    assert torch.get_num_threads() == 2
    fitted_seen = ae.net_.callbacks_
    recorded = [cb for name, cb in fitted_seen if name == "seen"][0].seen
    assert recorded and set(recorded) == {1}


def _blas_threads():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


class _SeenBlasThreads(Callback):
    """Record the BLAS libraries' thread counts when training starts."""

    def __init__(self):
        self.seen = None

    def on_train_begin(self, net, **kwargs):
        self.seen = _blas_threads()


def test_a_small_dense_fit_limits_blas_to_one_thread_and_restores():
    # numpy's BLAS at two threads (the start's covariance and eigh run there):
    # on busy cores a two-thread eigh of a 64 x 64 matrix takes 0.1 s.
    X = np.random.default_rng(0).normal(size=(100, 8))
    with threadpool_limits(limits=2, user_api="blas"):
        if not _blas_threads():
            pytest.skip("no BLAS library threadpoolctl can see")
        seen = _SeenBlasThreads()
        ae = AutoEncoderTransformer(
            2, max_iter=2, random_state=0, device="cpu", callbacks=[("seen", seen)]
        ).fit(X)
        assert dict(ae.net_.callbacks_)["seen"].seen == {1}
        assert _blas_threads() == {2}


def test_a_large_dense_fit_keeps_the_setting(two_threads):
    X = np.random.default_rng(0).normal(size=(50, 784)).astype(np.float32)
    assert dense_work_per_row(784, (256,), 32) >= SMALL_WORK
    ae, _ = _fit(X, n_components=32, hidden_layer_sizes=(256,))
    recorded = [cb for name, cb in ae.net_.callbacks_ if name == "seen"][0].seen
    assert set(recorded) == {2}


def test_the_setting_is_restored_when_a_fit_fails(two_threads):
    X = np.random.default_rng(0).normal(size=(100, 8))
    with pytest.raises(ValueError):
        AutoEncoderTransformer(n_components=2, loss="bce").fit(X)  # not in [0, 1]
    with pytest.raises(RuntimeError), intra_op_threads(1):
        raise RuntimeError
    assert torch.get_num_threads() == 2


def test_fits_in_threads_are_reproducible_and_restore_the_setting(two_threads):
    X = np.random.default_rng(0).normal(size=(300, 12))
    alone = AutoEncoderTransformer(3, max_iter=20, random_state=0).fit(X).transform(X)
    results = [None] * 4
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        ae = AutoEncoderTransformer(3, max_iter=20, random_state=0)
        results[i] = ae.fit(X).transform(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for codes in results:
        assert_array_equal(codes, alone)
    assert torch.get_num_threads() == 2


def test_intra_op_threads_only_lowers_and_nests():
    before = torch.get_num_threads()
    with intra_op_threads(before + 4):
        assert torch.get_num_threads() == before
    with intra_op_threads(1):
        with intra_op_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def _in_thread(function):
    """Return ``function()`` run in a new thread."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()), daemon=True)
    thread.start()
    thread.join(timeout=10)
    return result[0]


def _first_count():
    """torch's thread count in a thread after its first parallel operation."""
    torch.ones(4).sum()
    return torch.get_num_threads()


def test_a_thread_that_leaves_first_gets_its_own_setting_back(two_threads):
    # torch's setting is per thread: when the thread that lowered it left
    # before another fit's thread, it used to stay at 1 for good.
    torch.ones(4).sum()
    entered, release, seen = threading.Event(), threading.Event(), {}

    def other():
        # A fresh thread: it copies torch's default, lowered by the main
        # thread's open block, on its first parallel operation.
        with intra_op_threads(1):
            entered.set()
            release.wait(timeout=10)
            seen["inside"] = torch.get_num_threads()
        seen["after"] = torch.get_num_threads()

    worker = threading.Thread(target=other, daemon=True)
    try:
        with intra_op_threads(1):
            assert torch.get_num_threads() == 1
            worker.start()
            assert entered.wait(timeout=10)
        after_leaving = torch.get_num_threads()  # the other block is still open
    finally:
        release.set()
        worker.join(timeout=10)
    assert after_leaving == 2
    assert seen["inside"] == 1
    # Closing last, the worker must not leave the lowered value behind, in
    # itself or in the default later threads copy.
    assert seen["after"] == 2
    assert _in_thread(_first_count) == 2  # a new thread afterwards
    assert torch.get_num_threads() == 2


def test_a_block_entered_while_another_is_open_lowers_its_own_thread(two_threads):
    ready, go, seen = threading.Event(), threading.Event(), {}

    def other():
        seen["before"] = torch.get_num_threads()
        ready.set()
        go.wait(timeout=10)
        with intra_op_threads(1):  # while the main thread's block is open
            seen["inside"] = torch.get_num_threads()
        seen["after"] = torch.get_num_threads()

    worker = threading.Thread(target=other, daemon=True)
    worker.start()
    assert ready.wait(timeout=10)
    with intra_op_threads(1):
        go.set()
        worker.join(timeout=10)
        assert torch.get_num_threads() == 1
    assert seen == {"before": 2, "inside": 1, "after": 2}
    assert torch.get_num_threads() == 2


def test_a_thread_started_during_a_block_gets_torchs_default(two_threads):
    # torch.set_num_threads also writes the default new threads copy: a
    # thread started during a small fit used to copy its 1 and keep it (a
    # seeded large fit there then ended a few ulps from the same fit
    # elsewhere).
    with intra_op_threads(1):
        assert torch.get_num_threads() == 1
        assert _in_thread(_first_count) == 2
    assert _in_thread(_first_count) == 2


def test_a_thread_at_one_thread_does_not_lower_the_others(two_threads):
    opened, release = threading.Event(), threading.Event()

    def worker():
        torch.set_num_threads(1)  # this thread's own choice
        with intra_op_threads(1):
            opened.set()
            release.wait(timeout=10)
        return torch.get_num_threads()

    torch.set_num_threads(2)
    result = []
    thread = threading.Thread(target=lambda: result.append(worker()), daemon=True)
    thread.start()
    try:
        assert opened.wait(timeout=10)
        torch.set_num_threads(2)  # the worker's choice also wrote the default
        with intra_op_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        release.set()
        thread.join(timeout=10)
    assert result == [1]
    assert torch.get_num_threads() == 2


def test_blas_is_limited_in_the_main_thread_only():
    # OpenBLAS ignores a count set from another thread once the main thread
    # has set one: when a worker's fit ended after the main thread's and
    # lifted the limit, BLAS stayed at one thread for good.
    with threadpool_limits(limits=2, user_api="blas"):
        if not _blas_threads():
            pytest.skip("no BLAS library threadpoolctl can see")
        entered, release = threading.Event(), threading.Event()

        def worker():
            with intra_op_threads(1):
                entered.set()
                release.wait(timeout=10)

        thread = threading.Thread(target=worker, daemon=True)
        try:
            with intra_op_threads(1):
                assert _blas_threads() == {1}
                thread.start()
                assert entered.wait(timeout=10)
        finally:
            release.set()
            thread.join(timeout=10)
        assert _blas_threads() == {2}


def test_an_interrupted_setup_leaves_nothing_lowered(two_threads, monkeypatch):
    # A Ctrl-C landing while a block lowers the setting (about 0.3 ms) left
    # the session on one torch thread and one BLAS thread for good.
    real = skae._threads._set_own_threads
    calls = []

    def interrupted_once(n_threads):
        calls.append(n_threads)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real(n_threads)

    monkeypatch.setattr(skae._threads, "_set_own_threads", interrupted_once)
    with threadpool_limits(limits=2, user_api="blas"):
        blas = _blas_threads()
        with pytest.raises(KeyboardInterrupt), intra_op_threads(1):
            pass
        assert _blas_threads() == blas
    assert calls == [1, 2]
    assert torch.get_num_threads() == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_child_forked_while_another_thread_holds_the_lock_can_fit():
    # The lock is held for about 0.3 ms at each end of every fit; a child
    # forked then inherited it held and its first fit never returned.
    skae._threads._lock.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # the child
            try:
                with intra_op_threads(1):
                    pass
            finally:
                os._exit(0)
    finally:
        skae._threads._lock.release()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's block did not return")
    assert os.waitstatus_to_exitcode(status) == 0
