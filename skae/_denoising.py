"""DenoisingAE: an autoencoder trained to undo corruption."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array

from ._base import BaseAutoEncoder, _trains_incrementally, mean_and_scale
from ._corruption import make_corruption
from ._docstrings import substitute
from ._validation import numeric_input


@substitute()
class DenoisingAE(BaseAutoEncoder):
    r"""Denoising autoencoder: reconstruct clean rows from corrupted ones.

    Each training batch is corrupted afresh, :math:`\tilde x \sim
    C(\tilde x \mid x)`, and the network learns to recover the clean row:

    .. math:: L = \frac{1}{n} \sum_i \lVert x_i - g(f(\tilde x_i)) \rVert^2 .

    ``noise="gaussian"`` adds :math:`\mathcal N(0, \sigma^2)` with
    :math:`\sigma` = ``noise_level``; ``"uniform"`` adds
    :math:`\mathcal U(-a, a)` with half-width :math:`a` = ``noise_level``
    (bounded noise, standard deviation :math:`a / \sqrt 3`); ``"masking"``
    zeroes each entry with probability ``noise_level``;
    ``"salt_and_pepper"`` sets each entry, with probability
    ``noise_level``, to its column's minimum or maximum (half each) in the
    data of the first fit (``partial_fit`` keeps them). Noise levels are in
    the units of X. Undoing corruption forces the code to capture the
    structure of the data rather than the identity map. Use it to denoise,
    or for features robust to missing or noisy inputs.

    With ``early_stopping`` (or a fractional ``n_components``) the held-out
    rows are corrupted once, with a fixed seeded draw of the same noise, and
    scored against their clean versions: validation measures denoising.

    With ``fit(X, X_clean=X_clean)`` the pairs are given: X is taken as
    already noisy and no noise is added. X and ``X_clean`` are centred and
    scaled each on their own, so they may be in different units (a scaler
    before this step in a Pipeline transforms X, not the ``X_clean``
    metadata); reconstructions are in the units of ``X_clean``.
    ``transform`` and ``reconstruct`` never add noise.

    Read more in the :ref:`User Guide <denoising>`.

    Parameters
    ----------
    %(n_components)s

    noise : {"gaussian", "uniform", "masking", "salt_and_pepper"}, default="gaussian"
        The corruption applied to training batches.

    noise_level : float, default=0.1
        Standard deviation (gaussian), half-width (uniform) or corruption
        probability (masking, salt and pepper; then at most 1), in the units
        of X.

    %(shared_parameters)s

    Attributes
    ----------
    %(shared_attributes)s

    See Also
    --------
    ContractiveAE : Robustness through an explicit Jacobian penalty.
    AutoEncoderTransformer : The plain autoencoder.

    References
    ----------
    .. [1] P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol,
       "Extracting and composing robust features with denoising
       autoencoders", ICML 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAE
    >>> X = load_digits().data / 16
    >>> dae = DenoisingAE(n_components=16, noise_level=0.3, max_iter=10,
    ...                   random_state=0).fit(X)
    >>> noisy = X + np.random.default_rng(0).normal(scale=0.3, size=X.shape)
    >>> dae.reconstruct(noisy).shape
    (1797, 64)
    """

    _parameter_constraints: dict = {
        **BaseAutoEncoder._parameter_constraints,
        "noise": [StrOptions({"gaussian", "uniform", "masking", "salt_and_pepper"})],
        "noise_level": [Interval(Real, 0, None, closed="left")],
    }

    # "auto" splits tables under 800 rows into 4 batches per epoch: with one
    # optimizer step per epoch, standardized wine ran all 200 epochs (seeds
    # 0 and 1); with 4, the 40 small bundled fits of seeds 0-3 stop after
    # 29-181 (benchmarks/README.md, "DenoisingAE on small tables").
    _auto_min_batches = 4

    def __init__(
        self,
        n_components=2,
        *,
        noise="gaussian",
        noise_level=0.1,
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
        self.noise = noise
        self.noise_level = noise_level

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, X_clean=None):
        """Train the autoencoder to reconstruct clean rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; taken as already noisy when ``X_clean`` is given.
        y : None
            Ignored; present for API consistency.
        X_clean : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            Clean targets paired row by row with X. When given, no noise is
            added during training.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, X_clean, incremental=False)

    @available_if(_trains_incrementally)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, *, X_clean=None):
        """Train for one epoch over X, keeping the state of previous calls.

        Available with an int ``n_components`` and ``early_stopping=False``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; taken as already noisy when ``X_clean`` is given.
        y : None
            Ignored; present for API consistency.
        X_clean : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            Clean targets paired row by row with X.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, X_clean, incremental=True)

    def _validate_target(self, target, X):
        with numeric_input():
            X_clean = check_array(
                target, accept_sparse=("csr",), dtype=X.dtype, input_name="X_clean"
            )
        if X_clean.shape != X.shape:
            raise ValueError(
                f"X_clean has shape {X_clean.shape} but X has shape {X.shape}; "
                "they must pair row by row."
            )
        return X_clean

    def _fit_statistics(self, data):
        super()._fit_statistics(data)
        # Learned once per fresh fit; partial_fit and warm starts keep them.
        self._noise_bounds = _column_bounds(data.targets)
        # Given clean targets, the noisy inputs are centred and scaled on
        # their own: in a Pipeline, X comes out of the earlier steps while
        # X_clean (metadata) does not, so the two may be in other units.
        self._input_statistics = None
        if data.target is not None:
            mean, scale, _ = mean_and_scale(data.X)
            self._input_statistics = (mean, scale)

    def _input_standardization(self, n_components):
        statistics = getattr(self, "_input_statistics", None)
        if statistics is None or n_components == 0:
            return None
        if self.output_activation == "sigmoid" or self.loss == "bce":
            return None  # inputs and targets both stay in [0, 1]
        return statistics

    def _corruption(self, data):
        if data.target is not None:
            return None  # given clean targets, X is already noisy
        if self.noise in ("masking", "salt_and_pepper") and self.noise_level > 1:
            raise ValueError(
                f"noise_level={self.noise_level} is a probability for "
                f"noise={self.noise!r} and must be at most 1."
            )
        low = high = None
        if self.noise == "salt_and_pepper":
            low, high = self._noise_bounds
        return make_corruption(self.noise, self.noise_level, low, high)


def _column_bounds(X):
    """Each column's minimum and maximum, as float64 arrays."""
    low, high = X.min(axis=0), X.max(axis=0)
    if sp.issparse(low):
        low, high = low.toarray(), high.toarray()
    return (
        np.asarray(low, dtype=np.float64).ravel(),
        np.asarray(high, dtype=np.float64).ravel(),
    )
