"""Tests for the pure-PyTorch penalties, corruptions and the Gaussian head."""

import math
import pickle

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from skae import _penalties
from skae._corruption import (
    GaussianNoise,
    MaskingNoise,
    SaltAndPepperNoise,
    UniformNoise,
    make_corruption,
)
from skae._penalties import (
    ContractivePenalty,
    GaussianKLPenalty,
    KLSparsityPenalty,
    L1SparsityPenalty,
    gaussian_kl,
    jacobian_frobenius_sq,
    kl_sparsity,
    l1_sparsity,
)
from skae.modules import MLPAutoEncoder
from skae.modules._variational import (
    LOGVAR_RANGE,
    GaussianAutoEncoder,
    variational_forward,
)

# --------------------------------------------------------------------------
# Tiny modules following the conventions: encode(x) == code(features(x)).
# --------------------------------------------------------------------------


class TinyAE(nn.Module):
    """Dense autoencoder with ``features`` and a ``code`` layer."""

    def __init__(self, n_features=6, width=5, n_components=3):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features, width), nn.Tanh())
        self.code = nn.Linear(width, n_components)
        self.out = nn.Linear(n_components, n_features)

    def features(self, x):
        return self.body(x)

    def encode(self, x):
        return self.code(self.features(x))

    def decode(self, z):
        return self.out(z)

    def forward(self, x):
        return self.decode(self.encode(x))


class CustomAE(nn.Module):
    """A user module with only encode and decode."""

    def __init__(self, n_features=6, n_components=3):
        super().__init__()
        self.enc = nn.Linear(n_features, n_components)
        self.dec = nn.Linear(n_components, n_features)

    def encode(self, x):
        return torch.tanh(self.enc(x))

    def decode(self, z):
        return self.dec(z)


class ConvEncoder(nn.Module):
    """Rows viewed as (2, 4, 3) images."""

    def __init__(self, k=3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(2, 3, 3, stride=2, padding=1),
            nn.Tanh(),
            nn.Conv2d(3, 2, 3, padding=1),
            nn.GELU(),
        )
        self.code = nn.Linear(2 * 2 * 2, k)

    def encode(self, x):
        h = self.body(x.reshape(-1, 2, 4, 3))
        return self.code(h.flatten(1))


class RecurrentEncoder(nn.Module):
    """Rows viewed as 4 steps of 3 channels; a stack of two RNNs."""

    def __init__(self, cell, k=3):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn1 = rnn(3, 5, batch_first=True)
        self.rnn2 = rnn(5, 4, batch_first=True)
        self.code = nn.Linear(4, k)

    def encode(self, x):
        h, _ = self.rnn1(x.reshape(-1, 4, 3))
        h, _ = self.rnn2(h)
        return self.code(h[:, -1])


class TransformerEncoder(nn.Module):
    """Rows viewed as 4 steps of 3 channels; two pre-norm encoder layers."""

    def __init__(self, k=3):
        super().__init__()
        self.embed = nn.Linear(3, 8)
        layer = nn.TransformerEncoderLayer(
            8,
            2,
            dim_feedforward=16,
            dropout=0.0,
            batch_first=True,
            norm_first=True,
            activation="gelu",
        )
        self.transformer = nn.TransformerEncoder(
            layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False
        )
        self.code = nn.Linear(8, k)

    def encode(self, x):
        h = self.transformer(self.embed(x.reshape(-1, 4, 3)))
        return self.code(h.mean(dim=1))


ENCODERS = {
    "mlp": lambda: TinyAE(n_features=12),
    "conv": lambda: ConvEncoder(),
    "lstm": lambda: RecurrentEncoder("lstm"),
    "gru": lambda: RecurrentEncoder("gru"),
    "transformer": lambda: TransformerEncoder(),
}


def reference_jacobian_sq(encode, x, create_graph=False):
    """Per-sample squared Frobenius norms from the full batch Jacobian."""
    # The math attention kernel, the only one that can be differentiated twice.
    with sdpa_kernel([SDPBackend.MATH]):
        jac = torch.autograd.functional.jacobian(encode, x, create_graph=create_graph)
    batch = x.shape[0]
    blocks = torch.stack([jac[i, :, i] for i in range(batch)])
    # Samples are independent: every off-diagonal block is zero.
    cross = ~torch.eye(batch, dtype=torch.bool)
    assert float(jac.detach().permute(0, 2, 1, 3)[cross].abs().max()) == 0.0
    return blocks.pow(2).sum() / batch


