"""skae: scikit-learn estimators that learn nonlinear encodings with autoencoders."""

from ._autoencoder import AutoEncoderTransformer

__version__ = "0.1.0"

__all__ = ["AutoEncoderTransformer", "__version__"]
