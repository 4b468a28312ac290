"""skae.metrics: fidelity and privacy measures of generated rows."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skae.metrics import (
    discriminator_auc,
    distance_to_closest_record,
    marginal_distances,
)


@pytest.fixture(scope="module")
def real():
    rng = np.random.default_rng(0)
    return rng.normal(size=(400, 5)), rng.normal(size=(200, 5))


def test_a_discriminator_cannot_tell_the_same_distribution(real):
    train, _ = real
    same = np.random.default_rng(1).normal(size=train.shape)
    assert abs(discriminator_auc(train, same, random_state=0) - 0.5) < 0.08


def test_a_discriminator_tells_a_narrow_generator(real):
    train, _ = real
    narrow = 0.5 * np.random.default_rng(1).normal(size=train.shape)
    assert discriminator_auc(train, narrow, random_state=0) > 0.75


def test_the_discriminator_is_reproducible_and_replaceable(real):
    train, _ = real
    shifted = np.random.default_rng(1).normal(0.5, 1, size=train.shape)
    first = discriminator_auc(train, shifted, random_state=0)
    assert first == discriminator_auc(train, shifted, random_state=0)
    linear = discriminator_auc(
        train, shifted, estimator=LogisticRegression(), cv=3, random_state=0
    )
    assert linear > 0.75  # a shift of the mean: a linear boundary sees it


def test_copies_of_training_rows_are_closer_than_new_data(real):
    train, holdout = real
    copies = train[:200] + 1e-3
    assert distance_to_closest_record(train, copies, holdout) < 0.05
    fresh = np.random.default_rng(2).normal(size=(200, 5))
    assert 0.8 < distance_to_closest_record(train, fresh, holdout) < 1.25
    far = fresh * 3
    assert distance_to_closest_record(train, far, holdout) > 1.5


def test_marginal_distances_measure_each_feature_in_its_spread(real):
    train, _ = real
    rng = np.random.default_rng(3)
    shifted = rng.normal(size=(4000, 5))
    shifted[:, 2] += 1.0
    distances = marginal_distances(train, shifted)
    assert distances.shape == (5,)
    assert distances[2] > 0.8
    assert np.all(np.delete(distances, 2) < 0.15)
    # Unit-free: rescaling both leaves the distances unchanged.
    np.testing.assert_allclose(marginal_distances(7 * train, 7 * shifted), distances)


def test_mismatched_widths_and_copied_holdout_are_refused(real):
    train, holdout = real
    with pytest.raises(ValueError, match="X_synthetic has 3 features"):
        discriminator_auc(train, train[:, :3])
    with pytest.raises(ValueError, match="X_holdout has 4 features"):
        distance_to_closest_record(train, train, holdout[:, :4])
    with pytest.raises(ValueError, match="copies of training rows"):
        distance_to_closest_record(train, holdout, train[:50])
    with pytest.raises(ValueError, match="cv"):
        discriminator_auc(train, holdout, cv=1)


def test_hoyer_sparsity_is_scale_free_and_spans_zero_to_one():
    from skae.metrics import hoyer_sparsity

    one_hot = np.eye(4)
    assert hoyer_sparsity(one_hot) == pytest.approx(1.0)
    assert hoyer_sparsity(np.ones((3, 4))) == pytest.approx(0.0)
    codes = np.abs(np.random.default_rng(0).normal(size=(50, 8)))
    assert hoyer_sparsity(codes) == pytest.approx(hoyer_sparsity(1e-3 * codes))
    # Zero rows are left out rather than counted as anything.
    assert hoyer_sparsity(np.vstack([one_hot, np.zeros((2, 4))])) == pytest.approx(1)
    with pytest.raises(ValueError, match="2 columns"):
        hoyer_sparsity(np.ones((3, 1)))
    with pytest.raises(ValueError, match="every row zero"):
        hoyer_sparsity(np.zeros((3, 4)))
