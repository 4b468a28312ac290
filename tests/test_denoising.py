import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_array_equal
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skae import DenoisingAE

from ._digits import digits_split, mse
from ._small_tables import fit_converging, standardized_wine


def noisy_copy(X, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    return (X + rng.normal(scale=scale, size=X.shape)).astype(X.dtype)


def test_denoises_synthetic_and_paired_noise():
    X_train, X_test = digits_split()
    noisy_test = noisy_copy(X_test, 1)
    baseline = mse(noisy_test, X_test)
    dae = DenoisingAE(
        32, hidden_layer_sizes=(256,), noise_level=0.3, max_iter=200, random_state=0
    ).fit(X_train)
    assert mse(dae.reconstruct(noisy_test), X_test) <= 0.45 * baseline
    paired = DenoisingAE(32, hidden_layer_sizes=(256,), max_iter=200, random_state=0)
    paired.fit(noisy_copy(X_train, 2), X_clean=X_train)
    assert paired.net_.corruption is None  # X was already noisy
    assert mse(paired.reconstruct(noisy_test), X_test) <= 0.6 * baseline


@pytest.mark.parametrize("noise", ["gaussian", "uniform", "masking", "salt_and_pepper"])
def test_every_noise_trains_reproducibly_and_inference_is_clean(noise):
    X = np.random.default_rng(0).random((80, 12))
    runs = [
        DenoisingAE(4, noise=noise, noise_level=0.2, max_iter=20, random_state=3).fit(X)
        for _ in range(2)
    ]
    assert runs[0].loss_curve_[-1] < runs[0].loss_curve_[0]
    assert_array_equal(runs[0].transform(X), runs[1].transform(X))
    assert_array_equal(runs[0].reconstruct(X), runs[0].reconstruct(X))  # no noise
    other = DenoisingAE(
        4, noise=noise, noise_level=0.2, max_iter=20, random_state=4
    ).fit(X)
    assert not np.allclose(other.transform(X), runs[0].transform(X))


def test_salt_and_pepper_uses_training_column_ranges():
    X = np.column_stack([np.linspace(-2, 3, 50), np.linspace(10, 20, 50)])
    dae = DenoisingAE(noise="salt_and_pepper", noise_level=0.5, max_iter=1).fit(X)
    corruption = dae.net_.corruption
    np.testing.assert_allclose(np.asarray(corruption.low).ravel(), [-2, 10])
    np.testing.assert_allclose(np.asarray(corruption.high).ravel(), [3, 20])
    sparse_fit = DenoisingAE(noise="salt_and_pepper", noise_level=0.5, max_iter=1)
    sparse_fit.fit(sp.csr_matrix(X))
    np.testing.assert_allclose(
        np.asarray(sparse_fit.net_.corruption.high).ravel(), [3, 20]
    )


def test_salt_and_pepper_bounds_are_fitted_once_and_kept_by_partial_fit():
    X = np.column_stack([np.linspace(-2, 3, 50), np.linspace(10, 20, 50)])
    dae = DenoisingAE(noise="salt_and_pepper", noise_level=0.5, max_iter=1)
    dae.fit(X)
    dae.partial_fit(X[:10] * 0.1)  # a chunk with other ranges
    np.testing.assert_allclose(np.asarray(dae.net_.corruption.low), [-2, 10])
    np.testing.assert_allclose(np.asarray(dae.net_.corruption.high), [3, 20])
    dae.fit(X * 2)  # a fresh fit learns them again
    np.testing.assert_allclose(np.asarray(dae.net_.corruption.high), [6, 40])


def test_uniform_noise_is_bounded_by_its_half_width():
    from skae._corruption import UniformNoise, make_corruption

    assert repr(make_corruption("uniform", 0.3)) == "UniformNoise(width=0.3)"
    x = torch.zeros(400, 250)
    noise = UniformNoise(0.3)(x)
    assert float(noise.abs().max()) <= 0.3
    assert abs(float(noise.std()) - 0.3 / np.sqrt(3)) < 0.005
    assert abs(float(noise.mean())) < 0.005


def test_validation_scores_denoising_not_copying():
    # Validation corrupts the held-out rows once and scores the
    # reconstruction against the clean rows: it must score lower than the
    # same weights reconstructing clean rows.
    X_train, _ = digits_split()
    dae = DenoisingAE(
        16,
        noise="masking",
        noise_level=0.5,
        early_stopping=True,
        max_iter=30,
        random_state=0,
    ).fit(X_train)
    clean = dae.reconstruct(X_train)
    clean_r2 = (
        1
        - ((clean - X_train) ** 2).sum() / ((X_train - X_train.mean(axis=0)) ** 2).sum()
    )
    assert 0 < dae.best_validation_score_ < clean_r2 - 0.1
    again = DenoisingAE(**dae.get_params()).fit(X_train)
    assert again.validation_scores_ == dae.validation_scores_  # a fixed draw


def test_probability_noise_level_above_one_is_rejected():
    with pytest.raises(ValueError, match="noise_level"):
        DenoisingAE(noise="masking", noise_level=1.5).fit(np.ones((5, 3)))


def test_x_clean_must_pair_with_x():
    X = np.random.default_rng(0).random((20, 4))
    with pytest.raises(ValueError, match="X_clean"):
        DenoisingAE(max_iter=2).fit(X, X_clean=X[:10])
    with pytest.raises(ValueError, match="NaN"):
        DenoisingAE(max_iter=2).fit(X, X_clean=np.full_like(X, np.nan))


def test_x_clean_routes_through_pipeline_and_is_split_in_cross_validation():
    rng = np.random.default_rng(0)
    clean = rng.random((60, 5))
    noisy = clean + 0.1 * rng.normal(size=clean.shape)
    seen = []

    class Recording(DenoisingAE):
        def fit(self, X, y=None, *, X_clean=None):
            seen.append((len(X), None if X_clean is None else len(X_clean)))
            return super().fit(X, y, X_clean=X_clean)

    pipe = Pipeline([("id", FunctionTransformer()), ("dae", Recording(max_iter=3))])
    pipe.fit(noisy, dae__X_clean=clean)
    assert seen == [(60, 60)]
    seen.clear()
    cross_validate(pipe, noisy, cv=3, params={"dae__X_clean": clean})
    assert seen == [(40, 40)] * 3


def test_clean_targets_in_other_units_than_the_inputs():
    # A Pipeline scales X but not the X_clean metadata: the inputs and the
    # targets are in different units. Each gets its own centring and scale,
    # and the reconstructions come out in X_clean's units.
    from sklearn import config_context
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    clean = 10.0 + 5.0 * rng.normal(size=(400, 3)) @ rng.normal(size=(3, 12))
    noisy = clean + rng.normal(scale=0.5, size=clean.shape)
    with config_context(enable_metadata_routing=True):
        dae = DenoisingAE(n_components=3, max_iter=100, random_state=0).set_fit_request(
            X_clean=True
        )
        pipe = Pipeline([("scale", StandardScaler()), ("dae", dae)])
        pipe.fit(noisy, X_clean=clean)
    reconstructions = pipe[-1].reconstruct(pipe[0].transform(noisy))
    explained = 1 - np.sum((reconstructions - clean) ** 2) / np.sum(
        (clean - clean.mean(axis=0)) ** 2
    )
    assert explained > 0.9
    assert reconstructions.std(axis=0).min() > 1.0  # not one constant row


def test_small_tables_get_four_batches_per_epoch_and_converge():
    # With one batch (one optimizer step) per epoch standardized wine ran
    # all 200 epochs (seeds 0 and 1).
    dae = fit_converging(DenoisingAE(random_state=0), standardized_wine())
    assert dae.net_.batch_size == 45  # ceil(178 / 4)
