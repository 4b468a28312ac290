"""skae: scikit-learn estimators that learn nonlinear encodings with autoencoders."""

from ._autoencoder import AutoEncoderTransformer
from ._classifier import EncoderClassifier
from ._contractive import ContractiveAE
from ._denoising import DenoisingAE
from ._onnx import register_onnx_converters, to_onnx
from ._outlier import AutoEncoderOutlierDetector
from ._persistence import load, save
from ._sparse import SparseAE
from ._variational import VariationalAE
from ._version import __version__

__all__ = [
    "AutoEncoderOutlierDetector",
    "AutoEncoderTransformer",
    "ContractiveAE",
    "DenoisingAE",
    "EncoderClassifier",
    "SparseAE",
    "VariationalAE",
    "__version__",
    "load",
    "register_onnx_converters",
    "save",
    "to_onnx",
]
