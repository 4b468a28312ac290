"""EncoderClassifier: pretrain an autoencoder, then classify with its encoder."""

import contextlib
import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._autoencoder import AutoEncoderTransformer
from ._base import BaseAutoEncoder
from ._data import FitData, split_rows
from ._devices import resolve_device
from ._inference import map_row_blocks
from ._net import BIAS_WITHOUT_DECAY, SkaeNet
from ._repr import DocLinkMixin
from ._seeding import build_module, seed_clone
from ._statistics import column_mean_var
from ._stopping import training_callbacks
from ._training import (
    TrainedNetMixin,
    check_widths,
    net_arguments,
    record_training,
    resolve_batch_size,
    restore_on_failure,
    run_epochs,
)
from ._validation import check_fitted_input
from ._warnings import SkaeConvergenceWarning, warn_user
from .modules._random import FitGenerators, randn_like
from .modules._scaled import Standardize

# The linear probe trains only a new head on standardised codes; it runs at
# this multiple of ``learning_rate_init``, the rate of fine-tuning.
_PROBE_LR_FACTOR = 10.0

_TRAINING_PARAMETERS = (
    "max_iter",
    "batch_size",
    "learning_rate_init",
    "optimizer",
    "alpha",
    "tol",
    "n_iter_no_change",
    "early_stopping",
    "validation_fraction",
    "precision",
    "random_state",
    "device",
    "verbose",
    "callbacks",
)


