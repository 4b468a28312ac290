"""Named activations shared by every architecture."""

import math

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def make_activation(name):
    """Return a new activation module for ``name`` (a key of ``ACTIVATIONS``)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}."
        ) from None


def check_input_shape(input_shape, n_features, layout):
    """Validate ``input_shape`` against the row width and return it as ints.

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


class SigmoidCode(nn.Module):
    """Wrap an autoencoder module so that its code passes a sigmoid.

    Used by the KL sparsity penalty, whose target activation is a
    probability: ``encode(x) = sigmoid(base.encode(x))``.

    Parameters
    ----------
    base : torch.nn.Module
        A module with ``encode(x)`` and ``decode(z)``.
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
        """Map rows to codes in (0, 1)."""
        return torch.sigmoid(self.base.encode(x))

    def decode(self, z):
        """Map codes back to rows."""
        return self.base.decode(z)

    def forward(self, x):
        """Reconstruct ``x``."""
        return self.decode(self.encode(x))


class _Method(nn.Module):
    """One method of a module (``encode`` or ``decode``) as a module."""

    def __init__(self, module, method):
        super().__init__()
        self.module = module
        self.method = method

    def forward(self, x):
        """Call the wrapped method."""
        return getattr(self.module, self.method)(x)
