"""A module that works in the user's units around one that works standardized."""

import torch
from torch import nn


def standardize(x, mean, scale):
    """Return ``(x - mean) / scale`` in one fused pass."""
    inverse = 1.0 / scale  # x * inverse - mean * inverse
    return torch.addcmul(-mean * inverse, x, inverse)


def unstandardize(x, mean, scale):
    """Return ``x * scale + mean``: rows back in the user's units."""
    return torch.addcmul(mean, x, scale)


class Standardized(nn.Module):
    """Wrap an autoencoder so that it sees centred, globally scaled rows.

    ``encode(x) = inner.encode((x - mean) / scale)`` and
    ``decode(z) = inner.decode(z) * scale + mean``: codes come from data on
    a sane scale whatever the units, and reconstructions are in the units
    of ``x``. One scale for all features keeps the squared error
    proportional to the original one, so features weigh as they do in PCA.

    Parameters
    ----------
    inner : torch.nn.Module
        The autoencoder with ``encode`` and ``decode``.
    mean : torch.Tensor of shape (n_features,)
        Subtracted from each row.
    scale : float
        Divides the centred rows.
    inputs : tuple (mean, scale) or None, default=None
        The inputs' own centring and scale, where the network's input and
        its target live in different units (a denoising autoencoder given
        clean targets in other units than its noisy inputs); None: the
        inputs are standardized as the targets are.
    """

    def __init__(self, inner, mean, scale, inputs=None):
        super().__init__()
        self.inner = inner
        self.register_buffer("mean", torch.as_tensor(mean))
        self.register_buffer("scale", torch.as_tensor(float(scale)))
        if inputs is not None:
            input_mean, input_scale = inputs
            self.register_buffer("input_mean", torch.as_tensor(input_mean))
            self.register_buffer("input_scale", torch.as_tensor(float(input_scale)))

    @property
    def input_standardization(self):
        """The (mean, scale) the inputs are standardized with."""
        if hasattr(self, "input_mean"):
            return self.input_mean, self.input_scale
        return self.mean, self.scale

    @property
    def inner_dtype(self):
        """The floating dtype of the wrapped network's parameters."""
        param = next(self.inner.parameters(), None)
        return self.mean.dtype if param is None else param.dtype

    def standardize(self, x):
        """Return the targets ``x`` standardized: ``(x - mean) / scale``."""
        return standardize(x, self.mean, self.scale)

    def standardize_input(self, x):
        """Return the inputs ``x`` standardized."""
        return standardize(x, *self.input_standardization)

    def unstandardize(self, x):
        """Return ``x * scale + mean``."""
        return unstandardize(x, self.mean, self.scale)

    def encode(self, x):
        """Encode rows given in the user's units."""
        return self.inner.encode(self.standardize_input(x))

    def decode(self, z):
        """Decode codes to rows in the user's units."""
        return self.unstandardize(self.inner.decode(z))

    def forward(self, x):
        """Return the reconstruction of ``x``."""
        return self.decode(self.encode(x))


class Standardize(nn.Module):
    """``(x - mean) / scale``: the first step of a fitted ``encoder_``.

    Parameters
    ----------
    mean : torch.Tensor of shape (n_features,)
        Subtracted from each row.
    scale : torch.Tensor (scalar)
        Divides the centred rows.
    """

    def __init__(self, mean, scale):
        super().__init__()
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("scale", scale.detach().clone())

    def forward(self, x):
        """Return the standardized rows."""
        return standardize(x, self.mean, self.scale)


class Unstandardize(Standardize):
    """``x * scale + mean``: the last step of a fitted ``decoder_``."""

    def forward(self, x):
        """Return the rows in the user's units."""
        return unstandardize(x, self.mean, self.scale)


class MeanOnly(nn.Module):
    """The zero-width autoencoder: no code, the reconstruction is the mean.

    Used for ``n_components=0`` (as in PCA): around :class:`Standardized`
    its reconstructions are the training mean.

    Parameters
    ----------
    n_features : int
        Width of the rows.
    """

    def __init__(self, n_features):
        super().__init__()
        self.offset = nn.Parameter(torch.zeros(n_features))

    def encode(self, x):
        """Return a code with no columns."""
        return x[:, :0]

    def decode(self, z):
        """Return the offset (zero: the mean) for every code."""
        return self.offset.expand(z.shape[0], -1)

    def forward(self, x):
        """Return the reconstruction of ``x``."""
        return self.decode(self.encode(x))
