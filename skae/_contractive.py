"""ContractiveAE: an autoencoder whose encoder is insensitive to small changes."""

from numbers import Real

from sklearn.utils._param_validation import Interval

from ._base import BaseAutoEncoder
from ._docstrings import substitute
from ._penalties import ContractivePenalty
from .modules import MLPAutoEncoder
from .modules._layers import normalize_atoms


@substitute(
    n_iter_no_change=(
        30,
        "Here 30, not 8: the penalty keeps flattening the encoder after "
        "the reconstruction has settled, and the training score moves by "
        "less than tol for stretches of several epochs meanwhile; at 8 "
        "these fits stopped before the default weight contracted "
        "(sensitivity 0.50-0.52 of the plain model's on the digits, "
        "against 0.45-0.49 at 30).",
    ),
)
class ContractiveAE(BaseAutoEncoder):
    r"""Contractive autoencoder: a penalty on the encoder's Jacobian.

    The loss adds the squared Frobenius norm of the encoder's Jacobian,
    per sample and averaged over the batch:

    .. math:: L = L_{rec} + \lambda \, \frac{1}{n} \sum_i
              \Big\lVert \frac{\partial f(x_i)}{\partial x_i} \Big\rVert_F^2 ,

    with :math:`\lambda` = ``contraction_weight``. The Jacobian is exact for
    every architecture. The default one-hidden-layer MLP uses the exact closed
    form :math:`\|J_i\|_F^2 = a_i^\top ((W_1 W_1^\top) \circ (W_2^\top W_2))
    a_i` (:math:`a_i` the activation's derivative), about 1.6 plain epochs
    whatever the code size; any other encoder takes one reverse pass per code
    unit, roughly ``1 + 0.3 k`` plain epochs. The penalty makes the code locally
    flat in every direction the data does not need, so codes are robust to
    small perturbations of the input and follow the data manifold. Use it
    when the codes must be stable under noise or small shifts.

    The decoder is constrained so that the penalty cannot be met by
    shrinking the codes and growing the decoder: with the "mlp"
    architecture it is tied to the encoder (each decoder layer's weight is
    the transpose of the mirrored encoder layer's, as in Rifai et al.), so
    smaller codes would shrink the reconstruction too; with the other
    built-in architectures the decoder's linear layers have input columns
    of unit norm. A callable ``architecture`` is used as it is. Saturating
    activations (``"tanh"``, ``"sigmoid"``, the original paper's) contract
    far more for the same reconstruction than ``"relu"``.

    Read more in the :ref:`User Guide <contractive>`.

    Parameters
    ----------
    %(n_components)s

    contraction_weight : float, default=13.0
        Weight :math:`\lambda` of the Jacobian penalty against the per-row
        reconstruction loss. The default contracts: on the digits at
        ``n_components=8`` the codes move, relative to their spread, about
        0.45-0.49x as far as the plain autoencoder's under small input
        noise, at a held-out :math:`R^2` of about 0.43 (plain: 0.80). Lower
        it to keep more of the reconstruction (3: 0.67x at 0.67; 1: 0.77x
        at 0.75; see the user guide's curve). The penalty settles slowly,
        so on tables under 800 rows ``batch_size="auto"`` makes at least
        4 batches per epoch (one per epoch ran out of epochs on iris, wine
        and linnerud).

    %(shared_parameters)s

    Attributes
    ----------
    %(shared_attributes)s

    See Also
    --------
    DenoisingAE : Robustness learned from corrupted inputs instead.
    AutoEncoderTransformer : The plain autoencoder.

    References
    ----------
    .. [1] S. Rifai, P. Vincent, X. Muller, X. Glorot and Y. Bengio,
       "Contractive auto-encoders: explicit invariance during feature
       extraction", ICML 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ContractiveAE
    >>> X = load_digits().data / 16
    >>> cae = ContractiveAE(n_components=8, max_iter=5, random_state=0).fit(X)
    >>> cae.transform(X).shape
    (1797, 8)
    >>> cae.module_.inner.decoder[0]  # tied to the encoder's code layer
    TiedLinear(in_features=8, out_features=128)
    """

    _parameter_constraints: dict = {
        **BaseAutoEncoder._parameter_constraints,
        "contraction_weight": [Interval(Real, 0, None, closed="left")],
    }

    # "auto" splits tables under 800 rows into 4 batches per epoch: with one
    # optimizer step per epoch the contracting default ran all 200 epochs on
    # iris, wine and linnerud (9 of 12 fits); with 4 all stop after 76-176.
    _auto_min_batches = 4

    def __init__(
        self,
        n_components=2,
        *,
        contraction_weight=13.0,
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
        n_iter_no_change=30,
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
        self.contraction_weight = contraction_weight

    def _build_module(self, n_features, n_components):
        module = super()._build_module(n_features, n_components)
        # A decoder free to grow would let the encoder shrink its codes
        # instead of flattening: tie it (Rifai et al.) or bound its weights.
        if isinstance(module, MLPAutoEncoder):
            return module.tie_weights()
        if isinstance(self.architecture, str):
            normalize_atoms(module)
        return module

    def _penalty(self, X):
        return ContractivePenalty(self.contraction_weight)