# --------------------------------------------------------------------------
# Sparsity
# --------------------------------------------------------------------------


def test_l1_sparsity_hand_value():
    code = torch.tensor([[1.0, -2.0, 0.5], [-0.5, 0.0, 3.0]])
    # Summed over the units, averaged over the rows: (3.5 + 3.5) / 2.
    assert float(l1_sparsity(code)) == pytest.approx(3.5)


def test_kl_sparsity_hand_value():
    code = torch.tensor([[0.2, 0.5], [0.4, 0.7]], dtype=torch.float64)
    t = 0.1
    expected = 0.0
    for rho in (0.3, 0.6):  # column means
        expected += t * math.log(t / rho) + (1 - t) * math.log((1 - t) / (1 - rho))
    assert float(kl_sparsity(code, t)) == pytest.approx(expected, rel=1e-12)
    # Zero exactly at the target, positive elsewhere.
    assert float(kl_sparsity(torch.full((5, 4), 0.3), 0.3)) == pytest.approx(0.0)
    assert float(kl_sparsity(code, 0.45)) > 0


def test_kl_sparsity_clamps_saturated_units():
    for value in (0.0, 1.0):
        out = kl_sparsity(torch.full((3, 2), value), 0.05)
        assert torch.isfinite(out) and float(out) > 0


def test_sparsity_penalty_objects():
    code = torch.tensor([[0.2, 0.5], [0.4, 0.7]])
    x = torch.zeros(2, 6)
    assert float(L1SparsityPenalty(2.0)(None, x, code)) == pytest.approx(1.8)
    assert float(KLSparsityPenalty(3.0, 0.1)(None, x, code)) == pytest.approx(
        3.0 * float(kl_sparsity(code, 0.1))
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L1SparsityPenalty(-1.0), "weight must be a finite number >= 0"),
        (lambda: L1SparsityPenalty(float("nan")), "weight must be a finite number"),
        (lambda: L1SparsityPenalty("1"), r"weight must be .*; got '1'"),
        (lambda: L1SparsityPenalty(True), "weight must be a finite number"),
        (lambda: KLSparsityPenalty(1.0, 0.0), "target must be a number strictly"),
        (lambda: KLSparsityPenalty(1.0, 1.5), r"between 0 and 1; got 1\.5"),
        (lambda: ContractivePenalty(float("inf")), "weight must be a finite number"),
        (lambda: ContractivePenalty(1.0, method="magic"), "Unknown method"),
        (lambda: GaussianKLPenalty(-0.1), "beta must be a finite number >= 0"),
        (lambda: _penalties.NegativeELBO(float("nan")), "beta must be a finite"),
    ],
)
def test_penalty_objects_validate(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: GaussianNoise(-0.1), r"std must be a finite number >= 0; got -0\.1"),
        (lambda: GaussianNoise(float("inf")), "std must be a finite number"),
        (lambda: UniformNoise(float("nan")), "width must be a finite number >= 0"),
        (lambda: UniformNoise(False), "width must be a finite number"),
        (lambda: MaskingNoise(1.5), r"p must be a probability in \[0, 1\]"),
        (lambda: MaskingNoise("0.1"), "p must be a probability"),
        (lambda: SaltAndPepperNoise(-0.1, [0.0], [1.0]), "p must be a probability"),
    ],
)
def test_corruption_objects_validate(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "obj, text",
    [
        (GaussianNoise(0.25), "GaussianNoise(std=0.25)"),
        (MaskingNoise(1), "MaskingNoise(p=1.0)"),
        (KLSparsityPenalty(2, 0.05), "KLSparsityPenalty(weight=2.0, target=0.05)"),
        (ContractivePenalty(0.5), "ContractivePenalty(weight=0.5, method='auto')"),
    ],
)
def test_corruptions_and_penalties_repr_their_fields(obj, text):
    assert repr(obj) == text


def test_penalties_compare_and_hash_by_fields():
    assert L1SparsityPenalty(1) == L1SparsityPenalty(1.0)
    assert hash(L1SparsityPenalty(1)) == hash(L1SparsityPenalty(1.0))
    assert L1SparsityPenalty(1.0) != GaussianKLPenalty(1.0)
    assert KLSparsityPenalty(1.0, 0.1) != KLSparsityPenalty(1.0, 0.2)


