"""Fully connected autoencoder."""

import torch
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

    def start_from_subspace(self, components):
        """Start as the linear autoencoder that projects on ``components``.

        With ``u = components @ x``, every hidden layer gives its first
        ``2 k`` units to ``+u`` and ``-u``. For the activations whose odd
        part is linear, ``f(u) - f(-u) = c u`` (relu, leaky_relu, gelu,
        silu, identity), so the pair carries ``u`` through each layer
        exactly; the code is ``u`` and the decoder maps it back with
        ``components.T``. The other hidden units keep their random weights
        but start with no path to the code or the output (their outgoing
        weights are zero); gradients reach them from the first step. Given
        principal directions of centred data, the network starts where PCA
        ends and training moves on from there.

        Parameters
        ----------
        components : torch.Tensor of shape (n_components, n_features)
            Orthonormal rows spanning the subspace, e.g. ``PCA.components_``.

        Returns
        -------
        bool
            Whether the network was set: False, and nothing changed, when a
            hidden layer is narrower than ``2 * n_components``, the
            activation's odd part is not linear, the output activation is
            not the identity or the decoder is tied.

        Examples
        --------
        >>> import torch
        >>> from skae.modules import MLPAutoEncoder
        >>> X = torch.randn(100, 2) @ torch.randn(2, 6)
        >>> X = X - X.mean(dim=0)
        >>> components = torch.linalg.svd(X, full_matrices=False).Vh[:2]
        >>> module = MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,))
        >>> module.start_from_subspace(components)
        True
        >>> bool(torch.allclose(module(X), X, atol=1e-4))  # rank 2: PCA is exact
        True
        """
        encoder = [m for m in self.encoder if isinstance(m, nn.Linear)]
        decoder = [m for m in self.decoder if isinstance(m, nn.Linear)]
        k = encoder[-1].out_features
        hidden = [layer.out_features for layer in encoder[:-1]]
        slope = 1.0
        if hidden:
            activation = next(
                m for m in self.encoder if not isinstance(m, (nn.Linear, nn.Dropout))
            )
            slope = _odd_part_slope(activation)
        if (
            slope is None
            or min(hidden, default=2 * k) < 2 * k
            or components.shape[0] != k
            or len(decoder) != len(encoder)
            or not isinstance(self.decoder[-1], nn.Identity)
        ):
            return False
        weight = encoder[0].weight
        P = torch.as_tensor(components).to(weight.device, weight.dtype)
        eye = torch.eye(k, dtype=weight.dtype, device=weight.device)
        pair = torch.cat([eye, -eye])  # u -> (+u, -u)
        unpair = torch.cat([eye, -eye], dim=1) / slope  # (f(u), f(-u)) -> u
        with torch.no_grad():
            # (layers, what the first layer reads, what the last one writes)
            for layers, first, last in ((encoder, P, eye), (decoder, eye, P.T)):
                if len(layers) == 1:
                    layers[0].weight.copy_(last @ first)
                    layers[0].bias.zero_()
                    continue
                _set_rows(layers[0], pair @ first)
                for layer in layers[1:-1]:
                    rows = torch.zeros_like(layer.weight[: 2 * k])
                    rows[:, : 2 * k] = pair @ unpair
                    _set_rows(layer, rows)
                layers[-1].weight.zero_()
                layers[-1].weight[:, : 2 * k] = last @ unpair
                layers[-1].bias.zero_()
        return True

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


def _set_rows(layer, rows):
    """Overwrite the first rows of a linear layer, with zero biases."""
    layer.weight[: rows.shape[0]] = rows
    layer.bias[: rows.shape[0]] = 0


def _odd_part_slope(activation):
    """Return c with ``f(u) - f(-u) = c u`` for every u, or None."""
    u = torch.tensor([-3.0, -0.5, 0.25, 2.0, 7.0], dtype=torch.float64)
    with torch.no_grad():
        odd = activation(u) - activation(-u)
    slope = float(odd[-1] / u[-1])
    if slope > 0 and torch.allclose(odd, slope * u, rtol=1e-6, atol=0.0):
        return slope
    return None
