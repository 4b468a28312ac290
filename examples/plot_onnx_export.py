"""
========================================================
Serving a pipeline with ONNX Runtime, without PyTorch
========================================================

A model that works in a notebook still has to run where it is used: in a
web service, on a phone, in a database. ONNX is the format that scikit-learn
users convert to for that (with skl2onnx), and ONNX Runtime runs it from C,
C++, C#, Java or JavaScript without Python's machine-learning stack.

Here a whole pipeline, scaling, an autoencoder and a logistic regression on
its codes, is converted with :func:`skae.to_onnx` into one ONNX graph,
loaded into ONNX Runtime, and checked against scikit-learn.
Conversion needs ``pip install "skae[onnx]"``.
"""

# %%
# A pipeline on the digits
# ------------------------
# The autoencoder compresses the 64 pixels to 8 codes; the classifier reads
# the codes.
import time

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoderTransformer, to_onnx

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = make_pipeline(
    StandardScaler(),
    AutoEncoderTransformer(n_components=8, early_stopping=True, random_state=0),
    LogisticRegression(max_iter=1000),
).fit(X_train, y_train)
print(f"scikit-learn accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Convert the whole pipeline
# --------------------------
# :func:`skae.to_onnx` registers skae's estimators with skl2onnx and converts
# the pipeline; the sample (one row) sets the input's type, float32, and its
# width. The graph takes any number of rows. Its bytes are what a
# ``pipeline.onnx`` file holds.
onnx_model = to_onnx(pipe, X_train[:1])
data = onnx_model.SerializeToString()
print(f"ONNX model: {len(data) / 1024:.0f} KiB")
for value in onnx_model.graph.input:
    print("input: ", value.name)
for value in onnx_model.graph.output:
    print("output:", value.name)

# %%
# Serve it with ONNX Runtime
# --------------------------
# Loading the model needs only ``onnxruntime``; the same two calls work
# from its C, C#, Java and JavaScript APIs. The outputs are the labels
# (``predict``) and the class probabilities (``predict_proba``).
session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
label, proba = session.run(None, {"X": X_test})

difference = np.abs(proba - pipe.predict_proba(X_test)).max()
print(f"largest |ONNX Runtime - scikit-learn| probability: {difference:.1e}")
print(f"same labels on all {len(X_test)} rows: {(label == pipe.predict(X_test)).all()}")

# %%
# What the graph holds
# --------------------
# Each step became ONNX operators: the StandardScaler a ``Scaler``; the
# autoencoder's encoder the operators PyTorch's exporter traced from it
# (the ``Gemm`` matrix products and ``Relu`` activations of its layers,
# after the ``Sub`` and ``Div`` of the standardisation its network applies
# to the input); the logistic regression a ``LinearClassifier`` and a
# ``Normalizer`` that turns its scores into probabilities. On the right,
# the time per call against the scikit-learn pipeline for a few batch sizes
# (timings on a shared machine are noisy): without Python's per-call
# checks, ONNX Runtime answers small batches much faster.
operators = {}
for node in onnx_model.graph.node:
    operators[node.op_type] = operators.get(node.op_type, 0) + 1


def best_ms(predict, rows, repeat=20):
    """Milliseconds of the fastest of ``repeat`` calls of ``predict(rows)``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        predict(rows)
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


sizes = [1, 10, 100, len(X_test)]


def onnx_predict_proba(rows):
    return session.run(["probabilities"], {"X": rows})[0]


sklearn_ms = [best_ms(pipe.predict_proba, X_test[:n]) for n in sizes]
onnx_ms = [best_ms(onnx_predict_proba, X_test[:n]) for n in sizes]

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
names = sorted(operators, key=operators.get)
ax0.barh(names, [operators[name] for name in names], color="tab:blue")
ax0.set_xlabel("nodes in the ONNX graph")
ax0.set_title("operators")
ax1.plot(sizes, sklearn_ms, "o-", label="scikit-learn pipeline")
ax1.plot(sizes, onnx_ms, "s-", label="ONNX Runtime")
ax1.set_xscale("log")
ax1.set_yscale("log")
ax1.set_xlabel("rows per call")
ax1.set_ylabel("milliseconds per call (best of 20)")
ax1.set_title("predict_proba")
ax1.legend()
fig.tight_layout()
plt.show()
