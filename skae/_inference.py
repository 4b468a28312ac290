"""Batched inference over whole arrays.

Rows are fed to the module in large blocks sliced from the input, without a
Dataset or DataLoader: skorch's ``predict`` path costs 4-7x a raw forward.
With ``precision="bfloat16"`` the blocks run under :func:`torch.autocast`
(measured on 60k x 784, 784-256-32, one thread: 2.6-2.8x the float32 rows
per second, the same as a bfloat16 copy of the weights, so no copy is kept).
"""

import numpy as np
import scipy.sparse as sp
import torch

from ._net import batch_rows
from ._precision import autocast_context

# Elements per inference block. On CPU, blocks of a few MB stay in cache
# (measured on 60k x 784, 784-256-32: 2**18-2**21 elements ran 5% faster
# than the raw forward on the whole array, 2**24 elements 14% slower); GPUs
# want large transfers.
_CPU_BLOCK = 2**21
_ACCELERATOR_BLOCK = 2**24


def block_rows(n_rows, n_cols, device):
    """Rows per inference block for ``n_cols``-wide rows on ``device``."""
    budget = _CPU_BLOCK if torch.device(device).type == "cpu" else _ACCELERATOR_BLOCK
    return batch_rows(n_rows, n_cols, budget)


def map_row_blocks(module, fn, X, width, what, precision="float32"):
    """Return ``fn(module, block)`` over row blocks of X, as one array.

    Parameters
    ----------
    module : torch.nn.Module
        The fitted module; put in eval mode.
    fn : callable
        ``fn(module, x) -> tensor of shape (len(x), width)``.
    X : ndarray or CSR/CSC matrix of float32 or float64
        Validated input; sparse blocks are densified one at a time.
    width : int
        Number of output columns.
    what : str
        What the output holds, for the non-finite output error.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the forward pass (see
        :func:`~skae._precision.autocast_context`); the output still has
        X's dtype.

    Returns
    -------
    out : ndarray of shape (n_samples, width) and X's dtype
    """
    if module.training:
        module.eval()
    param = next(module.parameters(), None)
    dtype = torch.float32 if param is None else param.dtype
    device = torch.device("cpu") if param is None else param.device
    if sp.issparse(X):
        X = X.tocsr()
    n_samples = X.shape[0]
    out = np.empty((n_samples, width), dtype=X.dtype)
    out_dtype = torch.float32 if out.dtype == np.float32 else torch.float64
    step = block_rows(n_samples, max(X.shape[1], width), device)
    with torch.inference_mode(), autocast_context(precision, device):
        for start in range(0, n_samples, step):
            block = X[start : start + step]
            if sp.issparse(block):
                block = torch.from_numpy(block.toarray())
            elif min(block.strides) < 0:  # X[::-1]: torch cannot view it
                block = torch.from_numpy(np.ascontiguousarray(block))
            elif block.flags.writeable:
                block = torch.from_numpy(block)
            else:
                block = torch.tensor(block)  # thread-safe, unlike muting warnings
            result = fn(module, block.to(device, dtype))
            out[start : start + step] = result.to(out_dtype).cpu().numpy()
    # Checked in the output dtype: a float64 model's values can overflow
    # float32 output.
    check_finite_output(out, what)
    return out


def check_finite_output(values, what):
    """Raise ValueError if a model output (ndarray) holds NaN or inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        # One O(1)-memory pass for the common case, as scikit-learn does.
        if np.isfinite(values.sum()) or np.isfinite(values).all():
            return
    raise ValueError(
        f"The model produced non-finite {what}: the input is probably too "
        "large in magnitude for the model's dtype. Scale the data first."
    )
