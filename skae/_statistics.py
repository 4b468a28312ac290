"""Statistics of the training rows, the same for sparse and dense input.

Every statistic is summed over row blocks densified in float64, so a CSR
matrix and the equal dense array give bitwise-equal numbers (training from a
PCA start would amplify the last-bit differences of two summation orders),
and X is never copied whole.
"""

import numpy as np
import scipy.sparse as sp


def _dense_blocks(X, budget):
    """Yield consecutive row blocks of X, dense (views of a dense X)."""
    n_samples, n_features = X.shape
    block = max(1, budget // max(1, n_features))
    for start in range(0, n_samples, block):
        rows = X[start : start + block]
        yield rows.toarray() if sp.issparse(rows) else rows


def row_blocks(X, budget=2**18, dtype=np.float64):
    """Yield consecutive row blocks of X as arrays of ~budget entries."""
    for rows in _dense_blocks(X, budget):
        yield np.asarray(rows, dtype=dtype)


def _column_sums(X, budget):
    sums = np.zeros(X.shape[1])
    for rows in row_blocks(X, budget):
        sums += rows.sum(axis=0)
    return sums


def column_mean_var(X, budget=2**18):
    """Per-column mean and (biased) variance of X's rows, in float64.

    One pass: sums and sums of squares of the rows shifted by the first
    row, which keeps the difference of the two terms accurate for data far
    from zero (a shift near the data removes the cancellation).
    """
    n_samples, n_features = X.shape
    if n_samples == 0:
        return np.zeros(n_features), np.zeros(n_features)
    shift = next(row_blocks(X[:1], budget))[0].copy()
    sums = np.zeros(n_features)
    squares = np.zeros(n_features)
    for rows in _dense_blocks(X, budget):
        rows = np.subtract(rows, shift, dtype=np.float64)  # a new array
        sums += rows.sum(axis=0)
        squares += np.einsum("ij,ij->j", rows, rows)
    mean = sums / n_samples
    return mean + shift, np.maximum(squares / n_samples - mean**2, 0.0)


#: Widest data whose covariance matrix a network's PCA start forms (about
#: 0.1 s of eigh at 2048 features on two cores; d³ time and d² memory):
#: wider data starts at random.
LARGEST_COVARIANCE = 2048


def principal_directions(X, n_components, scale=1.0, budget=2**20):
    """Top principal directions of X's rows.

    The covariance matrix is summed over row blocks of the centred data
    (sparse blocks densified), then diagonalised, so sparse and dense rows
    give the same numbers and X is never copied whole. Signs are fixed so
    that the largest entry of each direction is positive.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        At least one row.
    n_components : int
        Directions wanted; at most ``n_features`` are returned.
    scale : float, default=1.0
        The data's typical spread: rows are divided by it before they are
        squared, so float32 data of any magnitude (1e19 or 1e-24) neither
        overflows nor underflows the covariance.

    Returns
    -------
    ndarray of shape (k, n_features)
        Orthonormal rows, by decreasing variance (``PCA.components_`` up to
        signs).
    """
    n_samples, n_features = X.shape
    # float32 data gets a float32 covariance (four times faster): a start
    # needs directions, not their last digits.
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    mean = _column_sums(X, budget) / n_samples
    scale = float(scale) if np.isfinite(scale) and scale > 0 else 1.0
    covariance = np.zeros((n_features, n_features), dtype=dtype)
    for rows in row_blocks(X, budget):
        rows = ((rows - mean) / scale).astype(dtype, copy=False)  # float64 first
        covariance += rows.T @ rows
    _, vectors = np.linalg.eigh(covariance.astype(np.float64))
    k = min(n_components, n_features)
    directions = vectors[:, ::-1][:, :k].T
    signs = np.sign(directions[np.arange(k), np.abs(directions).argmax(axis=1)])
    return directions * signs[:, None]
