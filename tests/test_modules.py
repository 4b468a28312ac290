"""Tests of the pure PyTorch autoencoder modules in ``skae.modules``."""

import math
import warnings

import pytest
import torch
from numpy.testing import assert_array_equal
from torch import nn
from torch.testing import assert_close

from skae.modules._conv import ConvAutoEncoder
from skae.modules._mlp import MLPAutoEncoder
from skae.modules._recurrent import RecurrentAutoEncoder
from skae.modules._transformer import TransformerAutoEncoder, _n_heads

SEQUENCE = ["lstm", "gru", "transformer"]
ARCHITECTURES = ["mlp", "conv", *SEQUENCE]
# A small default shape for each architecture.
SHAPES = {
    "mlp": (6,),
    "conv": (2, 5, 4),
    "lstm": (5, 3),
    "gru": (5, 3),
    "transformer": (5, 3),
}
WIDTHS = {"mlp": (8,), "conv": (4,), "lstm": (8,), "gru": (8,), "transformer": (8,)}


def make(architecture, input_shape=None, n_components=3, **kwargs):
    """Build a module of ``architecture`` for rows viewed as ``input_shape``."""
    input_shape = input_shape or SHAPES[architecture]
    kwargs.setdefault("hidden_layer_sizes", WIDTHS[architecture])
    n_features = math.prod(input_shape)
    if architecture == "mlp":
        return MLPAutoEncoder(n_features, n_components, **kwargs)
    if architecture == "conv":
        return ConvAutoEncoder(
            n_features, n_components, input_shape=input_shape, **kwargs
        )
    if architecture == "transformer":
        return TransformerAutoEncoder(
            n_features, n_components, input_shape=input_shape, **kwargs
        )
    return RecurrentAutoEncoder(
        n_features, n_components, input_shape=input_shape, cell=architecture, **kwargs
    )


def rows(module, n_samples=4, seed=0, dtype=torch.float32):
    parameter = next(module.parameters())
    code = torch.zeros(1, module.code.out_features, dtype=parameter.dtype)
    n_features = module.decoder(code).shape[1]
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n_samples, n_features, generator=generator).to(dtype)


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    # The modules here are tiny: extra intra-op threads only add overhead.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(n_threads)


# --------------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    "input_shape",
    [(1, 8, 8), (3, 7, 5), (1, 1, 1), (2, 1, 9), (1, 2, 2), (1, 3, 1), (2, 16, 11)],
)
@pytest.mark.parametrize("hidden_layer_sizes", [(), (4,), (4, 6, 3)])
def test_conv_shapes(input_shape, hidden_layer_sizes):
    module = make(
        "conv", input_shape, n_components=2, hidden_layer_sizes=hidden_layer_sizes
    )
    x = torch.randn(5, math.prod(input_shape))
    z = module.encode(x)
    assert z.shape == (5, 2)
    assert module.decode(z).shape == x.shape
    assert module(x).shape == x.shape


@pytest.mark.parametrize("architecture", SEQUENCE)
@pytest.mark.parametrize("input_shape", [(1, 3), (5, 1), (7, 2), (1, 1)])
@pytest.mark.parametrize("hidden_layer_sizes", [(8,), (8, 6)])
def test_sequence_shapes(architecture, input_shape, hidden_layer_sizes):
    module = make(
        architecture, input_shape, n_components=4, hidden_layer_sizes=hidden_layer_sizes
    )
    x = torch.randn(3, math.prod(input_shape))
    z = module.encode(x)
    assert z.shape == (3, 4)
    assert module.decode(z).shape == x.shape
    assert module(x).shape == x.shape


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_single_row_and_empty_batch(architecture):
    module = make(architecture)
    x = rows(module, n_samples=1)
    assert module(x).shape == x.shape
    empty = x[:0]
    assert module.encode(empty).shape == (0, 3)
    assert module(empty).shape == empty.shape


