"""Where a fit runs: the ``device`` parameter resolved, data moved once."""

import scipy.sparse as sp
import torch


def resolve_device(device):
    """Turn the ``device`` parameter into an available :class:`torch.device`."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a valid torch device string."
        ) from None
    kind = resolved.type
    if kind == "cuda":
        available = torch.cuda.is_available() and (
            resolved.index is None or resolved.index < torch.cuda.device_count()
        )
    elif kind == "mps":
        available = torch.backends.mps.is_available()
    else:
        available = kind == "cpu"
    if not available:
        raise ValueError(
            f"device={device!r} is not available on this machine; use "
            "device='cpu' or device='auto'."
        )
    return resolved


def to_device(data, target, device, dtype, nbytes):
    """Move small dense data to an accelerator once, not once per batch.

    ``data`` and ``target`` are tensors or scipy sparse matrices (those stay
    on the host and are densified batch by batch).
    """
    if device.type == "cpu" or nbytes > 2**30:
        return data, target
    if not sp.issparse(data):
        data = data.to(device, dtype)
    if target is not None and not sp.issparse(target):
        target = target.to(device, dtype if target.is_floating_point() else None)
    return data, target
