"""AutoEncoderOutlierDetector: anomaly scores from reconstruction errors."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import validate_data

from ._autoencoder import AutoEncoderTransformer
from ._repr import DocLinkMixin
from ._seeding import new_seed, seed_clone
from ._training import restore_on_failure
from ._validation import check_fitted_input

# A normal distribution's standard deviation is 1.4826 times its median
# absolute deviation, so the "auto" threshold sits _AUTO_DEVIATIONS robust
# standard deviations above the median training error.
_MAD_TO_STD = 1.4826
_AUTO_DEVIATIONS = 3.0
# A score shared by at least this share of the training rows (identical rows:
# the zeros of zero-inflated data, a machine's idle periods) is a point mass:
# it is left out of the median and MAD, and is never itself an outlier.
_POINT_MASS_SHARE = 0.1


def robust_offset(scores):
    """Return the "auto" threshold on a set of training scores.

    ``median(s) - 3 * 1.4826 * MAD(s)``, computed without the point mass:
    the rows that share the most common score, when they are at least
    ``_POINT_MASS_SHARE`` of the rows (and more than one). The threshold is
    then never above that score, so those rows are never outliers.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Training scores, higher is more normal.

    Returns
    -------
    float
        The threshold: scores below it are outliers.
    """
    scores = np.asarray(scores, dtype=np.float64)
    values, counts = np.unique(scores, return_counts=True)
    common = np.argmax(counts)
    ceiling = np.inf
    if 2 <= counts[common] < scores.size and counts[common] >= (
        _POINT_MASS_SHARE * scores.size
    ):
        ceiling = values[common]
        scores = scores[scores != ceiling]
    median = np.median(scores)
    mad = np.median(np.abs(scores - median))
    return float(min(median - _AUTO_DEVIATIONS * _MAD_TO_STD * mad, ceiling))


class AutoEncoderOutlierDetector(DocLinkMixin, OutlierMixin, BaseEstimator):
    r"""Unsupervised outlier detection by autoencoder reconstruction error.

    An autoencoder trained on (mostly) normal data reconstructs rows like
    its training rows well and unusual rows badly. :meth:`score_samples` is
    the fitted autoencoder's own ``score_samples``, higher meaning more
    normal as in scikit-learn's other outlier detectors:

    - :class:`~skae.AutoEncoderTransformer`, :class:`~skae.SparseAE`,
      :class:`~skae.ContractiveAE` and :class:`~skae.DenoisingAE`: minus the
      mean squared reconstruction error,

      .. math:: -e(x) = -\frac{1}{d} \lVert x - g(f(x)) \rVert^2 ,

      which equals ``-feature_errors(X).mean(axis=1)``;
    - :class:`~skae.VariationalAE`: the evidence lower bound (ELBO, in
      nats; see :meth:`~skae.VariationalAE.score_samples`), a log-likelihood
      bound in which the decoder's learned noise level weighs the errors
      and each row's KL divergence of its code counts too. It is neither
      ``-feature_errors(X).mean(axis=1)`` nor on its scale.

    Any other autoencoder's ``score_samples`` is used as it is.

    :meth:`feature_errors` is always the squared residual of ``reconstruct``
    (for a VariationalAE, the decoded mean code) per feature, to show which
    features made a row anomalous.

    The autoencoder is any skae autoencoder (``AutoEncoderTransformer``,
    ``DenoisingAE``, ...). It is cloned at :term:`fit` and the clone is
    trained on X; the object passed in is never fitted. To reuse an
    autoencoder fitted elsewhere, wrap it in
    :class:`sklearn.frozen.FrozenEstimator`: :meth:`fit` then only sets the
    threshold from the scores of X.

    Read more in the :ref:`User Guide <outlier_detection>`.

    Parameters
    ----------
    autoencoder : estimator, default=None
        The (unfitted) autoencoder to train, with ``fit``, ``reconstruct``
        and ``score_samples`` methods. None means
        :class:`~skae.AutoEncoderTransformer` with its default parameters
        and a bottleneck below the number of features
        (``min(2, n_features - 1)``). Its bottleneck decides what counts as
        normal: too wide a code also reconstructs the outliers well.

    contamination : "auto" or float, default="auto"
        How the threshold ``offset_`` on :meth:`score_samples` is set.

        - float in (0, 0.5]: the expected proportion of outliers in the
          training data; ``offset_`` is that quantile of the training
          scores, so :meth:`predict` flags that fraction of the training
          rows.
        - "auto": a robust rule that needs no guess of the proportion. A
          row is an outlier when its score falls below the median training
          score by more than 3 robust standard deviations,
          ``offset_ = median(s) - 3 * 1.4826 * MAD(s)``, with ``s`` the
          training scores and MAD their median absolute deviation (1.4826
          MAD estimates a normal distribution's standard deviation); with
          ``s = -e``, the error exceeds the median error by that much.
          Median and MAD are unmoved by up to half of the rows being
          extreme, so the outliers cannot inflate the threshold that should
          catch them, as a mean and standard deviation would.
          Reconstruction errors are skewed to the right, so even clean data
          has a tail above the threshold: expect a few percent of the
          training rows flagged (2-3 % on the digits), not the 0.13 % of a
          normal distribution. The threshold is only as good as the
          autoencoder's training: an underfitted one has errors that vary
          more from row to row.

          Identical rows get identical scores: the zeros of zero-inflated
          data, a machine's idle periods. Such a point mass shrinks the
          MAD, to 0 once it holds half of the rows, and the rule would
          then flag every row that scores below it (40 % of 120 zero rows
          and 80 rows of small noise). So when one score is shared by at
          least 10 % of the training rows, those rows are left out of the
          median and the MAD, which measure the spread of the other rows,
          and ``offset_`` is never above that score: a score that common
          is not an outlier's. The same data then has 2 % of its rows
          flagged. On data without such ties the rule is unchanged.

    random_state : int, RandomState instance or None, default=None
        Seeds the autoencoder's clone when its own ``random_state`` is
        None, so that ``fit_predict(X)`` equals ``fit(X).predict(X)``. The
        autoencoder passed in is never changed.

    Attributes
    ----------
    autoencoder_ : estimator
        The fitted clone of ``autoencoder``.

    offset_ : float
        Threshold on :meth:`score_samples`: rows scoring below it are
        outliers. ``decision_function = score_samples - offset_``.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Isolation-based anomaly detection.
    sklearn.neighbors.LocalOutlierFactor : Density-based outlier detection.
    sklearn.covariance.EllipticEnvelope : Outliers of a Gaussian fit.
    AutoEncoderTransformer : The default autoencoder.

    References
    ----------
    .. [1] M. Sakurada and T. Yairi, "Anomaly detection using autoencoders
       with nonlinear dimensionality reduction", MLSDA workshop, 2014.
    .. [2] P. J. Rousseeuw and C. Croux, "Alternatives to the median absolute
       deviation", Journal of the American Statistical Association 88, 1993.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoEncoderOutlierDetector, AutoEncoderTransformer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6))
    >>> X[:5] = rng.normal(scale=3, size=(5, 6))  # off the plane of the rest
    >>> ae = AutoEncoderTransformer(
    ...     n_components=2, hidden_layer_sizes=(), learning_rate_init=1e-2,
    ...     max_iter=100, random_state=0,
    ... )
    >>> detector = AutoEncoderOutlierDetector(ae, contamination=0.025).fit(X)
    >>> detector.predict(X[:8])
    array([-1, -1, -1, -1, -1,  1,  1,  1])
    >>> detector.feature_errors(X).shape
    (200, 6)
    """

    _parameter_constraints: dict = {
        "autoencoder": [HasMethods(["fit", "reconstruct", "score_samples"]), None],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "random_state": ["random_state"],
    }

    def __init__(self, autoencoder=None, *, contamination="auto", random_state=None):
        self.autoencoder = autoencoder
        self.contamination = contamination
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train a clone of the autoencoder on X and set the threshold.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, assumed mostly normal. Sparse CSR/CSC input is
            densified batch by batch.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted detector.
        """
        with restore_on_failure(self):
            X = validate_data(
                self,
                X,
                accept_sparse=("csr", "csc"),
                dtype=(np.float32, np.float64),
            )
            if self.autoencoder is None:
                autoencoder = AutoEncoderTransformer(
                    n_components=max(0, min(2, X.shape[1] - 1))
                )
            else:
                autoencoder = clone(self.autoencoder)
            seed = None if self.random_state is None else new_seed(self.random_state)
            seed_clone(autoencoder, seed).fit(X, None)
            self.autoencoder_ = autoencoder
            self.offset_ = self._threshold(autoencoder.score_samples(X))
        return self

    def _threshold(self, scores):
        if self.contamination == "auto":
            return robust_offset(scores)
        scores = scores.astype(np.float64)
        return float(np.percentile(scores, 100.0 * self.contamination))

    def score_samples(self, X):
        """Return the fitted autoencoder's score of each row.

        ``autoencoder_.score_samples(X)``: minus the mean squared
        reconstruction error for the plain, sparse, contractive and
        denoising autoencoders, the ELBO for a
        :class:`~skae.VariationalAE` (see the class description).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher means more normal. Of the dtype the autoencoder's
            ``score_samples`` returns.
        """
        X = check_fitted_input(self, X)
        return self.autoencoder_.score_samples(X)

    def decision_function(self, X):
        """Return the scores shifted by the threshold: negative for outliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``; below 0 means outlier.
        """
        scores = self.score_samples(X)
        return scores - scores.dtype.type(self.offset_)

    def predict(self, X):
        """Label each row as inlier (+1) or outlier (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def feature_errors(self, X):
        """Return the squared reconstruction residual of every feature.

        The anomaly score explained: the largest entries of a row name the
        features that made it anomalous. The mean of a row is its
        reconstruction error, so ``-feature_errors(X).mean(axis=1)`` equals
        :meth:`score_samples` for the autoencoders scored by that error
        (all but :class:`~skae.VariationalAE`, whose score is its ELBO).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to explain.

        Returns
        -------
        errors : ndarray of shape (n_samples, n_features)
            ``(X - reconstruction) ** 2``, of X's floating dtype.
        """
        X = check_fitted_input(self, X)
        residuals = self.autoencoder_.reconstruct(X)
        if sp.issparse(X):
            # Subtract the stored entries only: X is never densified whole.
            X = X.tocoo()
            np.subtract.at(residuals, (X.row, X.col), X.data)
        else:
            residuals -= X
        return np.square(residuals, out=residuals)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        autoencoder = (
            AutoEncoderTransformer() if self.autoencoder is None else self.autoencoder
        )
        tags.input_tags.sparse = get_tags(autoencoder).input_tags.sparse
        return tags