# ------------------------------------------------------- the shared interface
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_encode_is_code_of_features(architecture):
    module = make(architecture)
    x = rows(module)
    features = module.features(x)
    assert features.ndim == 2 and features.shape[0] == x.shape[0]
    assert isinstance(module.code, nn.Linear)
    assert module.code.in_features == features.shape[1]
    assert_close(module.encode(x), module.code(features))
    assert_close(module.encoder(x), module.encode(x))
    assert_close(module.decoder(module.encode(x)), module(x))


@pytest.mark.parametrize(
    "architecture, hidden_layer_sizes, width",
    [
        ("mlp", (8, 5), 5),
        ("conv", (4, 6), 6 * 2 * 1),
        ("conv", (), 2 * 5 * 4),
        ("lstm", (8, 5), 5),
        ("gru", (5, 8), 8),
        ("transformer", (12, 7), 12),
    ],
)
def test_feature_width(architecture, hidden_layer_sizes, width):
    module = make(architecture, hidden_layer_sizes=hidden_layer_sizes)
    assert module.features(rows(module)).shape == (4, width)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_output_activation_ends_the_decoder(architecture):
    module = make(architecture, output_activation="sigmoid")
    reconstruction = module.decode(10 * torch.randn(6, 3))
    assert reconstruction.min() > 0 and reconstruction.max() < 1
    identity = make(architecture)
    assert (identity.decode(10 * torch.randn(6, 3)) < 0).any()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_float64_end_to_end(architecture):
    module = make(architecture).to(torch.float64)
    x = rows(module, dtype=torch.float64)
    reconstruction = module(x)
    assert reconstruction.dtype == torch.float64
    assert module.features(x).dtype == torch.float64
    reconstruction.sum().backward()
    assert all(p.grad.dtype == torch.float64 for p in module.parameters())


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_gradients_reach_every_parameter(architecture):
    # tanh keeps every unit alive, so every gradient must be non-zero.
    module = make(
        architecture, hidden_layer_sizes=WIDTHS[architecture] * 2, activation="tanh"
    )
    x = rows(module, n_samples=6)
    ((module(x) - x) ** 2).mean().backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None, name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    "architecture, layer_types",
    [
        ("conv", (nn.Conv2d, nn.ConvTranspose2d)),
        ("lstm", (nn.LSTM,)),
        ("gru", (nn.GRU,)),
        ("transformer", (nn.TransformerEncoder,)),
    ],
)
def test_modules_use_their_layers(architecture, layer_types):
    module = make(architecture)
    for half in (module.encoder, module.decoder):
        present = {type(layer) for layer in half.modules()}
        assert any(layer_type in present for layer_type in layer_types)
    for layer_type in layer_types:
        assert any(isinstance(layer, layer_type) for layer in module.modules())
    assert not any(
        isinstance(layer, nn.modules.batchnorm._BatchNorm) for layer in module.modules()
    )


def test_conv_without_hidden_layers_is_linear():
    module = make("conv", hidden_layer_sizes=())
    assert not any(isinstance(layer, nn.Conv2d) for layer in module.modules())
    x, y = rows(module), rows(module, seed=1)
    # A linear (affine) map: f(x) + f(y) - f(0) == f(x + y).
    zero = torch.zeros_like(x)
    assert_close(module(x) + module(y) - module(zero), module(x + y))


