"""
=====================================
A convolutional autoencoder on images
=====================================

With ``architecture="conv"`` the encoder is a stack of strided 2-D
convolutions and the decoder mirrors it with transposed convolutions.
Rows stay flat in ``X``; ``input_shape=(C, H, W)`` tells the estimator how
to view each row as an image (here one channel of 8x8 pixels).
``hidden_layer_sizes`` then gives the number of channels of each
convolution: ``(32, 64)`` halves the image twice, 8x8 to 4x4 to 2x2.

This example compares a convolutional autoencoder with PCA at the same code
size, then shows the 2-D codes of a two-number convolutional autoencoder.
"""

# %%
# Data
# ----
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoEncoderTransformer

# A fixed budget of 60 epochs keeps the example fast; silence the warning
# that says the loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits()
X = (digits.data / 16).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, digits.target, test_size=0.25, random_state=0
)


def conv_autoencoder(k):
    return AutoEncoderTransformer(
        n_components=k,
        architecture="conv",
        input_shape=(1, 8, 8),
        hidden_layer_sizes=(32, 64),
        max_iter=60,
        random_state=0,
    )


def held_out_mse(model):
    reconstruction = model.inverse_transform(model.transform(X_test))
    return float(np.mean((reconstruction - X_test) ** 2))


# %%
# Reconstructions from 8 numbers
# ------------------------------
conv8 = conv_autoencoder(8).fit(X_train)
pca8 = PCA(n_components=8).fit(X_train)
print(f"held-out MSE, PCA(8):           {held_out_mse(pca8):.4f}")
print(f"held-out MSE, conv autoencoder: {held_out_mse(conv8):.4f}")

# %%
# The convolutional autoencoder's error is about a third lower than PCA's.
# The convolutions share their weights across the image, so the model
# learns local stroke detectors once and uses them everywhere, and its
# reconstructions keep the strokes crisper.
n_digits = 10
rows = {
    "original": X_test[:n_digits],
    "PCA, k=8": pca8.inverse_transform(pca8.transform(X_test[:n_digits])),
    "conv AE, k=8": conv8.reconstruct(X_test[:n_digits]),
}
fig, axes = plt.subplots(3, n_digits, figsize=(n_digits * 0.9, 3.2))
for row, (name, images) in zip(axes, rows.items(), strict=True):
    for ax, image in zip(row, images, strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(name, rotation=0, ha="right", va="center")
fig.suptitle("Held-out digits and their reconstructions from 8 numbers")
fig.tight_layout()

# %%
# A two-number code
# -----------------
# With ``n_components=2`` each digit becomes a point in the plane. Next to
# PCA's first two components, the convolutional autoencoder's codes of the
# held-out digits (coloured by the true digit, which neither model saw)
# give several classes (0, 4, 6, 9) regions of their own, though the middle
# of the plane stays crowded, and they reconstruct the digits better.
conv2 = conv_autoencoder(2).fit(X_train)
pca2 = PCA(n_components=2).fit(X_train)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, (name, model) in zip(
    axes, [("PCA", pca2), ("convolutional autoencoder", conv2)], strict=True
):
    Z = model.transform(X_test)
    scatter = ax.scatter(Z[:, 0], Z[:, 1], c=y_test, cmap="tab10", s=10)
    ax.set_title(f"{name}, k=2 (held-out MSE {held_out_mse(model):.3f})")
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
axes[1].legend(
    *scatter.legend_elements(),
    title="digit",
    loc="upper left",
    bbox_to_anchor=(1.0, 1.0),
    fontsize="small",
)
fig.tight_layout()
plt.show()
