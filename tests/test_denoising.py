import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skae import DenoisingAE

from ._digits import digits_split, mse


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


@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_and_pepper"])
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
