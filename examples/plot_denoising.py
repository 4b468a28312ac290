"""
==================================
Denoising digits with DenoisingAE
==================================

A :class:`~skae.DenoisingAE` is trained to recover clean rows from corrupted
ones, so at prediction time ``reconstruct`` removes that kind of corruption.
It can learn in two ways:

* from clean data only: every training batch is corrupted afresh with
  synthetic noise (``noise="gaussian"``, ``"uniform"``, ``"masking"`` or
  ``"salt_and_pepper"``, of strength ``noise_level``);
* from pairs: ``fit(X_noisy, X_clean=X_clean)`` learns to map each given
  noisy row to its clean counterpart, for corruption that no built-in noise
  model describes.

This example does both on the 8x8 digits.
"""

# %%
# Data
# ----
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoEncoderTransformer, DenoisingAE

# Fixed, small epoch budgets keep the example fast; silence the warning
# that says the training loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X = (load_digits().data / 16).astype(np.float32)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
rng = np.random.default_rng(0)


def mse(a, b):
    return float(np.mean((a - b) ** 2))


def show_rows(rows, title, n_digits=10):
    """Draw one row of digits per entry of ``rows`` (name -> images)."""
    fig, axes = plt.subplots(
        len(rows), n_digits, figsize=(n_digits * 0.9, 1.05 * len(rows) + 0.4)
    )
    for row, (name, images) in zip(axes, rows.items(), strict=True):
        for ax, image in zip(row, images[:n_digits], strict=True):
            ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(name, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.tight_layout()


# %%
# Synthetic Gaussian noise
# ------------------------
# The denoising autoencoder only ever sees clean training digits; during
# training it adds Gaussian noise of standard deviation 0.3 to each batch,
# a fresh draw every epoch, and learns to undo it. A wide hidden layer and
# a 32-number code give it room to keep the details of the clean digits.
dae = DenoisingAE(
    n_components=32,
    hidden_layer_sizes=(256,),
    noise="gaussian",
    noise_level=0.3,
    max_iter=100,
    random_state=0,
).fit(X_train)

# %%
# For comparison, a plain autoencoder of the same shape, trained on the
# clean digits without noise.
plain = AutoEncoderTransformer(
    n_components=32, hidden_layer_sizes=(256,), max_iter=100, random_state=0
).fit(X_train)

# %%
# We corrupt the held-out digits with the same kind of noise and compare each
# model's reconstruction with the clean digit.
X_noisy = X_test + rng.normal(scale=0.3, size=X_test.shape).astype(np.float32)
denoised = dae.reconstruct(X_noisy)
print(f"noisy input           MSE {mse(X_noisy, X_test):.4f}")
print(f"plain autoencoder     MSE {mse(plain.reconstruct(X_noisy), X_test):.4f}")
print(f"denoising autoencoder MSE {mse(denoised, X_test):.4f}")

# %%
# Any bottleneck removes some noise, because noise does not fit through it;
# the plain autoencoder already cuts the error. The denoising autoencoder,
# trained for exactly this, cuts it about twice as much again, and its
# digits are recognisable strokes on a nearly clean background.
show_rows(
    {
        "noisy": X_noisy,
        "plain AE": plain.reconstruct(X_noisy),
        "denoising AE": denoised,
        "clean": X_test,
    },
    "Gaussian noise (std 0.3) on held-out digits",
)

# %%
# Learning from pairs: occluded digits
# ------------------------------------
# Suppose the corruption is a horizontal band of three pixel rows blanked
# out at a random height, as a scratch on a scanned form would do. We build
# (occluded, clean) pairs from the training digits, three occluded copies of
# each, and pass them as ``fit(X_occluded, X_clean=X_clean)``. X is then
# taken as already noisy: the estimator adds no noise of its own.


def occlude(images, rng):
    """Blank a band of three pixel rows at a random height in each digit."""
    out = images.reshape(-1, 8, 8).copy()
    for image, top in zip(out, rng.integers(0, 6, len(out)), strict=True):
        image[top : top + 3] = 0.0
    return out.reshape(len(images), 64)


X_clean_pairs = np.concatenate([X_train] * 3)
X_occluded_pairs = occlude(X_clean_pairs, rng)
inpainter = DenoisingAE(
    n_components=32, hidden_layer_sizes=(256,), max_iter=40, random_state=0
).fit(X_occluded_pairs, X_clean=X_clean_pairs)

X_test_occluded = occlude(X_test, rng)
inpainted = inpainter.reconstruct(X_test_occluded)
print(f"occluded input             MSE {mse(X_test_occluded, X_test):.4f}")
print(
    "plain autoencoder          MSE "
    f"{mse(plain.reconstruct(X_test_occluded), X_test):.4f}"
)
print(f"denoising AE, from pairs   MSE {mse(inpainted, X_test):.4f}")

# %%
# The plain autoencoder reproduces the gap it is shown. The autoencoder
# trained on pairs has learned what usually lies under the band and paints
# it back in: the error falls about five-fold, and most digits are whole
# again.
show_rows(
    {
        "occluded": X_test_occluded,
        "plain AE": plain.reconstruct(X_test_occluded),
        "denoising AE\n(from pairs)": inpainted,
        "clean": X_test,
    },
    "Occluded held-out digits, restored by a model trained on pairs",
)
plt.show()
