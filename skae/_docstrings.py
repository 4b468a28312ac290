"""Parameter and attribute documentation shared by every autoencoder.

Written once and substituted into each class docstring with
:func:`substitute`, as imbalanced-learn does, so the estimators cannot drift
apart in what they say about the same parameter.
"""

import re
import textwrap

_N_COMPONENTS = """\
n_components : int or float, default=2
    Size of the bottleneck (the code). An int fixes it; 0, as in PCA, gives
    codes with no columns and reconstructions equal to the training mean.
    :class:`AutoEncoderTransformer` refuses a code wider than the input
    (``n_components > n_features``, as PCA does) and warns when it is as
    wide (no bottleneck); the regularised autoencoders may be overcomplete.
    A float in (0, 1) asks for the smallest bottleneck whose reconstruction
    R² on a held-out ``validation_fraction`` of the training data reaches
    that fraction, like ``PCA(n_components=0.95)``; the size chosen is
    stored in ``n_components_`` and the R² of every size tried in
    ``bottleneck_scores_``."""

# Every parameter but n_components, which comes first in each signature and
# is followed there by the estimator's own parameters.
_SHARED_PARAMETERS = """\
hidden_layer_sizes : array-like of int, default=(128,)
    Encoder widths, outermost first; the decoder mirrors them. For "conv"
    they are channel counts, for recurrent and transformer architectures
    hidden sizes. ``()`` gives a linear autoencoder.

architecture : {"mlp", "conv", "lstm", "gru", "transformer"} or callable, \
default="mlp"
    The network. A callable is called as
    ``architecture(n_features, n_components, input_shape)`` and must return
    a :class:`torch.nn.Module` with ``encode(x)`` and ``decode(z)`` methods
    working on flat rows.

input_shape : tuple of int, default=None
    How one row of X is viewed: ``(C, H, W)`` for "conv", ``(T, F)`` for
    sequence architectures. Rows stay flat in X. Its product must equal the
    number of features; one entry may be -1 and is then inferred, as in
    :func:`numpy.reshape` (``(1, 1, -1)`` fits any width).

activation : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", \
"identity"}, default="relu"
    Activation of the hidden layers.

dropout : float, default=0.0
    Probability of zeroing each hidden unit during training (dropout
    between hidden layers); inference never drops units.

output_activation : {"identity", "sigmoid"}, default="identity"
    Activation of the reconstruction; "sigmoid" suits data in [0, 1].

loss : {"mse", "l1", "huber", "bce"}, default="mse"
    Reconstruction loss, summed over features and averaged over samples
    (a per-row loss, the scale every penalty is weighed against). "bce"
    needs ``output_activation="sigmoid"`` and data in [0, 1].

alpha : float, default=0.0
    L2 penalty on the weights (not the biases), as MLPRegressor's: the
    optimizer's ``weight_decay``, so each step adds ``alpha * w`` to the
    gradient of the per-row loss, i.e. the loss gains ``alpha / 2 *
    ||w||²``. The network sees standardized data, so one value suits data
    of any scale.

optimizer : {"adam", "adamw", "sgd"}, default="adam"
    The optimizer; "sgd" uses Nesterov momentum 0.9 as MLPRegressor does.

learning_rate_init : float, default=1e-3
    The optimizer's learning rate.

batch_size : int or "auto", default="auto"
    Rows per minibatch; "auto" is ``min(200, n_samples)``, except under
    ``precision="bfloat16"`` on the CPU from 20 000 training rows: 3
    epochs at 200 rows, then 1024 rows with the learning rate times
    ``sqrt(1024 / 200)`` (bfloat16 matrix units need large products; see
    the user guide's "Mixed precision"); :class:`ContractiveAE` and
    :class:`DenoisingAE` split tables under 800 rows into at least 4
    batches per epoch and :class:`VariationalAE` tables under 1600 rows
    into 8 (their penalties and noise need optimizer steps more than
    epochs).

max_iter : int, default=200
    Maximum number of epochs.

tol : float, default=9e-4
    Improvement of the monitored score that resets the patience counter.
    The score is unit-free, whatever the data's scale and number of
    features: the held-out R² with ``early_stopping``, otherwise the
    training R², ``1 - training loss / the data's total variance``
    (recorded as ``train_score`` in ``net_.history``). An epoch improves
    when it gains ``tol``, or 2 % of the error that remains (``1 -`` the
    best score) where that is less: a fit at R² 0.99 keeps training
    while each epoch removes 2 % of what is left. Training stops after
    ``n_iter_no_change + 1`` epochs in a row without an improvement, but
    never while the score is below 0.05 (the network has not yet left
    reconstructing the mean; a slow start is not convergence). A network
    that starts at PCA's solution on data PCA already explains stops
    within a few epochs. Lower ``tol`` to train longer. A fit whose final
    training score is below 0.05, or below its first epoch's, warns that
    it learnt almost nothing (a ConvergenceWarning).{tol_note}

n_iter_no_change : int, default=8
    Epochs without an improvement (see ``tol``) after which training
    stops as converged.{n_iter_no_change_note}

early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data (one split for
    the estimator's life), monitor its reconstruction R² and keep the
    weights of the best epoch, across warm starts too. Not supported by
    ``partial_fit``.

validation_fraction : float, default=0.1
    Held-out fraction for early stopping and for a float ``n_components``.

precision : {"float32", "bfloat16"}, default="float32"
    Arithmetic of training. "float32" trains in float32 whatever the
    input's dtype: float64 rows are centred and scaled in float64 first,
    and the fitted network then holds float64 weights, so inference on
    float64 input computes in float64. "bfloat16" trains under
    :func:`torch.autocast` (mixed precision) with float32 master weights;
    outputs still follow the input dtype. It pays for large dense layers
    on hardware with bfloat16 units, not for small networks; see the user
    guide's "Mixed precision" section for speed and accuracy.

shuffle : bool, default=True
    Shuffle the rows at every epoch.

random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, shuffling, the validation split and any
    training noise. An int gives bitwise-identical results on the same
    machine and device. Torch's global random state is left untouched.

device : str, default="auto"
    "auto" picks CUDA when available and the CPU otherwise; any torch
    device string ("cpu", "cuda", "cuda:1", "mps") is accepted. An
    unavailable device raises ValueError in ``fit``.

verbose : int, default=0
    0 is silent. 1 shows one progress bar over the epochs (on stderr, or a
    widget in Jupyter) with the training loss and, with
    ``early_stopping``, the validation score; where stderr is not a
    terminal (a log file, a pipe) each epoch writes one plain line
    instead. 2 prints a table per epoch on stdout (epoch, training loss
    and score, validation loss and score, seconds), its best values
    coloured on a terminal only.

warm_start : bool, default=False
    Continue training the previous fit's network. Every training parameter
    is read afresh (a new optimizer, as MLPRegressor's ``fit`` does;
    ``partial_fit`` keeps the optimizer's state with the new learning
    rate); a parameter that shapes the network (``n_components``,
    ``hidden_layer_sizes``, ``architecture``, ``input_shape``,
    ``activation``, ``dropout``, ``output_activation``) cannot change and
    raises a ValueError naming it. The centring and scaling learned by the
    first fit are kept.

callbacks : list of skorch callbacks or None, default=None
    Extra :mod:`skorch.callbacks` (e.g. ``LRScheduler``, ``Checkpoint``)
    added to the training loop, as callbacks or ``(name, callback)`` pairs.
    They are copied at ``fit``; the trained copies live in
    ``net_.callbacks_``."""

