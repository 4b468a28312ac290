"""AutoEncoderOutlierDetector: anomaly scores from reconstruction errors."""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.covariance import MinCovDet
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

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

#: The default autoencoder's own stopping rule: a coarse fit ranks the
#: suite's outliers as well as a long one, in a fifth of the epochs
#: (benchmarks/README.md, "Anomaly detection").
DETECTOR_TRAINING = {"tol": 3e-3, "n_iter_no_change": 3}
_PART_ATTRIBUTES = ("feature_scales_", "code_mean_", "code_precision_", "part_scales_")
#: The scores ``anomaly_score`` chooses from.
ANOMALY_SCORES = ("combined", "reconstruction", "code")
# A feature's residual scale is at least this share of the mean scale.
_SCALE_FLOOR = 0.1
# The share of the training codes the code density is fitted on.
_CODE_SUPPORT = 0.9


def _code_density(codes, seed):
    """Return the location and precision of the training codes' Gaussian.

    A minimum covariance determinant fit on the most central
    ``_CODE_SUPPORT`` of the rows, so that outliers among the training rows
    (up to 10 %) do not widen the Gaussian that should single them out.
    Falls back to the sample covariance (pseudo-inverted) when the codes are
    too few or degenerate for it.
    """
    n_samples, width = codes.shape
    if width == 0:
        return np.zeros(0), np.zeros((0, 0))
    if n_samples > 2 * width + 2:
        with warnings.catch_warnings():
            # A collapsed unit makes the covariance singular; handled below.
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            try:
                mcd = MinCovDet(support_fraction=_CODE_SUPPORT, random_state=seed)
                mcd.fit(codes)
            except (ValueError, np.linalg.LinAlgError):
                mcd = None
        if mcd is not None and np.all(np.isfinite(mcd.precision_)):
            return mcd.location_, mcd.precision_
    covariance = np.cov(codes, rowvar=False, bias=True).reshape(width, width)
    return codes.mean(axis=0), np.linalg.pinv(covariance, hermitian=True)


