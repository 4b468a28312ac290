"""AutoEncoderTransformer: the plain undercomplete autoencoder."""

import warnings

from ._base import BaseAutoEncoder
from ._docstrings import substitute
from ._training import caller_stacklevel


@substitute()
class AutoEncoderTransformer(BaseAutoEncoder):
    r"""Nonlinear dimensionality reduction with an undercomplete autoencoder.

    An encoder network maps each row to a code of ``n_components`` values
    and a decoder maps the code back; both are trained together to minimise
    the reconstruction loss, by default the squared error of each row

    .. math:: L = \frac{1}{n} \sum_i \lVert x_i - g(f(x_i)) \rVert^2 .

    With no hidden layers and the identity activation this is a linear
    autoencoder, which spans the same subspace as PCA; hidden layers let it
    follow curved manifolds that PCA cannot. Use it where you would use
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

    def _largest_bottleneck(self, n_features):
        return max(1, n_features - 1)

