r"""
===================================================
Robust codes: contractive against denoising
===================================================

Two autoencoders aim at codes that do not move when the input is perturbed
a little:

* :class:`~skae.ContractiveAE` penalises the squared Frobenius norm of the
  encoder's Jacobian, :math:`\lVert \partial f(x) / \partial x \rVert_F^2`,
  so the code is locally flat in every direction the reconstruction does not
  need; its decoder is tied to the encoder, so the penalty cannot be met by
  merely shrinking the codes;
* :class:`~skae.DenoisingAE` learns it indirectly, by reconstructing clean
  inputs from noisy ones.

This example adds Gaussian noise of growing strength to held-out digits and
measures how far each model's code moves, against a plain autoencoder.
"""

# %%
# Three autoencoders with an 8-number code
# ----------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoEncoderTransformer, ContractiveAE, DenoisingAE

# A fixed budget of 100 epochs keeps the example fast; silence the warning
# that says the loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X = (load_digits().data / 16).astype(np.float32)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

# tanh units, as in the original contractive autoencoder: a saturated unit
# is flat, so they contract far more than ReLU units for the same
# reconstruction.
shared = dict(n_components=8, activation="tanh", max_iter=100, random_state=0)
models = {
    "plain": AutoEncoderTransformer(**shared),
    "contractive (weight 3)": ContractiveAE(contraction_weight=3.0, **shared),
    "denoising (std 0.3)": DenoisingAE(noise_level=0.3, **shared),
}
for model in models.values():
    model.fit(X_train)

# %%
# The penalty itself: the encoder's Jacobian
# ------------------------------------------
# The fitted encoder is a plain torch module (``encoder_``), so we can
# compute each held-out digit's Jacobian with :func:`torch.func.jacrev` and
# average its squared Frobenius norm. To compare models whose codes live on
# different scales, we also divide by the total variance of the codes: a
# model cannot look robust merely by making all its codes small.


def jacobian_norm(model, X):
    encoder = model.encoder_
    # One (n_components, n_features) Jacobian per row: (n_samples, k, n).
    jac = torch.func.vmap(torch.func.jacrev(encoder))(torch.from_numpy(X))
    return jac.pow(2).sum(dim=(1, 2)).mean().item()


for name, model in models.items():
    code_variance = model.transform(X_test).var(axis=0).sum()
    raw = jacobian_norm(model, X_test)
    print(
        f"{name:25s} ||J||^2 {raw:8.2f}   "
        f"relative to code variance {raw / code_variance:6.2f}"
    )

# %%
# The contractive penalty shrinks the Jacobian's norm both raw and relative
# to the variance of the codes: with a tied decoder the codes cannot simply
# be made smaller, so the encoder has become flatter around the data. The
# denoising model, which never computes a Jacobian, is also flatter than the
# plain one on that relative scale.

# %%
# Code shift under input noise
# ----------------------------
# For each noise level we add Gaussian noise to the held-out digits and
# measure how far the codes move, ``||f(x + noise) - f(x)||``, relative to
# the spread of the clean codes (the root of their total variance), averaged
# over digits and 5 noise draws.
rng = np.random.default_rng(0)
noise_levels = np.linspace(0.0, 0.5, 11)
shifts = {name: [] for name in models}
for sigma in noise_levels:
    noise = rng.normal(scale=sigma, size=(5, *X_test.shape)).astype(np.float32)
    for name, model in models.items():
        Z = model.transform(X_test)
        spread = np.sqrt(Z.var(axis=0).sum())
        moved = [
            np.linalg.norm(model.transform(X_test + n) - Z, axis=1).mean()
            for n in noise
        ]
        shifts[name].append(np.mean(moved) / spread)

# %%
# Both regularised models move their codes less than the plain autoencoder
# at every noise level, relative to how spread out their codes are: a noisy
# digit's code stays closer to the clean digit's. The contractive penalty
# acts on infinitesimal perturbations (the Jacobian), yet its effect carries
# over to sizeable noise. The right panel shows what the robustness costs:
# both reconstruct clean held-out digits less well than the plain
# autoencoder.
fig, (left, right) = plt.subplots(
    1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1.6, 1]}
)
for (name, values), marker in zip(shifts.items(), "osD", strict=True):
    left.plot(noise_levels, values, marker=marker, label=name)
left.set_xlabel("std of the Gaussian noise added to the pixels")
left.set_ylabel("mean code shift / code spread")
left.set_title("How far the code moves under input noise")
left.legend()

errors = [
    np.mean((model.reconstruct(X_test) - X_test) ** 2) for model in models.values()
]
right.bar(range(len(models)), errors, color=["C0", "C1", "C2"])
right.set_xticks(range(len(models)), [name.split(" ")[0] for name in models])
right.set_ylabel("held-out reconstruction MSE")
right.set_title("Reconstruction of clean digits")
fig.tight_layout()
plt.show()
