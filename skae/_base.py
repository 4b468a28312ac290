"""BaseAutoEncoder: the shared parameters, training and inference of skae."""

import copy
import functools
import typing
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._data import FitData, split_rows, validation_total
from ._devices import resolve_device
from ._inference import map_row_blocks
from ._net import (
    BIAS_WITHOUT_DECAY,
    AutoEncoderNet,
    FixedNoise,
    PerSampleLoss,
    adopt_optimizer_state,
    autoencode,
)
from ._repr import DocLinkMixin
from ._seeding import build_module, new_seed
from ._statistics import column_mean_var
from ._stopping import (
    LEARNT,
    copy_weights,
    learnt_too_little,
    train_score_is_r2,
    training_callbacks,
)
from ._threads import SMALL_WORK, dense_work_per_row, intra_op_threads
from ._training import (
    OPTIMIZERS,
    TrainedNetMixin,
    batch_growth,
    check_widths,
    net_arguments,
    record_training,
    restore_on_failure,
    run_epochs,
)
from ._validation import check_fitted_input, numeric_input
from ._warnings import SkaeConvergenceWarning, warn_user
from .modules import (
    ACTIVATIONS,
    ConvAutoEncoder,
    MLPAutoEncoder,
    RecurrentAutoEncoder,
    TransformerAutoEncoder,
    check_input_shape,
)
from .modules._layers import _Method
from .modules._random import FitGenerators
from .modules._scaled import MeanOnly, Standardize, Standardized, Unstandardize

_LOSSES = {
    "mse": torch.nn.MSELoss,
    "l1": torch.nn.L1Loss,
    "huber": torch.nn.HuberLoss,
    "bce": torch.nn.BCELoss,
}

# Built-in architectures: name -> module class taking the shared keywords.
ARCHITECTURES = {
    "mlp": MLPAutoEncoder,
    "conv": ConvAutoEncoder,
    "lstm": functools.partial(RecurrentAutoEncoder, cell="lstm"),
    "gru": functools.partial(RecurrentAutoEncoder, cell="gru"),
    "transformer": TransformerAutoEncoder,
}
# The architectures that view rows through `input_shape`, and its layout.
_SHAPED_ARCHITECTURES = {
    "conv": "(C, H, W)",
    "lstm": "(T, F)",
    "gru": "(T, F)",
    "transformer": "(T, F)",
}


def _trains_incrementally(estimator):
    """Whether ``partial_fit`` is available (an AttributeError says why not)."""
    if estimator.early_stopping:
        raise AttributeError(
            "partial_fit is not available with early_stopping=True: each call "
            "trains one epoch and cannot stop early. Use fit, or set "
            "early_stopping=False."
        )
    if estimator._searches_bottleneck():
        raise AttributeError(
            "partial_fit is not available with a fractional n_components, "
            "which fit searches; give an int n_components."
        )
    return True


