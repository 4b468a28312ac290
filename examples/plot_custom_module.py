"""
=======================================
Bringing your own PyTorch module
=======================================

Besides the built-in architectures, ``architecture`` accepts a callable
``architecture(n_features, n_components, input_shape) -> torch.nn.Module``.
The estimator calls it in ``fit``, once the width of ``X`` is known, and
trains whatever module it returns, as long as that module has two methods:

* ``encode(x)``: a ``(batch, n_features)`` tensor to codes
  ``(batch, n_components)``;
* ``decode(z)``: codes back to ``(batch, n_features)`` rows.

Everything else (validation, training with skorch, early stopping,
``transform``, pipelines, grid search and every autoencoder family) works
as with the built-in modules. As an example we write a *tied-weights*
autoencoder, whose decoder reuses the transposed weight matrices of its
encoder, so it has about half the parameters of the default one.
"""

# %%
# The module
# ----------
# A class is itself a callable with the right signature, so it can be passed
# as ``architecture`` directly. ``input_shape`` is the estimator's
# ``input_shape`` parameter (None here): a module for images or sequences
# would use it to view the flat rows.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from torch import nn

from skae import AutoEncoderTransformer, ContractiveAE

# A fixed budget of 150 epochs keeps the example fast; silence the warning
# that says the loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)


class TiedAutoEncoder(nn.Module):
    """Dense autoencoder whose decoder uses the encoder's weights, transposed."""

    def __init__(self, n_features, n_components, input_shape=None, hidden=128):
        super().__init__()
        widths = [n_features, hidden, n_components]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(w_out, w_in) / w_in**0.5)
            for w_in, w_out in zip(widths[:-1], widths[1:], strict=True)
        )
        self.encoder_bias = nn.ParameterList(
            nn.Parameter(torch.zeros(w)) for w in widths[1:]
        )
        self.decoder_bias = nn.ParameterList(
            nn.Parameter(torch.zeros(w)) for w in widths[:-1]
        )

    def encode(self, x):
        h = torch.relu(x @ self.weights[0].T + self.encoder_bias[0])
        return h @ self.weights[1].T + self.encoder_bias[1]  # linear code

    def decode(self, z):
        h = torch.relu(z @ self.weights[1] + self.decoder_bias[1])
        return torch.sigmoid(h @ self.weights[0] + self.decoder_bias[0])

    def forward(self, x):
        return self.decode(self.encode(x))


# %%
# Fitting it
# ----------
# We fit the tied module and the default (untied) module with the same code
# size on the digits, and compare their sizes and held-out errors.
X = (load_digits().data / 16).astype(np.float32)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

tied = AutoEncoderTransformer(
    n_components=8, architecture=TiedAutoEncoder, max_iter=150, random_state=0
).fit(X_train)
default = AutoEncoderTransformer(n_components=8, max_iter=150, random_state=0)
default.fit(X_train)

for name, model in [("tied (custom)", tied), ("default mlp", default)]:
    n_params = sum(p.numel() for p in model.module_.parameters())
    error = np.mean((model.reconstruct(X_test) - X_test) ** 2)
    print(f"{name:14s} {n_params:6d} parameters   held-out MSE {error:.4f}")

# %%
# The tied module has about half the parameters and reconstructs held-out
# digits about as well. The fitted module is ``module_``; its ``encode``
# and ``decode`` are what ``transform`` and ``inverse_transform`` call.
#
# Extra settings go through :func:`functools.partial` or a small factory
# function, e.g. ``architecture=functools.partial(TiedAutoEncoder,
# hidden=64)``. Note that ``skae.save`` cannot store a callable
# architecture; such estimators are saved with pickle, which needs the
# class to be importable where the model is loaded.
#
# The same module under another objective
# ---------------------------------------
# Any estimator of the family accepts the callable. A
# :class:`~skae.ContractiveAE` computes the exact Jacobian of the custom
# ``encode`` by automatic differentiation; nothing in the module has to
# change.
contractive = ContractiveAE(
    n_components=8,
    architecture=TiedAutoEncoder,
    contraction_weight=0.1,
    max_iter=60,
    random_state=0,
).fit(X_train)

print(
    "tied contractive held-out MSE "
    f"{np.mean((contractive.reconstruct(X_test) - X_test) ** 2):.4f}"
)

# %%
# The penalty trades some reconstruction for a flatter encoder (see the
# contractive robustness example); with this short budget the price is
# visible in the error.
#
# What the code units do
# ----------------------
# ``inverse_transform`` runs the custom ``decode``. Starting from the mean
# code of the training digits, we move one code unit at a time from two
# standard deviations below its mean to two above, and decode: each row of
# a panel shows what one unit controls. The units of both the tied and the
# default autoencoder morph one digit into another (a 6 into a 7, a 4 into
# a 9 ...) rather than adding noise: the codes are smooth coordinates on
# the digits.


def traversal(model, n_steps=7):
    Z = model.transform(X_train)
    mean, std = Z.mean(axis=0), Z.std(axis=0)
    steps = np.linspace(-2, 2, n_steps, dtype=np.float32)
    codes = np.repeat(mean[None, None, :], model.n_components_, axis=0)
    codes = np.repeat(codes, n_steps, axis=1)  # (unit, step, k)
    for unit in range(model.n_components_):
        codes[unit, :, unit] = mean[unit] + steps * std[unit]
    images = model.inverse_transform(codes.reshape(-1, model.n_components_))
    images = images.reshape(model.n_components_, n_steps, 8, 8)
    images = np.pad(images, ((0, 0), (0, 0), (1, 0), (1, 0)))
    return images.transpose(0, 2, 1, 3).reshape(model.n_components_ * 9, -1)


fig, panels = plt.subplots(1, 2, figsize=(9, 6))
for panel, (name, model) in zip(
    panels,
    [("tied (custom module)", tied), ("default mlp", default)],
    strict=True,
):
    panel.imshow(traversal(model), cmap="gray_r", vmin=0, vmax=1)
    panel.set_title(name)
    panel.set_xticks([4.5, 31.5, 58.5], ["-2 std", "mean", "+2 std"])
    panel.set_yticks(9 * np.arange(8) + 4.5, [f"unit {j}" for j in range(8)])
fig.suptitle("Decoding the mean code with one unit moved at a time")
fig.tight_layout()
plt.show()
