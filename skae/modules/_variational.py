"""Gaussian (variational) head around any autoencoder module."""

from typing import NamedTuple

import torch
from torch import nn

from ._random import randn_like

__all__ = [
    "LOGVAR_RANGE",
    "NOISE_MOMENTUM",
    "GaussianAutoEncoder",
    "VariationalCode",
    "reparameterize",
    "variational_forward",
]

#: Range the posterior log-variances are clamped to: exp(20 / 2) ~ 2.2e4 and
#: exp(-30 / 2) ~ 3e-7 are far from overflow and underflow in float32.
LOGVAR_RANGE = (-30.0, 20.0)

#: Weight of each training batch in the running estimate of the decoder's
#: noise level (as ``momentum`` in :class:`torch.nn.BatchNorm1d`).
NOISE_MOMENTUM = 0.1


class VariationalCode(NamedTuple):
    """What :func:`variational_forward` returns as the code of a batch."""

    z: torch.Tensor
    """The decoded latent draw (the mean in evaluation)."""
    mu: torch.Tensor
    """Posterior means."""
    logvar: torch.Tensor
    """Posterior log-variances."""
    reconstruction: torch.Tensor
    """``decode(z)``, so that a penalty can score the whole ELBO."""


class _MeanEncoder(nn.Module):
    """``x -> base.encode(x)``, for base modules without an ``encoder`` half."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def forward(self, x):
        """Map rows (batch, n_features) to posterior means (batch, n_components)."""
        return self.base.encode(x)


class _Decoder(nn.Module):
    """``z -> base.decode(z)``, for base modules without a ``decoder`` half."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def forward(self, z):
        """Map codes (batch, n_components) to rows (batch, n_features)."""
        return self.base.decode(z)


def _has_code_layer(base):
    code = getattr(base, "code", None)
    return (
        callable(getattr(base, "features", None))
        and isinstance(code, nn.Module)
        and hasattr(code, "in_features")
        and hasattr(code, "out_features")
    )


