"""The training cases the stopping rule is judged on (issue: stopping rule).

Shared by ``record_curves.py`` (per-epoch curves, no stopping) and
``bench_stopping.py`` (old rule against new). Each case is a function
returning ``(estimator_class, params, X_train, X_test)``; ``params`` are the
case's settings, every other parameter stays at its default.
"""

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import (
    AutoEncoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
    VariationalAE,
)

BUNDLED = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
    "digits": load_digits,
    "linnerud": load_linnerud,
}
LARGEST_K = 8


def sine_sequences():
    """600 rows of 24 steps x 3 channels of sines, rows 0-449 train."""
    rng = np.random.RandomState(1)
    f = rng.uniform(1, 3, size=(600, 3))
    phi = rng.uniform(0, 2 * np.pi, size=(600, 3))
    t = np.linspace(0, 1, 24)
    X = np.sin(2 * np.pi * f[:, None, :] * t[None, :, None] + phi[:, None, :])
    X = X.reshape(600, 72)
    return X[:450], X[450:]


def curved_manifold():
    """A 3-D manifold through a tanh layer in 40-D, standardized, 70/30."""
    rng = np.random.RandomState(42)
    Z = rng.uniform(-1, 1, (3000, 3))
    W1 = rng.normal(0, 1.5, (3, 32))
    W2 = rng.normal(0, 1, (32, 40)) / np.sqrt(32)
    X = np.tanh(Z @ W1) @ W2 + 0.01 * rng.normal(size=(3000, 40))
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, test_size=0.3, random_state=0)


def large_manifold(n_rows=60_000, n_features=50):
    """60 000 rows near an 8-D manifold through a tanh layer, 50 features."""
    rng = np.random.RandomState(7)
    Z = rng.normal(size=(n_rows, 8))
    W1 = rng.normal(0, 1, (8, 64)) / np.sqrt(8)
    W2 = rng.normal(0, 1, (64, n_features)) / np.sqrt(64)
    X = np.tanh(Z @ W1) @ W2 + 0.02 * rng.normal(size=(n_rows, n_features))
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return train_test_split(X, test_size=0.2, random_state=0)


def digits_split():
    X = load_digits().data / 16
    return train_test_split(X, test_size=0.25, random_state=0)


def bundled_split(name, scaling):
    X = BUNDLED[name]().data.astype(np.float64)
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    if scaling == "standardized":
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, X_test


def _sequence(architecture):
    def case():
        X_train, X_test = sine_sequences()
        params = dict(
            n_components=6,
            hidden_layer_sizes=(32,),
            batch_size=32,
            max_iter=300,
            architecture=architecture,
            input_shape=(24, 3),
        )
        return AutoEncoderTransformer, params, X_train, X_test

    return case


def _family(cls):
    def case():
        return (cls, dict(n_components=8), *digits_split())

    return case


def _manifold():
    params = dict(
        n_components=3, hidden_layer_sizes=(64, 32), activation="tanh", max_iter=400
    )
    return (AutoEncoderTransformer, params, *curved_manifold())


def _conv():
    params = dict(n_components=8, architecture="conv", input_shape=(1, 8, 8))
    return (AutoEncoderTransformer, params, *digits_split())


def _large():
    return (AutoEncoderTransformer, dict(n_components=8), *large_manifold())


def _bundled(name, scaling, k):
    def case():
        return (
            AutoEncoderTransformer,
            dict(n_components=k),
            *bundled_split(name, scaling),
        )

    return case


CASES = {
    "digits_k8": _family(AutoEncoderTransformer),
    "manifold": _manifold,
    "gru": _sequence("gru"),
    "lstm": _sequence("lstm"),
    "transformer": _sequence("transformer"),
    "conv_digits": _conv,
    "sparse_digits": _family(SparseAE),
    "contractive_digits": _family(ContractiveAE),
    "denoising_digits": _family(DenoisingAE),
    "variational_digits": _family(VariationalAE),
    "large_60k": _large,
}


def bundled_cases():
    """Every (data set, scaling, k) of the drop-in table."""
    cases = {}
    for name, load in BUNDLED.items():
        n_features = load().data.shape[1]
        for scaling in ("raw", "standardized"):
            for k in range(1, min(LARGEST_K, n_features - 1) + 1):
                cases[f"{name}_{scaling}_k{k}"] = _bundled(name, scaling, k)
    return cases
