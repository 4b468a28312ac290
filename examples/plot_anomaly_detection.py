"""
=============================================================
Anomaly detection: off the manifold, or at an odd place on it
=============================================================

An autoencoder trained on normal rows learns where they lie: a curved
surface of low dimension (its *manifold*) that its code describes. A row
can be unusual in two ways. It can lie **off** the manifold: the network
reconstructs it badly. Or it can lie **on** it, at a place where the
training rows are rare: it reconstructs well, but its code is far from the
training codes. :class:`~skae.AutoEncoderOutlierDetector` scores both by
default (``anomaly_score="combined"``); the reconstruction error alone
(``anomaly_score="reconstruction"``) sees only the first.

Here the normal rows are benign tumours of the breast cancer data, and
malignant tumours are the outliers: larger and more irregular cells, so
mostly *further along* the directions in which benign tumours vary, not
off them. We compare both scores with
:class:`~sklearn.ensemble.IsolationForest`, look at the two parts of the
score, and ask which features made the most anomalous row unusual.
"""

# %%
# Benign tumours, with malignant ones as 10 % outliers
# ----------------------------------------------------
# The detector is fitted on 60 % of the rows, outliers included (it needs no
# labels), and ranks the other 40 %. The 30 features are standardized on
# the training part, as for any neural network.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoderOutlierDetector

data = load_breast_cancer()  # target 1: benign, 0: malignant
benign = data.data[data.target == 1]
malignant = data.data[data.target == 0]
rng = np.random.default_rng(0)
n_outliers = round(len(benign) * 0.1 / 0.9)
outliers = malignant[rng.choice(len(malignant), n_outliers, replace=False)]
X = np.vstack([benign, outliers])
is_outlier = np.r_[np.zeros(len(benign), bool), np.ones(n_outliers, bool)]

X_train, X_test, _, y_test = train_test_split(
    X, is_outlier, test_size=0.4, stratify=is_outlier, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"{len(X_train)} training rows; {len(X_test)} held out, {y_test.sum()} malignant")

# %%
# Three detectors on the same rows
# --------------------------------
# The default autoencoder has a 2-unit code. The area under the ROC curve
# measures how well each score ranks the malignant rows above the benign
# ones (1 is perfect, 0.5 is chance). ``score_samples`` is higher for more
# normal rows in all three, so minus it is the anomaly score.
#
# With ``contamination="auto"`` the threshold is the median training score
# minus three robust standard deviations (1.4826 times the median absolute
# deviation). The combined score has a long tail on this data, so the rule
# flags more benign rows than on a symmetric one; pass the expected share
# of outliers as ``contamination`` when it is known.
detector = AutoEncoderOutlierDetector(random_state=0).fit(X_train)
reconstruction = AutoEncoderOutlierDetector(
    anomaly_score="reconstruction", random_state=0
).fit(X_train)
forest = IsolationForest(random_state=0).fit(X_train)

models = {
    'combined (anomaly_score="combined")': detector,
    'reconstruction (anomaly_score="reconstruction")': reconstruction,
    "IsolationForest": forest,
}
for name, model in models.items():
    auc = roc_auc_score(y_test, -model.score_samples(X_test))
    print(f"ROC AUC, {name:48s} {auc:.3f}")

flagged = detector.predict(X_test) == -1
print(
    f"combined, contamination='auto': flagged {flagged[y_test].mean():.0%} of "
    f"the malignant rows, {flagged[~y_test].mean():.0%} of the benign ones"
)

# %%
# The two parts of the score
# --------------------------
# The combined score is minus the sum of two parts, each divided by its
# median over the training rows (``part_scales_``):
#
# - the **residual part**, :meth:`~skae.AutoEncoderOutlierDetector.residual_distances`:
#   the squared residual of each feature over that feature's typical
#   training residual, summed. Large for rows *off* the manifold.
# - the **code part**, :meth:`~skae.AutoEncoderOutlierDetector.code_distances`:
#   the squared Mahalanobis distance of the row's code to a robust Gaussian
#   of the training codes. Large for rows *on* the manifold at an unusual
#   place.
#
# Left, the held-out rows' codes (``autoencoder_.transform``), coloured by
# the combined anomaly score, with the Gaussian's contours: the malignant
# rows sit at one end of the benign cloud, along it. Right, the two parts
# of every held-out row: the malignant rows have residuals like the benign
# ones (which is why the reconstruction error alone ranks them poorly) but
# large code distances; the few rows far to the right are off the
# manifold. Rows above or right of the dashed line are flagged.
residual_scale, code_scale = detector.part_scales_
residual = detector.residual_distances(X_test) / residual_scale
code = detector.code_distances(X_test) / code_scale
anomaly = -detector.score_samples(X_test)  # residual + code
codes = detector.autoencoder_.transform(X_test)

