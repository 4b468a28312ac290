"""Named activations shared by every architecture."""

import math
from typing import NamedTuple

import torch
from torch import nn

from ._random import rand_like

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def make_activation(name):
    """Return a new activation module for ``name`` (a key of ``ACTIVATIONS``).

    Every built-in architecture builds its activations with this function,
    so each layer gets its own module and an unknown name fails early with
    the list of the available ones.

    Parameters
    ----------
    name : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", \
"identity"}
        The activation, a key of ``ACTIVATIONS``.

    Returns
    -------
    torch.nn.Module
        A new instance of ``ACTIVATIONS[name]``.

    Raises
    ------
    ValueError
        If ``name`` is not a key of ``ACTIVATIONS``.

    See Also
    --------
    MLPAutoEncoder : A dense autoencoder built with these activations.

    Examples
    --------
    >>> from skae.modules import make_activation
    >>> make_activation("tanh")
    Tanh()
    >>> make_activation("identity")
    Identity()
    """
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}."
        ) from None


class LayerSettings(NamedTuple):
    """The settings a decoder shares with its autoencoder's constructor.

    The shaped architectures (:class:`ConvAutoEncoder`,
    :class:`RecurrentAutoEncoder`, :class:`TransformerAutoEncoder`) pass
    them to their decoder as one immutable object.

    Parameters
    ----------
    activation : str
        Hidden activation, a key of ``ACTIVATIONS``.
    output_activation : str
        Activation applied to the reconstruction, a key of ``ACTIVATIONS``.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit in training.
    """

    activation: str
    output_activation: str
    dropout: float = 0.0


def check_input_shape(input_shape, n_features, layout):
    """Validate ``input_shape`` against the row width and return it as ints.

    The shaped architectures (:class:`ConvAutoEncoder`,
    :class:`RecurrentAutoEncoder`, :class:`TransformerAutoEncoder`) call it
    at construction, so that a row width and a view that disagree fail with
    a clear message rather than inside a reshape.

    Parameters
    ----------
    input_shape : tuple of int or None
        How one flat row is viewed, e.g. ``(C, H, W)`` or ``(T, F)``.
    n_features : int
        Width of the flat rows; the product of ``input_shape`` must equal it.
    layout : str
        The expected layout, such as ``"(C, H, W)"``; its number of
        comma-separated entries is the number of dimensions required.

    Returns
    -------
    tuple of int
        The validated shape.

    Raises
    ------
    ValueError
        If ``input_shape`` is missing, has the wrong number of dimensions,
        holds a non-positive entry, or its product is not ``n_features``.

    See Also
    --------
    ConvAutoEncoder : Views each row as a ``(C, H, W)`` image.
    RecurrentAutoEncoder : Views each row as a ``(T, F)`` sequence.

    Examples
    --------
    >>> from skae.modules import check_input_shape
    >>> check_input_shape([1, 8, 8], 64, "(C, H, W)")
    (1, 8, 8)
    >>> check_input_shape(None, 6, "(T, F)")
    Traceback (most recent call last):
        ...
    ValueError: input_shape (T, F) is required; got None.
    """
    ndim = layout.count(",") + 1
    if input_shape is None:
        raise ValueError(f"input_shape {layout} is required; got None.")
    try:
        shape = tuple(int(size) for size in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"input_shape must be a tuple of {ndim} ints {layout}; got {input_shape!r}."
        ) from None
    if len(shape) != ndim or any(size < 1 for size in shape):
        raise ValueError(
            f"input_shape must be a tuple of {ndim} positive ints {layout}; "
            f"got {input_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"input_shape={shape} does not match the rows: its product "
            f"{math.prod(shape)} must equal n_features={n_features}."
        )
    return shape


class _EncoderDecoder(nn.Module):
    """An autoencoder module made of ``encoder`` and ``decoder`` submodules.

    The built-in architectures share this protocol: subclasses set
    ``self.encoder`` and ``self.decoder`` (or override :meth:`encode` and
    :meth:`decode`).
    """

    def encode(self, x):
        """Map rows to codes.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            The codes.
        """
        return self.encoder(x)

    def decode(self, z):
        """Map codes back to rows.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Codes.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Flat reconstructions.
        """
        return self.decoder(z)

    def forward(self, x):
        """Reconstruct ``x``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``decode(encode(x))``.
        """
        return self.decode(self.encode(x))


