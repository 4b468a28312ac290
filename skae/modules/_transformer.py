"""Transformer autoencoder for rows that are flattened sequences."""

import math

import torch
from torch import nn

from ._layers import (
    LayerSettings,
    _EncoderDecoder,
    check_input_shape,
    hidden_dropout,
    make_activation,
)
from ._recurrent import _check_widths


def _n_heads(d_model):
    # The most heads, up to 8, that split d_model evenly.
    return next(n for n in (8, 4, 2, 1) if d_model % n == 0)


def _sinusoidal_table(n_steps, d_model):
    # The sine/cosine position table of Vaswani et al. (2017), (n_steps, d_model).
    position = torch.arange(n_steps, dtype=torch.float32).unsqueeze(1)
    exponent = torch.arange(0, d_model, 2, dtype=torch.float32) / d_model
    frequency = torch.exp(-math.log(10000.0) * exponent)
    table = torch.zeros(n_steps, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: d_model // 2])
    return table


def _run_stack(stack, h, dropout):
    # The layers one by one, skae's dropout after each (attention and
    # feed-forward dropout inside torch's layers draw from the global stream).
    if len(dropout) == 0:
        return stack(h)
    for layer in stack.layers:
        h = dropout(layer(h))
    return stack.norm(h)


def _transformer_stack(d_model, n_layers, activation):
    layer = nn.TransformerEncoderLayer(
        d_model,
        _n_heads(d_model),
        dim_feedforward=2 * d_model,
        dropout=0.0,
        activation=make_activation(activation),
        batch_first=True,
        norm_first=True,
    )
    # Pre-norm layers leave the residual stream unnormalised: close with a norm.
    return nn.TransformerEncoder(
        layer, n_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
    )


class _TransformerEncoder(nn.Module):
    """Per-step embedding + positions, self-attention, mean over time, code."""

    def __init__(
        self, input_shape, d_model, n_layers, n_components, activation, dropout=0.0
    ):
        super().__init__()
        self.input_shape = input_shape
        self.embedding = nn.Linear(input_shape[1], d_model)
        self.positions = nn.Parameter(_sinusoidal_table(input_shape[0], d_model))
        self.transformer = _transformer_stack(d_model, n_layers, activation)
        self.dropout = nn.Sequential(*hidden_dropout(dropout))
        self.n_features_out = d_model
        self.code = nn.Linear(d_model, n_components)

    def features(self, x):
        """Average the transformer outputs over the time steps, (batch, d_model)."""
        lead = x.shape[:-1]
        h = self.embedding(x.reshape(-1, *self.input_shape)) + self.positions
        h = _run_stack(self.transformer, h, self.dropout).mean(dim=1)
        return h.reshape(*lead, self.n_features_out)

    def forward(self, x):
        """Map rows (batch, n_features) to codes (batch, n_components)."""
        return self.code(self.features(x))


class _TransformerDecoder(nn.Module):
    """Code + learned position queries, self-attention, per-step readout."""

    def __init__(self, input_shape, d_model, n_layers, n_components, settings):
        super().__init__()
        activation, output_activation, dropout = settings
        self.input_shape = input_shape
        self.n_components = n_components
        self.expand = nn.Linear(n_components, d_model)
        self.queries = nn.Parameter(_sinusoidal_table(input_shape[0], d_model))
        self.transformer = _transformer_stack(d_model, n_layers, activation)
        self.readout = nn.Linear(d_model, input_shape[1])
        self.output_activation = make_activation(output_activation)
        self.dropout = nn.Sequential(*hidden_dropout(dropout))

    def forward(self, z):
        """Map codes (batch, n_components) to rows (batch, n_features)."""
        lead = z.shape[:-1]
        h = self.expand(z.reshape(-1, self.n_components)).unsqueeze(1) + self.queries
        h = _run_stack(self.transformer, h, self.dropout)
        h = self.output_activation(self.readout(h))
        return h.reshape(*lead, math.prod(self.input_shape))


class TransformerAutoEncoder(_EncoderDecoder):
    """Transformer sequence autoencoder on rows that are flattened ``(T, F)``.

    Each row is viewed as ``T`` time steps of ``F`` channels. The model width
    is ``d_model = hidden_layer_sizes[0]`` and the encoder and the decoder
    each have ``len(hidden_layer_sizes)`` layers (the other entries only count
    layers). Every layer is a pre-norm ``nn.TransformerEncoderLayer`` with
    ``nhead`` the largest of 8, 4, 2, 1 that divides ``d_model``,
    ``dim_feedforward = 2 * d_model``, ``activation`` in the feed-forward
    block and no dropout inside the layers (``dropout`` adds skae's own
    between them); each
    stack ends with a ``LayerNorm``.

    The encoder embeds every step with a linear layer, adds learned position
    embeddings (initialised to the sinusoidal table), runs the transformer
    and averages over time (:meth:`features`); a linear layer (:attr:`code`)
    gives the code. The decoder maps the code to ``d_model`` with a linear
    layer, adds it to ``T`` learned position queries (initialised the same
    way), runs its own transformer, maps each step to ``F`` channels with a
    linear layer, applies ``output_activation`` and flattens.

    Attention only mixes the time steps of one sample, and layer norm
    normalises each step on its own, so samples in a batch are independent.

    Parameters
    ----------
    n_features : int
        Width of the flat input rows, ``T * F``.
    n_components : int
        Width of the code.
    hidden_layer_sizes : tuple of int, default=(128,)
        ``hidden_layer_sizes[0]`` is ``d_model``; its length is the number of
        layers of the encoder and of the decoder. At least one is required.
    activation : str, default="relu"
        Activation of the feed-forward blocks, a key of
        :data:`skae.modules.ACTIVATIONS`.
    output_activation : str, default="identity"
        Activation applied to the reconstruction.
    input_shape : tuple of int, default=None
        ``(T, F)``, how one row is viewed; required, and its product must
        equal ``n_features``.
    dropout : float, default=0.0
        Probability of zeroing each unit in training, on the output of every
        transformer layer of the encoder and the decoder (skae's own
        :class:`~skae.modules._layers.Dropout`; the layers' internal dropouts stay
        off, as they draw from torch's global stream).

    Raises
    ------
    ValueError
        If ``input_shape`` is missing, is not two positive ints or its product
        is not ``n_features``; if ``hidden_layer_sizes`` is empty.

    See Also
    --------
    RecurrentAutoEncoder : The LSTM or GRU sequence architecture.
    check_input_shape : How ``input_shape`` is validated.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import TransformerAutoEncoder
    >>> module = TransformerAutoEncoder(
    ...     n_features=6, n_components=2, hidden_layer_sizes=(8,),
    ...     input_shape=(3, 2),
    ... )
    >>> x = torch.zeros(5, 6)  # five flattened sequences of 3 steps x 2
    >>> module.features(x).shape  # d_model = 8
    torch.Size([5, 8])
    >>> module.encode(x).shape
    torch.Size([5, 2])
    >>> module(x).shape
    torch.Size([5, 6])
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
        input_shape = check_input_shape(input_shape, n_features, "(T, F)")
        widths = _check_widths(hidden_layer_sizes, "transformer")
        self.input_shape = input_shape
        d_model, n_layers = widths[0], len(widths)
        self.encoder = _TransformerEncoder(
            input_shape, d_model, n_layers, n_components, activation, dropout
        )
        self.decoder = _TransformerDecoder(
            input_shape,
            d_model,
            n_layers,
            n_components,
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
        torch.Tensor of shape (batch, d_model)
            The encoder's transformer outputs averaged over time.
        """
        return self.encoder.features(x)
