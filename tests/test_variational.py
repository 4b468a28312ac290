import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skae import VariationalAE
from skae._penalties import GaussianKLPenalty
from skae.modules import GaussianAutoEncoder

from ._digits import digits_split


@pytest.fixture(scope="module")
def vae_and_data():
    X_train, X_test = digits_split()
    vae = VariationalAE(
        8, output_activation="sigmoid", loss="bce", max_iter=200, random_state=0
    ).fit(X_train)
    return vae, X_train, X_test


def test_posterior_means_are_centred_and_not_collapsed(vae_and_data):
    vae, _, X_test = vae_and_data
    codes = vae.transform(X_test)
    assert np.abs(codes.mean(axis=0)).max() < 0.3
    # Averaging the reconstruction over features instead of summing it would
    # let the KL term win: all codes near 0 with a spread of ~0.001.
    assert 0.2 <= codes.std(axis=0).mean() <= 2
    assert_array_equal(codes, vae.transform(X_test))  # the mean, no sampling


def test_samples_are_reproducible_varied_and_digit_like(vae_and_data):
    vae, X_train, _ = vae_and_data
    samples = vae.sample(300, random_state=0)
    assert samples.shape == (300, 64) and samples.dtype == np.float32
    assert_array_equal(samples, vae.sample(300, random_state=0))
    assert not np.allclose(samples, vae.sample(300, random_state=1))
    assert samples.std(axis=0).mean() > 0.04

    def nearest_digit_mse(rows):
        distances = ((rows[:, None, :] - X_train[None, :, :]) ** 2).mean(axis=-1)
        return distances.min(axis=1).mean()

    uniform = np.random.default_rng(0).random(samples.shape).astype(np.float32)
    assert nearest_digit_mse(samples) <= 0.3 * nearest_digit_mse(uniform)


def test_structure_and_loss_terms(vae_and_data):
    vae = vae_and_data[0]
    assert isinstance(vae.module_, GaussianAutoEncoder)
    assert vae.net_.penalty == GaussianKLPenalty(1.0)


def test_sample_follows_training_dtype_and_validates():
    X = np.random.default_rng(0).random((30, 5))
    vae = VariationalAE(max_iter=2, random_state=0).fit(X)
    assert vae.sample(4, random_state=0).dtype == np.float64
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(0)
    with pytest.raises(Exception, match="not fitted"):
        VariationalAE().sample(2)