@pytest.mark.parametrize(
    "d_model, n_heads", [(128, 8), (16, 8), (12, 4), (6, 2), (7, 1), (1, 1)]
)
def test_transformer_head_count(d_model, n_heads):
    assert _n_heads(d_model) == n_heads
    module = make("transformer", hidden_layer_sizes=(d_model, d_model, d_model))
    for stack in (module.encoder.transformer, module.decoder.transformer):
        assert len(stack.layers) == 3
        for layer in stack.layers:
            assert layer.self_attn.num_heads == n_heads
            assert layer.self_attn.embed_dim == d_model
            assert layer.linear1.out_features == 2 * d_model


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_stacks_one_layer_per_width(cell):
    module = make(cell, hidden_layer_sizes=(9, 7, 5))
    sizes = [layer.hidden_size for layer in module.encoder.layers]
    assert sizes == [9, 7, 5]
    assert [layer.hidden_size for layer in module.decoder.layers] == [5, 7, 9]


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize("architecture", ["conv", *SEQUENCE])
def test_wrong_input_shape_raises(architecture):
    shape = SHAPES[architecture]
    n_features = math.prod(shape)
    make_with = {
        "conv": lambda s: ConvAutoEncoder(n_features, 2, input_shape=s),
        "lstm": lambda s: RecurrentAutoEncoder(n_features, 2, input_shape=s),
        "gru": lambda s: RecurrentAutoEncoder(n_features, 2, input_shape=s, cell="gru"),
        "transformer": lambda s: TransformerAutoEncoder(n_features, 2, input_shape=s),
    }[architecture]
    wrong_product = (shape[0] + 1, *shape[1:])
    wrong_rank = (n_features,)
    for bad in (wrong_product, wrong_rank, None, (0, *shape)):
        with pytest.raises(ValueError, match="input_shape"):
            make_with(bad)


@pytest.mark.parametrize("architecture", SEQUENCE)
def test_sequence_needs_a_width(architecture):
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        make(architecture, hidden_layer_sizes=())


def test_unknown_cell_raises():
    with pytest.raises(ValueError, match="cell"):
        RecurrentAutoEncoder(6, 2, input_shape=(3, 2), cell="rnn")


@pytest.mark.parametrize("architecture", ["conv", *SEQUENCE])
def test_unknown_activation_raises(architecture):
    with pytest.raises(ValueError, match="activation"):
        make(architecture, activation="swish")


# ------------------------------------------------ independence and Jacobians
@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("training", [True, False])
def test_samples_are_independent(architecture, training):
    module = make(architecture).train(training)
    x = rows(module, n_samples=5)
    changed = x.clone()
    changed[1:] = rows(module, n_samples=4, seed=7)
    with torch.no_grad():
        assert_close(module(x)[0], module(changed)[0])
        assert_close(module.encode(x)[:1], module.encode(x[:1]))
        assert not torch.allclose(module(x)[1:], module(changed)[1:])


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_eval_without_grad_matches_training_forward(architecture):
    # No dropout anywhere: the inference path (and any fast path) agrees.
    module = make(architecture)
    x = rows(module)
    expected = module.train()(x).detach()
    with torch.no_grad():
        assert_close(module.eval()(x), expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_per_sample_jacobian_with_torch_func(architecture):
    module = make(architecture).to(torch.float64)
    x = rows(module, n_samples=3, dtype=torch.float64)
    with warnings.catch_warnings():
        # Some ops have no vmap batching rule yet and fall back to a loop.
        warnings.filterwarnings("ignore", message=".*performance drop.*")
        jacobian = torch.func.vmap(torch.func.jacrev(module.encode))(x)
    assert jacobian.shape == (3, 3, x.shape[1])
    # Samples are independent, so the Jacobian of the batch sum holds every
    # per-sample Jacobian.
    summed = torch.autograd.functional.jacobian(lambda x: module.encode(x).sum(0), x)
    assert_close(jacobian, summed.permute(1, 0, 2))
    for i in range(3):
        single = torch.autograd.functional.jacobian(module.encode, x[i : i + 1])
        assert_close(jacobian[i], single[0, :, 0])


# ------------------------------------------------------------------- learning
def _sines(n_samples, n_steps, n_channels, generator):
    t = torch.linspace(0, 2 * math.pi, n_steps)
    frequency = 0.5 + 1.5 * torch.rand(n_samples, 1, n_channels, generator=generator)
    phase = 2 * math.pi * torch.rand(n_samples, 1, n_channels, generator=generator)
    return torch.sin(frequency * t[:, None] + phase).reshape(n_samples, -1)


def _blobs(n_samples, shape, generator):
    # Images that are a random mix of two smooth bumps.
    _, height, width = shape
    ys = torch.linspace(-1, 1, height)[:, None]
    xs = torch.linspace(-1, 1, width)[None, :]
    bumps = torch.stack(
        [
            torch.exp(-4 * ((ys - 0.4) ** 2 + (xs + 0.3) ** 2)),
            torch.exp(-4 * ((ys + 0.5) ** 2 + (xs - 0.4) ** 2)),
        ]
    )
    weights = torch.rand(n_samples, 2, generator=generator)
    return (weights @ bumps.reshape(2, -1)).repeat(1, shape[0])


@pytest.mark.parametrize(
    "architecture, input_shape, hidden_layer_sizes, lr, n_steps",
    [
        ("mlp", (24,), (32,), 1e-2, 150),
        ("conv", (2, 7, 6), (8,), 1e-2, 150),
        ("lstm", (12, 2), (32,), 1e-2, 150),
        ("gru", (12, 2), (32,), 1e-2, 150),
        ("transformer", (12, 2), (32,), 3e-3, 300),
    ],
)
def test_short_training_lowers_the_loss(
    architecture, input_shape, hidden_layer_sizes, lr, n_steps
):
    generator = torch.Generator().manual_seed(0)
    if architecture == "conv":
        x = _blobs(32, input_shape, generator)
    else:
        x = _sines(32, 12, 2, generator)
    module = make(
        architecture, input_shape, n_components=4, hidden_layer_sizes=hidden_layer_sizes
    )
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)

    def loss():
        return ((module(x) - x) ** 2).mean()

    initial = loss().item()
    for _ in range(n_steps):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    final = loss().item()
    assert final < 0.2 * initial, (initial, final)
    assert final < 0.2 * x.var().item(), (final, x.var().item())


