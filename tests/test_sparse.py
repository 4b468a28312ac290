import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skae import AutoEncoderTransformer, SparseAE
from skae._penalties import KLSparsityPenalty, L1SparsityPenalty
from skae.modules import SigmoidCode

from ._digits import digits_split, mse


@pytest.fixture(scope="module")
def digits():
    return digits_split()


def test_l1_sparsity_shrinks_codes_and_keeps_reconstruction(digits):
    X_train, X_test = digits
    plain = AutoEncoderTransformer(16, max_iter=200, random_state=0).fit(X_train)
    sparse = SparseAE(16, sparsity_weight=3.0, max_iter=200, random_state=0).fit(
        X_train
    )
    ratio = (
        np.abs(sparse.transform(X_test)).mean() / np.abs(plain.transform(X_test)).mean()
    )
    assert ratio <= 0.1
    assert mse(sparse.reconstruct(X_test), X_test) <= 0.6 * X_test.var(axis=0).mean()


def test_kl_sparsity_reaches_the_target_activation(digits):
    X_train, X_test = digits
    sparse = SparseAE(
        32,
        sparsity="kl",
        sparsity_target=0.05,
        sparsity_weight=1.0,
        max_iter=200,
        random_state=0,
    ).fit(X_train)
    codes = sparse.transform(X_test)
    assert codes.min() >= 0 and codes.max() <= 1  # through the sigmoid
    assert codes.mean() <= 0.12
    assert mse(sparse.reconstruct(X_test), X_test) <= 0.6 * X_test.var(axis=0).mean()
    assert isinstance(sparse.module_, SigmoidCode)


def test_penalty_follows_the_parameters():
    X = np.random.default_rng(0).random((30, 6))
    l1 = SparseAE(sparsity_weight=0.5, max_iter=2).fit(X)
    assert l1.net_.penalty == L1SparsityPenalty(0.5)
    kl = SparseAE(sparsity="kl", sparsity_target=0.2, max_iter=2).fit(X)
    assert kl.net_.penalty == KLSparsityPenalty(1.0, 0.2)


def test_zero_weight_is_the_plain_autoencoder():
    X = np.random.default_rng(0).random((30, 6))
    plain = AutoEncoderTransformer(max_iter=5, random_state=0).fit(X)
    sparse = SparseAE(sparsity_weight=0.0, max_iter=5, random_state=0).fit(X)
    assert_array_equal(plain.transform(X), sparse.transform(X))


@pytest.mark.parametrize("target", [0.0, 1.0, -0.5])
def test_invalid_target_is_rejected(target):
    with pytest.raises(ValueError, match="sparsity_target"):
        SparseAE(sparsity="kl", sparsity_target=target).fit(np.ones((5, 3)))