class SigmoidCode(_EncoderDecoder):
    """Wrap an autoencoder module so that its code passes a sigmoid.

    Used by the KL sparsity penalty, whose target activation is a
    probability: ``encode(x) = sigmoid(base.encode(x))``.

    Parameters
    ----------
    base : torch.nn.Module
        A module with ``encode(x)`` and ``decode(z)``.

    See Also
    --------
    skae.SparseAE : Wraps its module in it for ``sparsity="kl"``.
    GaussianAutoEncoder : Another wrapper, a Gaussian head on any module.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import MLPAutoEncoder, SigmoidCode
    >>> module = SigmoidCode(MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,)))
    >>> codes = module.encode(torch.zeros(3, 6))
    >>> codes.shape
    torch.Size([3, 2])
    >>> bool(((codes > 0) & (codes < 1)).all())
    True
    >>> module(torch.zeros(3, 6)).shape
    torch.Size([3, 6])
    """

    def __init__(self, base):
        super().__init__()
        self.base = base

    @property
    def encoder(self):
        """The encoder half, sigmoid included (built on access, not registered)."""
        return nn.Sequential(_Method(self.base, "encode"), nn.Sigmoid())

    @property
    def decoder(self):
        """The decoder half."""
        return _Method(self.base, "decode")

    def encode(self, x):
        """Map rows to codes in (0, 1).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            ``sigmoid(base.encode(x))``.
        """
        return torch.sigmoid(self.base.encode(x))

    def decode(self, z):
        """Map codes back to rows with the base module's decoder.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_components)
            Codes in (0, 1).

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            ``base.decode(z)``.
        """
        return self.base.decode(z)


class ReLUCode(SigmoidCode):
    """Wrap an autoencoder module so that its code passes a ReLU.

    Used by the L1 sparsity penalty: ``encode(x) = relu(base.encode(x))``
    is nonnegative and exactly zero wherever the code layer's output is
    negative, so sparse codes have exact zeros (Glorot et al., 2011).

    Parameters
    ----------
    base : torch.nn.Module
        A module with ``encode(x)`` and ``decode(z)``.

    See Also
    --------
    SigmoidCode : The same wrapper with a sigmoid, for the KL penalty.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import MLPAutoEncoder
    >>> from skae.modules._layers import ReLUCode
    >>> module = ReLUCode(MLPAutoEncoder(6, 4, hidden_layer_sizes=(8,)))
    >>> codes = module.encode(torch.randn(3, 6))
    >>> bool((codes >= 0).all())
    True
    """

    @property
    def encoder(self):
        """The encoder half, ReLU included (built on access, not registered)."""
        return nn.Sequential(_Method(self.base, "encode"), nn.ReLU())

    def encode(self, x):
        """Map rows to nonnegative codes.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Flat input rows.

        Returns
        -------
        torch.Tensor of shape (batch, n_components)
            ``relu(base.encode(x))``.
        """
        return torch.relu(self.base.encode(x))

    def start_from_subspace(self, components):
        """Start with code unit ``j`` reading ``components[j]`` through the ReLU.

        Given pairs of opposite directions (``p, -p``), the pair of codes
        ``relu(u), relu(-u)`` carries the score ``u = p x`` and the decoder
        starts with the atoms ``p, -p``: ``relu(u) p - relu(-u) p = u p``,
        the linear autoencoder on those directions. The base network is set
        by its own ``start_from_subspace``; then the decoder's first layer
        passes the codes on (identity rows; nonnegative codes pass its
        ReLU) and its last layer gets the atoms, its other hidden units
        keeping their random biases and output columns, whose constant
        output the output bias cancels. Every decoder column keeps unit
        norm.

        Parameters
        ----------
        components : torch.Tensor of shape (n_components, n_features)
            The directions the code units read, in code order.

        Returns
        -------
        bool
            Whether the network was set: False, and nothing changed, unless
            the base has ``start_from_subspace``, two linear decoder layers
            with a ReLU between them, and accepts the directions.

        Examples
        --------
        >>> import torch
        >>> from skae.modules import MLPAutoEncoder
        >>> from skae.modules._layers import ReLUCode
        >>> X = torch.randn(100, 1) @ torch.randn(1, 6)
        >>> X = X - X.mean(dim=0)
        >>> p = torch.linalg.svd(X, full_matrices=False).Vh[:1]
        >>> module = ReLUCode(MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,)))
        >>> module.start_from_subspace(torch.cat([p, -p]))
        True
        >>> bool(torch.allclose(module(X), X, atol=1e-4))  # rank 1: exact
        True
        """
        start = getattr(self.base, "start_from_subspace", None)
        decoder = list(getattr(self.base, "decoder", ()))
        layers = [m for m in decoder if isinstance(m, nn.Linear)]
        others = [m for m in decoder if not isinstance(m, (nn.Linear, nn.Dropout))]
        # A ReLU between the two layers passes the nonnegative codes as they
        # are and makes the unused units' output a constant, relu(bias).
        relu_between = [type(m) for m in others] in ([nn.ReLU], [nn.ReLU, nn.Identity])
        if start is None or len(layers) != 2 or not relu_between:
            return False
        first, last = layers
        k = components.shape[0]
        random_bias = first.bias.detach().clone()
        random_columns = last.weight.detach().clone()
        if k > first.out_features or not start(components):
            return False
        weight = last.weight
        atoms = torch.as_tensor(components).to(weight.device, weight.dtype).T
        with torch.no_grad():
            first.weight.zero_()
            first.weight[:k, :k] = torch.eye(k, dtype=weight.dtype)
            first.bias.copy_(random_bias)
            first.bias[:k] = 0
            weight.copy_(random_columns)
            weight[:, :k] = atoms
            constant = torch.relu(first.bias)
            constant[:k] = 0
            effective = getattr(last, "normalized_weight", weight)
            last.bias.copy_(-(effective @ constant))
        return True


