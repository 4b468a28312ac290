"""What VariationalAE samples from: a mixture of its training codes and its noise.

The prior N(0, I) is not where the encoder puts the training codes, and the
decoder's mean is narrower than the data: decoding prior draws gives rows a
discriminator tells from real ones (ROC AUC 0.99 on breast cancer). Fitting
a Gaussian mixture to posterior draws of the training codes after training
("ex-post density estimation", Ghosh et al. 2020) and adding the decoder's
noise per feature brings it to 0.5 (benchmarks/README.md, "Generation").
"""

import numpy as np
from sklearn.mixture import GaussianMixture

#: The mixture has one component per this many training rows, between 1 and
#: MAX_COMPONENTS: a fixed 10 could not follow the thin curved sheet a swiss
#: roll's codes lie on (discriminator AUC 0.78 against 0.60 with 30), while
#: 20-30 components on wine's 124 rows copy them (DCR 0.70-0.87; 3 give
#: 1.00). Measured in benchmarks/README.md, "Generation".
ROWS_PER_COMPONENT = 35
MAX_COMPONENTS = 30
#: The mixture is fitted on at most this many rows (a random subset).
MIXTURE_ROWS = 10_000


def mixture_components(n_rows):
    """Return the number of mixture components for ``n_rows`` training codes."""
    return int(np.clip(n_rows // ROWS_PER_COMPONENT, 1, MAX_COMPONENTS))


def fit_code_mixture(codes, seed):
    """Fit a Gaussian mixture to posterior draws of the codes.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_components)
        One posterior draw per training row.
    seed : int
        Seeds the subset of rows and the mixture's initialisation.

    Returns
    -------
    weights, means, covariances : ndarrays or None
        The mixture's parameters, of shapes (m,), (m, k) and (m, k, k);
        plain arrays, which a skae model file holds. None for codes with no
        columns.
    """
    n_rows, width = codes.shape
    if width == 0:
        return None
    rng = np.random.default_rng(seed)
    if n_rows > MIXTURE_ROWS:
        codes = codes[rng.choice(n_rows, MIXTURE_ROWS, replace=False)]
    mixture = GaussianMixture(
        n_components=mixture_components(codes.shape[0]),
        covariance_type="full",
        reg_covar=1e-6,
        random_state=seed,
    ).fit(np.asarray(codes, dtype=np.float64))
    return mixture.weights_, mixture.means_, mixture.covariances_


def draw_codes(weights, means, covariances, n_samples, rng):
    """Draw ``n_samples`` codes from the mixture with the generator ``rng``.

    Drawn here rather than by ``GaussianMixture.sample``, which always
    follows the mixture's own ``random_state``: every call of ``sample``
    follows its own.
    """
    counts = rng.multinomial(n_samples, weights / weights.sum())
    rows = [
        rng.multivariate_normal(mean, covariance, size=count, method="cholesky")
        for mean, covariance, count in zip(means, covariances, counts, strict=True)
        if count
    ]
    codes = np.concatenate(rows)
    return codes[rng.permutation(n_samples)]


def decoder_noise(X, reconstruction, likelihood):
    """Return each feature's noise scale around the decoded mean.

    The root mean squared residual (Gaussian decoder) or the mean absolute
    residual (Laplace decoder, whose scale is that) of each feature over
    the training rows, in the data's units.
    """
    residuals = np.asarray(X, dtype=np.float64) - reconstruction
    if likelihood == "laplace":
        return np.mean(np.abs(residuals), axis=0)
    return np.sqrt(np.mean(residuals**2, axis=0))
