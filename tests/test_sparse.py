import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skae import AutoEncoderTransformer, SparseAE
from skae._penalties import KLSparsityPenalty, L1SparsityPenalty
from skae.modules._layers import ReLUCode, SigmoidCode, UnitNormLinear

from ._digits import digits_split, mse
from ._small_tables import fit_converging


def hoyer(codes):
    """Mean Hoyer sparsity of the rows: 0 all equal, 1 one nonzero; scale-free."""
    k = codes.shape[1]
    l1 = np.abs(codes).sum(axis=1)
    l2 = np.sqrt((codes.astype(np.float64) ** 2).sum(axis=1))
    ratio = np.divide(l1, l2, out=np.ones_like(l2), where=l2 > 0)
    return float(np.mean((np.sqrt(k) - ratio) / (np.sqrt(k) - 1)))


def r2(estimator, X_train, X_test):
    error = ((estimator.reconstruct(X_test) - X_test) ** 2).sum()
    return 1.0 - error / ((X_test - X_train.mean(axis=0)) ** 2).sum()


@pytest.fixture(scope="module")
def digits():
    return digits_split()


@pytest.fixture(scope="module")
def plain_and_sparse(digits):
    X_train, _ = digits
    plain = AutoEncoderTransformer(16, random_state=0).fit(X_train)
    sparse = SparseAE(16, sparsity="l1", random_state=0).fit(X_train)
    return plain, sparse


def test_hoyer_is_scale_free_and_spans_zero_to_one():
    codes = np.random.default_rng(0).random((20, 8))
    assert hoyer(codes) == pytest.approx(hoyer(1e-3 * codes))
    assert hoyer(np.ones((3, 8))) == pytest.approx(0.0)
    assert hoyer(np.eye(8)) == pytest.approx(1.0)


def test_l1_codes_are_sparse_not_just_small(digits, plain_and_sparse):
    # Hoyer sparsity is unchanged by rescaling the codes, so shrinking them
    # (and growing the decoder) cannot pass this test; exact zeros can.
    X_train, X_test = digits
    plain, sparse = plain_and_sparse
    codes = sparse.transform(X_test)
    sparse_hoyer, plain_hoyer = hoyer(codes), hoyer(plain.transform(X_test))
    zeros = float(np.mean(codes == 0))
    print(f"Hoyer {sparse_hoyer:.3f} (plain {plain_hoyer:.3f}), zeros {zeros:.3f}")
    assert sparse_hoyer >= 0.6
    assert sparse_hoyer >= plain_hoyer + 0.25
    assert zeros >= 0.3 and codes.min() == 0.0
    assert r2(sparse, X_train, X_test) >= 0.5


def test_l1_decoder_atoms_have_unit_norm(plain_and_sparse):
    sparse = plain_and_sparse[1]
    module = sparse.module_.inner
    assert isinstance(module, ReLUCode)
    layers = [m for m in module.base.decoder if isinstance(m, torch.nn.Linear)]
    assert layers and all(isinstance(m, UnitNormLinear) for m in layers)
    for layer in layers:
        norms = layer.normalized_weight.detach().norm(dim=0)
        torch.testing.assert_close(norms, torch.ones_like(norms))


def test_kl_sparsity_reaches_the_target_activation(digits):
    X_train, X_test = digits
    sparse = SparseAE(
        32,
        sparsity="kl",
        sparsity_target=0.05,
        sparsity_weight=1.0,
        max_iter=200,
        tol=1e-4,  # run close to convergence: the test is of the penalty
        n_iter_no_change=10,
        random_state=0,
    ).fit(X_train)
    codes = sparse.transform(X_test)
    assert codes.min() >= 0 and codes.max() <= 1  # through the sigmoid
    assert codes.mean() <= 0.12
    assert mse(sparse.reconstruct(X_test), X_test) <= 0.6 * X_test.var(axis=0).mean()
    assert isinstance(sparse.module_.inner, SigmoidCode)


def test_penalty_follows_the_parameters():
    X = np.random.default_rng(0).random((30, 6))
    l1 = SparseAE(sparsity_weight=0.5, max_iter=2).fit(X)
    assert l1.net_.penalty == L1SparsityPenalty(0.5)
    kl = SparseAE(sparsity="kl", sparsity_target=0.2, max_iter=2).fit(X)
    assert kl.net_.penalty == KLSparsityPenalty(5.0, 0.2)  # "auto" for "kl"
    assert SparseAE(max_iter=2).fit(X).net_.penalty == L1SparsityPenalty(1.5)


def test_l1_and_kl_weigh_units_alike():
    # One convention: summed over code units, averaged over rows.
    code = torch.full((4, 8), 0.5)
    assert float(L1SparsityPenalty(1.0)(None, None, code)) == pytest.approx(4.0)
    assert float(L1SparsityPenalty(1.0)(None, None, code[:, :4])) == pytest.approx(2.0)
    one = float(KLSparsityPenalty(1.0, 0.05)(None, None, code[:, :4]))
    assert float(KLSparsityPenalty(1.0, 0.05)(None, None, code)) == pytest.approx(
        2 * one
    )


def test_custom_architecture_gets_the_relu_code():
    class Linear(torch.nn.Module):
        def __init__(self, n_features, n_components):
            super().__init__()
            self.enc = torch.nn.Linear(n_features, n_components)
            self.dec = torch.nn.Linear(n_components, n_features)

        def encode(self, x):
            return self.enc(x)

        def decode(self, z):
            return self.dec(z)

    X = np.random.default_rng(0).random((40, 6))
    sae = SparseAE(
        3, architecture=lambda n, k, shape: Linear(n, k), max_iter=3, random_state=0
    ).fit(X)
    assert sae.transform(X).min() >= 0


