"""Regularisation penalties added to the reconstruction loss (pure PyTorch).

Two layers live here:

* plain functions on tensors (:func:`l1_sparsity`, :func:`kl_sparsity`,
  :func:`jacobian_frobenius_sq`, :func:`gaussian_kl`);
* picklable penalty objects with the signature
  ``penalty(module, x, code) -> scalar tensor`` (:class:`L1SparsityPenalty`,
  :class:`KLSparsityPenalty`, :class:`ContractivePenalty`,
  :class:`GaussianKLPenalty`), where ``module`` is the autoencoder module,
  ``x`` the ``(batch, n_features)`` input batch it saw and ``code`` what the
  forward function returned as code. The estimators add the returned value to
  the reconstruction loss.

Nothing here imports scikit-learn or skorch.
"""

import contextlib
import math
import threading

import torch
from torch import nn

from ._callables import Fields, check_finite_nonnegative, check_number
from .modules._mlp import MLPAutoEncoder

__all__ = [
    "LIKELIHOODS",
    "NOISE_LOG_FLOOR",
    "ContractivePenalty",
    "GaussianKLPenalty",
    "NegativeELBO",
    "ZeroLoss",
    "KLSparsityPenalty",
    "L1SparsityPenalty",
    "gaussian_kl",
    "jacobian_frobenius_sq",
    "kl_sparsity",
    "l1_sparsity",
    "reconstruction_log_likelihood",
]


# --------------------------------------------------------------------------
# Plain functions
# --------------------------------------------------------------------------


def l1_sparsity(code):
    r"""Absolute code activations summed over the units, averaged over the rows.

    .. math:: \Omega(Z) = \frac{1}{B} \sum_{i=1}^{B} \sum_{j=1}^{k} |z_{ij}|

    The same convention as the reconstruction loss (summed over features,
    averaged over rows) and :func:`kl_sparsity` (summed over units), so one
    weight means the same for every penalty.

    Parameters
    ----------
    code : torch.Tensor of shape (batch, n_components)
        Codes of one batch.

    Returns
    -------
    torch.Tensor
        A scalar, the mean over the batch of each row's L1 norm.

    Examples
    --------
    >>> import torch
    >>> from skae._penalties import l1_sparsity
    >>> float(l1_sparsity(torch.tensor([[1.0, -2.0], [0.0, 3.0]])))
    3.0
    """
    return code.abs().reshape(code.shape[0], -1).sum(dim=1).mean()


def kl_sparsity(code, target, eps=1e-6):
    r"""KL divergence between a target activation and each unit's mean activation.

    With :math:`\hat\rho_j = \frac{1}{B}\sum_i z_{ij}` (clamped to
    ``[eps, 1 - eps]``) and target :math:`t`,

    .. math::

        \Omega(Z) = \sum_{j=1}^{k} \left[ t \log\frac{t}{\hat\rho_j}
            + (1 - t) \log\frac{1 - t}{1 - \hat\rho_j} \right]

    (Ng, *Sparse autoencoder*, CS294A lecture notes, 2011).

    Parameters
    ----------
    code : torch.Tensor of shape (batch, n_components)
        Codes of one batch, already in (0, 1) (for instance after a sigmoid).
    target : float
        The desired mean activation :math:`t` of every unit, in (0, 1).
    eps : float, default=1e-6
        The mean activations are clamped to ``[eps, 1 - eps]`` so that the
        logarithms stay finite.

    Returns
    -------
    torch.Tensor
        A scalar, the sum over the code units (zero when every unit's mean
        activation equals ``target``).

    Examples
    --------
    >>> import torch
    >>> from skae._penalties import kl_sparsity
    >>> float(kl_sparsity(torch.full((4, 3), 0.05), 0.05))
    0.0
    """
    code = code.reshape(code.shape[0], -1)
    rho_hat = code.mean(dim=0).clamp(eps, 1.0 - eps)
    t = float(target)
    return (
        t * torch.log(t / rho_hat) + (1.0 - t) * torch.log((1.0 - t) / (1.0 - rho_hat))
    ).sum()