class EncoderClassifier(DocLinkMixin, TrainedNetMixin, ClassifierMixin, BaseEstimator):
    r"""Classifier on a pretrained autoencoder's encoder, fine-tuned on labels.

    Semi-supervised learning with scikit-learn's convention for unlabelled
    rows (as :class:`~sklearn.semi_supervised.SelfTrainingClassifier`): a
    row whose label is ``-1`` is unlabelled. First the autoencoder (a clone)
    learns to reconstruct every row of X, labelled or not [1]_. Then a
    copy of its encoder is topped with a small head (``head_hidden_layer_sizes``
    ReLU layers, then a linear layer to one logit per class) and trained.
    Because the unlabelled rows travel in X, a Pipeline preprocesses them
    like the others and cross-validation splits them with the rest;
    ``classes_`` never holds -1. ``autoencoder_`` keeps the pretrained
    autoencoder as it was; the classifier's network is ``module_``.

    The supervised training follows a recipe that holds up with few labels:

    1. *Linear probe.* The encoder is frozen and only the head is trained,
       on the labelled rows, at ten times ``learning_rate_init``, until the
       training loss stops improving (``tol``, ``n_iter_no_change``) or
       after ``max_iter`` epochs. The head sees the codes standardised with
       the mean and standard deviation of the pretraining rows' codes, so
       that one learning rate suits any autoencoder's code scale. Training
       the pretrained encoder with a random head from the start lets the
       head's early, random gradients distort the pretrained features [2]_.
    2. *Fine-tuning* (with ``fine_tune=True``). Encoder and head are
       trained together at ``learning_rate_init`` on every row: the
       cross-entropy of the labelled rows plus ``consistency_weight`` times
       a consistency term that needs no label, the squared distance between
       the class probabilities the network gives two noisy copies of a row
       (Gaussian noise of ``consistency_noise`` times each feature's
       standard deviation; the Pi-model of Laine and Aila [3]_). The
       unlabelled rows thus teach the network to give nearby inputs the
       same class, which moves its decision boundaries into the gaps
       between the clusters the autoencoder found. The same stopping rule
       ends it, applied to that whole objective.

    ``alpha`` regularises both phases: weight decay on the head, and on
    the encoder the L2-SP penalty :math:`\frac{\alpha}{2}\lVert \theta -
    \theta_{\text{pretrained}} \rVert^2`, which pulls the weights back to
    their pretrained values rather than to zero (decaying them to zero
    would erase the pretraining).

    On the 8x8 digits (pixels / 16, 75/25 split, mean of 10 draws of the
    labelled rows, ``AutoEncoderTransformer(n_components=16)``), with 5
    labels per class it reaches 0.918 accuracy (0.906 behind a
    ``StandardScaler``) where a logistic regression on the labelled rows
    gets 0.865 (0.839), scikit-learn's ``SelfTrainingClassifier`` of that
    regression 0.811 (0.896) and ``LabelSpreading`` 0.934 (0.860); with
    10 % labels 0.950 (0.949) against 0.906 (0.904), 0.928 (0.932) and
    0.956 (0.893). Without the consistency term (``consistency_weight=0``,
    fine-tuning on the labelled rows only, as in 0.2) it was level with the
    logistic regression. On features of very different scales (breast
    cancer without a scaler) it does worse than a logistic regression:
    put a ``StandardScaler`` in front.

    With very few labels among many uninformative features (the digits
    with 300 noise features and 1-2 labels per class), the consistency
    term can pull every unlabelled row into one class; there
    ``consistency_weight=0`` does better.

    To pretrain once and train several classifiers (other labels, other
    heads), pass a fitted autoencoder wrapped in
    :class:`sklearn.frozen.FrozenEstimator`: it is then neither cloned nor
    refitted.

    Read more in the :ref:`User Guide <encoder_classifier>`.

    Parameters
    ----------
    autoencoder : estimator, default=None
        The skae autoencoder to pretrain; it is cloned, never fitted in
        place. None means ``AutoEncoderTransformer(device=device)``. Its
        codes are the features the classifier starts from, so give the
        bottleneck room: the default ``n_components=2`` suits plots more
        than classification. When its ``random_state`` is None, it is
        seeded from this estimator's ``random_state``.

    head_hidden_layer_sizes : array-like of int, default=()
        Widths of the ReLU layers of the head between the code and the
        output layer; ``()`` makes the head a linear (softmax) layer.

    fine_tune : bool, default=True
        Train the encoder with the head after the linear probe. False keeps
        the pretrained encoder frozen: only the head is trained, on the
        labelled rows.

    consistency_weight : float, default=3.0
        Weight of the consistency term while fine-tuning: the mean squared
        distance between the class probabilities of two noisy copies of
        each row, labelled or not. 0 fine-tunes on the labelled rows alone.
        Chosen on the digits (5 labels per class and 10 %, with and without
        a scaler): 3 is within 0.007 of the best of 1, 3 and 10 in each
        setting, while 10 loses 0.03 behind a scaler with 5 labels per class
        and 1 loses 0.008 there with 10 %.

    consistency_noise : float, default=0.5
        Standard deviation of the Gaussian noise of the consistency term,
        as a fraction of each feature's standard deviation over the
        training rows (so the same value suits any units). On the digits
        0.3 and 0.8 were worse (by up to 0.04) or level in each setting.

    max_iter : int, default=200
        Maximum number of epochs of each phase (probe, fine-tuning).

    batch_size : int or "auto", default="auto"
        Rows per minibatch; "auto" is ``min(200, n_samples)``.

    learning_rate_init : float, default=1e-3
        Learning rate of fine-tuning, where the encoder's weights move. The
        linear probe, which trains only the new head, runs at ten times
        this rate.

    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        The optimizer; "sgd" uses Nesterov momentum 0.9 as MLPClassifier
        does.

    alpha : float, default=0.0
        L2 regularisation: weight decay of the head (the optimizer's
        ``weight_decay``) and, while fine-tuning, the L2-SP penalty that
        pulls the encoder towards its pretrained weights. With the
        consistency term, 0.1 lowers accuracy on the digits from 2 labels
        per class up (0.860 against 0.913 at 5 per class).

    tol : float, default=7e-4
        Minimum improvement of the monitored score that resets the patience
        counter: the validation accuracy with early stopping, otherwise the
        unit-free ``train_score = 1 - cross-entropy / log(n_classes)`` (the
        training loss as a fraction of chance level's). As for the
        autoencoders, the gain asked of an epoch is capped at 2 % of the
        remaining ``1 - score`` and no phase stops while the score is below
        0.05.

    n_iter_no_change : int, default=5
        Epochs without an improvement of at least ``tol`` after which a
        phase stops as converged.

    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the labelled rows,
        monitor its accuracy and keep the weights of the best epoch over
        both phases (probe and fine-tuning). The autoencoder still
        pretrains on every row.

    validation_fraction : float, default=0.1
        Held-out fraction of the labelled rows for early stopping.

    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the supervised phase and of prediction. "float32"
        trains in float32 whatever the input's dtype (float64 rows are
        centred and scaled in float64 first; an autoencoder of your own
        whose ``encoder_`` does not start with skae's ``Standardize`` step
        trains in its own dtype) and predicts float64 input in float64.
        "bfloat16" runs them under :func:`torch.autocast` (mixed precision)
        with float32 master weights; probabilities still follow the input
        dtype.
        The autoencoder's pretraining follows its own ``precision``.

    random_state : int, RandomState instance or None, default=None
        Seeds the head's initialisation, shuffling and the validation
        split, and the autoencoder when its own ``random_state`` is None.
        An int gives bitwise-identical results on the same machine and
        device. Torch's global random state is left untouched.

    device : str, default="auto"
        Device of the supervised phase: "auto" picks CUDA when available
        and the CPU otherwise; any torch device string is accepted. An
        unavailable device raises ValueError in ``fit``.

    verbose : int, default=0
        0 is silent. 1 shows one progress bar over the epochs of each phase
        (plain lines where stderr is not a terminal); 2 prints a table per
        epoch, coloured on a terminal only.

    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` added to the supervised training
        loop. They are copied at ``fit``; the trained copies live in
        ``net_.callbacks_``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    autoencoder_ : estimator
        The fitted clone of ``autoencoder``, as pretraining left it: the
        classifier trains a copy of its encoder.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    n_iter_ : int
        Number of supervised epochs run, both phases together.

    loss_curve_ : list of float
        Training cross-entropy of each supervised epoch.

    validation_scores_ : list of float or None
        Accuracy on the held-out split at each supervised epoch. Only
        available if ``early_stopping=True``, otherwise None.

    best_validation_score_ : float or None
        Best of ``validation_scores_``, over both phases: the accuracy of
        the weights the classifier holds. Only available if
        ``early_stopping=True``, otherwise None.

    module_ : torch.nn.Module
        The trained network: ``module_.encoder`` then ``module_.head``.

    net_ : skorch.NeuralNet
        The skorch net of the supervised phase; its ``history`` holds the
        epochs of both phases.

    device_ : torch.device
        The device the weights live on.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The same network without
        pretraining.
    sklearn.semi_supervised.SelfTrainingClassifier : Semi-supervised
        learning by pseudo-labelling.
    sklearn.semi_supervised.LabelSpreading : Semi-supervised learning by
        spreading labels over a similarity graph of the rows.
    AutoEncoderTransformer : The default autoencoder.

    References
    ----------
    .. [1] Y. Bengio, P. Lamblin, D. Popovici and H. Larochelle, "Greedy
       layer-wise training of deep networks", NeurIPS, 2006.
    .. [2] A. Kumar, A. Raghunathan, R. Jones, T. Ma and P. Liang,
       "Fine-tuning can distort pretrained features and underperform
       out-of-distribution", ICLR, 2022 (linear probing then fine-tuning).
    .. [3] S. Laine and T. Aila, "Temporal ensembling for semi-supervised
       learning", ICLR, 2017 (the Pi-model).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoEncoderTransformer, EncoderClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> ae = AutoEncoderTransformer(n_components=16, max_iter=30, random_state=0)
    >>> clf = EncoderClassifier(ae, max_iter=50, random_state=0)
    >>> y_partial = y[:1500].copy()
    >>> y_partial[100:] = -1  # 100 labelled rows, 1400 unlabelled ones
    >>> clf.fit(X[:1500], y_partial)
    EncoderClassifier(...)
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.predict_proba(X[1500:1503]).shape
    (3, 10)
    >>> round(clf.score(X[1500:], y[1500:]), 1) >= 0.8
    True
    """

    _parameter_constraints: dict = {
        "autoencoder": [HasMethods(["fit", "transform"]), None],
        "head_hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "fine_tune": ["boolean"],
        "consistency_weight": [Interval(Real, 0, None, closed="left")],
        "consistency_noise": [Interval(Real, 0, None, closed="neither")],
        **{
            name: BaseAutoEncoder._parameter_constraints[name]
            for name in _TRAINING_PARAMETERS
        },
    }

    def __init__(
        self,
        autoencoder=None,
        *,
        head_hidden_layer_sizes=(),
        fine_tune=True,
        consistency_weight=3.0,
        consistency_noise=0.5,
        max_iter=200,
        batch_size="auto",
        learning_rate_init=1e-3,
        optimizer="adam",
        alpha=0.0,
        tol=9e-4,
        n_iter_no_change=8,
        early_stopping=False,
        validation_fraction=0.1,
        precision="float32",
        random_state=None,
        device="auto",
        verbose=0,
        callbacks=None,
    ):
        self.autoencoder = autoencoder
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.fine_tune = fine_tune
        self.consistency_weight = consistency_weight
        self.consistency_noise = consistency_noise
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.optimizer = optimizer
        self.alpha = alpha
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.precision = precision
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.callbacks = callbacks

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Pretrain the autoencoder on every row, then classify the labelled ones.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows, labelled and unlabelled. Sparse CSR/CSC input is
            densified batch by batch.
        y : array-like of shape (n_samples,)
            Class labels, of any type scikit-learn classifiers accept
            (integers, strings, ...); ``-1`` marks an unlabelled row (the
            integer -1, or the string "-1" in an array of strings), as in
            :class:`~sklearn.semi_supervised.SelfTrainingClassifier`.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        with restore_on_failure(self):
            self._fit(X, y)
        return self

    def _fit(self, X, y):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=("csr", "csc"),
            dtype=(np.float32, np.float64),
        )
        labeled = ~_unlabeled(y)
        y_labeled = y[labeled]
        if y_labeled.shape[0] == 0:
            raise ValueError(
                "EncoderClassifier needs labelled rows; every label is -1 (unlabelled)."
            )
        check_classification_targets(y_labeled)
        labels = LabelEncoder().fit(y_labeled)
        if len(labels.classes_) < 2:
            raise ValueError(
                "EncoderClassifier needs samples of at least 2 classes; the "
                f"data contain only one class: {labels.classes_[0]!r}."
            )
        target = labels.transform(y_labeled).astype(np.int64)
        check_widths(self.head_hidden_layer_sizes, "head_hidden_layer_sizes")
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        autoencoder = self._make_autoencoder(rng)
        autoencoder.fit(X, None)  # every row, labelled or not
        generators = FitGenerators(rng.randint(np.iinfo(np.int32).max))
        codes = autoencoder.transform(X)
        module = self._new_module(autoencoder, codes, len(labels.classes_), generators)
        # Every row with its class index; -1 marks the unlabelled ones.
        targets = np.full(X.shape[0], -1, dtype=np.int64)
        targets[labeled] = target
        net, stopping = self._train(
            module, FitData(X, targets), np.flatnonzero(labeled), device, generators
        )
        self.classes_ = labels.classes_
        self.autoencoder_ = autoencoder
        net.module_.eval()
        record_training(
            self,
            net,
            stopping,
            validate=self.early_stopping,
            warn=True,
            max_iter=self.max_iter,
        )

    def _make_autoencoder(self, rng):
        if self.autoencoder is None:
            autoencoder = AutoEncoderTransformer(device=self.device)
        else:
            autoencoder = clone(self.autoencoder)
        seed = rng.randint(np.iinfo(np.int32).max)  # drawn always: rng's next draws
        # Pretrained features fine-tune better from a random start than from
        # AutoEncoderTransformer's PCA start (digits with 10 % labels: 0.918
        # against 0.884 accuracy): "auto" means "random" here, an explicit
        # start is kept.
        if autoencoder.get_params(deep=False).get("init") == "auto":
            autoencoder.set_params(init="random")
        return seed_clone(autoencoder, None if self.random_state is None else seed)

    def _new_module(self, autoencoder, codes, n_classes, generators):
        """Return a copy of the pretrained encoder topped with a new head."""
        encoder = getattr(autoencoder, "encoder_", None)
        if not isinstance(encoder, torch.nn.Module):
            raise ValueError(
                "autoencoder must expose its trained encoder as a torch module "
                f"in encoder_ after fit, as skae's autoencoders do; "
                f"{type(autoencoder).__name__} does not."
            )
        encoder = copy.deepcopy(encoder)
        # Under bfloat16 autocast the master weights are float32 (autocast
        # leaves float64 alone).
        dtype = (
            torch.float32
            if self.precision == "bfloat16"
            else next(encoder.parameters()).dtype
        )
        codes = torch.from_numpy(np.asarray(codes, dtype=np.float64))
        return build_module(
            generators,
            lambda: _EncoderHead(
                encoder,
                codes.mean(dim=0),
                codes.std(dim=0, correction=0),
                check_widths(self.head_hidden_layer_sizes, "head_hidden_layer_sizes"),
                n_classes,
            ),
        ).to(dtype)

    def _train(self, module, data, labeled, device, generators):
        """Train ``module`` (see :meth:`_train_phases`) with float32 arithmetic.

        A float64 model trains in float32, as the autoencoders do: its
        encoder's first step, the input standardization, stays float64 (a
        large offset keeps its digits) and hands float32 rows on; the model
        returns to float64 afterwards, so prediction keeps float64.
        """
        with _float32_behind_standardization(module) as dtype:
            return self._train_phases(module, data, labeled, device, generators, dtype)

    def _train_phases(self, module, data, labeled, device, generators, dtype):
        """Probe, then fine-tune; return the net and its stopping rule.

        One generator per device for the fit (the head's initialisation,
        then training). Both phases share one validation split (labelled
        rows only) and one best (score, weights) pair: the weights kept are
        the best epoch's over both phases. The probe trains on the labelled
        rows; fine-tuning with ``consistency_weight > 0`` on every row that
        is not held out.
        """
        valid_rows = None
        if self.early_stopping:
            train, valid = _split_labeled(
                data.target[labeled], self.validation_fraction, generators.seed
            )
            labeled, valid_rows = labeled[train], labeled[valid]
        # Batches (and the consistency noise) stay in the model's dtype.
        probe_train, valid = data.split((labeled, valid_rows)).datasets(
            dtype, device, target_dtype=torch.int64
        )
        n_classes = module.head[-1].out_features
        module.frozen = True
        net = self._make_net(
            module,
            len(labeled),
            data.n_features,
            device,
            lr=self.learning_rate_init * _PROBE_LR_FACTOR,
            # Cross-entropy as a fraction of chance level's, log(n_classes).
            total=float(np.log(n_classes)),
        )
        stopping = run_epochs(net, generators, probe_train, valid, self.max_iter)
        if not self.fine_tune:
            return net, stopping
        train = probe_train
        if self.consistency_weight > 0:
            rows = np.arange(data.X.shape[0])
            if valid_rows is not None:
                rows = np.setdiff1d(rows, valid_rows)
            # The same tensors as the probe's: X goes to the device once.
            train = probe_train.with_rows(rows)
            _, variance = column_mean_var(data.X)
            net.noise_scale_ = torch.as_tensor(
                self.consistency_noise * np.sqrt(variance), dtype=dtype, device=device
            )
            net.set_params(batch_size=resolve_batch_size(self.batch_size, len(rows)))
        try:
            stopping = self._fine_tune(net, stopping, generators, train, valid)
        finally:
            net.noise_scale_ = None
        return net, stopping

    def _fine_tune(self, net, stopping, generators, train, valid):
        """Unfreeze the encoder and train on from the probe's best."""
        if not stopping.stopped_:
            warn_user(
                f"The linear probe reached max_iter={self.max_iter} epochs "
                "without converging; fine-tuning starts from it.",
                SkaeConvergenceWarning,
                self,
            )
        # The best of the probe is the one to beat while fine-tuning.
        stopping.best = stopping.best_pair()
        module = net.module_
        module.frozen = False
        net.set_params(lr=self.learning_rate_init)
        net.anchor_ = [w.detach().clone() for w in module.encoder.parameters()]
        try:
            return run_epochs(net, generators, train, valid, self.max_iter)
        finally:
            net.anchor_ = None

    def _make_net(self, module, n_samples, n_features, device, *, lr=None, total=1.0):
        net = _ClassifierNet(
            module=module,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer__weight_decay=self.alpha,
            # The encoder is pulled towards its pretrained weights instead
            # (``anchor_weight``), not towards zero; biases are not decayed.
            optimizer__param_groups=[
                ("encoder.*", {"weight_decay": 0.0}),
                BIAS_WITHOUT_DECAY,
            ],
            anchor_weight=self.alpha,
            consistency_weight=self.consistency_weight,
            precision=self.precision,
            callbacks=training_callbacks(
                self, validate=self.early_stopping, total=total, best=None
            ),
            **net_arguments(
                self, n_samples=n_samples, n_features=n_features, device=device, lr=lr
            ),
        )
        return net.initialize()

    def _rebuild_module(self, dtype):
        """Return an untrained network shaped like the fitted one (skae.load).

        The code statistics are buffers: the saved state_dict restores them.
        """
        width = self.autoencoder_.n_components_
        module = _EncoderHead(
            copy.deepcopy(self.autoencoder_.encoder_),
            torch.zeros(width),
            torch.ones(width),
            check_widths(self.head_hidden_layer_sizes, "head_hidden_layer_sizes"),
            len(self.classes_),
        ).to(dtype)
        module.frozen = not self.fine_tune
        return module

    def _rebuild_net(self, *, dtype, device, batch_size):
        """Return an initialized net shaped like the fitted one (for skae.load)."""
        module = build_module(FitGenerators(0), lambda: self._rebuild_module(dtype))
        return self._make_net(module, batch_size, self.n_features_in_, device)

    # ------------------------------------------------------------ inference
    def predict_proba(self, X):
        """Predict the class probabilities of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in the order of ``classes_``, of
            X's floating dtype (float32 for other input).
        """
        X = check_fitted_input(self, X)
        return map_row_blocks(
            self.module_,
            # The softmax in at least float32, so that a row sums to 1 under
            # bfloat16 autocast too (logits of float64 stay float64).
            lambda module, x: torch.softmax(module(x), dim=1, dtype=_softmax_dtype(x)),
            X,
            len(self.classes_),
            "probabilities",
            precision=self.precision,
        )

    def predict(self, X):
        """Predict the class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The most probable class of each row, from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        autoencoder = (
            AutoEncoderTransformer() if self.autoencoder is None else self.autoencoder
        )
        tags.input_tags.sparse = get_tags(autoencoder).input_tags.sparse
        return tags


@contextlib.contextmanager
def _float32_behind_standardization(module):
    """Run the float64 ``module`` in float32 after its input standardization.

    Yields the model's own dtype, the one its batches keep. Does nothing to
    a float32 module, or to an encoder that does not start with a
    :class:`~skae.modules._scaled.Standardize` step.
    """
    encoder = module.encoder
    first = encoder[0] if isinstance(encoder, torch.nn.Sequential) else None
    dtype = next(module.parameters()).dtype
    if dtype != torch.float64 or not isinstance(first, Standardize):
        yield dtype
        return
    kept = {name: value.clone() for name, value in first.state_dict().items()}
    module.to(torch.float32)
    first.to(dtype).load_state_dict(kept)  # the centring keeps float64's digits
    hook = first.register_forward_hook(lambda _, __, rows: rows.to(torch.float32))
    try:
        yield dtype
    finally:
        hook.remove()
        module.to(dtype)


class _EncoderHead(torch.nn.Module):
    """A pretrained encoder, standardisation of its codes, then a head.

    While ``frozen`` the encoder gets no gradients and stays in eval mode
    (dropout off, batch-norm statistics fixed), which makes the first
    phase a probe of the pretrained features.
    """

    def __init__(self, encoder, code_mean, code_std, hidden_layer_sizes, n_classes):
        super().__init__()
        self.encoder = encoder
        self.register_buffer("code_mean", code_mean)
        # A constant code unit would divide by zero; leave it unscaled.
        self.register_buffer("code_scale", torch.where(code_std > 0, 1 / code_std, 1.0))
        widths = [len(code_mean), *hidden_layer_sizes]
        layers = []
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [torch.nn.Linear(width_in, width_out), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(widths[-1], n_classes))
        self.head = torch.nn.Sequential(*layers)
        self.frozen = False

    @property
    def frozen(self):
        """Whether the encoder is excluded from training."""
        return self._frozen

    @frozen.setter
    def frozen(self, value):
        self._frozen = value
        self.encoder.requires_grad_(not value)
        self.train(self.training)

    def train(self, mode=True):
        """Set training mode, keeping a frozen encoder in eval mode."""
        super().train(mode)
        if self._frozen:
            self.encoder.eval()
        return self

    def forward(self, x):
        """Return the class logits of the rows ``x``."""
        return self.head((self.encoder(x) - self.code_mean) * self.code_scale)


class _ClassifierNet(SkaeNet):
    """skorch net of the supervised phase: cross-entropy on the logits.

    The held-out accuracy is its ``valid_score``. Rows whose target is -1
    are unlabelled: they add no cross-entropy. While fine-tuning, the
    encoder is pulled towards its pretrained weights (``anchor_weight``)
    and, when ``noise_scale_`` is set, the predictions for two noisy copies
    of every row are pulled together (``consistency_weight``).
    """

    def __init__(self, *args, anchor_weight=0.0, consistency_weight=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.anchor_weight = anchor_weight
        self.consistency_weight = consistency_weight
        self.anchor_ = None
        self.noise_scale_ = None

    def get_loss(self, y_pred, y_true, X=None, training=False):
        labeled = y_true >= 0
        # The mean over the batch's labelled rows; a batch without any adds
        # no cross-entropy (torch's ignore_index would give NaN).
        loss = torch.nn.functional.cross_entropy(
            y_pred[labeled], y_true[labeled], reduction="sum"
        ) / labeled.sum().clamp(min=1)
        if not training:
            return loss
        if self.noise_scale_ is not None and self.consistency_weight > 0:
            loss = loss + self.consistency_weight * self._inconsistency(X)
        if self.anchor_ is not None and self.anchor_weight > 0:
            # L2-SP: (alpha / 2) ||theta - theta_pretrained||^2, whose gradient
            # matches weight decay's alpha * theta on the head.
            weights = self.module_.encoder.parameters()
            drift = sum(
                torch.sum((w - w0) ** 2)
                for w, w0 in zip(weights, self.anchor_, strict=True)
            )
            loss = loss + 0.5 * self.anchor_weight * drift
        return loss

    def _inconsistency(self, X):
        """Mean squared distance between the class probabilities of two noisy copies.

        The Pi-model's consistency term (Laine and Aila, 2017): it needs no
        labels, so every row, labelled or not, teaches the network to give
        nearby inputs the same class.
        """
        noisy = [X + self.noise_scale_ * randn_like(X) for _ in range(2)]
        first, second = (
            torch.softmax(self.infer(x), dim=1, dtype=torch.float32) for x in noisy
        )
        return torch.sum((first - second) ** 2, dim=1).mean()

    def batch_score(self, step, batch):
        correct = step["y_pred"].argmax(dim=1) == batch[1]
        return correct.double().mean().item()


def _softmax_dtype(x):
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _split_labeled(y, fraction, seed):
    """(train, validation) rows, stratified by class where the counts allow."""
    rows = np.arange(len(y))
    try:
        train, valid = train_test_split(
            rows, test_size=fraction, stratify=y, random_state=seed
        )
    except ValueError:  # a class too small to be on both sides
        return split_rows(len(y), fraction, seed)
    return np.sort(train), np.sort(valid)


def _unlabeled(y):
    """Mask of the unlabelled rows: those labelled -1 or "-1".

    ``y`` is what ``validate_data`` made of any label container
    scikit-learn accepts (a list, a numpy integer, float, string, bytes or
    object array, a pandas object, string or categorical Series): the
    integer -1 and the string "-1" (numpy's rendering of -1 among strings)
    mark the same thing wherever they appear. (Bytes labels are refused
    later, as every scikit-learn classifier refuses them.)
    """
    y = np.asarray(y)
    if y.dtype.kind == "U":
        return y == "-1"
    if y.dtype.kind == "O":
        return np.fromiter((_is_minus_one(v) for v in y), dtype=bool, count=len(y))
    if y.dtype.kind in "iuf":
        return y == -1
    return np.zeros(len(y), dtype=bool)


def _is_minus_one(value):
    if isinstance(value, str):
        return value == "-1"
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, float, np.number)) and value == -1
