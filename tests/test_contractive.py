import numpy as np
import pytest
import torch

from skae import AutoEncoderTransformer, ContractiveAE
from skae._penalties import jacobian_frobenius_sq

from ._digits import digits_split, mse


def mean_jacobian_norm(estimator, X):
    x = torch.from_numpy(X)
    return float(jacobian_frobenius_sq(estimator.module_.encode, x).detach())


def test_contraction_flattens_the_encoder():
    X_train, X_test = digits_split()
    plain = AutoEncoderTransformer(8, max_iter=200, random_state=0).fit(X_train)
    cae = ContractiveAE(8, contraction_weight=0.1, max_iter=200, random_state=0)
    cae.fit(X_train)
    assert mean_jacobian_norm(cae, X_test) <= 0.05 * mean_jacobian_norm(plain, X_test)
    assert mse(cae.reconstruct(X_test), X_test) <= 0.8 * X_test.var(axis=0).mean()


def test_codes_are_more_robust_to_input_noise():
    X_train, X_test = digits_split()
    noise = (
        np.random.default_rng(0)
        .normal(scale=0.05, size=X_test.shape)
        .astype(np.float32)
    )
    shifts = {}
    for name, est in {
        "plain": AutoEncoderTransformer(8, max_iter=60, random_state=0),
        "cae": ContractiveAE(8, contraction_weight=0.1, max_iter=60, random_state=0),
    }.items():
        est.fit(X_train)
        codes = est.transform(X_test)
        # Code shift relative to the spread of the codes themselves.
        shifts[name] = (
            np.abs(est.transform(X_test + noise) - codes).mean() / codes.std()
        )
    assert shifts["cae"] < shifts["plain"]


def test_penalty_weight_zero_matches_plain():
    X = np.random.default_rng(0).random((30, 6))
    plain = AutoEncoderTransformer(max_iter=5, random_state=0).fit(X)
    cae = ContractiveAE(contraction_weight=0.0, max_iter=5, random_state=0).fit(X)
    np.testing.assert_allclose(plain.transform(X), cae.transform(X), rtol=1e-10)


def test_negative_weight_is_rejected():
    with pytest.raises(ValueError, match="contraction_weight"):
        ContractiveAE(contraction_weight=-1.0).fit(np.ones((5, 3)))
