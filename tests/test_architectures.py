"""Every architecture through the estimators: quality and plumbing (issue 4)."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import skae
from skae import AutoEncoderTransformer

ARCHITECTURES = {
    "mlp": None,
    "conv": (2, 3, 4),
    "lstm": (8, 3),
    "gru": (8, 3),
    "transformer": (8, 3),
}

# Every public autoencoder class (the family grows; this list follows it).
AUTOENCODERS = [
    getattr(skae, name)
    for name in skae.__all__
    if isinstance(getattr(skae, name), type)
    and issubclass(getattr(skae, name), skae._base.BaseAutoEncoder)
]


def sines(n_samples, n_steps=24, n_channels=3, seed=0):
    """Multichannel sines of random frequency and phase, rows flattened."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, n_steps)[None, :, None]
    frequency = rng.uniform(0.5, 2.0, size=(n_samples, 1, n_channels))
    phase = rng.uniform(0, 2 * np.pi, size=(n_samples, 1, n_channels))
    return np.sin(frequency * t + phase).reshape(n_samples, -1).astype(np.float32)


@pytest.mark.parametrize("estimator_class", AUTOENCODERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_estimator_fits_every_architecture(estimator_class, architecture):
    X = np.random.default_rng(0).random((40, 24)).astype(np.float32)
    estimator = estimator_class(
        n_components=3,
        architecture=architecture,
        input_shape=ARCHITECTURES[architecture],
        hidden_layer_sizes=(8,),
        max_iter=3,
        random_state=0,
    ).fit(X)
    codes = estimator.transform(X)
    assert codes.shape == (40, 3) and np.isfinite(codes).all()
    back = estimator.inverse_transform(codes)
    assert back.shape == X.shape and back.dtype == np.float32


def test_conv_autoencoder_on_digits_beats_pca():
    X = (load_digits().data / 16).astype(np.float32)
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    ae = AutoEncoderTransformer(
        n_components=8,
        architecture="conv",
        input_shape=(1, 8, 8),
        max_iter=60,
        random_state=0,
    ).fit(X_train)
    layer_types = {type(layer) for layer in ae.module_.modules()}
    assert {torch.nn.Conv2d, torch.nn.ConvTranspose2d} <= layer_types
    pca = PCA(8).fit(X_train)
    ae_mse = np.mean((ae.reconstruct(X_test) - X_test) ** 2)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert ae_mse <= pca_mse


@pytest.mark.parametrize("architecture", ["lstm", "gru", "transformer"])
def test_sequence_autoencoders_reconstruct_sines(architecture):
    X = sines(768)
    X_train, X_test = X[:512], X[512:]
    ae = AutoEncoderTransformer(
        n_components=6,
        architecture=architecture,
        input_shape=(24, 3),
        batch_size=32,
        max_iter=40,
        random_state=0,
    ).fit(X_train)
    assert ae.module_.inner.input_shape == (24, 3)
    held_out_mse = np.mean((ae.reconstruct(X_test) - X_test) ** 2)
    assert held_out_mse <= 0.8 * X_test.var()


def test_callable_architecture_receives_the_inferred_input_shape():
    seen = {}

    def build(n_features, n_components, input_shape):
        seen["args"] = (n_features, n_components, input_shape)
        from skae.modules import MLPAutoEncoder

        return MLPAutoEncoder(n_features, n_components, (8,))

    AutoEncoderTransformer(architecture=build, input_shape=(2, -1), max_iter=2).fit(
        np.zeros((10, 6))
    )
    assert seen["args"] == (6, 2, (2, 3))


@pytest.mark.parametrize(
    "architecture, input_shape, match",
    [
        ("conv", None, r"input_shape \(C, H, W\) is required"),
        ("lstm", (5, 5), "input_shape"),
        ("transformer", (24,), "input_shape"),
        ("conv", (1, 5, -1), "cannot be inferred"),
        ("gru", (-1, -1), "input_shape"),
    ],
)
def test_input_shape_errors_name_input_shape(architecture, input_shape, match):
    X = np.zeros((10, 24), dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        AutoEncoderTransformer(architecture=architecture, input_shape=input_shape).fit(
            X
        )
