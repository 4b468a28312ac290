"""
============================================================
Anomaly detection with an autoencoder's reconstruction error
============================================================

An autoencoder trained on normal data learns to reconstruct what it has
seen; rows unlike its training rows come back badly. The reconstruction
error is then an anomaly score, and the error of each feature says *where*
a row is unusual.

Here :class:`~skae.AutoEncoderOutlierDetector` learns the handwritten
digits 0-9 *without the sevens*, then scores held-out digits: the sevens it
has never seen should stand out. We compare it with the same score from
PCA at the same code size, look at the distribution of scores, and show
the per-pixel residuals of the most anomalous digits.
"""

# %%
# Digits without sevens
# ---------------------
# Pixels are scaled to [0, 1]. Half of the rows are held out; of the other
# half, the detector sees only the digits that are not 7.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoEncoderOutlierDetector, AutoEncoderTransformer

digits = load_digits()
X = (digits.data / 16).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, digits.target, test_size=0.5, stratify=digits.target, random_state=0
)
normal = X_train[y_train != 7]
is_seven = y_test == 7
print(f"{len(normal)} training digits; {len(X_test)} held out, {is_seven.sum()} sevens")

# %%
# Fit the detector
# ----------------
# A narrow bottleneck (4 units) forces the autoencoder to keep only what the
# training digits share. Training stops once ten epochs in a row improve
# the loss by less than ``tol=1e-3`` (0.1 % of the data's variance): finer
# than that does not move the ranking of the digits. With
# ``contamination="auto"`` the threshold is the median training error plus
# three robust standard deviations (1.4826 times the median absolute
# deviation), so no guess of the outlier fraction is needed.
ae = AutoEncoderTransformer(n_components=4, tol=1e-3, random_state=0)
detector = AutoEncoderOutlierDetector(ae).fit(normal)

anomaly = -detector.score_samples(X_test)  # mean squared reconstruction error
flagged = detector.predict(X_test) == -1
print(
    f"flagged: {flagged[is_seven].mean():.0%} of the sevens, "
    f"{flagged[~is_seven].mean():.0%} of the other digits"
)

# %%
# Against PCA at the same code size
# ---------------------------------
# PCA's reconstruction error is the classic linear version of the same idea.
# The area under the ROC curve measures how well each score ranks the sevens
# above the rest (1 is perfect, 0.5 is chance).
pca = PCA(n_components=4).fit(normal)
pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, 1)
print(f"ROC AUC, autoencoder: {roc_auc_score(is_seven, anomaly):.3f}")
print(f"ROC AUC, PCA:         {roc_auc_score(is_seven, pca_error):.3f}")

# %%
# The distribution of anomaly scores
# ----------------------------------
# The sevens' errors sit mostly above the threshold ``-offset_``, the other
# held-out digits mostly below it.
fig, ax = plt.subplots(figsize=(7, 3.5))
bins = np.linspace(0, np.quantile(anomaly, 0.995), 50)
ax.hist(anomaly[~is_seven], bins=bins, alpha=0.6, label="digits 0-6, 8, 9")
ax.hist(anomaly[is_seven], bins=bins, alpha=0.6, label="sevens (never seen)")
ax.axvline(-detector.offset_, color="k", linestyle="--", label="threshold")
ax.set_xlabel("mean squared reconstruction error")
ax.set_ylabel("held-out digits")
ax.legend()
fig.tight_layout()

# %%
# What makes a digit anomalous
# ----------------------------
# :meth:`~skae.AutoEncoderOutlierDetector.feature_errors` returns the squared
# residual of every pixel. For the eight most anomalous held-out digits, the
# rows show the digit, the autoencoder's reconstruction (the closest thing it
# knows) and the residuals: the strokes it could not explain.
worst = np.argsort(anomaly)[::-1][:8]
reconstructed = detector.autoencoder_.reconstruct(X_test[worst])
residuals = detector.feature_errors(X_test[worst])

fig, axes = plt.subplots(3, 8, figsize=(10, 4.2))
rows = [
    ("digit", X_test[worst], "gray_r"),
    ("reconstruction", reconstructed, "gray_r"),
    ("squared residual", residuals, "magma"),
]
for r, (title, images, cmap) in enumerate(rows):
    for c, image in enumerate(images):
        ax = axes[r, c]
        ax.imshow(image.reshape(8, 8), cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        if r == 0:
            ax.set_title(f"label {y_test[worst[c]]}", fontsize=9)
    axes[r, 0].set_ylabel(title, fontsize=9)
fig.tight_layout()
plt.show()
