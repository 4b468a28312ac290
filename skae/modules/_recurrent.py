"""Recurrent (LSTM or GRU) autoencoder for rows that are flattened sequences."""

import torch
from torch import nn

from ._layers import (
    LayerSettings,
    _EncoderDecoder,
    check_input_shape,
    hidden_dropout,
    make_activation,
)

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def _check_widths(hidden_layer_sizes, architecture):
    widths = tuple(int(size) for size in hidden_layer_sizes)
    if not widths or any(width < 1 for width in widths):
        raise ValueError(
            f"hidden_layer_sizes must hold at least one positive width for the "
            f"{architecture} architecture; got {hidden_layer_sizes!r}."
        )
    return widths


def _zero_state(h, width, cell):
    # nn.LSTM/GRU's own default state is built with new_zeros, which
    # torch.func.vmap cannot batch; zeros derived from the input can be.
    zeros = torch.zeros_like(h[:, 0, :1]).expand(-1, width).unsqueeze(0).contiguous()
    return (zeros, zeros) if cell == "lstm" else zeros


class _RecurrentEncoder(nn.Module):
    """Stacked recurrent layers; the last hidden state feeds the code layer."""

    def __init__(self, input_shape, widths, n_components, cell, dropout=0.0):
        super().__init__()
        self.input_shape = input_shape
        self.cell = cell
        rnn = _CELLS[cell]
        sizes = [input_shape[1], *widths]
        self.layers = nn.ModuleList(
            rnn(size_in, size_out, batch_first=True)
            for size_in, size_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        # skae's own dropout between layers: nn.LSTM's `dropout` argument
        # draws from torch's global stream.
        self.dropout = nn.Sequential(*hidden_dropout(dropout))
        self.n_features_out = widths[-1]
        self.code = nn.Linear(widths[-1], n_components)

    def features(self, x):
        """Return the last hidden state of the last recurrent layer, (batch, d)."""
        lead = x.shape[:-1]
        h = x.reshape(-1, *self.input_shape)
        for layer in self.layers:
            h, _ = layer(h, _zero_state(h, layer.hidden_size, self.cell))
            h = self.dropout(h)
        return h[:, -1].reshape(*lead, self.n_features_out)

    def forward(self, x):
        """Map rows (batch, n_features) to codes (batch, n_components)."""
        return self.code(self.features(x))


class _RecurrentDecoder(nn.Module):
    """Code -> initial states; code repeated over time -> RNN -> per-step linear."""

    def __init__(self, input_shape, widths, n_components, cell, settings):
        super().__init__()
        activation, output_activation, dropout = settings
        self.input_shape = input_shape
        self.n_components = n_components
        self.cell = cell
        rnn = _CELLS[cell]
        # The decoder runs the encoder's widths in reverse.
        widths = widths[::-1]
        n_states = 2 if cell == "lstm" else 1
        self.initial_states = nn.ModuleList(
            nn.Sequential(
                nn.Linear(n_components, n_states * width), make_activation(activation)
            )
            for width in widths
        )
        sizes = [n_components, *widths]
        self.layers = nn.ModuleList(
            rnn(size_in, size_out, batch_first=True)
            for size_in, size_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.readout = nn.Linear(widths[-1], input_shape[1])
        self.output_activation = make_activation(output_activation)
        self.dropout = nn.Sequential(*hidden_dropout(dropout))

    def forward(self, z):
        """Map codes (batch, n_components) to rows (batch, n_features)."""
        lead = z.shape[:-1]
        n_steps, n_channels = self.input_shape
        z = z.reshape(-1, self.n_components)
        h = z.unsqueeze(1).expand(-1, n_steps, -1).contiguous()
        for initial, layer in zip(self.initial_states, self.layers, strict=True):
            # States are (num_layers=1, batch, width), as nn.LSTM/GRU expect;
            # cuDNN also wants them contiguous.
            state = initial(z).unsqueeze(0)
            if self.cell == "lstm":
                state = tuple(part.contiguous() for part in state.chunk(2, dim=-1))
            h, _ = layer(h, state)
            h = self.dropout(h)
        h = self.output_activation(self.readout(h))
        return h.reshape(*lead, n_steps * n_channels)


class RecurrentAutoEncoder(_EncoderDecoder):
    """LSTM or GRU sequence autoencoder on rows that are flattened ``(T, F)``.

    Each row is viewed as ``T`` time steps of ``F`` channels. The encoder is a
    stack of single-layer recurrent networks, one per entry of
    ``hidden_layer_sizes`` (its hidden size), so every width is honoured;
    the last hidden state of the last layer is the encoder's features
    (:meth:`features`) and a linear layer (:attr:`code`) gives the code.

    The decoder mirrors it with the widths in reverse order. Every decoder
    layer starts from an initial state computed from the code by a linear
    layer followed by ``activation`` (for an LSTM, one linear layer gives both
    the hidden and the cell state); the first layer's input is the code
    repeated at every one of the ``T`` steps. A linear layer maps each step's
    output to ``F`` channels, then ``output_activation`` is applied and the
    sequence is flattened. The recurrent cells keep their own gate
    nonlinearities, so ``activation`` acts only on these initial states.

    There is no normalisation across the batch: every sample is processed
    independently.

    Parameters
    ----------
    n_features : int
        Width of the flat input rows, ``T * F``.
    n_components : int
        Width of the code.
    hidden_layer_sizes : tuple of int, default=(128,)
        Hidden sizes of the stacked encoder layers, outermost first; at least
        one is required.
    activation : str, default="relu"
        Activation of the decoder's initial states, a key of
        :data:`skae.modules.ACTIVATIONS`.
    output_activation : str, default="identity"
        Activation applied to the reconstruction.
    input_shape : tuple of int, default=None
        ``(T, F)``, how one row is viewed; required, and its product must
        equal ``n_features``.
    cell : {"lstm", "gru"}, default="lstm"
        The recurrent cell.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit in training, on the output
        sequence of every recurrent layer of the encoder and the decoder
        (skae's own :class:`~skae.modules._layers.Dropout`, not the recurrent cells'
        ``dropout`` argument, which draws from torch's global stream).

    Raises
    ------
    ValueError
        If ``input_shape`` is missing, is not two positive ints or its product
        is not ``n_features``; if ``hidden_layer_sizes`` is empty; if ``cell``
        is unknown.

    See Also
    --------
    TransformerAutoEncoder : The attention-based sequence architecture.
    check_input_shape : How ``input_shape`` is validated.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import RecurrentAutoEncoder
    >>> module = RecurrentAutoEncoder(
    ...     n_features=6, n_components=2, hidden_layer_sizes=(4,),
    ...     input_shape=(3, 2), cell="gru",
    ... )
    >>> x = torch.zeros(5, 6)  # five flattened sequences of 3 steps x 2
    >>> module.features(x).shape
    torch.Size([5, 4])
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
        cell="lstm",
        dropout=0.0,
    ):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}; got {cell!r}.")
        input_shape = check_input_shape(input_shape, n_features, "(T, F)")
        widths = _check_widths(hidden_layer_sizes, cell)
        self.input_shape = input_shape
        self.cell = cell
        self.encoder = _RecurrentEncoder(
            input_shape, widths, n_components, cell, dropout
        )
        self.decoder = _RecurrentDecoder(
            input_shape,
            widths,
            n_components,
            cell,
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
            The linear layers that map the code to initial states
            (``"weight"``) and the first recurrent layer, whose input at
            every step is the code (``"weight_ih_l0"``).
        """
        readers = [(initial[0], "weight") for initial in self.decoder.initial_states]
        return [*readers, (self.decoder.layers[0], "weight_ih_l0")]

    def features(self, x):
        """Return the encoder features right before the code layer.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, d)
            The last hidden state of the last encoder layer,
            ``d = hidden_layer_sizes[-1]``.
        """
        return self.encoder.features(x)
