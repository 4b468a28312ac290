"""BaseAutoEncoder: the shared parameters, training and inference of skae."""

import copy
import functools
import warnings
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
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import ProgressBar
from skorch.helper import predefined_split

from ._inference import map_row_blocks
from ._net import (
    ArrayDataset,
    AutoEncoderNet,
    PerSampleLoss,
    StopOnPlateau,
    TensorBatches,
    as_tensor,
    autoencode,
    batch_rows,
)
from ._validation import check_fitted_input, numeric_input
from .modules import (
    ACTIVATIONS,
    ConvAutoEncoder,
    MLPAutoEncoder,
    RecurrentAutoEncoder,
    TransformerAutoEncoder,
    check_input_shape,
)
from .modules._layers import _Method

_LOSSES = {
    "mse": torch.nn.MSELoss,
    "l1": torch.nn.L1Loss,
    "huber": torch.nn.HuberLoss,
    "bce": torch.nn.BCELoss,
}

_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
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


def resolve_device(device):
    """Turn the ``device`` parameter into an available :class:`torch.device`."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a valid torch device string."
        ) from None
    kind = resolved.type
    if kind == "cuda":
        available = torch.cuda.is_available() and (
            resolved.index is None or resolved.index < torch.cuda.device_count()
        )
    elif kind == "mps":
        available = torch.backends.mps.is_available()
    else:
        available = kind == "cpu"
    if not available:
        raise ValueError(
            f"device={device!r} is not available on this machine; use "
            "device='cpu' or device='auto'."
        )
    return resolved


class BaseAutoEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
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
        "optimizer": [StrOptions(set(_OPTIMIZERS))],
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
        tol=1e-4,
        n_iter_no_change=10,
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

    def _corruption(self, X):
        """``corrupt(x) -> noisy x`` applied to training batches, or None."""
        return None

    def _criterion(self):
        return PerSampleLoss(_LOSSES[self.loss])

    # --------------------------------------------------------------- checks
    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if any(not isinstance(s, Integral) or s < 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers, got {sizes}."
            )
        return sizes

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
        value = torch.zeros(2, n_features, dtype=dtype)
        for name, width in (("encode(x)", n_components), ("decode(z)", n_features)):
            try:
                with torch.no_grad():
                    value = getattr(module, name[:6])(value)
            except Exception as exc:
                raise ValueError(
                    f"The architecture's {name} failed on a probe batch: {exc}"
                ) from exc
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != (2, width):
                got = (
                    tuple(value.shape)
                    if isinstance(value, torch.Tensor)
                    else type(value)
                )
                raise ValueError(
                    f"The architecture's {name} must return shape (n_samples, "
                    f"{width}) for input of 2 rows; got {got}."
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

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch over X, keeping the state of previous calls.

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
        if isinstance(self.n_components, Real) and not isinstance(
            self.n_components, Integral
        ):
            raise ValueError(
                "partial_fit needs an int n_components; a fraction is searched by fit."
            )
        return self._fit(X, incremental=True)

    def _fit(self, X, X_clean=None, *, incremental):
        state = self.__dict__.copy()
        try:
            device = resolve_device(self.device)
            continuing = (incremental or self.warm_start) and hasattr(self, "net_")
            X = self._validate_training_data(X, reset=not continuing)
            if X_clean is not None:
                X_clean = self._validate_clean(X_clean, X)
            if continuing:
                self._continue_training(X, X_clean, incremental)
            else:
                self._train_new(X, X_clean, device, incremental)
        except BaseException:
            # A failed fit changes nothing: fitted attributes as they were.
            self.__dict__.clear()
            self.__dict__.update(state)
            raise
        return self

    def _validate_training_data(self, X, *, reset):
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
        self._check_loss(X)
        return X

    def _validate_clean(self, X_clean, X):
        with numeric_input():
            X_clean = check_array(
                X_clean, accept_sparse=("csr",), dtype=X.dtype, input_name="X_clean"
            )
        if X_clean.shape != X.shape:
            raise ValueError(
                f"X_clean has shape {X_clean.shape} but X has shape {X.shape}; "
                "they must pair row by row."
            )
        return X_clean

    def _train_new(self, X, X_clean, device, incremental):
        n_samples, n_features = X.shape
        self._input_shape(n_features)
        self._hidden_layer_sizes()
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        validate = self.early_stopping and not incremental
        fraction_search = isinstance(self.n_components, Real) and not isinstance(
            self.n_components, Integral
        )
        if fraction_search:
            net, n_components, rng_state = self._search_n_components(
                X, X_clean, device, seed
            )
            validate = True
        else:
            n_components = int(self.n_components)
            net, rng_state = self._train(
                X,
                X_clean,
                n_components,
                device,
                seed,
                epochs=1 if incremental else self.max_iter,
                validate=validate,
            )
        self.n_components_ = n_components
        self._set_fitted(net, rng_state, validate, warn=not incremental)

    def _continue_training(self, X, X_clean, incremental):
        net = self.net_
        validate = self.early_stopping and not incremental
        epochs = 1 if incremental else self.max_iter
        # The net may have been built to watch a validation split that this
        # call does not hold out (partial_fit after early stopping), or the
        # other way round: watch what this call records.
        stopping = dict(net.callbacks_)["stopping"]
        stopping.monitor = "valid_score" if validate else "train_loss"
        stopping.lower_is_better = not validate
        stopping.keep_best = validate
        snapshot = (
            copy.deepcopy(net.module_.state_dict()),
            copy.deepcopy(net.optimizer_.state_dict()),
            len(net.history),
        )
        try:
            rng_state = self._run_epochs(
                net, X, X_clean, epochs, validate, self._rng_state
            )
        except BaseException:
            net.module_.load_state_dict(snapshot[0])
            net.optimizer_.load_state_dict(snapshot[1])
            del net.history[snapshot[2] :]
            raise
        self._set_fitted(net, rng_state, validate, warn=not incremental)

    def _set_fitted(self, net, rng_state, validate, warn):
        net.module_.eval()
        history = net.history
        self.net_ = net
        self._rng_state = rng_state
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        if validate:
            # Epochs of earlier warm-started fits may have had no validation.
            self.validation_scores_ = [
                float(epoch["valid_score"])
                for epoch in history
                if "valid_score" in epoch
            ]
            self.best_validation_score_ = max(self.validation_scores_)
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        stopping = dict(net.callbacks_)["stopping"]
        if warn and not stopping.stopped_:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
            )

    def _train(self, X, X_clean, n_components, device, seed, *, epochs, validate):
        """Build a new net on ``n_components`` and train it ``epochs`` epochs."""
        rng_devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(seed)
            net = self._make_net(
                X.shape,
                n_components,
                getattr(torch, X.dtype.name),
                device,
                validate=validate,
            )
            rng_state = torch.random.get_rng_state()
            if device.type == "cuda":
                rng_state = (rng_state, torch.cuda.get_rng_state(device))
        rng_state = self._run_epochs(
            net, X, X_clean, epochs, validate, rng_state, split_seed=seed
        )
        return net, rng_state

    def _rebuild_net(self, *, dtype, device, batch_size):
        """Return an initialized net shaped like the fitted one (for skae.load)."""
        return self._make_net(
            (batch_size, self.n_features_in_),
            self.n_components_,
            dtype,
            device,
            validate=getattr(self, "validation_scores_", None) is not None,
        )

    def _make_net(self, shape, n_components, dtype, device, *, validate):
        """Build and initialize the skorch net around a new module.

        The penalty and corruption hooks are attached by :meth:`_run_epochs`,
        as they may read statistics of the training data.
        """
        n_samples, n_features = shape
        module = self._build_module(n_features, n_components).to(dtype)
        self._validate_module(module, n_features, n_components, dtype)
        optimizer, optimizer_kwargs = _OPTIMIZERS[self.optimizer]
        batch_size = (
            min(200, n_samples) if self.batch_size == "auto" else self.batch_size
        )
        callbacks = [
            (
                "stopping",
                StopOnPlateau(
                    monitor="valid_score" if validate else "train_loss",
                    lower_is_better=not validate,
                    patience=self.n_iter_no_change,
                    tol=self.tol,
                    keep_best=validate,
                ),
            ),
        ]
        if self.verbose:
            callbacks.append(("progress", ProgressBar()))
        callbacks += copy.deepcopy(self.callbacks or [])
        net = AutoEncoderNet(
            module=module,
            criterion=self._criterion(),
            optimizer=optimizer,
            lr=self.learning_rate_init,
            optimizer__weight_decay=self.alpha,
            **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
            batch_size=min(batch_size, n_samples),
            iterator_train=TensorBatches,
            iterator_train__shuffle=self.shuffle,
            iterator_valid=TensorBatches,
            iterator_valid__batch_size=batch_rows(n_samples, n_features),
            train_split=None,
            callbacks=callbacks,
            forward_fn=self._forward_fn(),
            device=device,
            verbose=self.verbose,
        )
        return net.initialize()

    def _run_epochs(self, net, X, X_clean, epochs, validate, rng_state, split_seed=0):
        """Train ``net`` for ``epochs`` epochs from the given torch RNG state."""
        device = torch.device(net.device)
        dtype = next(net.module_.parameters()).dtype
        data = X if sp.issparse(X) else as_tensor(X)
        target = X_clean
        if target is not None and not sp.issparse(target):
            target = as_tensor(target)
        if device.type != "cpu" and not sp.issparse(X) and X.nbytes <= 2**30:
            # Small dense data goes to the accelerator once, not per batch.
            data = data.to(device, dtype)
            target = None if target is None else target.to(device, dtype)
        train_rows = valid_rows = None
        if validate:
            train_rows, valid_rows = _split_rows(
                X.shape[0], self.validation_fraction, split_seed
            )
        dataset = ArrayDataset(data, target, train_rows, dtype=dtype, device=device)
        valid = ArrayDataset(data, target, valid_rows, dtype=dtype, device=device)
        net.train_split = predefined_split(valid) if validate else None
        # Set per run, so set_params between warm starts takes effect. Given
        # clean targets, X is already noisy: no corruption on top.
        net.penalty = self._penalty(X)
        net.corruption = None if X_clean is not None else self._corruption(X)
        net.max_epochs = epochs
        rng_devices = [device] if device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=rng_devices):
                if device.type == "cuda":
                    torch.random.set_rng_state(rng_state[0])
                    torch.cuda.set_rng_state(rng_state[1], device)
                else:
                    torch.random.set_rng_state(rng_state)
                net.partial_fit(dataset)
                rng_state = torch.random.get_rng_state()
                if device.type == "cuda":
                    rng_state = (rng_state, torch.cuda.get_rng_state(device))
        finally:
            net.train_split = None  # the net must not keep the data alive
        return rng_state

    def _search_n_components(self, X, X_clean, device, seed):
        """Smallest bottleneck whose held-out R² reaches ``n_components``.

        R² is ``1 - SSE / SST`` on a held-out ``validation_fraction`` of the
        rows (SST around the training rows' mean). Sizes 1, 2, 4, ... are
        tried until one reaches the target, then the gap below it is bisected:
        about ``2 log2(k)`` networks are trained instead of ``k``. Every
        candidate trains on the same split with early stopping on it, and the
        network of the chosen size is kept as it is.
        """
        train_rows, valid_rows = _split_rows(X.shape[0], self.validation_fraction, seed)
        target = X if X_clean is None else X_clean
        dense = (lambda A: A.toarray()) if sp.issparse(target) else np.asarray
        center = np.asarray(target[train_rows].mean(axis=0)).ravel()
        total = float(np.mean((dense(target[valid_rows]) - center) ** 2))
        trained = {}

        def r2(k):
            if k not in trained:
                trained[k] = self._train(
                    X, X_clean, k, device, seed, epochs=self.max_iter, validate=True
                )
            best = max(trained[k][0].history[:, "valid_score"])
            return 1.0 + best / total if total > 0 else 1.0

        n_features = X.shape[1]
        low, high = 0, 1
        while r2(high) < self.n_components and high < n_features:
            low, high = high, min(2 * high, n_features)
        if r2(high) < self.n_components:
            best_k = max(trained, key=r2)
            warnings.warn(
                f"No bottleneck up to {n_features} reached a held-out R² of "
                f"{self.n_components}; using n_components_={best_k} "
                f"(R²={r2(best_k):.4f}).",
                ConvergenceWarning,
            )
            return trained[best_k][0], best_k, trained[best_k][1]
        while high - low > 1:
            middle = (low + high) // 2
            if r2(middle) >= self.n_components:
                high = middle
            else:
                low = middle
        net, rng_state = trained[high]
        return net, high, rng_state

    # ------------------------------------------------------------ inference
    def _map_batches(self, fn, X, width, what):
        """Apply ``fn(module, block)`` to row blocks of X; X's dtype out."""
        return map_row_blocks(self.module_, fn, X, width, self.device_, what)

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
            Z = check_array(X, dtype=(np.float32, np.float64), input_name="Z")
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
        X = check_fitted_input(self, X)
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
            Higher means better reconstructed.
        """
        X = check_fitted_input(self, X)

        def neg_error(module, x):
            return -torch.mean(
                (module.decode(module.encode(x)) - x) ** 2, dim=1, keepdim=True
            )

        return self._map_batches(neg_error, X, 1, "scores")[:, 0]

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`: minus the mean squared error.

        Higher is better, so model selection needs no scorer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Minus the mean squared reconstruction error.
        """
        # Accumulate in float64: float32 scores near the float32 limit would
        # overflow their sum to -inf.
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    # ------------------------------------------------------ fitted views
    @property
    def module_(self):
        """The trained torch module (lives in ``net_``)."""
        return self.net_.module_

    @property
    def encoder_(self):
        """The encoding half of ``module_``."""
        module = self.module_
        encoder = getattr(module, "encoder", None)
        return (
            encoder
            if isinstance(encoder, torch.nn.Module)
            else _Method(module, "encode")
        )

    @property
    def decoder_(self):
        """The decoding half of ``module_``."""
        module = self.module_
        decoder = getattr(module, "decoder", None)
        return (
            decoder
            if isinstance(decoder, torch.nn.Module)
            else _Method(module, "decode")
        )

    @property
    def device_(self):
        """The device the weights live on."""
        return torch.device(self.net_.device)

    @property
    def _n_features_out(self):
        return self.n_components_

    def __setstate__(self, state):
        # skorch maps a CUDA-fitted net_ to the CPU (with a DeviceWarning)
        # where CUDA is missing; the RNG state then loses its CUDA half.
        net = state.get("net_")
        rng_state = state.get("_rng_state")
        if isinstance(rng_state, tuple) and torch.device(net.device).type != "cuda":
            state = {**state, "_rng_state": rng_state[0]}
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _split_rows(n_samples, fraction, seed):
    """Shuffled (train, validation) row indices, each non-empty when possible."""
    order = np.random.RandomState(seed).permutation(n_samples)
    n_valid = min(max(1, int(round(fraction * n_samples))), n_samples - 1)
    if n_valid < 1:
        raise ValueError(
            "early_stopping needs at least 2 samples to hold out a validation split."
        )
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])