class GaussianAutoEncoder(nn.Module):
    r"""Variational autoencoder: a Gaussian encoder head on a base autoencoder.

    The approximate posterior is :math:`q(z \mid x) = \mathcal N(\mu(x),
    \mathrm{diag}\, \exp(\log\sigma^2(x)))`:

    * when ``base`` exposes ``features(x)`` (pooled pre-code features of width
      ``d``) and ``code`` (the final ``nn.Linear(d, k)``), as the built-in
      modules do, :math:`\mu = \mathrm{code}(\mathrm{features}(x))` (that is,
      ``base.encode(x)``) and :math:`\log\sigma^2` is a new
      ``nn.Linear(d, k)`` on the same features;
    * otherwise (custom modules with only ``encode`` and ``decode``),
      :math:`\mu = \mathrm{base.encode}(x)` and :math:`\log\sigma^2` is a new
      ``nn.Linear(k, k)`` applied to :math:`\mu`; ``n_components`` must then
      be given.

    The decoder's observation noise is one scalar for all features, the
    buffer ``log_noise``: the log-variance of a Gaussian decoder (or the log
    scale of a Laplace one). It is not trained by gradient descent: the
    estimator's loss uses each training batch's maximum-likelihood value and
    records a running average of it here with :meth:`update_noise` (as
    batch normalisation records its running statistics), so that it is
    saved with the weights and used for scoring.

    The log-variances are clamped to :data:`LOGVAR_RANGE` so that
    :math:`\exp(\log\sigma^2 / 2)` can neither overflow nor underflow. The
    decoder is ``base.decode``. Use :func:`variational_forward` for the
    training forward pass with the reparameterisation trick;
    :meth:`forward` reconstructs the posterior mean, deterministically.

    Parameters
    ----------
    base : torch.nn.Module
        An autoencoder module with ``encode(x)`` and ``decode(z)``.
    n_components : int, default=None
        Width ``k`` of the code. Required when ``base`` has no ``features`` /
        ``code``; otherwise it is read from ``base.code`` and, if given, must
        agree with it.

    Attributes
    ----------
    base : torch.nn.Module
        The wrapped autoencoder.
    logvar_head : torch.nn.Linear
        The layer that outputs the log-variances.
    n_components : int
        Width of the code.
    uses_features : bool
        Whether the log-variances are computed from ``base.features`` (True)
        or from the mean (False).
    log_noise : torch.Tensor
        Scalar buffer: log of the decoder's noise variance (Gaussian) or
        scale (Laplace), a running estimate from training; 0 before it.

    Raises
    ------
    ValueError
        If ``n_components`` is missing for a custom base module, or
        disagrees with ``base.code``.

    See Also
    --------
    variational_forward : The training forward pass, which samples the code.
    skae.VariationalAE : The estimator that trains it.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import GaussianAutoEncoder, MLPAutoEncoder
    >>> vae = GaussianAutoEncoder(MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,)))
    >>> vae.uses_features, vae.n_components
    (True, 2)
    >>> mu, logvar = vae.encode_distribution(torch.zeros(3, 6))
    >>> mu.shape, logvar.shape
    (torch.Size([3, 2]), torch.Size([3, 2]))
    >>> vae.sample(4, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 6])
    """

    def __init__(self, base, n_components=None):
        super().__init__()
        self.base = base
        if _has_code_layer(base):
            d, k = int(base.code.in_features), int(base.code.out_features)
            if n_components is not None and int(n_components) != k:
                raise ValueError(
                    f"n_components={n_components} does not match the base module's "
                    f"code layer, which has {k} outputs."
                )
            self.uses_features = True
            self.logvar_head = nn.Linear(d, k)
        else:
            if n_components is None:
                raise ValueError(
                    "n_components is required when the base module has no "
                    "`features` method and `code` layer."
                )
            k = int(n_components)
            self.uses_features = False
            self.logvar_head = nn.Linear(k, k)
        self.n_components = k
        self.register_buffer("log_noise", torch.zeros(()))

    @torch.no_grad()
    def update_noise(self, log_noise, momentum=NOISE_MOMENTUM):
        """Move the running ``log_noise`` towards a batch's estimate.

        The noise level (not its log) is averaged with weight ``momentum``
        on the new value, starting from 1 (the variance of standardized
        data).

        Parameters
        ----------
        log_noise : torch.Tensor
            Scalar, the batch's maximum-likelihood log noise level.
        momentum : float, default=NOISE_MOMENTUM
            Weight of the new value.
        """
        value = log_noise.detach().to(self.log_noise.dtype).exp()
        old = self.log_noise.exp()
        self.log_noise.copy_(((1 - momentum) * old + momentum * value).log())

    @property
    def encoder(self):
        """The encoder half, ``x -> mu``, as a module.

        ``base.encoder`` for modules with ``features``/``code`` (their encoder
        maps rows to ``base.encode(x)``, the posterior mean); otherwise a
        small module that calls ``base.encode`` (and holds all of ``base``'s
        parameters). The log-variance head is not part of it.
        """
        encoder = getattr(self.base, "encoder", None)
        if self.uses_features and isinstance(encoder, nn.Module):
            return encoder
        return _MeanEncoder(self.base)

    @property
    def decoder(self):
        """The decoder half, ``z -> reconstruction``, as a module."""
        decoder = getattr(self.base, "decoder", None)
        if isinstance(decoder, nn.Module):
            return decoder
        return _Decoder(self.base)

    def encode_distribution(self, x):
        r"""Posterior mean and log-variance.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Input rows.

        Returns
        -------
        mu : torch.Tensor of shape (batch, n_components)
            Posterior means.
        logvar : torch.Tensor of shape (batch, n_components)
            Posterior log-variances :math:`\log\sigma^2`, clamped to
            :data:`LOGVAR_RANGE`.
        """
        if self.uses_features:
            h = self.base.features(x)
            mu = self.base.code(h)
            logvar = self.logvar_head(h)
        else:
            mu = self.base.encode(x)
            logvar = self.logvar_head(mu)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def encode(self, x):
        """Posterior mean, deterministic (what ``transform`` returns).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            ``mu(x) = base.encode(x)``.
        """
        return self.base.encode(x)

    def decode(self, z):
        """Map codes back to rows with the base module's decoder.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``base.decode(z)``.
        """
        return self.base.decode(z)

    def forward(self, x):
        """Reconstruct ``x`` from its posterior mean.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``decode(encode(x))``.
        """
        return self.decode(self.encode(x))

    def sample(self, n_samples=1, generator=None):
        r"""Decode codes drawn from the prior :math:`\mathcal N(0, I)`.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        generator : torch.Generator, default=None
            Source of randomness, on the module's device; None uses torch's
            global generator.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_features)
            New rows in input space, on the module's device and dtype.
        """
        weight = self.logvar_head.weight
        z = torch.randn(
            int(n_samples),
            self.n_components,
            generator=generator,
            device=weight.device,
            dtype=weight.dtype,
        )
        return self.decode(z)