class _Method(nn.Module):
    """One method of a module (``encode`` or ``decode``) as a module."""

    def __init__(self, module, method):
        super().__init__()
        self.module = module
        self.method = method

    def forward(self, x):
        """Call the wrapped method."""
        return getattr(self.module, self.method)(x)


class Dropout(nn.Module):
    """Dropout whose mask is drawn from the current fit's generator.

    In training each entry is zeroed with probability ``p`` and the others
    are scaled by ``1 / (1 - p)`` (inverted dropout, as :class:`torch.nn.Dropout`);
    in evaluation the input passes unchanged. The mask comes from
    :func:`skae.modules._random.rand_like`, so a fit's dropout draws come from
    that fit's own generator rather than torch's global stream.

    Parameters
    ----------
    p : float, default=0.5
        Probability of zeroing an entry, in [0, 1).

    Raises
    ------
    ValueError
        If ``p`` is not in [0, 1).

    Examples
    --------
    >>> import torch
    >>> from skae.modules._layers import Dropout
    >>> layer = Dropout(0.5)
    >>> x = torch.ones(2, 4)
    >>> bool(torch.equal(layer.eval()(x), x))
    True
    >>> values = set(layer.train()(x).unique().tolist())
    >>> values <= {0.0, 2.0}
    True
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= float(p) < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {p!r}.")
        self.p = float(p)

    def forward(self, x):
        """Zero entries at random in training; identity in evaluation.

        Parameters
        ----------
        x : torch.Tensor
            Any floating point tensor.

        Returns
        -------
        torch.Tensor
            Same shape, dtype and device as ``x``.
        """
        if not self.training or self.p == 0.0:
            return x
        keep = rand_like(x) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self):
        """Show ``p`` in the module's repr."""
        return f"p={self.p}"


def hidden_dropout(p):
    """Return a :class:`Dropout` layer for ``p > 0``, else no layer (an empty list).

    Modules add it after each hidden layer only when asked for, so that
    ``dropout=0`` builds the same layers (and weights) as before.
    """
    return [Dropout(p)] if p else []


class UnitNormLinear(nn.Linear):
    """A linear layer whose weight columns are used with unit norm.

    ``y = x (V / ||V||)^T + b``, the norm taken column by column (over the
    outputs, for each input unit): weight normalisation with a fixed gain
    (Salimans and Kingma, 2016). ``weight`` holds the free parameter
    :math:`V`; :attr:`normalized_weight` is what the layer applies. The
    state dict is a :class:`torch.nn.Linear`'s, and the layer pickles as
    one (torch's ``parametrize`` cannot be pickled).

    Parameters
    ----------
    in_features, out_features : int
        As for :class:`torch.nn.Linear`.
    bias : bool, default=True
        As for :class:`torch.nn.Linear`.
    """

    @classmethod
    def from_linear(cls, linear):
        """Return a unit-norm layer with the weights of ``linear``.

        Parameters
        ----------
        linear : torch.nn.Linear
            The layer to replace; its parameters are reused, not copied.

        Returns
        -------
        UnitNormLinear
            The new layer.
        """
        layer = cls.__new__(cls)
        nn.Module.__init__(layer)
        layer.in_features = linear.in_features
        layer.out_features = linear.out_features
        layer.weight = linear.weight
        layer.bias = linear.bias
        return layer

    @property
    def normalized_weight(self):
        """The weight the layer applies: each column divided by its norm."""
        return self.weight / self.weight.norm(dim=0, keepdim=True).clamp_min(1e-12)

    def forward(self, x):
        """Apply ``x @ normalized_weight.T + bias``."""
        return nn.functional.linear(x, self.normalized_weight, self.bias)