def gaussian_kl(mu, logvar):
    r"""KL divergence from a diagonal Gaussian posterior to the prior N(0, I).

    .. math::

        \mathrm{KL}\big(\mathcal N(\mu, \mathrm{diag}\,\sigma^2) \,\|\,
        \mathcal N(0, I)\big) = -\frac{1}{2} \sum_{j=1}^{k}
        \left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)

    summed over the latent units and averaged over the batch (the scale of
    one sample).

    Parameters
    ----------
    mu : torch.Tensor of shape (batch, n_components)
        Posterior means.
    logvar : torch.Tensor of shape (batch, n_components)
        Posterior log-variances :math:`\log\sigma^2`.

    Returns
    -------
    torch.Tensor
        A scalar, zero when ``mu == 0`` and ``logvar == 0``.

    Examples
    --------
    >>> import torch
    >>> from skae._penalties import gaussian_kl
    >>> float(gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2)))
    0.5
    """
    mu = mu.reshape(mu.shape[0], -1)
    logvar = logvar.reshape(logvar.shape[0], -1)
    per_sample = -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
    return per_sample.mean()


# --------------------------------------------------------------------------
# Exact Jacobian norm
# --------------------------------------------------------------------------


class _FlagOverride:
    """Thread-safe, reference-counted override of process-wide backend flags.

    ``flags`` returns ``(getter, setter, value)`` triples. The first thread to
    enter saves the current values and sets ``value``; the last one to leave
    restores them, so overlapping uses from several threads never leave the
    flags changed.
    """

    def __init__(self, flags):
        self._flags = flags
        self._lock = threading.Lock()
        self._count = 0
        self._saved = ()

    @contextlib.contextmanager
    def __call__(self):
        with self._lock:
            if self._count == 0:
                flags = self._flags()
                self._saved = [(setter, getter()) for getter, setter, _ in flags]
                for _, setter, value in flags:
                    setter(value)
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1
                if self._count == 0:
                    for setter, value in self._saved:
                        setter(value)
                    self._saved = ()


def _math_sdpa_flags():
    # Fused attention kernels (flash, memory-efficient, cuDNN; on CPU as well
    # as CUDA) have backward passes that cannot be differentiated again; the
    # "math" kernel is plain tensor operations and can.
    cuda = torch.backends.cuda
    flags = []
    for name, value in [
        ("flash", False),
        ("mem_efficient", False),
        ("cudnn", False),
        ("math", True),
    ]:
        getter = getattr(cuda, f"{name}_sdp_enabled", None)
        setter = getattr(cuda, f"enable_{name}_sdp", None)
        if getter is not None and setter is not None:
            flags.append((getter, setter, value))
    return flags


def _cudnn_off_flags():
    # cuDNN's RNN backward cannot be differentiated again; with cuDNN off,
    # CUDA LSTM/GRU run PyTorch's own cells, whose backward can.
    def get():
        return torch.backends.cudnn.enabled

    def set_(value):
        torch.backends.cudnn.enabled = value

    return [(get, set_, False)]


_math_attention = _FlagOverride(_math_sdpa_flags)
_cudnn_off = _FlagOverride(_cudnn_off_flags)


def _owner(encode):
    """Return the module an ``encode`` callable belongs to, or None."""
    if isinstance(encode, nn.Module):
        return encode
    owner = getattr(encode, "__self__", None)
    if isinstance(owner, nn.Module):
        return owner
    return None


def _contains(module, kinds):
    return module is not None and any(isinstance(m, kinds) for m in module.modules())


