"""
========================================================
Generating rows with a VariationalAE, and measuring them
========================================================

A :class:`~skae.VariationalAE` is a generative model:
:meth:`~skae.VariationalAE.sample` draws codes from a Gaussian mixture
fitted to the training rows' codes, decodes them, and adds the decoder's
noise to each feature. But are the generated rows any good? Looking at a
few of them says little about tabular data. :mod:`skae.metrics` has three
measures:

- :func:`~skae.metrics.discriminator_auc`: a random forest is trained to
  tell generated rows from real ones; its held-out ROC AUC is 0.5 when it
  cannot, 1 when it always can;
- :func:`~skae.metrics.distance_to_closest_record`: how close the
  generated rows lie to the training rows, over how close new real rows
  lie; below 1 the model copies its training rows, above 1 it generates
  rows off the data;
- :func:`~skae.metrics.marginal_distances`: for each feature, how far the
  generated values' distribution is from the real one.

Here a VariationalAE generates breast cancer rows, and is compared with
its decoded mean (``noise=False``) and with a
:class:`~sklearn.mixture.GaussianMixture` fitted to the rows themselves.
"""

# %%
# Fit, then sample as many rows as were trained on
# ------------------------------------------------
# The 30 features are standardized on the training part (70 % of the
# rows); the other 30 % are held out as new real rows, which the distance
# to the closest record needs. The VariationalAE runs at its defaults: a
# code of 8 units; on these rows its stopping rule ends training after 71
# epochs.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import VariationalAE
from skae.metrics import (
    discriminator_auc,
    distance_to_closest_record,
    marginal_distances,
)

data = load_breast_cancer()
X_train, X_holdout = train_test_split(data.data, test_size=0.3, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_holdout = scaler.transform(X_train), scaler.transform(X_holdout)

vae = VariationalAE(random_state=0).fit(X_train)
print(f"{vae.n_iter_} epochs")
n_rows = len(X_train)
generated = {
    "VariationalAE": vae.sample(n_rows, random_state=0),
    "VariationalAE, noise=False": vae.sample(n_rows, random_state=0, noise=False),
    "GaussianMixture(10)": GaussianMixture(10, random_state=0)
    .fit(X_train)
    .sample(n_rows)[0],
}
print(f"{n_rows} training rows, {len(X_holdout)} held out; code of {vae.n_components_}")

# %%
# Three numbers per generator
# ---------------------------
# The last column is the median, over the features, of the generated
# values' standard deviation over the real ones': below 1 the rows are too
# concentrated, as decoded means of a small code are.
print(f"{'generator':28} {'discr. AUC':>10} {'DCR':>6} {'std ratio':>10}")
for name, rows in generated.items():
    auc = discriminator_auc(X_train, rows, random_state=0)
    dcr = distance_to_closest_record(X_train, rows, X_holdout)
    spread = np.median(rows.std(axis=0) / X_train.std(axis=0))
    print(f"{name:28} {auc:10.3f} {dcr:6.2f} {spread:10.2f}")

# %%
# A forest tells all three from real rows only somewhat better than chance
# (an AUC near 0.6, far below the 0.99 of skae 0.2's sampling, which
# decoded prior draws of a 2-unit code). All three keep the data's spread
# and lie about as far from the training rows as new real rows do: they
# neither copy the training rows nor wander off them. On 30 features and
# 400 rows a mixture of 10 full Gaussians is a strong baseline; the
# VariationalAE is about as good.
#
# The decoded mean (``noise=False``) fools the forest more often here, but
# lies closer to the training rows (a distance ratio below 1). With 8 units
# the decoded mean already has nearly the data's spread, and the noise is
# drawn independently for each feature while the residuals are not
# independent: mean radius, perimeter and area move together, and separate
# noise on each breaks a relation the forest can check.
#
# Feature by feature
# ------------------
# :func:`~skae.metrics.marginal_distances` gives each feature's Wasserstein
# distance between the real and the generated values, in units of the real
# standard deviation. Top row: the four features the VariationalAE
# reproduces best; bottom row: the four it reproduces worst.
rows = generated["VariationalAE"]
distances = marginal_distances(X_train, rows)
order = np.argsort(distances)
chosen = np.r_[order[:4], order[-4:]]

fig, axes = plt.subplots(2, 4, figsize=(11, 5), sharey=True)
for ax, j in zip(axes.ravel(), chosen, strict=True):
    bins = np.linspace(
        min(X_train[:, j].min(), rows[:, j].min()),
        max(X_train[:, j].max(), rows[:, j].max()),
        30,
    )
    ax.hist(X_train[:, j], bins=bins, density=True, alpha=0.5, label="real")
    ax.hist(rows[:, j], bins=bins, density=True, alpha=0.5, label="generated")
    ax.set_title(f"{data.feature_names[j]}\ndistance {distances[j]:.2f}", fontsize=9)
axes[0, 0].legend(fontsize="small")
fig.suptitle("Real and generated values of the best and worst matched features")
fig.tight_layout()

# %%
# Even the worst features are close: their distances stay small beside
# the 0.8 of a generator that puts every row at the mean. What a
# per-feature measure cannot see is how the features go together; the
# discriminator does, and so does a picture of the rows.
#
# The rows together
# -----------------
# A PCA fitted on the real training rows projects every generator's rows on
# the same plane, the two directions in which the real rows vary most.
pca = PCA(n_components=2).fit(X_train)
real_2d = pca.transform(X_train)

fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), sharex=True, sharey=True)
for ax, (name, rows) in zip(axes, generated.items(), strict=True):
    ax.scatter(*real_2d.T, s=8, c="0.6", label="real (training)")
    ax.scatter(*pca.transform(rows).T, s=8, c="C1", alpha=0.7, label="generated")
    ax.set_title(name)
    ax.set_xlabel("PCA 1")
axes[0].set_ylabel("PCA 2")
axes[0].legend(fontsize="small", loc="upper right")
fig.suptitle("Real and generated rows on the real rows' first two PCA axes")
fig.tight_layout()

# %%
# The generated rows cover the same region as the real ones, the long
# tail of large tumours included, with no visible cluster of their own.
#
# Where the measures need care
# ----------------------------
# A discriminator sees everything that differs, including what does not
# matter. On the digits (pixel values ``k / 16``) every generator scores an
# AUC of 1.0, a :class:`~sklearn.mixture.GaussianMixture` included: real
# pixels take 17 values and generated ones are continuous, which a forest
# tells apart trivially. On a swiss roll, a curved 2-D sheet in 3-D, the
# VariationalAE at its defaults reaches an AUC of 0.61, where the mixture of
# 10 Gaussians gets 0.72: its codes lie on a thin curved sheet, which the
# sampler follows with one mixture component per 35 training rows
# (``benchmarks/bench_generate.py``).
plt.show()
