"""How close generated rows are to real ones: fidelity and privacy measures.

Three measures for the rows a generative model such as
:class:`~skae.VariationalAE` samples, built from scikit-learn's pieces:

- :func:`discriminator_auc`: can a classifier tell generated rows from
  real ones? 0.5 means no;
- :func:`distance_to_closest_record`: are the generated rows closer to the
  training rows than new real rows are (copies, a privacy risk), or
  farther (off the data)? 1 means as close as new data;
- :func:`marginal_distances`: how far each feature's distribution is from
  the real one.

And one measure of codes: :func:`hoyer_sparsity`, how few units of a code
carry it (for :class:`~skae.SparseAE`).
"""

from numbers import Integral

import numpy as np
from scipy.stats import wasserstein_distance
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

__all__ = [
    "discriminator_auc",
    "distance_to_closest_record",
    "hoyer_sparsity",
    "marginal_distances",
]


def _rows(X, name, n_features=None):
    X = check_array(X, dtype=np.float64, input_name=name)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, the real rows {n_features}."
        )
    return X


@validate_params(
    {
        "X_real": ["array-like"],
        "X_synthetic": ["array-like"],
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def discriminator_auc(X_real, X_synthetic, *, estimator=None, cv=5, random_state=None):
    """Return how well a classifier tells generated rows from real ones.

    The real and generated rows are labelled 0 and 1, and ``estimator`` is
    cross-validated on telling them apart (stratified ``cv`` folds); the
    mean held-out ROC AUC is returned. 0.5: the classifier cannot tell
    them apart; 1: it always can. Values a little below 0.5 happen when
    generated rows lie very close to real ones, as cross-validation noise.
    Give as many generated rows as real ones.

    Parameters
    ----------
    X_real : array-like of shape (n_real, n_features)
        Real rows, typically the generator's training rows.
    X_synthetic : array-like of shape (n_synthetic, n_features)
        Generated rows.
    estimator : classifier, default=None
        Any scikit-learn classifier with ``predict_proba``. None means
        ``RandomForestClassifier(n_estimators=100)``, which needs no
        scaling and sees interactions between features.
    cv : int, default=5
        Number of stratified folds.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds' shuffling and the default forest.

    Returns
    -------
    auc : float
        Mean held-out ROC AUC over the folds.

    See Also
    --------
    distance_to_closest_record : Are generated rows copies of training rows?
    marginal_distances : Per-feature distance between the distributions.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.metrics import discriminator_auc
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(300, 4))
    >>> auc = discriminator_auc(real, rng.normal(size=(300, 4)), random_state=0)
    >>> bool(auc < 0.6)  # the same distribution: no better than chance
    True
    >>> auc = discriminator_auc(real, 3 * rng.normal(size=(300, 4)), random_state=0)
    >>> bool(auc > 0.8)  # too wide: easy to tell
    True
    """
    real = _rows(X_real, "X_real")
    synthetic = _rows(X_synthetic, "X_synthetic", real.shape[1])
    rng = check_random_state(random_state)
    forest_seed, folds_seed = rng.randint(np.iinfo(np.int32).max, size=2)
    if estimator is None:
        estimator = RandomForestClassifier(n_estimators=100, random_state=forest_seed)
    X = np.vstack([real, synthetic])
    y = np.r_[np.zeros(len(real), dtype=int), np.ones(len(synthetic), dtype=int)]
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=folds_seed)
    return float(cross_val_score(estimator, X, y, cv=folds, scoring="roc_auc").mean())


@validate_params(
    {
        "X_train": ["array-like"],
        "X_synthetic": ["array-like"],
        "X_holdout": ["array-like"],
    },
    prefer_skip_nested_validation=True,
)
def distance_to_closest_record(X_train, X_synthetic, X_holdout):
    """Return the generated rows' distance to the training rows, relative.

    The median Euclidean distance from each generated row to its nearest
    training row, over the same for held-out real rows (rows from the same
    distribution that the generator did not see). Below 1, the generated
    rows sit closer to the training rows than new data does: the generator
    copies (memorises) them, a privacy risk. Above 1, they lie farther:
    off the data. Standardize the features first: the distance weighs
    them by their units.

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
        The rows the generator was fitted on.
    X_synthetic : array-like of shape (n_synthetic, n_features)
        Generated rows.
    X_holdout : array-like of shape (n_holdout, n_features)
        Real rows the generator did not see.

    Returns
    -------
    ratio : float
        ``median DCR(synthetic) / median DCR(holdout)``; 1 is ideal.

    See Also
    --------
    discriminator_auc : Can a classifier tell generated rows from real ones?

    Examples
    --------
    >>> import numpy as np
    >>> from skae.metrics import distance_to_closest_record
    >>> rng = np.random.default_rng(0)
    >>> train, holdout = rng.normal(size=(500, 3)), rng.normal(size=(200, 3))
    >>> copies = train[:200] + 1e-3
    >>> bool(distance_to_closest_record(train, copies, holdout) < 0.1)
    True
    """
    train = _rows(X_train, "X_train")
    synthetic = _rows(X_synthetic, "X_synthetic", train.shape[1])
    holdout = _rows(X_holdout, "X_holdout", train.shape[1])
    neighbours = NearestNeighbors(n_neighbors=1).fit(train)
    synthetic_distance = np.median(neighbours.kneighbors(synthetic)[0])
    holdout_distance = np.median(neighbours.kneighbors(holdout)[0])
    if holdout_distance == 0:
        raise ValueError(
            "The held-out rows are copies of training rows (median distance "
            "0): hold out rows the generator did not see."
        )
    return float(synthetic_distance / holdout_distance)


@validate_params(
    {"X_real": ["array-like"], "X_synthetic": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def marginal_distances(X_real, X_synthetic):
    """Return each feature's distance between real and generated values.

    The Wasserstein (earth mover's) distance between the feature's real
    and generated values, over the real values' standard deviation: 0 for
    identical distributions; a generator whose values are shifted by one
    standard deviation scores 1, one that puts every row at the mean about
    0.8.

    Parameters
    ----------
    X_real : array-like of shape (n_real, n_features)
        Real rows.
    X_synthetic : array-like of shape (n_synthetic, n_features)
        Generated rows.

    Returns
    -------
    distances : ndarray of shape (n_features,)
        One unit-free distance per feature (0 for a constant real feature
        matched exactly).

    See Also
    --------
    discriminator_auc : A joint measure, which sees the features together.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.metrics import marginal_distances
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(2000, 2))
    >>> fake = np.c_[rng.normal(size=2000), rng.normal(1, 1, size=2000)]
    >>> distances = marginal_distances(real, fake)
    >>> bool(distances[0] < 0.1), bool(0.9 < distances[1] < 1.1)
    (True, True)
    """
    real = _rows(X_real, "X_real")
    synthetic = _rows(X_synthetic, "X_synthetic", real.shape[1])
    scale = real.std(axis=0)
    distances = np.array(
        [
            wasserstein_distance(real[:, j], synthetic[:, j])
            for j in range(real.shape[1])
        ]
    )
    unit = np.where(scale > 0, scale, 1.0)
    return distances / unit


@validate_params({"codes": ["array-like"]}, prefer_skip_nested_validation=True)
def hoyer_sparsity(codes):
    r"""Return how sparse the codes are, by Hoyer's measure, averaged over rows.

    For a row :math:`z` of :math:`k` units,
    :math:`(\sqrt{k} - \lVert z \rVert_1 / \lVert z \rVert_2) /
    (\sqrt{k} - 1)`: 1 when a single unit is active, 0 when all are
    equally active. Scale-free: shrinking the codes does not change it,
    unlike their mean absolute value. Rows of zeros are left out.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_components)
        Codes, e.g. ``SparseAE.transform(X)``; at least 2 columns.

    Returns
    -------
    sparsity : float
        In [0, 1]; higher is sparser.

    See Also
    --------
    skae.SparseAE : An autoencoder with sparse codes.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.metrics import hoyer_sparsity
    >>> hoyer_sparsity(np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]]))
    1.0
    >>> hoyer_sparsity(np.ones((3, 4)))
    0.0
    """
    codes = check_array(codes, dtype=np.float64, input_name="codes")
    width = codes.shape[1]
    if width < 2:
        raise ValueError(
            f"hoyer_sparsity needs codes of 2 columns or more, got {width}."
        )
    l1 = np.abs(codes).sum(axis=1)
    l2 = np.sqrt((codes**2).sum(axis=1))
    active = l2 > 0
    if not active.any():
        raise ValueError("Codes with every row zero: their sparsity is undefined.")
    root = np.sqrt(width)
    return float(np.mean((root - l1[active] / l2[active]) / (root - 1)))
