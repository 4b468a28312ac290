"""AutoEncoderTransformer: the plain undercomplete autoencoder."""

import torch
from sklearn.utils._param_validation import StrOptions

from ._base import BaseAutoEncoder
from ._docstrings import substitute
from ._statistics import LARGEST_COVARIANCE, principal_directions
from ._warnings import BottleneckWarning, warn_user


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

    init : {"auto", "pca", "random"}, default="auto"
        Where the network starts. "pca": at PCA's solution on the training
        rows (the first reconstruction is PCA's; see :ref:`pca_start`),
        which needs the dense architecture with an identity output, a
        loss other than "bce", hidden layers at least ``2 * n_components``
        wide, an activation whose odd part is linear (relu, leaky_relu,
        gelu, silu, identity) and at most 2048 features. "random": torch's
        default initialisation. "auto": "pca" where the network can start
        there, else "random".

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

    _parameter_constraints: dict = {
        **BaseAutoEncoder._parameter_constraints,
        "init": [StrOptions({"auto", "pca", "random"})],
    }

    def __init__(
        self,
        n_components=2,
        *,
        init="auto",
        hidden_layer_sizes=(128,),
        architecture="mlp",
        input_shape=None,
        activation="relu",
        dropout=0.0,
        output_activation="identity",
        loss="mse",
        alpha=0.0,
        optimizer="adam",
        learning_rate_init=1e-3,
        batch_size="auto",
        max_iter=200,
        tol=9e-4,
        n_iter_no_change=8,
        early_stopping=False,
        validation_fraction=0.1,
        precision="float32",
        shuffle=True,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        super().__init__(
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            architecture=architecture,
            input_shape=input_shape,
            activation=activation,
            dropout=dropout,
            output_activation=output_activation,
            loss=loss,
            alpha=alpha,
            optimizer=optimizer,
            learning_rate_init=learning_rate_init,
            batch_size=batch_size,
            max_iter=max_iter,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            precision=precision,
            shuffle=shuffle,
            random_state=random_state,
            device=device,
            verbose=verbose,
            warm_start=warm_start,
            callbacks=callbacks,
        )
        self.init = init

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
            warn_user(
                f"n_components={n_components} equals n_features={n_features}: "
                "the code is no bottleneck and the network may learn the "
                "identity. Use a smaller n_components.",
                BottleneckWarning,
                self,
            )

    def _principal_components(self, data, n_components):
        # A dense network starts where PCA ends (start_from_subspace), so a
        # short fit on a small data set is not worse than PCA.
        why_not = self._why_no_pca_start(data.n_features)
        if why_not is not None:
            if self.init == "pca":
                raise ValueError(f'init="pca" cannot be used here: {why_not}.')
            return None
        X = data.targets
        rows = data.spaced_train_rows()
        if len(rows) < 2:
            if self.init == "pca":  # too few rows, not (as _start_from says) the net
                raise ValueError(
                    'init="pca" cannot be used here: principal directions need '
                    f"at least 2 training rows, and n_samples={X.shape[0]} "
                    f"leaves {len(rows)}."
                )
            return None
        return torch.as_tensor(
            principal_directions(X[rows], n_components, scale=self._data_scale)
        )

    def _start_from(self, module, components):
        started = super()._start_from(module, components)
        if self.init == "pca" and not started:
            raise ValueError(
                'init="pca" cannot be used here: the network cannot carry '
                "PCA's codes (a hidden layer narrower than 2 * n_components, "
                "or an activation whose odd part is not linear, such as tanh, "
                'elu or sigmoid). Use init="auto" or "random".'
            )
        return started

    def _why_no_pca_start(self, n_features):
        """Return why this network cannot start at PCA, or None if it can."""
        if self.init == "random":
            return "init='random'"
        if self.architecture != "mlp":
            return f"architecture={self.architecture!r} is not the dense 'mlp'"
        if self.output_activation != "identity" or self.loss == "bce":
            return "the output is not centred (a sigmoid output or the bce loss)"
        if n_features > LARGEST_COVARIANCE:
            return f"{n_features} features is more than {LARGEST_COVARIANCE}"
        return None

    def _largest_bottleneck(self, n_features):
        return max(1, n_features - 1)
