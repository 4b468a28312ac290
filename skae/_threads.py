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
thread), so each fit lowers its own thread's; fits running at once in
threads each get the count they asked for, whichever starts or ends first,
and each thread (and the default new threads copy) ends at the setting the
first of them found. The BLAS limit is process-wide for the pthreads
OpenBLAS numpy ships (an OpenMP-built BLAS keeps a count per thread, and
only the first fit's thread is limited there): the first fit to start sets
it, the last to end lifts it, under a lock. The thread count is chosen from the
network's size alone, never from the machine's load: beyond small batches
a fit's result depends, in the last bits, on it (a reduction split across
threads sums in another order), and a seeded fit must give the same result
every time on the same machine.
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
_local = threading.local()  # each thread's depth of nested blocks
_active = 0
_outer = None  # torch's setting when the first open block began
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

    Only ever lowers torch's setting. That setting is per thread, but
    ``torch.set_num_threads`` also writes the default a thread copies on its
    first parallel operation, so a thread entering while another's block is
    open would read (and later restore) the lowered value. So the first
    block to open records the setting it found, and every thread's
    outermost block restores that one; a nested block restores its own
    thread's. The BLAS limit is process-wide (threadpoolctl): the first
    block to open sets it, the last to close lifts it.
    """
    global _active, _blas_limit, _outer
    if n_threads is None:
        yield
        return
    depth = getattr(_local, "depth", 0)
    # Also initialises a fresh thread's setting (from torch's default), which
    # torch otherwise does on its first parallel operation, undoing ours.
    current = torch.get_num_threads()
    with _lock:
        if _active == 0:
            # Read before the BLAS limit: with a shared OpenMP runtime,
            # limiting BLAS can move the calling thread's setting.
            _outer = torch.get_num_threads()
            _blas_limit = _limit_blas(n_threads)
        _active += 1
        saved = current if depth else _outer
    _local.depth = depth + 1
    try:
        torch.set_num_threads(min(n_threads, saved))
        yield
    finally:
        _local.depth = depth
        try:
            with _lock:
                _active -= 1
                if _active == 0:
                    try:
                        _blas_limit.restore_original_limits()
                    finally:
                        _blas_limit = None
        finally:
            # After the BLAS limit is lifted, for the same reason.
            torch.set_num_threads(saved)


def dense_work_per_row(n_features, hidden_layer_sizes, n_components):
    """Multiply-adds of one row through a dense encoder and its mirror."""
    widths = [n_features, *hidden_layer_sizes, n_components]
    return 2 * sum(a * b for a, b in zip(widths, widths[1:], strict=False))