@pytest.mark.parametrize("target", [0.0, 1.0, -0.5])
def test_invalid_target_is_rejected(target):
    with pytest.raises(ValueError, match="sparsity_target"):
        SparseAE(sparsity="kl", sparsity_target=target).fit(np.ones((5, 3)))


def test_validation_rows_are_densified_a_batch_at_a_time():
    # 300 held-out rows of 20,000 float32 columns are 24 MB dense; fitting
    # with early stopping used to densify them whole (and copy them twice).
    import tracemalloc

    X = sp.random(3000, 20_000, density=1e-4, format="csr", random_state=0)
    X = X.astype(np.float32)
    params = dict(hidden_layer_sizes=(4,), batch_size=50, max_iter=1, random_state=0)
    AutoEncoderTransformer(**params).fit(X[:100])  # imports and caches first
    tracemalloc.start()
    try:
        AutoEncoderTransformer(early_stopping=True, **params).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Two 8 MB blocks at most (the whole split cost 32 MB before).
    assert peak < 24e6, f"{peak / 1e6:.0f} MB allocated by numpy"


def test_the_kl_default_reaches_about_its_target_activation():
    # At 0.2's weight (1.5) the mean activation ended at 0.10-0.11 for a
    # target of 0.05; "auto" weighs the KL penalty 5.0.
    X_train, X_test = digits_split()
    sae = SparseAE(32, sparsity="kl", sparsity_target=0.05, random_state=0)
    sae.fit(X_train)
    codes = sae.transform(X_test)
    error = ((sae.reconstruct(X_test) - X_test) ** 2).sum()
    assert codes.mean() <= 0.08
    assert error / ((X_test - X_train.mean(axis=0)) ** 2).sum() < 0.6


# ------------------------------------------------ the start of ReLU codes
@pytest.mark.parametrize("load", ["wine", "linnerud"])
def test_default_l1_codes_do_not_die_on_small_tables(load):
    # From a random start every code unit died (zero on every row) on raw
    # wine and linnerud: the fit reconstructed the mean and ran out of
    # epochs. The pairs of principal scores keep every unit alive.
    from sklearn.datasets import load_linnerud, load_wine

    X = {"wine": load_wine, "linnerud": load_linnerud}[load]().data
    sae = fit_converging(SparseAE(random_state=0), X)
    codes = sae.transform(X)
    assert np.all((codes > 0).any(axis=0))  # no unit zero on every row
    assert r2(sae, X, X) > 0.5


def test_relu_code_starts_as_the_linear_autoencoder_on_pairs():
    from skae.modules import MLPAutoEncoder

    torch.manual_seed(0)
    X = torch.randn(200, 2, dtype=torch.float64) @ torch.randn(
        2, 6, dtype=torch.float64
    )
    X = X - X.mean(dim=0)
    direction = torch.linalg.svd(X, full_matrices=False).Vh[:1]
    module = ReLUCode(MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,)))
    from skae.modules._layers import normalize_atoms

    normalize_atoms(module.base)
    module = module.double()
    assert module.start_from_subspace(torch.cat([direction, -direction]))
    with torch.no_grad():
        codes = module.encode(X)
        scores = X @ direction.T
        torch.testing.assert_close(codes[:, :1] - codes[:, 1:], scores)
        projection = scores @ direction  # PCA's rank-1 reconstruction
        torch.testing.assert_close(module.decode(codes), projection)
    for layer in module.base.decoder:
        if isinstance(layer, UnitNormLinear):
            norms = layer.normalized_weight.norm(dim=0)
            torch.testing.assert_close(norms, torch.ones_like(norms))


def test_relu_code_start_refuses_a_deeper_decoder():
    from skae.modules import MLPAutoEncoder

    module = ReLUCode(MLPAutoEncoder(6, 2, hidden_layer_sizes=(8, 8)))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    assert not module.start_from_subspace(torch.eye(6)[:2])
    for name, value in module.state_dict().items():
        assert torch.equal(value, before[name])


def test_l1_codes_start_as_pairs_of_principal_scores_in_order():
    # k = 3: units 0 and 1 the first direction and its opposite, unit 2
    # the second; a learning rate of ~0 keeps the network at its start.
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) * [3.0, 2.0, 1.0] @ rng.normal(size=(3, 6))
    sae = SparseAE(3, learning_rate_init=1e-12, max_iter=1, random_state=0)
    codes = sae.fit(X).transform(X)
    scores = PCA(2).fit(X).transform(X)
    first = codes[:, 0] - codes[:, 1]
    assert abs(np.corrcoef(first, scores[:, 0])[0, 1]) > 0.999
    assert np.all(np.minimum(codes[:, 0], codes[:, 1]) == 0)  # one of a pair
    half_wave = np.maximum(
        np.sign(np.corrcoef(codes[:, 2], scores[:, 1])[0, 1]) * scores[:, 1], 0
    )
    assert np.corrcoef(codes[:, 2], half_wave)[0, 1] > 0.999


def test_relu_code_start_refuses_another_decoder_activation():
    from skae.modules import MLPAutoEncoder

    base = MLPAutoEncoder(6, 2, hidden_layer_sizes=(8,), activation="gelu")
    module = ReLUCode(base)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    assert not module.start_from_subspace(torch.eye(6)[:2])
    for name, value in module.state_dict().items():
        assert torch.equal(value, before[name])