# --------------------------------------------------------------------------
# Exact Jacobian norm
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["auto", "batched", "loop"])
@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_jacobian_matches_autograd_functional(name, method):
    torch.manual_seed(0)
    module = ENCODERS[name]().double()
    n_features = 24 if name == "conv" else 12
    x = torch.randn(5, n_features, dtype=torch.float64)
    x_before = x.clone()
    value = jacobian_frobenius_sq(module.encode, x, method=method)
    expected = reference_jacobian_sq(module.encode, x)
    torch.testing.assert_close(value, expected, rtol=1e-10, atol=1e-12)
    assert float(value.detach()) > 0
    assert torch.equal(x, x_before) and not x.requires_grad


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_jacobian_is_differentiable(name):
    # The gradient of the penalty with respect to the encoder parameters
    # equals the gradient of the reference computed with create_graph=True.
    torch.manual_seed(1)
    module = ENCODERS[name]().double()
    n_features = 24 if name == "conv" else 12
    x = torch.randn(4, n_features, dtype=torch.float64)
    params = [p for p in module.parameters() if p.requires_grad]

    value = jacobian_frobenius_sq(module.encode, x)
    assert value.requires_grad
    grads = torch.autograd.grad(value, params, allow_unused=True)
    expected = reference_jacobian_sq(module.encode, x, create_graph=True)
    expected_grads = torch.autograd.grad(expected, params, allow_unused=True)

    n_nonzero = 0
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        if expected_grad is None:
            assert grad is None or float(grad.abs().max()) == 0
            continue
        torch.testing.assert_close(grad, expected_grad, rtol=1e-8, atol=1e-12)
        n_nonzero += int(float(expected_grad.abs().max()) > 0)
    assert n_nonzero >= 2


def test_jacobian_linear_closed_form():
    # For a linear encoder z = W x + b, the norm is ||W||_F^2 for every sample.
    layer = nn.Linear(7, 3).double()
    x = torch.randn(9, 7, dtype=torch.float64)
    value = jacobian_frobenius_sq(layer, x)
    torch.testing.assert_close(value, layer.weight.pow(2).sum())


def test_jacobian_under_no_grad_is_computed_and_detached():
    torch.manual_seed(0)
    module = TinyAE().double()
    x = torch.randn(5, 6, dtype=torch.float64)
    with torch.no_grad():
        value = jacobian_frobenius_sq(module.encode, x)
    assert not value.requires_grad
    torch.testing.assert_close(value, reference_jacobian_sq(module.encode, x))


def test_jacobian_falls_back_to_loop(monkeypatch):
    def broken(z, x, create_graph):
        raise RuntimeError("no batching rule")

    monkeypatch.setattr(_penalties, "_jacobian_sq_batched", broken)
    torch.manual_seed(0)
    module = TinyAE().double()
    x = torch.randn(5, 6, dtype=torch.float64)
    value = jacobian_frobenius_sq(module.encode, x, method="batched")
    torch.testing.assert_close(value, reference_jacobian_sq(module.encode, x))


def test_jacobian_unknown_method():
    with pytest.raises(ValueError, match="method"):
        jacobian_frobenius_sq(nn.Linear(2, 2), torch.zeros(1, 2), method="magic")


def test_jacobian_restores_attention_flags():
    cuda = torch.backends.cuda
    before = (cuda.flash_sdp_enabled(), cuda.math_sdp_enabled())
    module = TransformerEncoder()
    jacobian_frobenius_sq(module.encode, torch.randn(3, 12))
    assert (cuda.flash_sdp_enabled(), cuda.math_sdp_enabled()) == before


def test_contractive_penalty_trains_encoder():
    torch.manual_seed(0)
    module = TinyAE()
    x = torch.randn(8, 6)
    penalty = ContractivePenalty(0.5)
    value = penalty(module, x, module.encode(x))
    expected = 0.5 * reference_jacobian_sq(module.encode, x)
    torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-7)
    value.backward()
    assert float(module.body[0].weight.grad.abs().sum()) > 0
    assert float(module.code.weight.grad.abs().sum()) > 0
    assert module.out.weight.grad is None  # the decoder is not involved
    # A few steps of gradient descent on the penalty alone shrink it.
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    start = float(value.detach())
    for _ in range(20):
        optimizer.zero_grad()
        loss = penalty(module, x, None)
        loss.backward()
        optimizer.step()
    assert float(penalty(module, x, None).detach()) < 0.5 * start


# --------------------------------------------------------------------------
# Gaussian KL
# --------------------------------------------------------------------------


