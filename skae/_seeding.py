"""The seed of a fit, and seeded construction of its modules and clones.

The generators themselves live in :mod:`skae.modules._random` (pure torch);
this module turns scikit-learn's ``random_state`` into them.
"""

import numpy as np
from sklearn.utils import check_random_state

from .modules._random import seeded_construction


def new_seed(random_state):
    """Draw the seed of a fit (split, generators) from ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def seed_clone(estimator, seed):
    """Give a cloned inner estimator ``seed`` when its own random_state is None.

    An outer estimator seeded by the user seeds the estimators it clones,
    so that its own results are reproducible; an inner seed the user set
    is kept. ``seed=None`` (the outer estimator unseeded) changes nothing.
    """
    params = estimator.get_params(deep=False)
    if seed is not None and params.get("random_state", 0) is None:
        estimator.set_params(random_state=seed)
    return estimator


def build_module(generators, build):
    """Call ``build()`` with its random initialisation drawn from ``generators``."""
    with seeded_construction(generators):
        return build()
