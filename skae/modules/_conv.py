"""Convolutional autoencoder for rows that are flattened images."""

import math

from torch import nn

from ._layers import (
    LayerSettings,
    _EncoderDecoder,
    check_input_shape,
    hidden_dropout,
    make_activation,
)


def _downsampled(size):
    # Spatial size after Conv2d(kernel_size=3, stride=2, padding=1).
    return (size - 1) // 2 + 1


class _ConvEncoder(nn.Module):
    """Strided convolutions, flatten, then the linear code layer."""

    def __init__(self, input_shape, channels, n_components, activation, dropout=0.0):
        super().__init__()
        self.input_shape = input_shape
        n_channels, height, width = input_shape
        body = []
        for channels_out in channels:
            body += [
                nn.Conv2d(n_channels, channels_out, 3, stride=2, padding=1),
                make_activation(activation),
                *hidden_dropout(dropout),
            ]
            n_channels = channels_out
            height, width = _downsampled(height), _downsampled(width)
        self.body = nn.Sequential(*body)
        self.feature_shape = (n_channels, height, width)
        self.n_features_out = n_channels * height * width
        self.code = nn.Linear(self.n_features_out, n_components)

    def features(self, x):
        """Return the flattened convolutional feature map, (batch, d)."""
        lead = x.shape[:-1]
        h = self.body(x.reshape(-1, *self.input_shape))
        return h.reshape(*lead, self.n_features_out)

    def forward(self, x):
        """Map rows (batch, n_features) to codes (batch, n_components)."""
        return self.code(self.features(x))


class _ConvDecoder(nn.Module):
    """Linear expansion, transposed convolutions, crop/pad to the image size."""

    def __init__(self, input_shape, channels, n_components, feature_shape, settings):
        super().__init__()
        activation, output_activation, dropout = settings
        self.input_shape = input_shape
        self.feature_shape = feature_shape
        self.n_components = n_components
        n_channels, height, width = input_shape
        self.expand = nn.Linear(n_components, math.prod(feature_shape))
        # With no conv layers the decoder is linear, as MLPAutoEncoder's is.
        self.expand_activation = nn.Sequential(
            make_activation(activation if channels else "identity"),
            *hidden_dropout(dropout if channels else 0.0),
        )

        # Spatial sizes seen by the encoder, outermost first.
        sizes = [(height, width)]
        for _ in channels:
            sizes.append(tuple(_downsampled(size) for size in sizes[-1]))
        widths = [n_channels, *channels]
        body = []
        for i in range(len(channels), 0, -1):
            # ConvTranspose2d(3, stride=2, padding=1) maps s to 2s - 1 + p; an
            # output padding p of 1 for even targets mirrors the encoder exactly.
            padding = tuple(1 - target % 2 for target in sizes[i - 1])
            body.append(
                nn.ConvTranspose2d(
                    widths[i],
                    widths[i - 1],
                    3,
                    stride=2,
                    padding=1,
                    output_padding=padding,
                )
            )
            if i > 1:
                body.append(make_activation(activation))
                body += hidden_dropout(dropout)
        self.body = nn.Sequential(*body)
        self.output_activation = make_activation(output_activation)

    def forward(self, z):
        """Map codes (batch, n_components) to rows (batch, n_features)."""
        lead = z.shape[:-1]
        h = self.expand_activation(self.expand(z.reshape(-1, self.n_components)))
        h = self.body(h.reshape(-1, *self.feature_shape))
        h = _crop_or_pad(h, self.input_shape[1:])
        h = self.output_activation(h)
        return h.reshape(*lead, math.prod(self.input_shape))


def _crop_or_pad(h, size):
    # The output padding already gives the exact size; this is a safety net
    # for the last two dimensions so that any (H, W) comes back exactly.
    height, width = size
    h = h[..., :height, :width]
    missing_h, missing_w = height - h.shape[-2], width - h.shape[-1]
    if missing_h or missing_w:
        h = nn.functional.pad(h, (0, missing_w, 0, missing_h))
    return h


