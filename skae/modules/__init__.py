"""Pure PyTorch autoencoder modules: each has ``encode(x)`` and ``decode(z)``.

Nothing here imports scikit-learn or skorch, so the modules can be used and
tested as plain :class:`torch.nn.Module` objects. Every module takes flat
rows ``(batch, n_features)`` and views them through ``input_shape`` where it
needs a shape; each exposes ``encoder``, ``decoder``, ``features(x)`` (the
pooled features before the code layer) and ``code`` (that final linear
layer), so a variational head can be attached to any of them.
"""

from ._conv import ConvAutoEncoder
from ._layers import (
    ACTIVATIONS,
    SigmoidCode,
    check_input_shape,
    make_activation,
)
from ._mlp import MLPAutoEncoder
from ._recurrent import RecurrentAutoEncoder
from ._transformer import TransformerAutoEncoder
from ._variational import GaussianAutoEncoder, variational_forward

__all__ = [
    "ACTIVATIONS",
    "ConvAutoEncoder",
    "GaussianAutoEncoder",
    "MLPAutoEncoder",
    "RecurrentAutoEncoder",
    "SigmoidCode",
    "TransformerAutoEncoder",
    "check_input_shape",
    "make_activation",
    "variational_forward",
]
