"""Pure PyTorch autoencoder modules: each has ``encode(x)`` and ``decode(z)``.

Nothing here imports scikit-learn or skorch, so the modules can be used and
tested as plain :class:`torch.nn.Module` objects.
"""

from ._layers import ACTIVATIONS, make_activation
from ._mlp import MLPAutoEncoder

__all__ = ["ACTIVATIONS", "MLPAutoEncoder", "make_activation"]
