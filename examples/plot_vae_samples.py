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
# The default decoder: a Gaussian with a learned noise level
# ----------------------------------------------------------
# With its defaults a VariationalAE's decoder is a Gaussian whose noise
# variance is learned along with the network, so the reconstruction term is
# weighed against the KL term at the data's own scale and no latent unit is
# switched off. ``score`` is the mean evidence lower bound per row, a
# log-likelihood bound in nats that compares with ``PCA.score``.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import VariationalAE

# Fixed epoch budgets keep the example fast; silence the warning that says
# the loss was still improving.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits()
X = (digits.data / 16).astype(np.float32)
y = digits.target

X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
vae = VariationalAE(n_components=8, max_iter=150, random_state=0).fit(X_train)
pca = PCA(n_components=8).fit(X_train)
active = int((vae.transform(X_test).var(axis=0) > 0.01).sum())
print(f"active latent units: {active} of 8")
print(f"held-out mean ELBO {vae.score(X_test):.1f} nats per digit")
print(f"held-out PCA(8) log-likelihood {pca.score(X_test):.1f} nats per digit")

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
# morphs into the next. This one uses the Bernoulli decoder
# (``loss="bce"`` with a sigmoid output), the other choice for pixels in
# [0, 1].
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