class BaseAutoEncoder(
    DocLinkMixin,
    TrainedNetMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Base class of the skae autoencoders.

    Warning: This class should not be used directly. Use derived classes
    instead. Subclasses change the training objective through four small
    hooks: :meth:`_build_module`, :meth:`_forward_fn`, :meth:`_penalty` and
    :meth:`_corruption`.
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 0, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
        ],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "architecture": [StrOptions(set(ARCHITECTURES)), callable],
        "input_shape": [tuple, None],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "output_activation": [StrOptions({"identity", "sigmoid"})],
        "loss": [StrOptions(set(_LOSSES))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(128,),
        architecture="mlp",
        input_shape=None,
        activation="relu",
        dropout=0.0,
        output_activation="identity",
        loss="mse",
        alpha=0.0,
        optimizer="adam",
        learning_rate_init=1e-3,
        batch_size="auto",
        max_iter=200,
        tol=9e-4,
        n_iter_no_change=8,
        early_stopping=False,
        validation_fraction=0.1,
        precision="float32",
        shuffle=True,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.architecture = architecture
        self.input_shape = input_shape
        self.activation = activation
        self.dropout = dropout
        self.output_activation = output_activation
        self.loss = loss
        self.alpha = alpha
        self.optimizer = optimizer
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.precision = precision
        self.shuffle = shuffle
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    # ------------------------------------------------------------------ hooks
    # What each estimator states as its own; the fit path below calls them.

    #: Parameters that shape the network: a warm-started fit or partial_fit
    #: refuses a change to one of them (a ValueError naming it); every other
    #: parameter is read afresh at each call. Subclasses add their own.
    _network_parameters = (
        "n_components",
        "hidden_layer_sizes",
        "architecture",
        "input_shape",
        "activation",
        "dropout",
        "output_activation",
    )

    def _build_module(self, n_features, n_components):
        """Return a new module with ``encode``/``decode`` for this estimator."""
        if callable(self.architecture):
            return self.architecture(
                n_features, n_components, self._input_shape(n_features)
            )
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture={self.architecture!r} is not available in this "
                f"version of skae; available: {sorted(ARCHITECTURES)} or a callable."
            )
        kwargs = {}
        if self.dropout:
            kwargs["dropout"] = self.dropout
        if self.architecture in _SHAPED_ARCHITECTURES:  # a str here
            kwargs["input_shape"] = self._input_shape(n_features)
        return ARCHITECTURES[self.architecture](
            n_features,
            n_components,
            hidden_layer_sizes=tuple(self._hidden_layer_sizes()),
            activation=self.activation,
            output_activation=self.output_activation,
            **kwargs,
        )

    def _forward_fn(self):
        """``forward(module, x, training) -> (reconstruction, code)``."""
        return autoencode

    def _penalty(self, X):
        """``penalty(module, x, code) -> scalar`` added to the loss, or None."""
        return None

    def _corruption(self, data):
        """``corrupt(x) -> noisy x`` for the training batches of ``data``, or None."""
        return None

    def _criterion(self):
        return PerSampleLoss(_LOSSES[self.loss])

    def _validate_target(self, target, X):
        """Validate a separate target for X (subclasses that take one)."""
        raise TypeError(f"{type(self).__name__} takes no separate target.")

    def _check_bottleneck(self, n_components, n_features):
        """Refuse a bottleneck that this estimator cannot use."""

    def _largest_bottleneck(self, n_features):
        """Return the widest code the bottleneck search may try."""
        return n_features

    def _fit_statistics(self, data):
        """Learn what a fresh fit learns once from its :class:`FitData`.

        The base learns the targets' per-feature mean and one global scale
        (the root mean variance of the features), which the network sees
        its data through. Subclasses may learn more (call super()).
        """
        self._data_mean, self._data_scale, self._data_variance = mean_and_scale(
            data.targets
        )

    def _principal_components(self, data, n_components):
        """Return the directions new networks start from, or None.

        ``data`` is the fit's :class:`~skae._data.FitData`; the result is a
        tensor of the first ``n_components`` principal directions of its
        training targets. The base starts every network at random.
        """
        return None

    def _start_from(self, module, components):
        """Start ``module`` at the ``components`` subspace where it can.

        Returns whether it did; ``components`` holds as many directions as
        the module's code is wide, or is None.
        """
        start = getattr(module, "start_from_subspace", None)
        if components is None or start is None:
            return False
        return bool(start(components))

    # --------------------------------------------------------------- checks
    def _hidden_layer_sizes(self):
        return check_widths(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _input_shape(self, n_features):
        """``input_shape`` with a ``-1`` entry inferred, validated against X.

        As in :func:`numpy.reshape`, one entry may be -1: ``(1, 1, -1)``
        views any row as a 1-pixel-high image, ``(-1, 1)`` as a sequence.
        """
        shape = self.input_shape
        layout = None
        if isinstance(self.architecture, str):
            layout = _SHAPED_ARCHITECTURES.get(self.architecture)
        if shape is None:
            if layout is not None:
                check_input_shape(shape, n_features, layout)  # raises: required
            return None
        if layout is None:  # "mlp" and callables: any layout that fits a row
            layout = "(" + ", ".join("d" * len(shape)) + ")"
        shape = tuple(shape)
        if shape.count(-1) == 1:
            known = int(np.prod([s for s in shape if s != -1]))
            if known < 1 or n_features % known:
                raise ValueError(
                    f"input_shape={shape} does not fit X: the -1 entry cannot be "
                    f"inferred, as {n_features} features are not a multiple of {known}."
                )
            shape = tuple(n_features // known if s == -1 else s for s in shape)
        return check_input_shape(shape, n_features, layout)

    def _check_loss(self, X):
        if self.loss != "bce":
            return
        if self.output_activation != "sigmoid":
            raise ValueError('loss="bce" requires output_activation="sigmoid".')
        low, high = X.min(), X.max()
        if low < 0 or high > 1:
            raise ValueError(
                f'loss="bce" requires data in [0, 1]; X spans [{low}, {high}].'
            )

    def _validate_module(self, module, n_features, n_components, dtype):
        if not isinstance(module, torch.nn.Module) or not all(
            callable(getattr(module, name, None)) for name in ("encode", "decode")
        ):
            raise ValueError(
                "architecture must return a torch.nn.Module with encode(x) and "
                f"decode(z) methods; got {type(module).__name__}."
            )
        # The probe runs in eval mode: dropout cannot draw on a meta-device
        # probe (a model file's shape check) and takes nothing from the fit's
        # generators.
        training = module.training
        module.eval()
        try:
            _probe(module, torch.zeros(2, n_features, dtype=dtype), n_components)
        finally:
            module.train(training)

    def _check_network_unchanged(self):
        """Refuse a change to a network-shaping parameter since the build."""
        for name, value in self._network.items():
            if not _same(getattr(self, name), value):
                raise ValueError(
                    f"{name} changed from {value!r} to {getattr(self, name)!r} "
                    "since the network was built; warm_start and partial_fit "
                    "continue training the same network. Set warm_start=False "
                    "(or clone the estimator) to train a new one."
                )

    def _searches_bottleneck(self):
        """Whether ``n_components`` is a fraction for fit to search."""
        return isinstance(self.n_components, Real) and not isinstance(
            self.n_components, Integral
        )

    # -------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse CSR/CSC input is densified batch by batch.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, incremental=False)

    @available_if(_trains_incrementally)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch over X, keeping the state of previous calls.

        Available with an int ``n_components`` and ``early_stopping=False``
        (as scikit-learn hides ``MLPClassifier.partial_fit`` for lbfgs): one
        epoch cannot stop early, and a fraction is searched by :meth:`fit`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, incremental=True)

    def _fit(self, X, target=None, *, incremental):
        """Validate, then train a new network or continue the current one.

        A new network: statistics and the start from the training rows,
        the module built from them, one net, its epochs, the record. A
        continued one: a new net from the current parameters around the
        trained module. A failed call leaves the estimator as it was.
        """
        with restore_on_failure(self):
            continuing = (incremental or self.warm_start) and hasattr(self, "net_")
            if continuing:
                self._check_network_unchanged()
            data = self._fit_data(X, target, reset=not continuing)
            device = resolve_device(self.device)
            with intra_op_threads(self._fit_threads(data.n_features, device)):
                if continuing:
                    self._continue_training(data, device, incremental)
                else:
                    self._train_new(data, device, incremental)
        return self

    def _fit_threads(self, n_features, device):
        """One torch thread for a small dense network on the CPU, else None."""
        if torch.device(device).type != "cpu" or self.architecture != "mlp":
            return None
        width = self.n_components if isinstance(self.n_components, Integral) else None
        work = dense_work_per_row(
            n_features, self._hidden_layer_sizes(), width or n_features
        )
        return 1 if work < SMALL_WORK else None

    def _fit_data(self, X, target, *, reset):
        """Validate X (and a separate target) into a :class:`FitData`."""
        with numeric_input():
            X = validate_data(
                self,
                X,
                reset=reset,
                accept_sparse=("csr", "csc"),
                dtype=(np.float32, np.float64),
                ensure_min_samples=1,
            )
        if sp.issparse(X):
            X = X.tocsr()  # row batches; a CSC copy costs nnz, never dense
        if target is not None:
            target = self._validate_target(target, X)
        data = FitData(X, target)
        self._check_loss(data.targets)
        return data

    def _train_new(self, data, device, incremental):
        n_features = data.n_features
        self._input_shape(n_features)
        self._hidden_layer_sizes()
        search = self._searches_bottleneck()
        width = self._largest_bottleneck(n_features) if search else self.n_components
        if not search:
            self._check_bottleneck(width, n_features)
        self._seed = new_seed(self.random_state)
        self._network = {
            name: copy.deepcopy(getattr(self, name))
            for name in self._network_parameters
        }
        if search or self.early_stopping:
            data = data.split(
                split_rows(data.X.shape[0], self.validation_fraction, self._seed)
            )
        self._fit_statistics(data)
        # The start is learnt from the rows the network trains on, never
        # from the held-out ones.
        components = self._principal_components(data, width)
        if search:
            n_components, net, stopping = self._search_n_components(
                data, device, components
            )
        else:
            n_components = width
            epochs = self._epochs(n_components, incremental)
            net, stopping = self._train_candidate(
                n_components, data, device, components, epochs
            )
            self.bottleneck_scores_ = None
        self.n_components_ = n_components
        mean, scale = self._standardization(n_components)
        self.mean_ = np.asarray(mean, dtype=data.X.dtype)
        self.scale_ = float(scale)
        self._record(net, stopping, data.validates, warn=not incremental)

    def _continue_training(self, data, device, incremental):
        previous = self.net_
        if self.early_stopping:
            data = data.split(
                split_rows(data.X.shape[0], self.validation_fraction, self._seed)
            )
        resume = _Resume(
            history=previous.history,
            optimizer=previous.optimizer_ if incremental else None,
            best=self._best if data.validates else None,
        )
        module = previous.module_
        # Roll-back point: the module is trained in place. The optimizer's
        # state is copied into the new net by load_state_dict, so the old
        # one needs no copy.
        weights = copy_weights(module)
        try:
            net, stopping = self._train(
                module,
                data,
                device,
                FitGenerators.from_state(self._generator_state),
                epochs=self._epochs(self.n_components_, incremental),
                resume=resume,
            )
        except BaseException:
            module.load_state_dict(weights)
            raise
        self._record(net, stopping, data.validates, warn=not incremental)

    def _epochs(self, n_components, incremental):
        if n_components == 0:
            return 0  # nothing to learn: the reconstruction is the mean
        return 1 if incremental else self.max_iter

    def _train_candidate(self, n_components, data, device, components, epochs):
        """Build a network on ``n_components`` and train it.

        One generator per device for the whole candidate: its weights are
        initialised from it and its training then draws from it.
        """
        generators = FitGenerators(self._seed)
        module = self._new_module(
            n_components, self._model_dtype(data.X), generators, components
        )
        return self._train(module, data, device, generators, epochs=epochs)

    def _record(self, net, stopping, validate, warn):
        net.module_.eval()
        warn = warn and self.n_components_ > 0
        record_training(
            self, net, stopping, validate=validate, warn=warn, max_iter=self.max_iter
        )
        # The check reads training scores; an unbounded one (a
        # VariationalAE's ELBO) has no level that means "nothing learnt".
        warn = warn and train_score_is_r2(self)
        reached = learnt_too_little(net.history, validate, self.tol) if warn else None
        if reached is not None:
            warn_user(
                f"The network learnt almost nothing: its training score (R², "
                f"1 - training loss / the data's variance) is {reached:.3f} "
                f"after {len(net.history)} epochs, below {LEARNT} or below its "
                "first epoch's. Try a larger max_iter with a smaller tol, a "
                "different learning_rate_init, wider hidden_layer_sizes or "
                "another architecture; check that the data varies.",
                SkaeConvergenceWarning,
                self,
            )

    def _model_dtype(self, X):
        """Return the fitted network's dtype: X's, or float32 under bfloat16.

        Training itself always runs in float32 (see :meth:`_train`).
        """
        return np.float32 if self.precision == "bfloat16" else X.dtype

    def _standardization(self, n_components):
        """Return the (mean, scale) the network sees its rows through.

        Data for a sigmoid output or the BCE loss stays in [0, 1]; the
        zero-width network always reconstructs the mean, and keeps the
        rows' scale: a likelihood on the network's scale (VariationalAE's
        decoder noise) is then the data's, whatever the code width.
        """
        n_features = self._data_mean.shape[0]
        if n_components == 0:
            return self._data_mean, self._data_scale
        if self.output_activation == "sigmoid" or self.loss == "bce":
            return np.zeros(n_features), 1.0
        return self._data_mean, self._data_scale

    def _input_standardization(self, n_components):
        """Return the inputs' own (mean, scale), or None: as the targets'."""
        return None

    def _new_module(self, n_components, dtype, generators, components=None):
        """Build the network on ``n_components``, initialised from ``generators``.

        Given ``components`` (from :meth:`_principal_components`), a network
        that can (see ``MLPAutoEncoder.start_from_subspace``) starts as the
        linear autoencoder on the first ``n_components`` directions: its
        codes are PCA's scores (on the network's scale).
        """
        n_features = self._data_mean.shape[0]
        torch_dtype = (
            dtype
            if isinstance(dtype, torch.dtype)
            else getattr(torch, np.dtype(dtype).name)
        )

        def build():
            if n_components == 0:
                return MeanOnly(n_features)
            return self._build_module(n_features, n_components)

        inner = build_module(generators, build).to(torch_dtype)
        if n_components:
            start = None if components is None else components[:n_components]
            self._start_from(inner, start)
        self._validate_module(inner, n_features, n_components, torch_dtype)
        mean, scale = self._standardization(n_components)
        inputs = self._input_standardization(n_components)
        if inputs is not None:
            inputs = (torch.as_tensor(inputs[0], dtype=torch_dtype), inputs[1])
        return Standardized(
            inner, torch.as_tensor(mean, dtype=torch_dtype), scale, inputs
        ).to(torch_dtype)

    def _train(self, module, data, device, generators, *, epochs, resume=None):
        """Train ``module`` on a net built from the current parameters.

        ``resume`` (history, optimizer, best) continues an earlier call:
        its history goes on, Adam's moments carry over (``partial_fit``),
        and the best epoch so far is the one to beat.
        """
        # The network trains in float32 whatever the input's dtype (the
        # ``precision`` names the arithmetic: 0.78x the time of a float64 fit
        # on digits). Batches are still standardized in the input's dtype,
        # by the wrapper's float64 mean, so a large offset (1e6 + x) keeps
        # its digits; a float64 model returns to float64 afterwards, so
        # inference keeps float64's rounding.
        inner_dtype = module.inner_dtype
        module.inner.to(torch.float32)
        try:
            return self._train_float32(
                module, data, device, generators, epochs=epochs, resume=resume
            )
        finally:
            module.inner.to(inner_dtype)

    def _train_float32(self, module, data, device, generators, *, epochs, resume):
        scale = float(module.scale)
        net = self._make_net(
            module,
            data.n_train,
            device,
            validate=data.validates,
            best=None if resume is None else resume.best,
            total=self._data_variance / scale**2,
        )
        if resume is not None:
            net.history = type(resume.history)(resume.history)  # roll-back keeps it
            if type(resume.optimizer) is type(net.optimizer_):
                adopt_optimizer_state(net.optimizer_, resume.optimizer)
        dtype = module.mean.dtype  # batches arrive in the model's dtype
        noise = self._corruption(data)
        # Validation scores denoising: one fixed noisy draw of the rows.
        valid_noise = None if noise is None else FixedNoise(noise, self._seed + 1)
        train, valid = data.datasets(dtype, device, valid_noise=valid_noise)
        if valid is not None:
            mean = module.mean.detach().cpu().double().numpy()
            net.valid_total = validation_total(data, mean, scale)
        # Set per call, so set_params between warm starts takes effect.
        net.penalty = self._penalty(data.X)
        net.corruption = noise
        stopping = run_epochs(net, generators, train, valid, epochs) if epochs else None
        self._generator_state = generators.get_state()
        return net, stopping

    def _rebuild_module(self, dtype):
        """Return an untrained module shaped like the fitted one (skae.load)."""
        return self._new_module(self.n_components_, dtype, FitGenerators(0))

    def _rebuild_net(self, *, dtype, device, batch_size):
        """Return an initialized net shaped like the fitted one (for skae.load)."""
        return self._make_net(
            self._rebuild_module(dtype),
            batch_size,
            device,
            validate=getattr(self, "validation_scores_", None) is not None,
        )

    def _make_net(self, module, n_samples, device, *, validate, best=None, total=1.0):
        """Build and initialize a skorch net around ``module``.

        The penalty and corruption hooks are attached by :meth:`_train`, as
        they may read statistics of the training data.
        """
        n_features = module.mean.shape[0]
        net = AutoEncoderNet(
            module=module,
            criterion=self._criterion(),
            # alpha is an L2 penalty on the weights, not the biases (as MLP's).
            optimizer__weight_decay=self.alpha,
            optimizer__param_groups=[BIAS_WITHOUT_DECAY] if self.alpha else [],
            callbacks=[
                *batch_growth(self, n_samples, device),
                *training_callbacks(self, validate=validate, total=total, best=best),
            ],
            forward_fn=self._forward_fn(),
            precision=self.precision,
            **net_arguments(
                self, n_samples=n_samples, n_features=n_features, device=device
            ),
        )
        return net.initialize()

    def _search_n_components(self, data, device, components):
        """Smallest bottleneck whose held-out R² reaches ``n_components``.

        R² is ``1 - SSE / SST`` on a held-out ``validation_fraction`` of the
        rows. Sizes 1, 2, 4, ... are tried until one reaches the target,
        then the gap below it is bisected: about ``2 log2(k)`` networks are
        trained instead of ``k``. Every candidate trains on the same split
        with early stopping on it, and the network of the chosen size is
        kept as it is. The R² of every size tried is kept in
        ``bottleneck_scores_``.
        """
        trained = {}

        def r2(k):
            if k not in trained:
                trained[k] = self._train_candidate(
                    k, data, device, components, self.max_iter
                )
            return trained[k][1].best_

        largest = self._largest_bottleneck(data.n_features)
        low, high = 0, 1
        while r2(high) < self.n_components and high < largest:
            low, high = high, min(2 * high, largest)
        if r2(high) < self.n_components:
            high = max(trained, key=r2)
            warn_user(
                f"No bottleneck up to {largest} reached a held-out R² of "
                f"{self.n_components}; using n_components_={high} "
                f"(R²={r2(high):.4f}).",
                SkaeConvergenceWarning,
                self,
            )
        while high - low > 1 and r2(high) >= self.n_components:
            middle = (low + high) // 2
            if r2(middle) >= self.n_components:
                high = middle
            else:
                low = middle
        self.bottleneck_scores_ = {k: float(r2(k)) for k in sorted(trained)}
        net, stopping = trained[high]
        self._generator_state = FitGenerators(self._seed).get_state()
        return high, net, stopping

    # ------------------------------------------------------------ inference
    def _map_batches(self, fn, X, width, what):
        """Apply ``fn(module, block)`` to row blocks of X; X's dtype out."""
        return map_row_blocks(
            self.module_, fn, X, width, what, precision=self.precision
        )

    def transform(self, X):
        """Encode X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, `n_components_`)
            The codes, of X's floating dtype (float32 for other input).
        """
        X = check_fitted_input(self, X)
        return self._map_batches(
            lambda module, x: module.encode(x), X, self.n_components_, "codes"
        )

    def inverse_transform(self, X):
        """Decode codes back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_components_`)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            Decoded rows, of the codes' floating dtype.
        """
        check_is_fitted(self)
        with numeric_input():
            Z = check_array(
                X,
                dtype=(np.float32, np.float64),
                input_name="Z",
                ensure_min_features=0,  # n_components=0 codes have no column
            )
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"inverse_transform expects codes with {self.n_components_} "
                f"columns (n_components_), got {Z.shape[1]}."
            )
        return self._map_batches(
            lambda module, z: module.decode(z),
            Z,
            self.n_features_in_,
            "reconstructions",
        )

    def reconstruct(self, X):
        """Encode and decode X in one pass.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, `n_features_in_`)
            The reconstruction of each row.
        """
        return self._reconstruct(check_fitted_input(self, X))

    def _reconstruct(self, X):
        """:meth:`reconstruct` of rows already validated."""
        return self._map_batches(
            lambda module, x: module.decode(module.encode(x)),
            X,
            self.n_features_in_,
            "reconstructions",
        )

    def score_samples(self, X):
        """Return minus each row's mean squared reconstruction error.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher means better reconstructed; float64 whatever X's dtype,
            as the squared errors of float32 data far from 1 (1e-24 or
            1e19) do not fit in float32.
        """
        X = check_fitted_input(self, X)
        scale = float(self.module_.scale)

        def neg_error(module, x):
            # Residuals on the network's scale before squaring: O(1) numbers
            # whatever the units.
            residuals = (module.decode(module.encode(x)) - x) / scale
            return -torch.mean(residuals**2, dim=1, keepdim=True)

        errors = self._map_batches(neg_error, X, 1, "scores")[:, 0]
        return errors.astype(np.float64) * scale**2

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` over the rows of X.

        Higher is better, so model selection needs no scorer: minus the mean
        squared reconstruction error for the deterministic autoencoders, the
        mean evidence lower bound for :class:`~skae.VariationalAE`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            The mean of :meth:`score_samples`.
        """
        # Accumulate in float64: float32 scores near the float32 limit would
        # overflow their sum to -inf.
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    # ------------------------------------------------------ fitted views
    @property
    def encoder_(self):
        """The encoding half of ``module_``: standardization, then the encoder."""
        module = self.module_
        encoder = getattr(module.inner, "encoder", None)
        if not isinstance(encoder, torch.nn.Module):
            encoder = _Method(module.inner, "encode")
        sequential = isinstance(encoder, torch.nn.Sequential)
        layers = list(encoder) if sequential else [encoder]
        standardize = Standardize(*module.input_standardization)
        return torch.nn.Sequential(standardize, *layers)

    @property
    def decoder_(self):
        """The decoding half of ``module_``: the decoder, then the user's units."""
        module = self.module_
        decoder = getattr(module.inner, "decoder", None)
        if not isinstance(decoder, torch.nn.Module):
            decoder = _Method(module.inner, "decode")
        sequential = isinstance(decoder, torch.nn.Sequential)
        layers = list(decoder) if sequential else [decoder]
        return torch.nn.Sequential(*layers, Unstandardize(module.mean, module.scale))

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def mean_and_scale(X):
    """Per-feature mean, one global scale and the total variance of X's rows.

    The scale is the root mean variance of the features (1 for constant
    data), so one number brings any units to a sane range while the squared
    error stays proportional to the original one.
    """
    mean, var = column_mean_var(X)
    scale = float(np.sqrt(np.mean(var))) if var.size else 1.0
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    return mean, scale, float(np.sum(var))


class _Resume(typing.NamedTuple):
    """What a continued call takes over from the previous one."""

    history: object
    optimizer: object
    best: object


def _probe(module, value, n_components):
    """Check ``encode``/``decode`` on a probe batch of 2 rows."""
    n_features = value.shape[1]
    for name, width in (("encode(x)", n_components), ("decode(z)", n_features)):
        try:
            with torch.no_grad():
                value = getattr(module, name[:6])(value)
        except Exception as exc:
            raise ValueError(
                f"The architecture's {name} failed on a probe batch: {exc}"
            ) from exc
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (2, width):
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
            raise ValueError(
                f"The architecture's {name} must return shape (n_samples, "
                f"{width}) for input of 2 rows; got {got}."
            )


def _same(value, other):
    """Whether two parameter values are equal (tuples and lists alike)."""
    if isinstance(value, (list, tuple)) and isinstance(other, (list, tuple)):
        return list(value) == list(other)
    try:
        return bool(value == other)
    except Exception:  # e.g. arrays compare elementwise
        return value is other