def test_gaussian_kl_hand_value():
    mu = torch.tensor([[1.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, math.log(2.0)], [-1.0, 0.0]], dtype=torch.float64)
    # -1/2 (1 + lv - mu^2 - exp(lv)) per unit, summed per sample:
    sample_1 = 0.5 + (2.5 - 0.5 * math.log(2.0))
    sample_2 = 0.5 * math.exp(-1.0) + 0.0
    expected = (sample_1 + sample_2) / 2
    assert float(gaussian_kl(mu, logvar)) == pytest.approx(expected, rel=1e-12)
    penalty = GaussianKLPenalty(0.25)(None, None, (mu, mu, logvar))
    assert float(penalty) == pytest.approx(0.25 * expected, rel=1e-12)


def test_gaussian_kl_matches_distributions_and_is_zero_at_prior():
    torch.manual_seed(0)
    mu = torch.randn(6, 3, dtype=torch.float64)
    logvar = torch.randn(6, 3, dtype=torch.float64)
    posterior = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(posterior, prior).sum(1).mean()
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)
    assert float(gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3))) == 0.0


# --------------------------------------------------------------------------
# Corruptions
# --------------------------------------------------------------------------


def _batch(dtype=torch.float32):
    torch.manual_seed(123)
    return torch.rand(400, 250, dtype=dtype) * 0.8 + 0.1  # in [0.1, 0.9]


def test_masking_noise_fraction():
    x = _batch()
    before = x.clone()
    noisy = MaskingNoise(0.3)(x)
    zeroed = noisy == 0
    assert abs(float(zeroed.float().mean()) - 0.3) < 0.01
    assert torch.equal(noisy[~zeroed], x[~zeroed])
    assert torch.equal(x, before)
    assert torch.equal(MaskingNoise(0.0)(x), x)
    assert bool((MaskingNoise(1.0)(x) == 0).all())


def test_gaussian_noise_std():
    x = _batch()
    before = x.clone()
    noise = GaussianNoise(0.5)(x) - x
    assert abs(float(noise.std()) - 0.5) < 0.01
    assert abs(float(noise.mean())) < 0.01
    assert torch.equal(x, before)


def test_salt_and_pepper_values_and_fraction():
    x = _batch()
    before = x.clone()
    low = torch.zeros(250) - torch.arange(250) / 250  # distinct per column
    high = torch.ones(250) + torch.arange(250) / 250
    noisy = SaltAndPepperNoise(0.2, low, high)(x)
    is_low = noisy == low
    is_high = noisy == high
    is_same = noisy == x
    assert bool((is_low | is_high | is_same).all())
    assert abs(float(is_low.float().mean()) - 0.1) < 0.01
    assert abs(float(is_high.float().mean()) - 0.1) < 0.01
    assert abs(float((~is_same).float().mean()) - 0.2) < 0.01
    assert torch.equal(x, before)


def test_salt_and_pepper_checks_columns():
    with pytest.raises(ValueError, match="1-D"):
        SaltAndPepperNoise(0.1, torch.zeros(3), torch.ones(4))
    with pytest.raises(ValueError, match="features"):
        SaltAndPepperNoise(0.1, torch.zeros(3), torch.ones(3))(torch.zeros(2, 5))


CORRUPTION_OBJECTS = {
    "gaussian": lambda: GaussianNoise(0.3),
    "uniform": lambda: UniformNoise(0.3),
    "masking": lambda: MaskingNoise(0.3),
    "salt_and_pepper": lambda: SaltAndPepperNoise(
        0.3,
        np.zeros(250),
        np.ones(250),  # float64 numpy bounds
    ),
}


