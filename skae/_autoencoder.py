"""AutoEncoderTransformer: the plain undercomplete autoencoder."""

import warnings

import numpy as np
import torch

from ._base import BaseAutoEncoder
from ._docstrings import substitute
from ._statistics import principal_directions
from ._warnings import caller_stacklevel

# Widest data whose covariance matrix is formed for the PCA start (about
# 0.1 s of eigh at 2048 features on two cores).
_LARGEST_COVARIANCE = 2048
_START_ROWS = 10_000


@substitute()
class AutoEncoderTransformer(BaseAutoEncoder):
    r"""Nonlinear dimensionality reduction with an undercomplete autoencoder.

    An encoder network maps each row to a code of ``n_components`` values
    and a decoder maps the code back; both are trained together to minimise
    the reconstruction loss, by default the squared error of each row

    .. math:: L = \frac{1}{n} \sum_i \lVert x_i - g(f(x_i)) \rVert^2 .

    With no hidden layers and the identity activation this is a linear
    autoencoder, which spans the same subspace as PCA; hidden layers let it
    follow curved manifolds that PCA cannot. The dense network starts as
    PCA: its first reconstruction is PCA's, and training improves on it
    (see :ref:`pca_start` in the user guide). Use it where you would use
    :class:`~sklearn.decomposition.PCA`: in a Pipeline, searched with
    GridSearchCV, feeding a classifier.

    Training runs on skorch (``net_``) with whole-tensor minibatches; the
    output dtype follows the input (float32 or float64; other input is
    computed as float32).

    Read more in the :ref:`User Guide <autoencoder>`.

    Parameters
    ----------
    %(n_components)s

    %(shared_parameters)s

    Attributes
    ----------
    %(shared_attributes)s

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.
    sklearn.decomposition.KernelPCA : Nonlinear reduction with kernels.
    sklearn.neural_network.MLPRegressor : Multi-layer perceptron regressor.

    References
    ----------
    .. [1] G. E. Hinton and R. R. Salakhutdinov, "Reducing the
       dimensionality of data with neural networks", Science 313, 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoEncoderTransformer
    >>> X = load_digits().data / 16
    >>> ae = AutoEncoderTransformer(n_components=8, max_iter=20, random_state=0)
    >>> codes = ae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> ae.inverse_transform(codes).shape
    (1797, 64)
    """

    def _check_bottleneck(self, n_components, n_features):
        # As PCA refuses more components than features. A code exactly as
        # wide as the input is allowed (scikit-learn's checks fit 2-feature
        # data with the default of 2) but is no bottleneck: say so.
        if n_components > n_features:
            raise ValueError(
                f"n_components={n_components} must be at most n_features="
                f"{n_features} for AutoEncoderTransformer; use a regularised "
                "autoencoder (SparseAE, DenoisingAE, ContractiveAE) for an "
                "overcomplete code."
            )
        if n_components == n_features:
            warnings.warn(
                f"n_components={n_components} equals n_features={n_features}: "
                "the code is no bottleneck and the network may learn the "
                "identity. Use a smaller n_components.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )

    def _principal_components(self, X, rows, n_components):
        # A dense network starts where PCA ends (start_from_subspace), so a
        # short fit on a small data set is not worse than PCA. Other
        # architectures, outputs that are not centred, and networks
        # pretrained for EncoderClassifier (which sets _random_start: from
        # PCA's start, fine-tuning stays near linear features) start at
        # random.
        if (
            getattr(self, "_random_start", False)
            or self.architecture != "mlp"
            or self.output_activation != "identity"
            or self.loss == "bce"
        ):
            return None
        if X.shape[1] > _LARGEST_COVARIANCE:
            return None  # d³ and d² memory: beyond it, start at random
        # Evenly spaced training rows are plenty for a start and bound its
        # cost at about one cheap epoch's (n d² for the covariance).
        rows = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
        rows = rows[:: -(-len(rows) // _START_ROWS)]
        if len(rows) < 2:
            return None
        return torch.as_tensor(principal_directions(X[rows], n_components))

    def _largest_bottleneck(self, n_features):
        return max(1, n_features - 1)
