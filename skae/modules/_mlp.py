"""Fully connected autoencoder."""

from torch import nn

from ._layers import _EncoderDecoder, make_activation


class MLPAutoEncoder(_EncoderDecoder):
    """Dense autoencoder whose decoder mirrors the encoder.

    The encoder is ``n_features -> hidden_layer_sizes... -> n_components`` with
    ``activation`` after every hidden layer and a linear code; the decoder runs
    the same widths in reverse and ends with ``output_activation``.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    n_components : int
        Width of the code.
    hidden_layer_sizes : tuple of int, default=(128,)
        Encoder widths, outermost first.
    activation : str, default="relu"
        Hidden activation, a key of :data:`skae.modules.ACTIVATIONS`.
    output_activation : str, default="identity"
        Activation applied to the reconstruction.

    See Also
    --------
    ConvAutoEncoder : The convolutional architecture, for flattened images.
    skae.AutoEncoderTransformer : The estimator built on it by default.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import MLPAutoEncoder
    >>> module = MLPAutoEncoder(n_features=6, n_components=2, hidden_layer_sizes=(8,))
    >>> module.encode(torch.zeros(3, 6)).shape
    torch.Size([3, 2])
    >>> module.features(torch.zeros(3, 6)).shape
    torch.Size([3, 8])
    >>> module(torch.zeros(3, 6)).shape
    torch.Size([3, 6])
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(128,),
        activation="relu",
        output_activation="identity",
    ):
        super().__init__()
        widths = [n_features, *hidden_layer_sizes]
        encoder = []
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            encoder += [nn.Linear(width_in, width_out), make_activation(activation)]
        encoder.append(nn.Linear(widths[-1], n_components))

        decoder = [nn.Linear(n_components, widths[-1])]
        for width_in, width_out in zip(widths[:0:-1], widths[-2::-1], strict=True):
            decoder += [make_activation(activation), nn.Linear(width_in, width_out)]
        decoder.append(make_activation(output_activation))

        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    @property
    def code(self):
        """The final linear layer of the encoder, which produces the code."""
        return self.encoder[-1]

    def features(self, x):
        """Return the encoder features right before the code layer.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, d)
            The output of the last hidden layer, ``d = hidden_layer_sizes[-1]``
            (``d = n_features`` with no hidden layer).
        """
        for layer in self.encoder[:-1]:
            x = layer(x)
        return x