def _typical(part):
    """Return the median of a part over the training rows, its unit (never 0)."""
    median = float(np.median(part))
    return median if median > 0 else max(float(np.mean(part)), 1.0)


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
    r"""Unsupervised outlier detection with an autoencoder.

    An autoencoder trained on (mostly) normal data learns where those rows
    lie. A row can be unusual in two ways, and the default score sees both:

    - **off the learned manifold**: the network reconstructs it badly. The
      residual part, :meth:`residual_distances`, sums each feature's
      squared residual over that feature's mean over the training rows
      (``feature_scales_``), so one noisy feature does not dominate;
    - **on the manifold, at an unusual place** (larger than the training
      rows along the directions the code keeps, as malignant tumours in
      the breast cancer data): it reconstructs well, but its code is far
      from the training codes. The code part, :meth:`code_distances`, is
      the squared Mahalanobis distance of the code to a Gaussian fitted
      to the training codes (a minimum covariance determinant fit on their
      most central 90 %, so up to 10 % of outliers among the training rows
      do not widen it).

    With ``anomaly_score="combined"`` (the default) :meth:`score_samples`
    is minus the sum of the two parts, each divided by its median over the
    training rows (``part_scales_``), so neither needs a weight:

    .. math:: s(x) = -\left(\frac{r(x)}{m_r} + \frac{c(x)}{m_c}\right).

    ``"code"`` keeps the code part alone, ``-c(x) / m_c``;
    ``"reconstruction"`` is the fitted autoencoder's own ``score_samples``:
    minus the mean squared reconstruction error
    (``-feature_errors(X).mean(axis=1)``) for
    :class:`~skae.AutoEncoderTransformer`, :class:`~skae.SparseAE`,
    :class:`~skae.ContractiveAE` and :class:`~skae.DenoisingAE`; the
    evidence lower bound for :class:`~skae.VariationalAE` (a log-likelihood
    bound in which the decoder's learned noise weighs the errors and each
    row's KL divergence of its code counts too); any other autoencoder's
    ``score_samples`` as it is. Higher is more normal for every kind, as in
    scikit-learn's other outlier detectors.

    Which to use: where the normal rows form one connected cloud, the
    combined score ranks outliers best (benchmarks/README.md: ROC AUC 0.977
    on average over six bundled-data sets, against 0.962 for
    :class:`~sklearn.ensemble.IsolationForest` and 0.870 for the
    reconstruction error alone). Where the normal rows form several
    separate groups (several digit classes), their codes are not one
    Gaussian, anomalies get codes between the groups, near the centre, and
    the code part misleads: use ``anomaly_score="reconstruction"`` there.

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
        :class:`~skae.AutoEncoderTransformer` with a bottleneck below the
        number of features (``min(2, n_features - 1)``) and its own
        stopping rule, ``tol=3e-3`` and ``n_iter_no_change=3``: on the
        benchmark suite this coarse fit ranks outliers as well as one
        trained at the estimator's defaults, in a fifth of the epochs. Its
        bottleneck decides what counts as normal: too wide a code also
        reconstructs the outliers well.

    anomaly_score : {"combined", "reconstruction", "code"}, default="combined"
        The score :meth:`score_samples` returns (see above): both parts,
        the autoencoder's reconstruction score alone, or the code part
        alone. "combined" and "code" need an autoencoder with
        ``transform``.

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
          Both parts are skewed to the right, so even clean data has a
          tail beyond the threshold, more so for the combined score: with
          the reconstruction score 2-3 % of the clean digits are flagged;
          with the combined score, on the benchmark suite (10 % outliers
          among the training rows), 0-14 % of the held-out normal rows
          (8 % on average) and 77-100 % of the outliers. Not the 0.13 % of
          a normal distribution: where the share of outliers is known, a
          float ``contamination`` sets a tighter threshold. It is only as
          good as the
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

    feature_scales_ : ndarray of shape (n_features,)
        Each feature's mean squared residual over the training rows (at
        least a tenth of their mean over the features): the unit of the
        residual part. Only with ``anomaly_score`` "combined" or "code",
        as are the three attributes below.

    code_mean_ : ndarray of shape (n_components,)
        Centre of the training codes' Gaussian (robust location).

    code_precision_ : ndarray of shape (n_components, n_components)
        Inverse covariance of the training codes' Gaussian.

    part_scales_ : ndarray of shape (2,)
        Medians of the residual and code parts over the training rows,
        ``(m_r, m_c)``: what each part is divided by.

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
        "anomaly_score": [StrOptions(set(ANOMALY_SCORES))],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        autoencoder=None,
        *,
        anomaly_score="combined",
        contamination="auto",
        random_state=None,
    ):
        self.autoencoder = autoencoder
        self.anomaly_score = anomaly_score
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
                    n_components=max(0, min(2, X.shape[1] - 1)), **DETECTOR_TRAINING
                )
            else:
                autoencoder = clone(self.autoencoder)
            if self.anomaly_score != "reconstruction" and not hasattr(
                autoencoder, "transform"
            ):
                raise ValueError(
                    f"anomaly_score={self.anomaly_score!r} scores the codes, but "
                    f"{type(autoencoder).__name__} has no transform method; use "
                    'anomaly_score="reconstruction".'
                )
            seed = None if self.random_state is None else new_seed(self.random_state)
            seed_clone(autoencoder, seed).fit(X, None)
            self.autoencoder_ = autoencoder
            if self.anomaly_score == "reconstruction":
                # A refit with another score must not leave the parts of the
                # last fit behind.
                for name in _PART_ATTRIBUTES:
                    self.__dict__.pop(name, None)
                scores = autoencoder.score_samples(X)
            else:
                scores = self._fit_parts(X, seed)
            self.offset_ = self._threshold(scores)
        return self

    def _fit_parts(self, X, seed):
        """Fit the scales of both parts on the training rows; return their scores."""
        errors = self._feature_errors(X)
        scales = errors.mean(axis=0, dtype=np.float64)
        # A feature the network reconstructs (almost) exactly, a constant
        # pixel, would otherwise weigh its smallest residual without bound.
        self.feature_scales_ = np.maximum(
            scales, _SCALE_FLOOR * max(float(scales.mean()), np.finfo(float).tiny)
        )
        codes = np.asarray(self.autoencoder_.transform(X), dtype=np.float64)
        self.code_mean_, self.code_precision_ = _code_density(codes, seed)
        residual = self._residual_part(errors)
        code = self._code_part(codes)
        self.part_scales_ = np.array(
            [_typical(residual), _typical(code)], dtype=np.float64
        )
        return self._combine(residual, code)

    def _residual_part(self, errors):
        return np.sum(errors / self.feature_scales_, axis=1, dtype=np.float64)

    def _code_part(self, codes):
        centred = np.asarray(codes, dtype=np.float64) - self.code_mean_
        return np.einsum("ij,jk,ik->i", centred, self.code_precision_, centred)

    def _combine(self, residual, code):
        """Minus each part over its typical training value, summed or alone."""
        residual_scale, code_scale = self.part_scales_
        if self.anomaly_score == "code":
            return -code / code_scale
        return -(residual / residual_scale + code / code_scale)

    def _threshold(self, scores):
        if self.contamination == "auto":
            return robust_offset(scores)
        scores = scores.astype(np.float64)
        return float(np.percentile(scores, 100.0 * self.contamination))

    def score_samples(self, X):
        """Return each row's score: higher is more normal.

        With ``anomaly_score="combined"``, minus the sum of the two parts,
        each over its typical (median) training value,
        ``-(residual_distances(X) / m_r + code_distances(X) / m_c)``; with
        ``"code"``, minus the code part alone, ``-code_distances(X) / m_c``;
        with ``"reconstruction"``, ``autoencoder_.score_samples(X)``: minus
        the mean squared reconstruction error for the plain, sparse,
        contractive and denoising autoencoders, the ELBO for a
        :class:`~skae.VariationalAE` (see the class description).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher means more normal. float64 for the "combined" and
            "code" scores; of the dtype the autoencoder's ``score_samples``
            returns for "reconstruction".
        """
        X = check_fitted_input(self, X)
        if self.anomaly_score == "reconstruction":
            return self.autoencoder_.score_samples(X)
        code = self._code_part(self.autoencoder_.transform(X))
        if self.anomaly_score == "code":
            return self._combine(None, code)
        return self._combine(self._residual_part(self._feature_errors(X)), code)

    def residual_distances(self, X):
        """Return how far each row lies off the learned manifold.

        The squared reconstruction residual of each feature over that
        feature's mean over the training rows, summed:
        ``(feature_errors(X) / feature_scales_).sum(axis=1)``. A row as well
        reconstructed as the training rows scores about ``n_features``;
        one noisy feature counts no more than a quiet one.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to measure.

        Returns
        -------
        distances : ndarray of shape (n_samples,)
            Float64; higher is more anomalous.
        """
        self._check_parts()
        return self._residual_part(self.feature_errors(X))

    def code_distances(self, X):
        """Return how unusual each row's code is among the training codes.

        The squared Mahalanobis distance of the code
        (``autoencoder_.transform(X)``) to the training codes' mean, in
        their covariance: ``(z - code_mean_) @ code_precision_ @ (z -
        code_mean_)``. A row along the manifold but far out in it (larger
        than the training rows along the directions the code keeps) has a
        small residual and a large code distance.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to measure.

        Returns
        -------
        distances : ndarray of shape (n_samples,)
            Float64; higher is more anomalous; its median over the
            training rows is ``part_scales_[1]``.
        """
        self._check_parts()
        X = check_fitted_input(self, X)
        return self._code_part(self.autoencoder_.transform(X))

    def _check_parts(self):
        check_is_fitted(self)
        if not hasattr(self, "code_precision_"):
            raise AttributeError(
                'The parts are fitted for anomaly_score="combined" or "code"; '
                'this detector was fitted with anomaly_score="reconstruction".'
            )

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
        return self._feature_errors(check_fitted_input(self, X))

    def _feature_errors(self, X):
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
