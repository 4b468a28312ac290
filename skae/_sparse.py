"""SparseAE: an autoencoder whose codes are pushed towards zero."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseAutoEncoder
from ._docstrings import substitute
from ._penalties import KLSparsityPenalty, L1SparsityPenalty
from ._statistics import LARGEST_COVARIANCE, principal_directions
from .modules import SigmoidCode
from .modules._layers import ReLUCode, normalize_atoms

# sparsity_weight="auto", measured on digits (benchmarks/README.md).
_AUTO_WEIGHTS = {"l1": 1.5, "kl": 5.0}


@substitute()
class SparseAE(BaseAutoEncoder):
    r"""Sparse autoencoder: few code units active per sample.

    The loss adds a sparsity penalty on the codes :math:`z = f(x)` to the
    per-row reconstruction loss:

    * ``sparsity="l1"``: :math:`L = L_{rec} + \lambda \frac{1}{n} \sum_i
      \lVert z_i \rVert_1`, each code's L1 norm averaged over the batch. The
      code passes a ReLU, so it is nonnegative with exact zeros, and every
      linear layer of the decoder has input columns of unit norm (the
      code's "atoms" among them): the decoder cannot make up for smaller
      codes with larger weights, so the penalty can only be lowered by
      switching units off, not by rescaling (a callable ``architecture``
      gets the ReLU but keeps its decoder as it is);
    * ``sparsity="kl"``: the code passes a sigmoid and
      :math:`L = L_{rec} + \lambda \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)`
      with :math:`\hat\rho_j` unit :math:`j`'s mean activation over the batch
      and :math:`\rho` = ``sparsity_target``,

    where :math:`\lambda` is ``sparsity_weight``. The constraint stops an
    (even overcomplete, ``n_components > n_features``) autoencoder from
    copying its input: each sample must be explained by a few active units,
    which tends to give parts-based, more interpretable features. Use it for
    feature learning and when the codes feed a linear model; ``transform``
    returns the (ReLU for "l1", sigmoid for "kl") activations.

    With "l1" and the "mlp" architecture (one hidden layer each side), the
    code units start as pairs ``relu(u), relu(-u)`` of the first
    ``ceil(n_components / 2)`` principal scores, the network at PCA's
    reconstruction on those directions: from a random start the penalty
    switched units off for good within the first steps, on small tables
    all of them.

    Read more in the :ref:`User Guide <sparse>`.

    Parameters
    ----------
    %(n_components)s

    sparsity : {"l1", "kl"}, default="l1"
        The sparsity penalty.

    sparsity_weight : float or "auto", default="auto"
        Weight :math:`\lambda` of the penalty against the per-row
        reconstruction loss (both summed over units or features and averaged
        over rows, on the standardized rows the network sees). "auto" is 1.5
        for "l1" and 5.0 for "kl": on digits (32 units, target 0.05) the KL
        penalty at 1.5 left the mean activation at 0.10-0.11, at 5.0 it is
        0.067 with the held-out reconstruction error at 0.17 of the variance
        (0.15 at 1.5); at 15, 0.055 and 0.18. Read how sparse the codes are
        with :func:`skae.metrics.hoyer_sparsity` and the share of exact zeros,
        ``np.mean(codes == 0)``; set small codes to zero with
        ``codes[np.abs(codes) < threshold] = 0``.

    sparsity_target : float, default=0.05
        Target mean activation :math:`\rho` of each code unit, in (0, 1);
        used by ``sparsity="kl"`` only.

    %(shared_parameters)s

    Attributes
    ----------
    %(shared_attributes)s

    See Also
    --------
    AutoEncoderTransformer : The plain autoencoder.
    sklearn.decomposition.DictionaryLearning : Sparse coding, linear.

    References
    ----------
    .. [1] A. Ng, "Sparse autoencoder", CS294A Lecture notes, 2011.
    .. [2] X. Glorot, A. Bordes and Y. Bengio, "Deep sparse rectifier neural
       networks", AISTATS 2011.
    .. [3] J. Mairal, F. Bach, J. Ponce and G. Sapiro, "Online dictionary
       learning for sparse coding", ICML 2009.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import SparseAE
    >>> X = load_digits().data / 16
    >>> sae = SparseAE(n_components=16, max_iter=10, random_state=0).fit(X)
    >>> codes = sae.transform(X)
    >>> codes.shape
    (1797, 16)
    >>> bool(codes.min() == 0.0)  # nonnegative, with exact zeros
    True
    """

    _parameter_constraints: dict = {
        **BaseAutoEncoder._parameter_constraints,
        "sparsity": [StrOptions({"l1", "kl"})],
        "sparsity_weight": [
            Interval(Real, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        sparsity="l1",
        sparsity_weight="auto",
        sparsity_target=0.05,
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
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target

    # "kl" builds sigmoid codes, "l1" ReLU codes and unit-norm atoms.
    _network_parameters = (*BaseAutoEncoder._network_parameters, "sparsity")

    def _build_module(self, n_features, n_components):
        module = super()._build_module(n_features, n_components)
        if self.sparsity == "kl":
            return SigmoidCode(module)
        # Nonnegative codes with exact zeros, and a decoder whose atoms have
        # unit norm: smaller codes cannot be made up for by larger weights.
        if isinstance(self.architecture, str):
            normalize_atoms(module)
        return ReLUCode(module)

    def _principal_components(self, data, n_components):
        # ReLU codes start as pairs relu(+u), relu(-u) of the first
        # ceil(k / 2) principal scores u (ReLUCode.start_from_subspace): a
        # random start left units dead on every row from the first steps
        # (the penalty's push through the nonnegative hidden features), and
        # on small tables every unit (benchmarks/README.md, "SparseAE's
        # start").
        if (
            n_components == 0
            or self.sparsity != "l1"
            or self.architecture != "mlp"
            or self.activation != "relu"  # the decoder passes codes through
            or self.output_activation != "identity"
            or self.loss == "bce"
            or data.n_features > LARGEST_COVARIANCE
        ):
            return None
        rows = data.spaced_train_rows()
        half = -(-n_components // 2)
        if len(rows) < 2 or half > data.n_features:
            return None
        directions = principal_directions(
            data.targets[rows], half, scale=self._data_scale
        )
        if len(directions) < half:
            return None
        pairs = np.stack([directions, -directions], axis=1)
        return torch.as_tensor(pairs.reshape(2 * half, -1)[:n_components])

    def _penalty(self, X):
        weight = self.sparsity_weight
        if weight == "auto":
            weight = _AUTO_WEIGHTS[self.sparsity]
        if self.sparsity == "kl":
            return KLSparsityPenalty(weight, self.sparsity_target)
        return L1SparsityPenalty(weight)
