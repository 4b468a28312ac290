"""The rows a fit trains on: inputs, targets, and one validation split.

A fit validates its input once into a :class:`FitData` and hands that one
object down the fit path: the statistics, the network's start and the
skorch datasets are all read from it, so no step re-derives the split or
re-threads a separate target.
"""

import numpy as np
import scipy.sparse as sp

from ._devices import to_device
from ._net import ArrayDataset, as_tensor

# Training rows a network's start (principal directions) reads at most.
START_ROWS = 10_000


def split_rows(n_samples, fraction, seed):
    """Shuffled (train, validation) row indices, each non-empty when possible."""
    order = np.random.RandomState(seed).permutation(n_samples)
    n_valid = min(max(1, int(round(fraction * n_samples))), n_samples - 1)
    if n_valid < 1:
        # Said as scikit-learn's estimators say it ("n_samples=1"), and for
        # every caller: early_stopping and the search of a fractional
        # n_components both hold rows out.
        raise ValueError(
            "A validation split (early_stopping=True, a fractional "
            "n_components) needs at least 2 samples to hold one out; got "
            f"n_samples={n_samples}."
        )
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


class FitData:
    """Validated training rows, their targets, and the validation split.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        The network's inputs.
    target : ndarray, CSR matrix or None, default=None
        What the network should output for each row (clean rows, class
        labels); None means X itself.
    train_rows, valid_rows : ndarray of int or None, default=None
        The split; None for a fit without validation.
    """

    def __init__(self, X, target=None, train_rows=None, valid_rows=None):
        self.X = X
        self.target = target
        self.train_rows = train_rows
        self.valid_rows = valid_rows

    @property
    def n_features(self):
        """Width of the inputs."""
        return self.X.shape[1]

    @property
    def targets(self):
        """What the network reconstructs: the target, or X itself."""
        return self.X if self.target is None else self.target

    @property
    def validates(self):
        """Whether rows are held out for validation."""
        return self.valid_rows is not None

    @property
    def n_train(self):
        """Number of rows the network trains on."""
        rows = self.train_rows
        return self.X.shape[0] if rows is None else len(rows)

    def spaced_train_rows(self, limit=START_ROWS):
        """Return about ``limit`` evenly spaced training row indices (all if fewer).

        Plenty for a network's start (principal directions), whose cost it
        bounds at about one cheap epoch's (n d² for the covariance).
        """
        rows = self.train_rows
        rows = np.arange(self.X.shape[0]) if rows is None else np.asarray(rows)
        return rows[:: -(-len(rows) // limit)]

    def split(self, rows):
        """Return this data with ``rows = (train_rows, valid_rows)`` held out."""
        return FitData(self.X, self.target, *rows)

    def datasets(self, dtype, device, *, target_dtype=None, valid_noise=None):
        """Return the (training, validation or None) skorch datasets.

        Dense data small enough goes to ``device`` once; sparse rows stay on
        the host and are densified a batch at a time, validation included.
        ``valid_noise`` (a :class:`~skae._net.FixedNoise`) corrupts the
        validation inputs with the same draw at every pass.
        """
        inputs = self.X if sp.issparse(self.X) else as_tensor(self.X)
        target = self.target
        if target is not None and not sp.issparse(target):
            target = as_tensor(np.asarray(target))
        nbytes = 0 if sp.issparse(self.X) else self.X.nbytes
        inputs, target = to_device(inputs, target, device, dtype, nbytes)
        rows = dict(dtype=dtype, device=device, target_dtype=target_dtype)
        train = ArrayDataset(inputs, target, self.train_rows, **rows)
        if not self.validates:
            return train, None
        valid = ArrayDataset(inputs, target, self.valid_rows, **rows)
        return train, valid.with_noise(valid_noise)


def validation_total(data, mean, scale):
    """Mean squared deviation of the validation targets around ``mean``.

    The denominator of the held-out R² (SST per row), on the network's
    scale, summed over row blocks: sparse rows are never densified whole.
    """
    rows = data.valid_rows
    targets = data.targets
    total = 0.0
    step = max(1, 2**18 // max(1, data.n_features))
    for start in range(0, len(rows), step):
        block = targets[rows[start : start + step]]
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        deviations = (np.asarray(block, dtype=np.float64) - mean) / scale
        total += float(np.einsum("ij,ij->", deviations, deviations))
    return total / max(1, len(rows))
