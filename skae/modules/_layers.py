"""Named activations shared by every architecture."""

import math

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
