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


class AutoEncoderOutlierDetector(DocLinkMixin, OutlierMixin, BaseEstimator):
    r"""Unsupervised outlier detection by autoencoder reconstruction error.

    An autoencoder trained on (mostly) normal data reconstructs rows like
    its training rows well and unusual rows badly. The anomaly score of a
    row is its mean squared reconstruction error,

    .. math:: e(x) = \frac{1}{d} \lVert x - g(f(x)) \rVert^2 ,

    and :meth:`score_samples` returns :math:`-e(x)`, so that higher means
    more normal, as in scikit-learn's other outlier detectors.
    :meth:`feature_errors` breaks the error down by feature, to show which
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
          row is an outlier when its error exceeds the median training
          error by more than 3 robust standard deviations,
          ``offset_ = -(median(e) + 3 * 1.4826 * MAD(e))``, with ``e`` the
          training errors and MAD their median absolute deviation (1.4826
          MAD estimates a normal distribution's standard deviation). Median
          and MAD are unmoved by up to half of the rows being extreme, so
          the outliers cannot inflate the threshold that should catch
          them, as a mean and standard deviation would. Reconstruction
          errors are skewed to the right, so even clean data has a tail
          above the threshold: expect a few percent of the training rows
          flagged (2-3 % on the digits), not the 0.13 % of a normal
          distribution. The threshold is only as good as the autoencoder's
          training: an underfitted one has errors that vary more from row
          to row.

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
        scores = scores.astype(np.float64)
        if self.contamination != "auto":
            return float(np.percentile(scores, 100.0 * self.contamination))
        median = np.median(scores)
        mad = np.median(np.abs(scores - median))
        return float(median - _AUTO_DEVIATIONS * _MAD_TO_STD * mad)

    def score_samples(self, X):
        """Return minus each row's mean squared reconstruction error.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher means more normal. Of X's floating dtype (float32 for
            other input).
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

        The anomaly score explained: the mean of a row is its
        reconstruction error, so ``-feature_errors(X).mean(axis=1)``
        equals :meth:`score_samples` and the largest entries of a row name
        the features that made it anomalous.

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