def reparameterize(mu, logvar):
    r"""Draw :math:`z = \mu + \exp(\log\sigma^2 / 2) \odot \varepsilon`.

    :math:`\varepsilon \sim \mathcal N(0, I)` comes from the current fit's
    generator (:func:`skae.modules._random.randn_like`; torch's global
    generator outside a fit), so the draw is differentiable with respect to
    ``mu`` and ``logvar`` and a fit never touches torch's global stream.

    Parameters
    ----------
    mu : torch.Tensor of shape (batch, n_components)
        Posterior means.
    logvar : torch.Tensor of shape (batch, n_components)
        Posterior log-variances.

    Returns
    -------
    torch.Tensor of shape (batch, n_components)
        One sample per row.
    """
    return mu + torch.exp(0.5 * logvar) * randn_like(mu)


def variational_forward(module, x, training):
    """Forward pass of a variational autoencoder.

    In training, the code is sampled with the reparameterisation trick,
    ``z = mu + exp(logvar / 2) * eps``, and decoded; in evaluation the
    posterior mean is decoded.

    Parameters
    ----------
    module : GaussianAutoEncoder
        Any module with ``encode_distribution(x) -> (mu, logvar)`` and
        ``decode(z)``.
    x : torch.Tensor of shape (batch, n_features)
        Input rows.
    training : bool
        Whether to sample (True) or use the mean (False).

    Returns
    -------
    reconstruction : torch.Tensor of shape (batch, n_features)
        ``decode(z)`` in training, ``decode(mu)`` in evaluation.
    code : VariationalCode
        ``(z, mu, logvar, reconstruction)``, with ``z = mu`` in evaluation;
        what the penalties of :mod:`skae._penalties` expect.

    See Also
    --------
    GaussianAutoEncoder : A module this forward pass applies to.
    skae.VariationalAE : The estimator that trains with it.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import (
    ...     GaussianAutoEncoder, MLPAutoEncoder, variational_forward,
    ... )
    >>> vae = GaussianAutoEncoder(MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,)))
    >>> x = torch.zeros(3, 6)
    >>> reconstruction, code = variational_forward(vae, x, training=True)
    >>> reconstruction.shape, code.z.shape
    (torch.Size([3, 6]), torch.Size([3, 2]))
    >>> _, code = variational_forward(vae, x, training=False)
    >>> bool(torch.equal(code.z, code.mu))  # evaluation decodes the mean
    True
    """
    mu, logvar = module.encode_distribution(x)
    z = reparameterize(mu, logvar) if training else mu
    reconstruction = module.decode(z)
    return reconstruction, VariationalCode(z, mu, logvar, reconstruction)
