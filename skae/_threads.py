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

torch's setting is process-wide. Fits running at once in threads share it:
the first to start sets it, the last to end restores it, under a lock. A
fit's result does not depend on the number of threads (torch's CPU matrix
products split their output, not their sums, across threads; tested), so
concurrent fits stay reproducible whichever of them set it.
"""

import threading
from contextlib import contextmanager

import torch
from threadpoolctl import ThreadpoolController

#: A dense network below this many multiply-adds per row (forward) trains on
#: one thread: 784-256-32 (418k) runs 1.4x faster on two, 256-128-16 (70k)
#: 1.3x faster on one (2-core Xeon, batches of 200).
SMALL_WORK = 200_000

_lock = threading.Lock()
_active = 0
_saved = None
_blas_limit = None
_controller = None


def _limit_blas(n_threads):
    """Limit the BLAS libraries numpy and scipy loaded; return the limiter."""
    global _controller
    if _controller is None:  # inspecting the loaded libraries costs ms: once
        _controller = ThreadpoolController()
    return _controller.limit(limits=n_threads, user_api="blas")


@contextmanager
def intra_op_threads(n_threads):
    """Run the block with ``n_threads`` torch and BLAS threads, or as it is for None.

    Only ever lowers torch's setting. Concurrent blocks (fits in threads)
    share one setting: the first to enter sets it, the last to leave
    restores the one it found.
    """
    global _active, _saved, _blas_limit
    if n_threads is None:
        yield
        return
    with _lock:
        if _active == 0:
            # torch's setting is set after the BLAS limit is applied or
            # lifted: with a shared OpenMP runtime, limiting BLAS can move it.
            _saved = torch.get_num_threads()
            _blas_limit = _limit_blas(n_threads)
            if n_threads < _saved:
                torch.set_num_threads(n_threads)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                try:
                    _blas_limit.restore_original_limits()
                finally:
                    _blas_limit = None
                    torch.set_num_threads(_saved)


def dense_work_per_row(n_features, hidden_layer_sizes, n_components):
    """Multiply-adds of one row through a dense encoder and its mirror."""
    widths = [n_features, *hidden_layer_sizes, n_components]
    return 2 * sum(a * b for a, b in zip(widths, widths[1:], strict=False))
