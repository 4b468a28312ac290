"""
==============================================
Looking inside a fitted autoencoder: skae.plot
==============================================

Three questions come up after every fit: did training converge, how good
are the reconstructions, and what does the code look like? :mod:`skae.plot`
answers each with one line, following scikit-learn's Display pattern
(``from_estimator``, then the drawn matplotlib objects as attributes):

* :class:`~skae.plot.LossCurveDisplay`: training loss and validation score
  per epoch;
* :class:`~skae.plot.ReconstructionDisplay`: images over their
  reconstructions;
* :class:`~skae.plot.LatentScatterDisplay`: the codes, coloured by label.
"""

# %%
# A two-number code of the digits
# --------------------------------
# With ``early_stopping=True`` a tenth of the rows is held out, scored after
# every epoch, and the best epoch's weights are kept. The epoch budgets are
# small, to keep the example fast; silence the warning that says so.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoEncoderTransformer
from skae.plot import LatentScatterDisplay, LossCurveDisplay, ReconstructionDisplay

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

ae = AutoEncoderTransformer(
    n_components=2,
    hidden_layer_sizes=(128, 32),
    output_activation="sigmoid",
    early_stopping=True,
    max_iter=80,
    random_state=0,
).fit(X_train)
print(f"{ae.n_iter_} epochs, best validation score {ae.best_validation_score_:.4f}")

# %%
# Did training converge?
# ----------------------
# The training loss (left axis) is per row, summed over the 64 pixels; the
# validation score (right axis) is minus the mean squared error per pixel,
# so the two live on their own axes. The dotted line marks the epoch whose
# weights were kept.
LossCurveDisplay.from_estimator(ae)
plt.show()

# %%
# How good are the reconstructions?
# ---------------------------------
# The 64 features are 8x8 images, a square, so no ``image_shape`` is needed.
# Two numbers per digit keep its rough shape but lose details.
ReconstructionDisplay.from_estimator(ae, X_test, n_images=12)
plt.show()

# %%
# What does the code look like?
# -----------------------------
# Each test digit is a point at its code. The labels were never shown to
# the autoencoder, yet most classes form their own regions.
display = LatentScatterDisplay.from_estimator(ae, X_test, y_test)
plt.show()

# %%
# Composing displays
# ------------------
# Every display draws on the axes it is given (``ax=``), so they combine
# into one figure. A wider code cannot be drawn directly: the scatter shows
# its first two components and says so in the title.
ae8 = AutoEncoderTransformer(
    n_components=8, output_activation="sigmoid", max_iter=40, random_state=0
).fit(X_train)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
LossCurveDisplay.from_estimator(ae8, ax=left)
LatentScatterDisplay.from_estimator(ae8, X_test, y_test, ax=right)
fig.tight_layout()
plt.show()
