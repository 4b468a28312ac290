"""skae: scikit-learn estimators that learn nonlinear encodings with autoencoders."""

from ._autoencoder import AutoEncoderTransformer
from ._contractive import ContractiveAE
from ._denoising import DenoisingAE
from ._sparse import SparseAE
from ._variational import VariationalAE

__version__ = "0.1.0"

__all__ = [
    "AutoEncoderTransformer",
    "ContractiveAE",
    "DenoisingAE",
    "SparseAE",
    "VariationalAE",
    "__version__",
]