_SHARED_ATTRIBUTES = """\
n_components_ : int
    Size of the bottleneck actually used.

mean_ : ndarray of shape (`n_features_in_`,)
    Per-feature mean the network's input is centred with (zeros for a
    sigmoid output or the BCE loss, unless ``n_components_`` is 0), as
    PCA's ``mean_``.

scale_ : float
    The one global scale that divides the centred rows: the root mean
    variance of the features (1 for a sigmoid output or the BCE loss,
    unless ``n_components_`` is 0).

n_features_in_ : int
    Number of features seen during :term:`fit`.

feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during :term:`fit`. Defined only when `X`
    has feature names that are all strings.

n_iter_ : int
    Number of epochs run, over all calls to ``fit`` (with ``warm_start``)
    and ``partial_fit``.

loss_curve_ : list of float
    Training loss (per row, penalties included) of each epoch.

validation_scores_ : list of float or None
    Reconstruction R² on the held-out split at each epoch. Only available
    if ``early_stopping=True`` (or a float ``n_components``), otherwise
    None.

best_validation_score_ : float or None
    The held-out R² of the weights the estimator holds: the best epoch's,
    over every warm-started call. Only available if
    ``early_stopping=True``, otherwise None.

bottleneck_scores_ : dict of int to float
    Held-out R² of every bottleneck size tried, the autoencoder's
    "explained variance" curve. Only available if ``n_components`` is a
    float.

module_ : torch.nn.Module
    The trained network, with ``encode(x)`` and ``decode(z)`` in the
    user's units: it centres each row with the training mean and divides
    by one global scale before the network built by ``architecture``
    (``module_.inner``), and undoes both after decoding, so that the
    network sees data on a sane scale whatever the units. Data for a
    sigmoid output or the BCE loss is left as it is.

encoder_ : torch.nn.Module
    The encoding half of ``module_``.

decoder_ : torch.nn.Module
    The decoding half of ``module_``.

net_ : skorch.NeuralNet
    The skorch net that trained ``module_``; its ``history`` holds every
    epoch.

device_ : torch.device
    The device the weights live on."""

SHARED_DOCS = {
    "n_components": _N_COMPONENTS,
    "shared_parameters": _SHARED_PARAMETERS,
    "shared_attributes": _SHARED_ATTRIBUTES,
}


def _indent(text, spaces):
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


def substitute(tol=None, n_iter_no_change=None, **extra):
    """Class decorator filling ``%(name)s`` slots of the docstring.

    The shared texts are re-indented to the class docstring's four spaces.
    ``tol`` and ``n_iter_no_change``, ``(default, why)`` pairs, document an
    estimator's own defaults for them.
    """
    shared = dict(SHARED_DOCS)
    text = shared["shared_parameters"]
    for name, own in (("tol", tol), ("n_iter_no_change", n_iter_no_change)):
        note = ""
        if own is not None:
            default, why = own
            # The declaration line "name : type, default=value", wherever
            # the shared default stands.
            text, found = re.subn(
                rf"^({name} : .*, default=).*$", rf"\g<1>{default}", text, flags=re.M
            )
            assert found == 1, name
            note = "\n" + textwrap.fill(
                why, 76, initial_indent="    ", subsequent_indent="    "
            )
        text = text.replace("{" + name + "_note}", note)
    shared["shared_parameters"] = text
    docs = {key: _indent(text, 4) for key, text in {**shared, **extra}.items()}

    def decorate(cls):
        cls.__doc__ = cls.__doc__ % {k: v.lstrip() for k, v in docs.items()}
        return cls

    return decorate
