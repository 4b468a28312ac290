"""
==========================================
Generating digits with a VariationalAE
==========================================

A :class:`~skae.VariationalAE` encodes each row as a Gaussian distribution
over the code space and is trained so that, overall, the codes follow a
standard normal prior N(0, I) (a KL term weighted by ``beta``). New rows
can then be made by decoding draws from the prior:
:meth:`~skae.VariationalAE.sample`. ``transform`` returns the posterior
mean of each row.

This example draws new digits from an 8-dimensional VAE and then looks at
the 2-dimensional latent space of a second, tiny VAE.
"""

# %%
# Pixels in [0, 1]: a sigmoid output and binary cross-entropy
# -----------------------------------------------------------
# The digits' pixels lie in [0, 1], so the decoder ends with a sigmoid and
# the reconstruction loss is binary cross-entropy, the usual choice for
# image VAEs.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import VariationalAE

# Fixed epoch budgets keep the example fast; silence the warning that says
# the loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits()
X = (digits.data / 16).astype(np.float32)
y = digits.target

vae = VariationalAE(
    n_components=8,
    output_activation="sigmoid",
    loss="bce",
    max_iter=150,
    random_state=0,
).fit(X)

# %%
# New digits from the prior
# -------------------------
# ``sample`` decodes draws from N(0, I); an integer ``random_state`` gives
# the same rows every call. None of these images is in the training data,
# yet most of them read as digits.
samples = vae.sample(n_samples=48, random_state=0)

fig, axes = plt.subplots(4, 12, figsize=(9, 3.3))
for ax, image in zip(axes.ravel(), samples, strict=True):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
fig.suptitle("48 digits sampled from an 8-dimensional VariationalAE")
fig.tight_layout()

# %%
# A 2-dimensional latent space
# ----------------------------
# With ``n_components=2`` the whole latent space fits on a page. Left: the
# posterior mean of every digit, coloured by its class; the KL term keeps
# the cloud close to a standard normal, and the classes settle into
# neighbouring regions without the model ever seeing a label. Right: what
# the decoder (``inverse_transform``) draws at each point of a grid over the
# same region, so one can read off which digit lives where and how one
# morphs into the next.
vae2 = VariationalAE(
    n_components=2,
    output_activation="sigmoid",
    loss="bce",
    max_iter=150,
    random_state=0,
).fit(X)
Z = vae2.transform(X)

n_grid = 15
grid = np.linspace(-2.5, 2.5, n_grid, dtype=np.float32)
points = np.array([[a, b] for b in grid[::-1] for a in grid], dtype=np.float32)
images = vae2.inverse_transform(points).reshape(n_grid, n_grid, 8, 8)
# Tile the 8x8 images with a one-pixel blank border between neighbours.
padded = np.pad(images, ((0, 0), (0, 0), (1, 0), (1, 0)))
mosaic = padded.transpose(0, 2, 1, 3).reshape(n_grid * 9, n_grid * 9)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5))
scatter = left.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=6)
left.legend(
    *scatter.legend_elements(),
    title="digit",
    loc="upper left",
    bbox_to_anchor=(1.0, 1.0),
    fontsize="small",
)
left.set_xlim(-2.5, 2.5)
left.set_ylim(-2.5, 2.5)
left.set_xlabel("latent 1")
left.set_ylabel("latent 2")
left.set_title("Posterior means of all 1797 digits")
right.imshow(mosaic, cmap="gray_r", extent=(-2.5, 2.5, -2.5, 2.5))
right.set_xlabel("latent 1")
right.set_title("Decoded grid over the same region")
fig.tight_layout()
plt.show()