def test_training_is_deterministic():
    results = []
    for _ in range(2):
        torch.manual_seed(3)
        module = make("transformer")
        x = rows(module)
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
        for _ in range(5):
            optimizer.zero_grad()
            ((module(x) - x) ** 2).mean().backward()
            optimizer.step()
        results.append(module(x).detach().numpy())
    assert_array_equal(results[0], results[1])


# --------------------------------------------------------------------------
# Dropout, tied weights and unit-norm atoms
# --------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_dropout_only_in_training_and_from_the_fit_generator(architecture):
    from skae.modules._layers import Dropout
    from skae.modules._random import FitGenerators, use_generators

    module = make(architecture, dropout=0.5)
    assert any(isinstance(m, Dropout) for m in module.modules())
    assert not any(isinstance(m, Dropout) for m in make(architecture).modules())
    x = rows(module, n_samples=6)
    module.eval()
    assert_array_equal(module(x).detach(), module(x).detach())
    module.train()

    def draw(seed):
        with use_generators(FitGenerators(seed)):
            return module(x).detach()

    before = torch.random.get_rng_state()
    first = draw(0)
    assert torch.equal(torch.random.get_rng_state(), before)  # global untouched
    assert torch.equal(first, draw(0))
    assert not torch.equal(first, draw(1))
    with torch.no_grad():
        assert not torch.equal(first, module.eval()(x))


def test_dropout_zeroes_and_rescales():
    from skae.modules._layers import Dropout

    layer = Dropout(0.25).train()
    x = torch.ones(400, 250)
    out = layer(x)
    dropped = out == 0
    assert abs(float(dropped.float().mean()) - 0.25) < 0.01
    assert_close(out[~dropped], torch.full_like(out[~dropped], 1 / 0.75))
    with pytest.raises(ValueError, match="dropout"):
        Dropout(1.0)