fig, (ax_codes, ax_parts) = plt.subplots(1, 2, figsize=(11, 4.6))

low, high = codes.min(axis=0) - 1, codes.max(axis=0) + 1
grid = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
centred = np.stack([g.ravel() for g in grid], axis=1) - detector.code_mean_
density = np.einsum("ij,jk,ik->i", centred, detector.code_precision_, centred)
contours = ax_codes.contour(
    *grid,
    (density / code_scale).reshape(grid[0].shape),
    levels=[1, 4, 16],
    colors="0.6",
    linewidths=0.8,
)
ax_codes.clabel(contours, fmt="code part %g", fontsize=7)
points = ax_codes.scatter(
    *codes.T, c=anomaly, cmap="viridis", norm="log", s=18, edgecolors="none"
)
ax_codes.scatter(
    *codes[y_test].T, s=70, facecolors="none", edgecolors="r", label="malignant"
)
fig.colorbar(points, ax=ax_codes, label="combined anomaly score (log)")
ax_codes.set_xlabel("code 1")
ax_codes.set_ylabel("code 2")
ax_codes.set_title("the held-out rows' 2-D codes")
ax_codes.legend(loc="upper right")

ax_parts.scatter(residual[~y_test], code[~y_test], s=14, c="0.5", label="benign")
ax_parts.scatter(
    residual[y_test], code[y_test], s=30, c="r", marker="^", label="malignant"
)
threshold = -detector.offset_  # flagged where residual + code exceeds it
line = np.geomspace(1e-2, threshold * (1 - 1e-6), 200)
ax_parts.plot(line, threshold - line, "k--", lw=1, label="threshold")
ax_parts.set_xscale("log")
ax_parts.set_yscale("log")
ax_parts.set_xlim(0.2, residual.max() * 1.5)
ax_parts.set_ylim(code.min() / 1.5, code.max() * 1.5)
ax_parts.set_xlabel("residual part (off the manifold)")
ax_parts.set_ylabel("code part (unusual place on it)")
ax_parts.set_title("the two parts, each over its training median")
ax_parts.legend(loc="lower right", fontsize=8)
fig.tight_layout()

# %%
# What made the most anomalous row unusual
# ----------------------------------------
# :meth:`~skae.AutoEncoderOutlierDetector.feature_errors` returns the
# squared residual of every feature; divided by ``feature_scales_`` they
# are the terms of the residual part, so the largest name the features the
# autoencoder could not explain; the values are standardized, in training
# standard deviations. The most anomalous row need not be malignant: a
# benign tumour with extreme measurements is unusual too, whatever its
# label. A row flagged by its code part alone reconstructs well and has
# small residuals everywhere: there, its standardized values show what is
# large about it.
worst = np.argmax(anomaly)
terms = detector.feature_errors(X_test[[worst]])[0] / detector.feature_scales_
top = np.argsort(terms)[::-1][:8]
label = "malignant" if y_test[worst] else "benign"
print(
    f"most anomalous held-out row ({label}): residual part {residual[worst]:.1f}, "
    f"code part {code[worst]:.1f}"
)
for j in top:
    name, value = data.feature_names[j], X_test[worst, j]
    print(f"  {name:24s} value {value:+5.1f}  term {terms[j]:6.1f}")

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.barh(data.feature_names[top][::-1], terms[top][::-1])
ax.set_xlabel("squared residual / feature_scales_")
ax.set_title(f"most anomalous held-out row ({label})")
fig.tight_layout()
plt.show()