@pytest.mark.parametrize("name", sorted(CORRUPTION_OBJECTS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_corruption_reproducible_fresh_and_typed(name, dtype):
    corrupt = CORRUPTION_OBJECTS[name]()
    x = _batch(dtype)

    def draw(seed):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return corrupt(x)

    first, second = draw(0), draw(0)
    assert torch.equal(first, second)
    assert not torch.equal(first, draw(1))
    # Fresh noise on every call.
    assert not torch.equal(corrupt(x), corrupt(x))
    assert first.dtype == dtype and first.device == x.device
    assert first.shape == x.shape
    assert not torch.equal(first, x)


@pytest.mark.parametrize("name", sorted(CORRUPTION_OBJECTS))
def test_corruption_pickle_round_trip(name):
    corrupt = CORRUPTION_OBJECTS[name]()
    restored = pickle.loads(pickle.dumps(corrupt))
    assert type(restored) is type(corrupt)
    x = _batch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        expected = corrupt(x)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        assert torch.equal(restored(x), expected)


def test_make_corruption():
    assert isinstance(make_corruption("gaussian", 0.2), GaussianNoise)
    assert make_corruption("gaussian", 0.2).std == 0.2
    assert make_corruption("masking", 0.4).p == 0.4
    sp = make_corruption("salt_and_pepper", 0.1, low=[0.0, 1.0], high=[2.0, 3.0])
    assert isinstance(sp, SaltAndPepperNoise) and sp.p == 0.1
    torch.testing.assert_close(sp.high, torch.tensor([2.0, 3.0]))
    with pytest.raises(ValueError, match="Unknown noise"):
        make_corruption("poisson", 0.1)
    with pytest.raises(ValueError, match="low and high"):
        make_corruption("salt_and_pepper", 0.1)
    with pytest.raises(ValueError):
        make_corruption("masking", 1.5)
    with pytest.raises(ValueError):
        make_corruption("gaussian", -0.1)


# --------------------------------------------------------------------------
# Gaussian (variational) head
# --------------------------------------------------------------------------


BASES = {
    "tiny": lambda: (TinyAE(), None),
    "mlp": lambda: (MLPAutoEncoder(6, 3, (5, 4)), None),
    "custom": lambda: (CustomAE(), 3),
}


@pytest.mark.parametrize("name", sorted(BASES))
def test_gaussian_autoencoder_shapes_and_determinism(name):
    torch.manual_seed(0)
    base, n_components = BASES[name]()
    module = GaussianAutoEncoder(base, n_components=n_components)
    assert module.uses_features == (name != "custom")
    assert module.n_components == 3
    x = torch.randn(10, 6)
    mu, logvar = module.encode_distribution(x)
    assert mu.shape == logvar.shape == (10, 3)
    assert torch.equal(module.encode(x), mu)
    assert torch.equal(module.encode(x), base.encode(x))
    assert module(x).shape == (10, 6)
    torch.testing.assert_close(module(x), base.decode(mu))
    # Encoder/decoder halves.
    assert isinstance(module.encoder, nn.Module)
    assert isinstance(module.decoder, nn.Module)
    torch.testing.assert_close(module.encoder(x), mu)
    torch.testing.assert_close(module.decoder(mu), module.decode(mu))
    width = 3 if name == "custom" else base.code.in_features
    assert module.logvar_head.in_features == width


def test_gaussian_autoencoder_logvar_uses_features():
    torch.manual_seed(0)
    base = TinyAE()
    module = GaussianAutoEncoder(base)
    x = torch.randn(4, 6)
    _, logvar = module.encode_distribution(x)
    torch.testing.assert_close(logvar, module.logvar_head(base.features(x)))


def test_gaussian_autoencoder_validates_n_components():
    with pytest.raises(ValueError, match="n_components"):
        GaussianAutoEncoder(CustomAE())
    with pytest.raises(ValueError, match="n_components"):
        GaussianAutoEncoder(TinyAE(n_components=3), n_components=4)


def test_variational_forward_training_and_eval():
    torch.manual_seed(0)
    module = GaussianAutoEncoder(TinyAE())
    x = torch.randn(10, 6)

    recon_1, (z_1, mu, logvar, carried) = variational_forward(module, x, training=True)
    recon_2, (z_2, _, _, _) = variational_forward(module, x, training=True)
    assert carried is recon_1  # the code carries the reconstruction
    assert not torch.equal(z_1, z_2) and not torch.equal(recon_1, recon_2)
    torch.testing.assert_close(recon_1, module.decode(z_1))

    # The sample is mu + exp(logvar / 2) * eps with eps from the global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        _, (z, mu, logvar, _) = variational_forward(module, x, training=True)
        torch.manual_seed(7)
        eps = torch.randn_like(mu)
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps)

    recon_a, code_a = variational_forward(module, x, training=False)
    recon_b, code_b = variational_forward(module, x, training=False)
    assert torch.equal(recon_a, recon_b)
    assert torch.equal(code_a[0], code_a[1])
    torch.testing.assert_close(code_a[1], module.encode(x))
    torch.testing.assert_close(recon_a, module(x))


def test_variational_loss_trains_both_heads():
    torch.manual_seed(0)
    module = GaussianAutoEncoder(TinyAE())
    x = torch.randn(10, 6)
    recon, code = variational_forward(module, x, training=True)
    loss = ((recon - x) ** 2).mean() + GaussianKLPenalty(1.0)(module, x, code)
    loss.backward()
    assert float(module.logvar_head.weight.grad.abs().sum()) > 0
    assert float(module.base.code.weight.grad.abs().sum()) > 0
    assert float(module.base.body[0].weight.grad.abs().sum()) > 0


def test_logvar_is_clamped():
    module = GaussianAutoEncoder(TinyAE())
    x = torch.randn(3, 6)
    with torch.no_grad():
        module.logvar_head.bias.fill_(1e4)
    _, logvar = module.encode_distribution(x)
    assert float(logvar.detach().max()) == LOGVAR_RANGE[1]
    recon, (z, _, _, _) = variational_forward(module, x, training=True)
    assert torch.isfinite(z).all() and torch.isfinite(recon).all()
    with torch.no_grad():
        module.logvar_head.bias.fill_(-1e4)
    assert float(module.encode_distribution(x)[1].detach().min()) == LOGVAR_RANGE[0]


def test_gaussian_autoencoder_sample_and_pickle():
    torch.manual_seed(0)
    module = GaussianAutoEncoder(TinyAE()).double()
    samples = module.sample(5, generator=torch.Generator().manual_seed(3))
    assert samples.shape == (5, 6) and samples.dtype == torch.float64
    again = module.sample(5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(samples, again)
    restored = pickle.loads(pickle.dumps(module))
    x = torch.randn(4, 6, dtype=torch.float64)
    assert torch.equal(restored.encode(x), module.encode(x))
    assert torch.equal(
        restored.encode_distribution(x)[1], module.encode_distribution(x)[1]
    )


# --------------------------------------------------------------------------
# Pickling of penalties
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "penalty",
    [
        L1SparsityPenalty(0.3),
        KLSparsityPenalty(0.3, 0.05),
        ContractivePenalty(0.3),
        ContractivePenalty(0.3, method="loop"),
        GaussianKLPenalty(2.0),
    ],
    ids=repr,
)
def test_penalty_pickle_round_trip(penalty):
    restored = pickle.loads(pickle.dumps(penalty))
    assert restored == penalty and repr(restored) == repr(penalty)
    torch.manual_seed(0)
    module = TinyAE()
    x = torch.randn(6, 6)
    if isinstance(penalty, GaussianKLPenalty):
        code = (torch.randn(6, 3), torch.randn(6, 3), torch.randn(6, 3))
    else:
        code = torch.sigmoid(module.encode(x))
    value = penalty(module, x, code)
    assert value.ndim == 0 and float(value.detach()) > 0
    torch.testing.assert_close(restored(module, x, code), value)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu", "identity"])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_closed_form_matches_the_exact_reverse_mode_jacobian(activation, k):
    from skae._penalties import ContractivePenalty, single_hidden_layer_jacobian_sq
    from skae.modules import MLPAutoEncoder

    torch.manual_seed(0)
    module = MLPAutoEncoder(7, k, (11,), activation=activation).double()
    x = torch.randn(13, 7, dtype=torch.float64)
    closed = single_hidden_layer_jacobian_sq(module.encoder, x)
    reference = jacobian_frobenius_sq(module.encode, x, method="loop")
    torch.testing.assert_close(closed, reference)
    # And the penalty's gradient in the weights is the reference's.
    params = list(module.encoder.parameters())

    def gradients(value):
        grads = torch.autograd.grad(value, params, allow_unused=True)
        return [
            torch.zeros_like(p) if g is None else g
            for g, p in zip(grads, params, strict=True)
        ]

    got = gradients(ContractivePenalty(0.5)(module, x, None))
    want = gradients(
        0.5 * jacobian_frobenius_sq(module.encode, x, method="loop", create_graph=True)
    )
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)


def test_closed_form_declines_other_encoders():
    from skae._penalties import single_hidden_layer_jacobian_sq
    from skae.modules import MLPAutoEncoder

    deep = MLPAutoEncoder(5, 2, (4, 3))
    assert single_hidden_layer_jacobian_sq(deep.encoder, torch.randn(2, 5)) is None
    softplus = torch.nn.Sequential(
        torch.nn.Linear(5, 4), torch.nn.Softplus(), torch.nn.Linear(4, 2)
    )
    assert single_hidden_layer_jacobian_sq(softplus, torch.randn(2, 5)) is None
