"""Named activations shared by every architecture."""

import math

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def make_activation(name):
    """Return a new activation module for ``name`` (a key of ``ACTIVATIONS``).

    Every built-in architecture builds its activations with this function,
    so each layer gets its own module and an unknown name fails early with
    the list of the available ones.

    Parameters
    ----------
    name : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", \
"identity"}
        The activation, a key of ``ACTIVATIONS``.

    Returns
    -------
    torch.nn.Module
        A new instance of ``ACTIVATIONS[name]``.

    Raises
    ------
    ValueError
        If ``name`` is not a key of ``ACTIVATIONS``.

    See Also
    --------
    MLPAutoEncoder : A dense autoencoder built with these activations.

    Examples
    --------
    >>> from skae.modules import make_activation
    >>> make_activation("tanh")
    Tanh()
    >>> make_activation("identity")
    Identity()
    """
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}."
        ) from None


def check_input_shape(input_shape, n_features, layout):
    """Validate ``input_shape`` against the row width and return it as ints.

    The shaped architectures (:class:`ConvAutoEncoder`,
    :class:`RecurrentAutoEncoder`, :class:`TransformerAutoEncoder`) call it
    at construction, so that a row width and a view that disagree fail with
    a clear message rather than inside a reshape.

    Parameters
    ----------
    input_shape : tuple of int or None
        How one flat row is viewed, e.g. ``(C, H, W)`` or ``(T, F)``.
    n_features : int
        Width of the flat rows; the product of ``input_shape`` must equal it.
    layout : str
        The expected layout, such as ``"(C, H, W)"``; its number of
        comma-separated entries is the number of dimensions required.

    Returns
    -------
    tuple of int
        The validated shape.

    Raises
    ------
    ValueError
        If ``input_shape`` is missing, has the wrong number of dimensions,
        holds a non-positive entry, or its product is not ``n_features``.

    See Also
    --------
    ConvAutoEncoder : Views each row as a ``(C, H, W)`` image.
    RecurrentAutoEncoder : Views each row as a ``(T, F)`` sequence.

    Examples
    --------
    >>> from skae.modules import check_input_shape
    >>> check_input_shape([1, 8, 8], 64, "(C, H, W)")
    (1, 8, 8)
    >>> check_input_shape(None, 6, "(T, F)")
    Traceback (most recent call last):
        ...
    ValueError: input_shape (T, F) is required; got None.
    """
    ndim = layout.count(",") + 1
    if input_shape is None:
        raise ValueError(f"input_shape {layout} is required; got None.")
    try:
        shape = tuple(int(size) for size in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"input_shape must be a tuple of {ndim} ints {layout}; got {input_shape!r}."
        ) from None
    if len(shape) != ndim or any(size < 1 for size in shape):
        raise ValueError(
            f"input_shape must be a tuple of {ndim} positive ints {layout}; "
            f"got {input_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"input_shape={shape} does not match the rows: its product "
            f"{math.prod(shape)} must equal n_features={n_features}."
        )
    return shape


class _EncoderDecoder(nn.Module):
    """An autoencoder module made of ``encoder`` and ``decoder`` submodules.

    The built-in architectures share this protocol: subclasses set
    ``self.encoder`` and ``self.decoder`` (or override :meth:`encode` and
    :meth:`decode`).
    """

    def encode(self, x):
        """Map rows to codes.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            The codes.
        """
        return self.encoder(x)

    def decode(self, z):
        """Map codes back to rows.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Flat reconstructions.
        """
        return self.decoder(z)

    def forward(self, x):
        """Reconstruct ``x``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``decode(encode(x))``.
        """
        return self.decode(self.encode(x))


class SigmoidCode(_EncoderDecoder):
    """Wrap an autoencoder module so that its code passes a sigmoid.

    Used by the KL sparsity penalty, whose target activation is a
    probability: ``encode(x) = sigmoid(base.encode(x))``.

    Parameters
    ----------
    base : torch.nn.Module
        A module with ``encode(x)`` and ``decode(z)``.

    See Also
    --------
    skae.SparseAE : Wraps its module in it for ``sparsity="kl"``.
    GaussianAutoEncoder : Another wrapper, a Gaussian head on any module.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import MLPAutoEncoder, SigmoidCode
    >>> module = SigmoidCode(MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,)))
    >>> codes = module.encode(torch.zeros(3, 6))
    >>> codes.shape
    torch.Size([3, 2])
    >>> bool(((codes > 0) & (codes < 1)).all())
    True
    >>> module(torch.zeros(3, 6)).shape
    torch.Size([3, 6])
    """

    def __init__(self, base):
        super().__init__()
        self.base = base

    @property
    def encoder(self):
        """The encoder half, sigmoid included (built on access, not registered)."""
        return nn.Sequential(_Method(self.base, "encode"), nn.Sigmoid())

    @property
    def decoder(self):
        """The decoder half."""
        return _Method(self.base, "decode")

    def encode(self, x):
        """Map rows to codes in (0, 1).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            ``sigmoid(base.encode(x))``.
        """
        return torch.sigmoid(self.base.encode(x))

    def decode(self, z):
        """Map codes back to rows with the base module's decoder.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Codes in (0, 1).

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``base.decode(z)``.
        """
        return self.base.decode(z)


class _Method(nn.Module):
    """One method of a module (``encode`` or ``decode``) as a module."""

    def __init__(self, module, method):
        super().__init__()
        self.module = module
        self.method = method

    def forward(self, x):
        """Call the wrapped method."""
        return getattr(self.module, self.method)(x)
