import numpy as np
import pytest
import torch

from skae import AutoEncoderTransformer, ContractiveAE
from skae._penalties import ContractivePenalty, jacobian_frobenius_sq
from skae.modules._layers import TiedLinear

from ._digits import digits_split
from ._small_tables import fit_converging


def relative_sensitivity(estimator, X, noise):
    """Mean squared code shift under ``noise``, over the codes' total variance.

    Scale-free: multiplying the codes by any constant leaves it unchanged,
    so only a genuinely flatter encoder lowers it.
    """
    codes = estimator.transform(X)
    shift = ((estimator.transform(X + noise) - codes) ** 2).sum(axis=1).mean()
    return float(shift / codes.var(axis=0).sum())


def r2(estimator, X_train, X_test):
    error = ((estimator.reconstruct(X_test) - X_test) ** 2).sum()
    return 1.0 - error / ((X_test - X_train.mean(axis=0)) ** 2).sum()


def _contraction(cae, plain):
    """Sensitivity ratio of ``cae`` over ``plain`` and its R², held-out digits."""
    X_train, X_test = digits_split()
    noise = (
        np.random.default_rng(0)
        .normal(scale=0.05, size=X_test.shape)
        .astype(np.float32)
    )
    cae.fit(X_train)
    ratio = relative_sensitivity(cae, X_test, noise) / relative_sensitivity(
        plain.fit(X_train), X_test, noise
    )
    return ratio, r2(cae, X_train, X_test)


def test_codes_are_flatter_relative_to_their_spread():
    # Both trained to the same tight tolerance, so that the ratio measures
    # the penalty rather than how early each stopping rule ends.
    tight = dict(tol=1e-4, n_iter_no_change=10, random_state=0)
    ratio, fit = _contraction(
        ContractiveAE(8, contraction_weight=10.0, **tight),
        AutoEncoderTransformer(8, **tight),
    )
    print(f"sensitivity ratio {ratio:.3f}, R² {fit:.3f}")
    assert ratio <= 0.5
    assert fit >= 0.4


def test_default_contracts_against_the_default_plain_model():
    # Both at their own defaults: the default weight and stopping rule must
    # flatten the codes by half without giving up most of the reconstruction.
    ratio, fit = _contraction(
        ContractiveAE(8, random_state=0), AutoEncoderTransformer(8, random_state=0)
    )
    assert ratio <= 0.5
    assert fit >= 0.4


def test_relative_sensitivity_ignores_rescaling():
    X = np.random.default_rng(0).random((50, 6)).astype(np.float32)
    noise = 0.01 * np.ones_like(X)

    class Scaled:
        def __init__(self, scale):
            self.scale = scale

        def transform(self, X):
            return self.scale * np.tanh(X @ np.arange(12.0).reshape(6, 2))

    assert relative_sensitivity(Scaled(1.0), X, noise) == pytest.approx(
        relative_sensitivity(Scaled(1e-3), X, noise)
    )


def test_mlp_decoder_is_tied_to_the_encoder():
    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    cae = ContractiveAE(3, hidden_layer_sizes=(5, 4), max_iter=3, random_state=0)
    module = cae.fit(X).module_.inner
    encoder = [m for m in module.encoder if isinstance(m, torch.nn.Linear)]
    decoder = [m for m in module.decoder if isinstance(m, TiedLinear)]
    assert len(decoder) == len(encoder) == 3
    for tied, source in zip(decoder, encoder[::-1], strict=True):
        assert tied.weight.data_ptr() == source.weight.data_ptr()
    # Stored once: the decoder keeps only its biases.
    assert not [k for k in module.state_dict() if "decoder" in k and "weight" in k]
    # A tied network has no free gain: scaling the code layer down by c
    # scales the decoder's first layer down by c as well.
    x = torch.from_numpy(X)
    with torch.no_grad():
        before = module(x)
        module.encoder[-1].weight.mul_(0.5)
        module.encoder[-1].bias.mul_(0.5)
        assert not torch.allclose(module(x), before, atol=1e-3)


def test_closed_form_penalty_still_applies_to_the_tied_mlp():
    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    cae = ContractiveAE(3, max_iter=2, random_state=0).fit(X)
    module = cae.module_.inner
    x = torch.from_numpy(X)
    value = ContractivePenalty(1.0)(module, x, None)
    torch.testing.assert_close(
        value, jacobian_frobenius_sq(module.encode, x, method="loop")
    )


def test_other_architectures_get_unit_norm_atoms():
    X = np.random.default_rng(0).random((20, 16)).astype(np.float32)
    cae = ContractiveAE(
        2,
        architecture="conv",
        input_shape=(1, 4, 4),
        hidden_layer_sizes=(3,),
        max_iter=2,
        random_state=0,
    ).fit(X)
    expand = cae.module_.inner.decoder.expand
    norms = expand.normalized_weight.detach().norm(dim=0)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_penalty_weight_zero_adds_nothing():
    X = np.random.default_rng(0).random((30, 6))
    cae = ContractiveAE(contraction_weight=0.0, max_iter=2, random_state=0).fit(X)
    x = torch.from_numpy(X)
    assert float(cae.net_.penalty(cae.module_.inner, x, None)) == 0.0


def test_negative_weight_is_rejected():
    with pytest.raises(ValueError, match="contraction_weight"):
        ContractiveAE(contraction_weight=-1.0).fit(np.ones((5, 3)))


def test_small_tables_get_several_batches_per_epoch_and_converge():
    # With one batch (one optimizer step) per epoch the contracting default
    # ran all 200 epochs on iris; "auto" gives it at least 4 batches.
    from sklearn.datasets import load_iris

    X = load_iris().data
    cae = fit_converging(ContractiveAE(random_state=0), X)
    assert cae.net_.batch_size == 38  # ceil(150 / 4)
    plain = AutoEncoderTransformer(random_state=0).fit(X)
    assert plain.net_.batch_size == 150  # one batch: the shared "auto"