def test_tied_mlp_shares_transposed_weights():
    from skae.modules._layers import TiedLinear

    module = MLPAutoEncoder(6, 2, hidden_layer_sizes=(5, 4), tied_weights=True)
    tied = [m for m in module.decoder if isinstance(m, TiedLinear)]
    encoder = [m for m in module.encoder if isinstance(m, nn.Linear)]
    assert [t.weight.shape for t in tied] == [(4, 2), (5, 4), (6, 5)]
    for t, source in zip(tied, encoder[::-1], strict=True):
        assert torch.equal(t.weight, source.weight.T)
    module(torch.randn(3, 6)).sum().backward()
    assert all(m.weight.grad is not None for m in encoder)
    keys = module.state_dict().keys()
    assert sum("weight" in k for k in keys) == 3  # the encoder's, once
    restored = MLPAutoEncoder(6, 2, hidden_layer_sizes=(5, 4), tied_weights=True)
    restored.load_state_dict(module.state_dict())
    x = torch.randn(3, 6)
    assert_close(restored(x), module(x))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_unit_norm_atoms_for_every_architecture(architecture):
    import pickle

    from skae.modules._layers import UnitNormLinear, normalize_atoms

    module = make(architecture)
    keys = list(module.state_dict())
    layers = normalize_atoms(module)
    assert layers and list(module.state_dict()) == keys  # a Linear's state
    readers = [layer for layer, _ in module.code_readers()]
    linear = [r for r in readers if isinstance(r, nn.Linear)]
    assert linear and all(isinstance(r, UnitNormLinear) for r in linear)
    for layer in layers:
        with torch.no_grad():
            layer.weight.mul_(3.0)  # the free parameter's scale does not matter
        norms = layer.normalized_weight.detach().norm(dim=0)
        assert_close(norms, torch.ones_like(norms))
    x = rows(module)
    restored = pickle.loads(pickle.dumps(module))
    assert_close(restored(x), module(x))
    training = module(x)
    with torch.no_grad():  # inference (fused kernels included) sees the same
        assert_close(module.eval()(x), training.detach())
    module.train()
    module(x).sum().backward()  # still trains
    assert all(layer.weight.grad is not None for layer in layers)


def test_relu_code_is_nonnegative_with_exact_zeros():
    from skae.modules._layers import ReLUCode

    module = ReLUCode(MLPAutoEncoder(6, 8, hidden_layer_sizes=(8,)))
    codes = module.encode(torch.randn(50, 6))
    assert bool((codes >= 0).all()) and bool((codes == 0).any())
    assert_close(module.encoder(torch.ones(2, 6)), module.encode(torch.ones(2, 6)))


# ------------------------------------------------------------ PCA start
def _centred_low_rank(n_samples=300, n_features=10, seed=0):
    rng = torch.Generator().manual_seed(seed)
    X = torch.randn(n_samples, 4, generator=rng) @ torch.randn(
        4, n_features, generator=rng
    )
    return X - X.mean(dim=0)


@pytest.mark.parametrize(
    "activation", ["relu", "leaky_relu", "gelu", "silu", "identity"]
)
@pytest.mark.parametrize("hidden_layer_sizes", [(), (8,), (16, 8)])
def test_start_from_subspace_is_pcas_projection(activation, hidden_layer_sizes):
    X = _centred_low_rank()
    components = torch.linalg.svd(X, full_matrices=False).Vh[:3]
    module = MLPAutoEncoder(10, 3, hidden_layer_sizes, activation=activation)
    assert module.start_from_subspace(components)
    with torch.no_grad():
        assert_close(module.encode(X), X @ components.T, atol=1e-4, rtol=1e-4)
        assert_close(module(X), X @ components.T @ components, atol=1e-4, rtol=1e-4)
    # The other hidden units get gradients from the first step.
    loss = torch.sum((module(X) - X) ** 2)
    loss.backward()
    code = [m for m in module.encoder if isinstance(m, nn.Linear)][-1]
    if hidden_layer_sizes:
        assert code.weight.grad[:, 6:].abs().sum() > 0


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(hidden_layer_sizes=(5,)),  # narrower than 2 * n_components
        dict(activation="tanh"),  # no linear odd part
        dict(activation="elu"),
        dict(output_activation="sigmoid"),
        dict(tied_weights=True),
    ],
)
def test_start_from_subspace_refuses_and_changes_nothing(kwargs):
    X = _centred_low_rank()
    components = torch.linalg.svd(X, full_matrices=False).Vh[:3]
    module = MLPAutoEncoder(10, 3, **{"hidden_layer_sizes": (8,), **kwargs})
    before = {k: v.clone() for k, v in module.state_dict().items()}
    assert not module.start_from_subspace(components)
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])