@contextlib.contextmanager
def _double_backward_safe(owner, x):
    """Select kernels whose backward can itself be differentiated."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(_math_attention())
        # Disabling cuDNN slows CUDA convolutions down, so only do it when the
        # encoder has recurrent layers (or when it cannot be inspected).
        if x.is_cuda and (owner is None or _contains(owner, nn.RNNBase)):
            stack.enter_context(_cudnn_off())
        yield


def _jacobian_sq_batched(z, x, create_graph):
    # One reverse pass vectorised (vmap) over the k one-hot cotangents: row j
    # of the result holds, for every sample i, d z_ij / d x_i (samples are
    # independent, so summing over the batch mixes nothing).
    k = z.shape[1]
    eye = torch.eye(k, dtype=z.dtype, device=z.device)
    cotangents = eye.unsqueeze(1).expand(k, z.shape[0], k)
    (rows,) = torch.autograd.grad(
        z,
        x,
        grad_outputs=cotangents,
        is_grads_batched=True,
        create_graph=create_graph,
        retain_graph=True,
    )
    return rows.pow(2).sum()


def _jacobian_sq_loop(z, x, create_graph):
    # k reverse passes, one per code unit.
    total = z.new_zeros(())
    for j in range(z.shape[1]):
        (row,) = torch.autograd.grad(
            z[:, j].sum(), x, create_graph=create_graph, retain_graph=True
        )
        total = total + row.pow(2).sum()
    return total


_JACOBIAN_METHODS = ("auto", "batched", "loop")


def jacobian_frobenius_sq(encode, x, *, create_graph=None, method="auto"):
    r"""Exact squared Frobenius norm of the encoder Jacobian, batch average.

    .. math::

        \Omega(X) = \frac{1}{B} \sum_{i=1}^{B}
            \left\| \frac{\partial f(x_i)}{\partial x_i} \right\|_F^2
          = \frac{1}{B} \sum_{i=1}^{B} \sum_{j=1}^{k} \sum_{l=1}^{n}
            \left(\frac{\partial f_j(x_i)}{\partial x_{il}}\right)^2

    where :math:`f` is ``encode`` (Rifai et al., *Contractive auto-encoders*,
    ICML 2011). The Jacobian is computed exactly by automatic
    differentiation, for any encoder (dense, convolutional, LSTM/GRU,
    transformer, ...) whose samples are processed independently (no batch
    normalisation in training mode, no attention across the batch): one
    reverse pass per code unit. With ``create_graph`` the result can be
    differentiated again, so it can be minimised by gradient descent.

    ``method="batched"`` runs the ``k`` reverse passes as one pass vectorised
    over ``k`` one-hot cotangents (``torch.autograd.grad(...,
    is_grads_batched=True)``); it falls back to the loop when an operation
    cannot be vectorised. ``method="loop"`` runs ``k`` reverse passes one
    after another. ``"auto"`` uses the loop for encoders that hold
    :class:`torch.nn.MultiheadAttention` (vectorised attention backward
    passes were slower there) and the batched pass otherwise.

    While the Jacobian is computed, scaled-dot-product attention uses its
    "math" kernel and, on CUDA, cuDNN is disabled for encoders with recurrent
    layers (or when the module behind ``encode`` is unknown), because the
    fused kernels' backward passes cannot be differentiated again. These
    process-wide flags are restored afterwards.

    Parameters
    ----------
    encode : callable
        Maps a ``(batch, n_features)`` tensor to codes ``(batch, k)`` (any
        trailing shape is flattened to ``k`` values per sample); typically a
        module's bound ``encode`` method.
    x : torch.Tensor of shape (batch, n_features)
        The input batch; it is not modified and need not require gradients.
    create_graph : bool, default=None
        Whether to build a graph through the Jacobian so that the result can
        be backpropagated to the encoder's parameters. None means
        ``torch.is_grad_enabled()``: the result is differentiable in
        training and a detached value under :func:`torch.no_grad` (for
        instance during validation), where the Jacobian is still computed.
    method : {"auto", "batched", "loop"}, default="auto"
        How the ``k`` reverse passes are run; every method gives the same
        value.

    Returns
    -------
    torch.Tensor
        A scalar, the mean over the batch of each sample's squared Frobenius
        norm.

    Raises
    ------
    ValueError
        If ``method`` is unknown.

    Examples
    --------
    >>> import torch
    >>> from skae._penalties import jacobian_frobenius_sq
    >>> weight = torch.tensor([[1.0, 2.0], [0.0, 3.0], [1.0, 1.0]])
    >>> float(jacobian_frobenius_sq(lambda x: x @ weight.T, torch.randn(5, 2)))
    16.0
    """
    if method not in _JACOBIAN_METHODS:
        raise ValueError(
            f"Unknown method {method!r}; expected one of {list(_JACOBIAN_METHODS)}."
        )
    if create_graph is None:
        create_graph = torch.is_grad_enabled()
    owner = _owner(encode)
    if method == "auto":
        method = "loop" if _contains(owner, nn.MultiheadAttention) else "batched"

    with torch.enable_grad(), _double_backward_safe(owner, x):
        x = x.detach().requires_grad_(True)
        z = encode(x)
        z = z.reshape(z.shape[0], -1)
        if method == "batched":
            try:
                total = _jacobian_sq_batched(z, x, create_graph)
            except (RuntimeError, NotImplementedError):
                total = _jacobian_sq_loop(z, x, create_graph)
        else:
            total = _jacobian_sq_loop(z, x, create_graph)
    result = total / x.shape[0]
    return result if create_graph else result.detach()


# --------------------------------------------------------------------------
# Penalty objects: penalty(module, x, code) -> scalar tensor
# --------------------------------------------------------------------------


class _Penalty(Fields):
    """Shared repr, equality and hash for the penalty objects."""

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, name) == getattr(other, name) for name in self._fields
        )

    def __hash__(self):
        return hash((type(self), *(getattr(self, name) for name in self._fields)))


class L1SparsityPenalty(_Penalty):
    r"""``weight`` times the L1 norm of each code, averaged over the rows.

    .. math:: \text{penalty} = w \cdot \frac{1}{B} \sum_{i,j} |z_{ij}|

    Parameters
    ----------
    weight : float
        Non-negative weight :math:`w`.

    Raises
    ------
    ValueError
        If ``weight`` is negative or not a finite number.
    """

    _fields = ("weight",)

    def __init__(self, weight):
        self.weight = check_finite_nonnegative(weight, "weight")

    def __call__(self, module, x, code):
        """Compute the penalty.

        Parameters
        ----------
        module : torch.nn.Module
            The autoencoder module (unused).
        x : torch.Tensor of shape (batch, n_features)
            The input batch (unused).
        code : torch.Tensor of shape (batch, n_components)
            The codes of the batch.

        Returns
        -------
        torch.Tensor
            A scalar, ``weight * l1_sparsity(code)``.
        """
        return self.weight * l1_sparsity(code)


class KLSparsityPenalty(_Penalty):
    r"""``weight`` times the KL sparsity divergence of the codes.

    .. math::

        \text{penalty} = w \sum_{j} \left[ t \log\frac{t}{\hat\rho_j}
            + (1 - t) \log\frac{1 - t}{1 - \hat\rho_j} \right],
        \qquad \hat\rho_j = \frac{1}{B} \sum_i z_{ij}

    The codes must already lie in (0, 1): the forward function applies the
    sigmoid; see :func:`kl_sparsity`.

    Parameters
    ----------
    weight : float
        Non-negative weight :math:`w`.
    target : float
        Target mean activation :math:`t` of every code unit, in (0, 1).

    Raises
    ------
    ValueError
        If ``weight`` is negative or not finite, or ``target`` is not in
        (0, 1).
    """

    _fields = ("weight", "target")

    def __init__(self, weight, target):
        self.weight = check_finite_nonnegative(weight, "weight")
        self.target = check_number(
            target,
            "target",
            lambda t: 0.0 < t < 1.0,
            "a number strictly between 0 and 1",
        )

    def __call__(self, module, x, code):
        """Compute the penalty.

        Parameters
        ----------
        module : torch.nn.Module
            The autoencoder module (unused).
        x : torch.Tensor of shape (batch, n_features)
            The input batch (unused).
        code : torch.Tensor of shape (batch, n_components)
            The codes of the batch, in (0, 1).

        Returns
        -------
        torch.Tensor
            A scalar, ``weight * kl_sparsity(code, target)``.
        """
        return self.weight * kl_sparsity(code, self.target)


def _activation_derivative(activation, h):
    """Return the derivative of an elementwise activation at ``h``, or None."""
    if isinstance(activation, nn.ReLU):
        return (h > 0).to(h.dtype)
    if isinstance(activation, nn.Tanh):
        return 1 - torch.tanh(h) ** 2
    if isinstance(activation, nn.Sigmoid):
        s = torch.sigmoid(h)
        return s * (1 - s)
    if isinstance(activation, nn.Identity):
        return torch.ones_like(h)
    if isinstance(activation, nn.GELU) and activation.approximate == "none":
        normal = torch.distributions.Normal(h.new_zeros(()), h.new_ones(()))
        return normal.cdf(h) + h * normal.log_prob(h).exp()
    return None


def single_hidden_layer_jacobian_sq(encoder, x):
    r"""Exact mean :math:`\|J\|_F^2` of a ``Linear, activation, Linear`` encoder.

    With :math:`J_i = W_2 \operatorname{diag}(a_i) W_1` and :math:`a_i` the
    activation's derivative at :math:`W_1 x_i + b_1`,

    .. math:: \|J_i\|_F^2 = a_i^\top \big((W_1 W_1^\top) \circ
              (W_2^\top W_2)\big) a_i ,

    whose cost does not grow with the code size (the general reverse-mode
    path needs one pass per code unit). Returns None when ``encoder`` is not
    of that form, so the caller can fall back to :func:`jacobian_frobenius_sq`.

    Parameters
    ----------
    encoder : torch.nn.Module
        The encoder; only an ``nn.Sequential`` of ``Linear``, an elementwise
        activation (ReLU, Tanh, Sigmoid, Identity, exact GELU) and ``Linear``
        qualifies.
    x : torch.Tensor of shape (batch, n_features)
        The input batch.

    Returns
    -------
    torch.Tensor or None
        The scalar penalty value, differentiable in the weights, or None.
    """
    if not (
        type(encoder) is nn.Sequential
        and len(encoder) == 3
        and isinstance(encoder[0], nn.Linear)
        and isinstance(encoder[2], nn.Linear)
    ):
        return None
    first, activation, last = encoder
    derivative = _activation_derivative(activation, first(x))
    if derivative is None:
        return None
    gram = (first.weight @ first.weight.T) * (last.weight.T @ last.weight)
    return torch.einsum("bi,ij,bj->b", derivative, gram, derivative).mean()


class ContractivePenalty(_Penalty):
    r"""``weight`` times the squared Frobenius norm of the encoder Jacobian.

    .. math::

        \text{penalty} = w \cdot \frac{1}{B} \sum_{i}
            \left\| \frac{\partial\, \mathrm{encode}(x_i)}{\partial x_i}
            \right\|_F^2

    computed exactly by :func:`jacobian_frobenius_sq` on ``module.encode``
    and the input batch ``x`` (the code passed in is not used: the encoder
    is run again on ``x`` with gradients enabled).

    Parameters
    ----------
    weight : float
        Non-negative weight :math:`w`.
    method : {"auto", "batched", "loop"}, default="auto"
        Passed to :func:`jacobian_frobenius_sq`.

    Raises
    ------
    ValueError
        If ``weight`` is negative or not finite, or ``method`` is unknown.
    """

    _fields = ("weight", "method")

    def __init__(self, weight, method="auto"):
        self.weight = check_finite_nonnegative(weight, "weight")
        if method not in _JACOBIAN_METHODS:
            raise ValueError(
                f"Unknown method {method!r}; expected one of {list(_JACOBIAN_METHODS)}."
            )
        self.method = method

    def __call__(self, module, x, code):
        """Compute the penalty.

        Parameters
        ----------
        module : torch.nn.Module
            The autoencoder module; its ``encode`` method is differentiated.
        x : torch.Tensor of shape (batch, n_features)
            The input batch.
        code : object
            What the forward function returned as code (unused).

        Returns
        -------
        torch.Tensor
            A scalar, ``weight * jacobian_frobenius_sq(module.encode, x)``;
            differentiable when gradients are enabled, detached under
            :func:`torch.no_grad`.
        """
        if self.weight == 0.0:
            return x.new_zeros(())
        value = None
        if self.method == "auto" and isinstance(module, MLPAutoEncoder):
            # The dense one-hidden-layer encoder (skae's default) has an exact
            # closed form whose cost does not grow with the code size.
            value = single_hidden_layer_jacobian_sq(module.encoder, x)
        if value is None:
            value = jacobian_frobenius_sq(module.encode, x, method=self.method)
        return self.weight * value


class GaussianKLPenalty(_Penalty):
    r"""``beta`` times the KL divergence of the Gaussian posterior to N(0, I).

    .. math::

        \text{penalty} = \beta \cdot \frac{1}{B} \sum_i \left( -\frac{1}{2}
            \sum_j \left(1 + \log\sigma_{ij}^2 - \mu_{ij}^2 - \sigma_{ij}^2
            \right) \right)

    Parameters
    ----------
    beta : float
        Non-negative weight :math:`\beta` (1 gives the usual VAE objective,
        up to the scale of the reconstruction loss).

    Raises
    ------
    ValueError
        If ``beta`` is negative or not finite.
    """

    _fields = ("beta",)

    def __init__(self, beta):
        self.beta = check_finite_nonnegative(beta, "beta")

    def __call__(self, module, x, code):
        """Compute the penalty.

        Parameters
        ----------
        module : torch.nn.Module
            The autoencoder module (unused).
        x : torch.Tensor of shape (batch, n_features)
            The input batch (unused).
        code : tuple of torch.Tensor
            ``(z, mu, logvar, ...)`` as returned by
            :func:`skae.modules._variational.variational_forward`.

        Returns
        -------
        torch.Tensor
            A scalar, ``beta * gaussian_kl(mu, logvar)``.
        """
        return self.beta * gaussian_kl(code[1], code[2])


# --------------------------------------------------------------------------
# The variational autoencoder's whole objective
# --------------------------------------------------------------------------

#: Decoder likelihoods with a learned noise level: ``"gaussian"`` (its
#: variance) and ``"laplace"`` (its scale).
LIKELIHOODS = ("gaussian", "laplace")

#: Lowest log noise level: a Gaussian decoder's standard deviation stays
#: above 1 % of the data's (standardized) scale, so that a feature the
#: decoder reproduces exactly cannot send the likelihood to infinity.
NOISE_LOG_FLOOR = math.log(1e-4)


def _noise_estimate(residual, likelihood):
    """Return the maximum-likelihood log noise level of a batch of residuals."""
    if likelihood == "gaussian":
        value = residual.detach().pow(2).mean()
    else:
        value = residual.detach().abs().mean()
    floor = NOISE_LOG_FLOOR if likelihood == "gaussian" else NOISE_LOG_FLOOR / 2
    return value.clamp_min(math.exp(floor)).log()


def reconstruction_log_likelihood(x, reconstruction, likelihood, log_noise):
    r"""Each row's log-likelihood under a decoder with one noise level, in nats.

    With residuals :math:`r = x - \hat x` over :math:`d` features,

    * ``"gaussian"``, :math:`\log\sigma^2` = ``log_noise``:
      :math:`-\frac{1}{2} \sum_j \big( r_j^2 / \sigma^2 + \log\sigma^2
      + \log 2\pi \big)`;
    * ``"laplace"``, :math:`\log b` = ``log_noise``:
      :math:`-\sum_j \big( |r_j| / b + \log b + \log 2 \big)`.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, n_features)
        The rows.
    reconstruction : torch.Tensor of shape (batch, n_features)
        The decoder's mean (Gaussian) or location (Laplace).
    likelihood : {"gaussian", "laplace"}
        The decoder's distribution.
    log_noise : float or torch.Tensor
        Log-variance (Gaussian) or log-scale (Laplace), shared by all
        features.

    Returns
    -------
    torch.Tensor of shape (batch,)
        Log-likelihood of each row.

    Examples
    --------
    >>> import math, torch
    >>> from skae._penalties import reconstruction_log_likelihood
    >>> x = torch.zeros(1, 2)
    >>> value = reconstruction_log_likelihood(x, x, "gaussian", 0.0)
    >>> round(float(value[0]), 4) == round(-math.log(2 * math.pi), 4)
    True
    """
    residual = (x - reconstruction).reshape(x.shape[0], -1)
    d = residual.shape[1]
    log_noise = torch.as_tensor(log_noise, dtype=residual.dtype, device=x.device)
    if likelihood == "gaussian":
        scaled = residual.pow(2).sum(dim=1) * torch.exp(-log_noise)
        return -0.5 * (scaled + d * (log_noise + math.log(2 * math.pi)))
    if likelihood == "laplace":
        scaled = residual.abs().sum(dim=1) * torch.exp(-log_noise)
        return -(scaled + d * (log_noise + math.log(2.0)))
    raise ValueError(
        f"Unknown likelihood {likelihood!r}; expected one of {list(LIKELIHOODS)}."
    )


class NegativeELBO(_Penalty):
    r"""The negative evidence lower bound of a VAE with a learned noise level.

    .. math::

        \text{penalty} = \frac{1}{B} \sum_i \Big[
            -\log p(x_i \mid z_i) + \beta\, \mathrm{KL}\big(
            \mathcal N(\mu_i, \sigma_i^2) \,\|\, \mathcal N(0, I)\big)
        \Big]

    with :math:`\log p(x \mid z)` given by
    :func:`reconstruction_log_likelihood` for a decoder whose noise level
    (Gaussian variance or Laplace scale, one for all features) is learned.
    In training the noise level is the batch's maximum-likelihood value
    (Rybkin et al., 2021: the decoder is calibrated at every step instead of
    trailing a slowly learned parameter, which is what keeps the posterior
    from collapsing when the data's scale does not match a fixed variance);
    its running average is recorded in the module (``module.update_noise``).
    In evaluation the recorded value is used. Meant to be used with a
    criterion that contributes nothing (:class:`ZeroLoss`).

    Parameters
    ----------
    beta : float
        Non-negative weight :math:`\beta` of the KL term.
    likelihood : {"gaussian", "laplace"}, default="gaussian"
        The decoder's distribution.

    Raises
    ------
    ValueError
        If ``beta`` is negative or not finite, or ``likelihood`` is unknown.
    """

    _fields = ("beta", "likelihood")

    def __init__(self, beta, likelihood="gaussian"):
        self.beta = check_finite_nonnegative(beta, "beta")
        if likelihood not in LIKELIHOODS:
            raise ValueError(
                f"Unknown likelihood {likelihood!r}; expected one of "
                f"{list(LIKELIHOODS)}."
            )
        self.likelihood = likelihood

    def __call__(self, module, x, code):
        """Compute the negative ELBO, averaged over the rows.

        Parameters
        ----------
        module : GaussianAutoEncoder
            The variational module; its ``log_noise`` is read in evaluation
            and updated in training.
        x : torch.Tensor of shape (batch, n_features)
            The rows (the reconstruction target).
        code : VariationalCode
            ``(z, mu, logvar, reconstruction)`` from
            :func:`skae.modules._variational.variational_forward`.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        _, mu, logvar, reconstruction = code
        if module.training:
            log_noise = _noise_estimate(x - reconstruction, self.likelihood)
            module.update_noise(log_noise)
        else:
            log_noise = module.log_noise
        nll = -reconstruction_log_likelihood(
            x, reconstruction, self.likelihood, log_noise
        ).mean()
        return nll + self.beta * gaussian_kl(mu, logvar)


class ZeroLoss(nn.Module):
    """A criterion that contributes nothing: the penalty holds the whole loss.

    :class:`NegativeELBO` computes the reconstruction term itself (it needs
    the decoder's noise level), so the net's criterion must add zero.
    """

    def forward(self, prediction, target):
        """Return a zero scalar of ``prediction``'s dtype and device."""
        return prediction.new_zeros(())
