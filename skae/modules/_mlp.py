"""Fully connected autoencoder."""

from torch import nn

from ._layers import TiedLinear, _EncoderDecoder, hidden_dropout, make_activation


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
    dropout : float, default=0.0
        Probability of zeroing each hidden unit in training, after every
        hidden activation of the encoder and the decoder (never on the input,
        the code or the output). With 0 no dropout layer is built.
    tied_weights : bool, default=False
        Tie the decoder to the encoder: each decoder layer's weight is the
        transpose of the mirrored encoder layer's (each keeps its own bias),
        as in Rifai et al. (2011); see :meth:`tie_weights`.

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
        dropout=0.0,
        tied_weights=False,
    ):
        super().__init__()
        widths = [n_features, *hidden_layer_sizes]
        encoder = []
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            encoder += [nn.Linear(width_in, width_out), make_activation(activation)]
            encoder += hidden_dropout(dropout)
        encoder.append(nn.Linear(widths[-1], n_components))

        decoder = [nn.Linear(n_components, widths[-1])]
        for width_in, width_out in zip(widths[:0:-1], widths[-2::-1], strict=True):
            decoder.append(make_activation(activation))
            decoder += hidden_dropout(dropout)
            decoder.append(nn.Linear(width_in, width_out))
        decoder.append(make_activation(output_activation))

        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        if tied_weights:
            self.tie_weights()

    def tie_weights(self):
        """Share the encoder's weights with the decoder, transposed.

        Every linear layer of the decoder is replaced by a
        :class:`~skae.modules._layers.TiedLinear` whose weight is the
        transpose of the mirrored encoder layer's (the code layer's for the
        first decoder layer, the input layer's for the last); the decoder
        keeps only its biases. A tied network cannot make its codes smaller
        by growing the decoder: the same weights would shrink the code and
        the reconstruction together.

        Returns
        -------
        self : MLPAutoEncoder
            The module, tied in place.
        """
        encoder = [m for m in self.encoder if isinstance(m, nn.Linear)]
        positions = [
            i
            for i, m in enumerate(self.decoder)
            if isinstance(m, (nn.Linear, TiedLinear))
        ]
        for position, source in zip(positions, encoder[::-1], strict=True):
            if not isinstance(self.decoder[position], TiedLinear):
                self.decoder[position] = TiedLinear(source)
        return self

    def code_readers(self):
        """Return the decoder layers that read the code, with their weight's name.

        Returns
        -------
        list of (torch.nn.Module, str)
            The first decoder layer and ``"weight"``; empty when it is tied.
        """
        first = self.decoder[0]
        return [(first, "weight")] if isinstance(first, nn.Linear) else []

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
