"""How many threads torch's CPU kernels use during a fit.

Small networks run faster on one intra-op thread than on several, and far
faster when the cores are busy: a default digits fit takes 0.41 s on one
thread against 0.50 s on two on a quiet 2-core machine, and 0.56 s against
2.5 s beside a process running matrix products on both cores
(benchmarks/README.md, "Threads"). So a fit of a small dense network runs
on one thread; larger ones keep torch's setting. The same holds for the
BLAS numpy calls at a fit's start (the covariance and its eigenvectors for
the PCA start): on busy cores a two-thread ``eigh`` of the digits' 64 x 64
covariance took 0.1 s against 0.3 ms on one, so small fits limit BLAS to
one thread too (through threadpoolctl, scikit-learn's own tool).

torch's setting belongs to the calling thread (OpenMP keeps one per
thread), so a fit lowers and restores its own thread's, and fits running at
once in threads each get the count they asked for, whichever starts or
ends first; the default a new thread copies is left as it was (but for
the fraction of a millisecond while a fit sets its own). numpy's
BLAS is limited in the main thread only (OpenBLAS ignores counts set from
other threads once the main thread has set one). The thread count is
chosen from the network's size alone, never from the machine's load:
beyond small batches a fit's result depends, in the last bits, on it (a
reduction split across threads sums in another order), and a seeded fit
must give the same result every time on the same machine.
"""

import os
import threading
from contextlib import contextmanager

import torch
from threadpoolctl import ThreadpoolController

#: A dense network below this many multiply-adds per row (forward) trains on
#: one thread: 784-256-32 (418k) runs 1.4x faster on two, 256-128-16 (70k)
#: 1.3x faster on one (2-core Xeon, batches of 200).
SMALL_WORK = 200_000

_lock = threading.Lock()
_local = threading.local()  # each thread's depth of nested blocks
_controller = None


def _limit_blas(n_threads):
    """Limit the BLAS libraries numpy and scipy loaded; return the limiter."""
    global _controller
    if _controller is None:  # inspecting the loaded libraries costs ms: once
        _controller = ThreadpoolController()
    return _controller.limit(limits=n_threads, user_api="blas")


def _in_new_thread(function):
    """Return ``function()`` run in a new thread: what a new thread sees and sets."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def _set_own_threads(n_threads):
    """Set the calling thread's torch setting only.

    ``torch.set_num_threads`` also writes the default a new thread copies on
    its first parallel operation; a thread started during a fit would copy
    the fit's lowered count and keep it. So the default is read and put
    back from new threads (a fraction of a millisecond).
    """
    default = _in_new_thread(torch.get_num_threads)
    torch.set_num_threads(n_threads)
    if default != n_threads:
        _in_new_thread(lambda: torch.set_num_threads(default))


@contextmanager
def intra_op_threads(n_threads):
    """Run the block with ``n_threads`` torch and BLAS threads, or as it is for None.

    Only ever lowers the calling thread's torch setting, and restores it
    when the block ends; other threads, and the default new threads copy,
    keep theirs. BLAS is limited only in the main thread's outermost block:
    OpenBLAS (numpy's) ignores a thread count set from another thread once
    the main thread has set one, so a limit lifted elsewhere would stay.
    """
    if n_threads is None:
        yield
        return
    depth = getattr(_local, "depth", 0)
    limit_blas = depth == 0 and threading.current_thread() is threading.main_thread()
    lowered = False
    blas_limit = None
    try:
        with _lock:
            # Reading it also initialises a fresh thread's setting, which
            # torch otherwise does on its first parallel operation, undoing
            # ours.
            saved = torch.get_num_threads()
            # The BLAS limit goes first: with a shared OpenMP runtime,
            # limiting BLAS can move the calling thread's torch setting.
            if limit_blas:
                blas_limit = _limit_blas(n_threads)
            # A thread already at n_threads or fewer (a nested block, a
            # joblib worker) needs neither the change nor its undoing.
            lowered = n_threads < saved
            if lowered:
                _set_own_threads(n_threads)
        _local.depth = depth + 1
        yield
    finally:
        # Also when the setup itself was interrupted (a Ctrl-C there).
        _local.depth = depth
        if lowered or blas_limit is not None:
            with _lock:
                try:
                    if blas_limit is not None:
                        blas_limit.restore_original_limits()
                finally:
                    if lowered:
                        _set_own_threads(saved)


def _new_lock_in_child():
    """Give a forked child its own lock: another thread may hold the parent's."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_new_lock_in_child)


def dense_work_per_row(n_features, hidden_layer_sizes, n_components):
    """Multiply-adds of one row through a dense encoder and its mirror."""
    widths = [n_features, *hidden_layer_sizes, n_components]
    return 2 * sum(a * b for a, b in zip(widths, widths[1:], strict=False))
