"""
=====================================
Sparse codes: L1 and KL penalties
=====================================

A :class:`~skae.SparseAE` adds a penalty to the reconstruction loss that
pushes code activations towards zero, so that each sample is described by a
few active units:

* ``sparsity="l1"``: ``sparsity_weight`` times each code's L1 norm. The
  code passes a ReLU, so it has exact zeros, and the decoder's atoms (the
  weight columns that read each code unit) have unit norm, so the penalty
  cannot be met by shrinking the codes and growing the decoder;
* ``sparsity="kl"``: the code passes a sigmoid, and ``sparsity_weight``
  times the KL divergence between ``sparsity_target`` and each unit's mean
  activation over a batch is added, so that every unit is "on" for a small
  fraction of the samples only.

This example fits a plain autoencoder and both sparse variants with the same
32-unit code on the digits and looks at how their activations are spread.
"""

# %%
# Three autoencoders with the same shape
# --------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoEncoderTransformer, SparseAE

# A fixed budget of 100 epochs keeps the example fast; silence the warning
# that says the loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits()
X = (digits.data / 16).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, digits.target, test_size=0.25, random_state=0
)

shared = dict(n_components=32, max_iter=100, random_state=0)
models = {
    "plain": AutoEncoderTransformer(**shared),
    "L1 (weight 1.5)": SparseAE(sparsity="l1", sparsity_weight=1.5, **shared),
    "KL (target 0.05)": SparseAE(
        sparsity="kl", sparsity_weight=1.0, sparsity_target=0.05, **shared
    ),
}
codes = {}
for name, model in models.items():
    model.fit(X_train)
    codes[name] = model.transform(X_test)

# %%
# How sparse are the codes?
# -------------------------
# The mean absolute activation is what the L1 penalty lowers, but it also
# falls when all activations shrink together, which says nothing about how
# many units are active. The Hoyer measure of sparsity,
# ``(sqrt(k) - |z|_1 / |z|_2) / (sqrt(k) - 1)`` averaged over samples, does
# not depend on the scale: 0 when all units are equally active, 1 when a
# single unit is.


def hoyer(Z):
    k = Z.shape[1]
    ratio = np.abs(Z).sum(axis=1) / np.maximum(np.linalg.norm(Z, axis=1), 1e-12)
    return float(np.mean((np.sqrt(k) - ratio) / (np.sqrt(k) - 1)))


for name, model in models.items():
    Z = codes[name]
    error = np.mean((model.reconstruct(X_test) - X_test) ** 2)
    print(
        f"{name:17s} mean |z| {np.abs(Z).mean():.3f}   Hoyer {hoyer(Z):.2f}   "
        f"exact zeros {np.mean(Z == 0):.0%}   held-out MSE {error:.4f}"
    )

# %%
# Both penalties give far sparser codes than the plain autoencoder, at the
# price of a larger reconstruction error. The L1 code is exactly zero for
# most units of most digits; the KL penalty's sigmoid code is never exactly
# zero but close to it, each unit firing for a few digits only.
#
# Activation histograms and code heatmaps
# ---------------------------------------
# Top: the distribution of absolute activations, each divided by its model's
# root-mean-square activation so that the shapes, not the scales, are
# compared (log scale). Bottom: the absolute codes of 8 held-out digits of
# each class, one row per digit and one column per unit, each panel
# scaled to its own maximum. A sparse code is a dark panel with a few bright
# entries, and its units specialise in a few classes (bright blocks).
classes = np.arange(10)
rows = np.concatenate([np.flatnonzero(y_test == c)[:8] for c in classes])
fig, axes = plt.subplots(
    2, 3, figsize=(10, 6.5), gridspec_kw={"height_ratios": [1, 1.6]}
)
bins = np.linspace(0, 6, 49)
for (name, Z), top, bottom in zip(codes.items(), axes[0], axes[1], strict=True):
    A = np.abs(Z)
    top.hist((A / np.sqrt(np.mean(Z**2))).ravel(), bins=bins, color="C0")
    top.set_yscale("log")
    top.set_title(f"{name}\nHoyer sparsity {hoyer(Z):.2f}")
    top.set_xlabel("|activation| / RMS activation")
    bottom.imshow(
        A[rows] / A[rows].max(), aspect="auto", cmap="magma", interpolation="nearest"
    )
    bottom.set_xlabel("code unit")
    bottom.set_yticks(8 * classes + 3.5, [str(c) for c in classes])
axes[0, 0].set_ylabel("count")
axes[1, 0].set_ylabel("held-out digit (by class)")
fig.tight_layout()
plt.show()
