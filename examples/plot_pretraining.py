"""
=============================================
Pretraining a classifier on unlabelled data
=============================================

Labels are often scarce while unlabelled rows are plentiful.
:class:`~skae.EncoderClassifier` puts the unlabelled rows to work: an
autoencoder learns to reconstruct all of them, then its encoder, topped
with a small head, is trained on the few labelled rows (a linear probe on
the frozen codes first, then fine-tuning of everything at a tenth of the
rate).

We measure held-out accuracy against the number of labels per class for

- logistic regression on the raw features (no use of unlabelled rows);
- PCA fitted on all rows, then logistic regression on the labelled codes
  (linear pretraining);
- :class:`~skae.EncoderClassifier` (nonlinear pretraining, fine-tuned);

on the 8x8 digits, and on the same digits with 300 features of pure noise
appended, a stand-in for data where most measured features carry no
signal.
"""

# %%
# Data and label draws
# --------------------
# A quarter of the digits is held out for testing. From the rest we draw
# ``n`` labelled rows per class; all training rows serve as unlabelled data.
# (The models are cloned for every label set; a FrozenEstimator clones to
# itself, so the pretrained models are shared.)
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoderTransformer, EncoderClassifier

digits = load_digits()
pixels = digits.data / 16
noise = np.random.default_rng(0).uniform(size=(len(pixels), 300))
datasets = {
    "digits (64 pixels)": pixels,
    "digits + 300 noise features": np.hstack([pixels, noise]),
}
labels_per_class = [1, 2, 5, 10, 20]
draws = 2  # label draws averaged per point


def draw_labels(y, per_class, seed):
    rng = np.random.default_rng(seed)
    rows = [np.flatnonzero(y == c) for c in range(10)]
    return np.concatenate([rng.choice(r, per_class, replace=False) for r in rows])


# %%
# Pretrain once, then train on each label set
# -------------------------------------------
# ``EncoderClassifier.fit(X, y)``, with ``y`` holding -1 for the unlabelled
# rows, pretrains a clone of the autoencoder on every row at every call. To
# train many classifiers on the same unlabelled rows we pretrain once and
# pass the fitted autoencoder wrapped in
# :class:`~sklearn.frozen.FrozenEstimator`, which is neither cloned nor
# refitted; PCA is handled the same way. Pretraining stops once ten epochs
# in a row improve the loss by less than ``tol=1e-3`` (0.1 % of the data's
# variance). ``alpha`` regularises the head and keeps the fine-tuned encoder
# near its pretrained weights.
results = {}
for name, X in datasets.items():
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32),
        digits.target,
        test_size=0.25,
        stratify=digits.target,
        random_state=0,
    )
    ae = AutoEncoderTransformer(
        n_components=16,
        hidden_layer_sizes=(256, 128),
        batch_size=500,
        tol=1e-3,
        random_state=0,
    ).fit(X_train)
    pca = PCA(n_components=16, random_state=0).fit(X_train)
    models = {
        "logistic regression": LogisticRegression(max_iter=2000),
        "PCA + logistic regression": make_pipeline(
            FrozenEstimator(pca), StandardScaler(), LogisticRegression(max_iter=2000)
        ),
        "EncoderClassifier": EncoderClassifier(
            FrozenEstimator(ae), alpha=0.1, random_state=0
        ),
    }
    scores = {model: np.zeros((len(labels_per_class), draws)) for model in models}
    for i, per_class in enumerate(labels_per_class):
        for seed in range(draws):
            rows = draw_labels(y_train, per_class, seed)
            for model, estimator in models.items():
                fitted = clone(estimator).fit(X_train[rows], y_train[rows])
                scores[model][i, seed] = fitted.score(X_test, y_test)
    results[name] = {model: s.mean(axis=1) for model, s in scores.items()}
    print(name)
    for model, accuracy in results[name].items():
        print(f"  {model:28s}", " ".join(f"{a:.3f}" for a in accuracy))

# %%
# Accuracy against the number of labels
# -------------------------------------
# On the clean digits the 64 pixels are already nearly linearly separable
# and a logistic regression on them is hard to beat: the pretrained
# classifier comes close to it, and beats PCA's linear pretraining
# throughout. With noise features, the logistic regression on the raw
# features overfits the noise, while both pretrained models learn from all
# rows where the signal lies: the autoencoder does best with a few labels
# per class, and with 10 or more, PCA followed by a logistic regression
# overtakes it. Pretraining pays most when labels are few and most features
# carry no signal.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, (name, accuracies) in zip(axes, results.items(), strict=True):
    for model, accuracy in accuracies.items():
        ax.plot(labels_per_class, accuracy, marker="o", label=model)
    ax.set_xscale("log")
    ax.set_xticks(labels_per_class, [str(n) for n in labels_per_class])
    ax.set_xlabel("labels per class")
    ax.set_title(name)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("held-out accuracy")
axes[0].legend(loc="lower right")
fig.tight_layout()
plt.show()