class ConvAutoEncoder(_EncoderDecoder):
    """Convolutional autoencoder on rows that are flattened ``(C, H, W)`` images.

    The encoder is a stack of ``Conv2d(kernel_size=3, stride=2, padding=1)``
    layers, one per entry of ``hidden_layer_sizes`` (its output channels),
    each followed by ``activation``; every layer halves the height and width,
    rounding up, so an image never shrinks below 1 x 1. The feature map is
    flattened (:meth:`features`) and a linear layer (:attr:`code`) gives the
    code.

    The decoder mirrors it: a linear layer back to the flattened feature map
    (followed by ``activation``), then one ``ConvTranspose2d(kernel_size=3,
    stride=2, padding=1)`` per encoder layer in reverse order, the last one
    back to ``C`` channels. Each transposed convolution's ``output_padding``
    (0 for an odd target size, 1 for an even one) is computed at construction
    so that every spatial size, odd or even, is restored exactly; the result
    is then cropped or zero-padded to exactly ``H x W`` as a safeguard,
    passed through ``output_activation`` and flattened.

    With ``hidden_layer_sizes=()`` the module is a linear autoencoder.
    There is no normalisation across the batch: every sample is processed
    independently.

    Parameters
    ----------
    n_features : int
        Width of the flat input rows, ``C * H * W``.
    n_components : int
        Width of the code.
    hidden_layer_sizes : tuple of int, default=(128,)
        Output channels of the encoder's convolutions, outermost first.
    activation : str, default="relu"
        Hidden activation, a key of :data:`skae.modules.ACTIVATIONS`.
    output_activation : str, default="identity"
        Activation applied to the reconstruction.
    input_shape : tuple of int, default=None
        ``(C, H, W)``, how one row is viewed; required, and its product must
        equal ``n_features``.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit in training, after every
        hidden activation (convolutional feature maps and the decoder's
        expanded code). With 0 no dropout layer is built.

    Raises
    ------
    ValueError
        If ``input_shape`` is missing, is not three positive ints or its
        product is not ``n_features``.

    See Also
    --------
    MLPAutoEncoder : The dense architecture, for rows without structure.
    check_input_shape : How ``input_shape`` is validated.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import ConvAutoEncoder
    >>> module = ConvAutoEncoder(
    ...     n_features=16, n_components=2, hidden_layer_sizes=(3,),
    ...     input_shape=(1, 4, 4),
    ... )
    >>> x = torch.zeros(5, 16)  # five flattened 1 x 4 x 4 images
    >>> module.features(x).shape  # 3 channels of 2 x 2
    torch.Size([5, 12])
    >>> module.encode(x).shape
    torch.Size([5, 2])
    >>> module(x).shape
    torch.Size([5, 16])
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(128,),
        activation="relu",
        output_activation="identity",
        input_shape=None,
        dropout=0.0,
    ):
        super().__init__()
        input_shape = check_input_shape(input_shape, n_features, "(C, H, W)")
        channels = tuple(int(size) for size in hidden_layer_sizes)
        self.input_shape = input_shape
        self.encoder = _ConvEncoder(
            input_shape, channels, n_components, activation, dropout
        )
        self.decoder = _ConvDecoder(
            input_shape,
            channels,
            n_components,
            self.encoder.feature_shape,
            LayerSettings(activation, output_activation, dropout),
        )

    @property
    def code(self):
        """The final linear layer of the encoder, which produces the code."""
        return self.encoder.code

    def code_readers(self):
        """Return the decoder layers that read the code, with their weight's name.

        Returns
        -------
        list of (torch.nn.Module, str)
            The decoder's linear expansion of the code and ``"weight"``.
        """
        return [(self.decoder.expand, "weight")]

    def features(self, x):
        """Return the encoder features right before the code layer.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, d)
            The flattened last convolutional feature map.
        """
        return self.encoder.features(x)