def normalize_atoms(module):
    r"""Give unit norm to every input column of the decoder's linear layers.

    The linear layers that read the code (``module.code_readers()``, which
    the built-in modules provide) and every other :class:`torch.nn.Linear`
    of ``module.decoder`` are replaced, in place, by
    :class:`UnitNormLinear` layers holding the same parameters: weight
    normalisation with a fixed gain (Salimans and Kingma, 2016). Each code
    unit then feeds the decoder through a weight vector of unit norm, the
    "atoms" of sparse coding (:class:`sklearn.decomposition.DictionaryLearning`
    bounds them the same way), and the linear maps after it cannot grow
    either: the decoder can no longer make up for smaller codes with larger
    weights. Tied layers are left as they are, and so are the recurrent
    decoder's recurrent weights (the first recurrent layer also reads the
    code) and the linear layers inside torch's transformer layers (whose
    fused inference path reads the raw weights); a module with neither
    ``code_readers`` nor a ``decoder`` is left unchanged.

    Parameters
    ----------
    module : torch.nn.Module
        An autoencoder module.

    Returns
    -------
    list of UnitNormLinear
        The layers now normalised, code readers first.

    Examples
    --------
    >>> import torch
    >>> from skae.modules import MLPAutoEncoder
    >>> from skae.modules._layers import normalize_atoms
    >>> module = MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,))
    >>> first, last = normalize_atoms(module)
    >>> torch.allclose(first.normalized_weight.norm(dim=0), torch.ones(2))
    True
    """
    readers = getattr(module, "code_readers", None)
    targets = [layer for layer, _ in readers()] if callable(readers) else []
    decoder = getattr(module, "decoder", None)
    if isinstance(decoder, nn.Module):
        targets += list(decoder.modules())
    # Linear layers inside torch's transformer layers stay: their fused
    # inference path reads the raw weights.
    fused = (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)
    inside = {
        id(m) for layer in targets if isinstance(layer, fused) for m in layer.modules()
    }
    targets = [
        m
        for m in targets
        if (type(m) is nn.Linear or type(m) is UnitNormLinear) and id(m) not in inside
    ]
    places = {}
    for parent in module.modules():
        for child_name, child in parent.named_children():
            places.setdefault(id(child), []).append((parent, child_name))
    layers = []
    for layer in targets:
        if id(layer) not in places or any(layer is seen for seen in layers):
            continue  # already replaced, or not a submodule of ``module``
        new = layer
        if type(layer) is nn.Linear:
            new = UnitNormLinear.from_linear(layer)
            for parent, child_name in places.pop(id(layer)):
                setattr(parent, child_name, new)
        layers.append(new)
    return layers


class TiedLinear(nn.Module):
    """A linear layer whose weight is the transpose of another layer's.

    ``y = x W^T + b`` with ``W = source.weight.T`` and its own bias ``b``:
    the decoder layer of a tied autoencoder (Rifai et al., 2011). The source
    layer is referenced, not registered, so its weight is stored once (in
    the encoder) in state dicts and model files.

    Parameters
    ----------
    source : torch.nn.Linear
        The encoder layer whose weight is shared.
    """

    def __init__(self, source):
        super().__init__()
        object.__setattr__(self, "_source", source)
        self.bias = nn.Parameter(torch.zeros(source.in_features))
        self.in_features = source.out_features
        self.out_features = source.in_features

    @property
    def weight(self):
        """The shared weight, ``source.weight.T``."""
        return self._source.weight.T

    def forward(self, x):
        """Apply ``x @ source.weight + bias``."""
        return nn.functional.linear(x, self.weight, self.bias)

    def extra_repr(self):
        """Show the widths in the module's repr."""
        return f"in_features={self.in_features}, out_features={self.out_features}"
