"""Mixed precision for training and inference.

``precision="bfloat16"`` runs the forward pass and the loss under
:func:`torch.autocast`: matrix products and convolutions compute in
bfloat16 (8 significant bits, about 3 significant decimal digits) while the
weights, their gradients and the optimizer state stay float32, so small
updates are not rounded away. Reductions, losses and normalisations are kept
in float32 by autocast itself.
"""

import contextlib

import torch

PRECISIONS = ("float32", "bfloat16")


def autocast_context(precision, device):
    """Return the context manager that runs a forward pass in ``precision``.

    Parameters
    ----------
    precision : {"float32", "bfloat16"}
        ``"float32"`` changes nothing; ``"bfloat16"`` enables
        :func:`torch.autocast` on ``device``'s type with ``torch.bfloat16``.
    device : torch.device or str
        The device the module runs on.

    Returns
    -------
    context : context manager
    """
    if precision == "float32":
        return contextlib.nullcontext()
    if precision == "bfloat16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
