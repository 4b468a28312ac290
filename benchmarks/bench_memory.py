"""Peak memory of fitting: peak RSS / data size for one epoch on a big array.

Run with ``.venv/bin/python benchmarks/bench_memory.py`` (1.5 GB float32 by
default, on a 1000-64-8-64-1000 network; ``--gb 0.2`` for a quick run;
``--sparse`` for the 200,000 x 50,000 CSR matrix with 400,000 non-zeros that
would take 40 GB dense, on a linear 50,000-8-50,000 network;
``--sparse-validation`` for a 20,000 x 20,000 CSR matrix holding 156 KB of
values, fitted without and with ``early_stopping``: the validation rows must
be densified a batch at a time too).

Each measurement runs in a fresh subprocess so that nothing else the parent
allocated counts. The child imports torch and skae, fits a tiny model once
(so thread pools and allocator arenas exist before measuring), notes its
resident set (the *baseline*), builds the data, fits ``max_iter=1`` epoch and
transforms the data once; it then reads the kernel's high-water mark of the
resident set (``VmHWM`` in ``/proc/self/status``, Linux only). Reported:

- ``peak / data``: the whole process's peak RSS over the data size; the
  target is at most 1.5 for 1.5 GB of float32 (so no float64 copy and no
  second full copy of X);
- ``(peak - baseline) / data``: what fitting adds on top of the Python and
  torch runtime, in units of the data (1.0 = the data itself).
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys, time, warnings
import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from skae import AutoEncoderTransformer

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field + " is not in /proc/self/status")

config = json.loads(sys.argv[1])
warnings.simplefilter("ignore", ConvergenceWarning)
params = dict(hidden_layer_sizes=tuple(config["hidden"]), n_components=8,
              max_iter=1, random_state=0, device="cpu")
early_stopping = config.get("early_stopping", False)
AutoEncoderTransformer(**params).fit(np.random.rand(300, 20).astype(np.float32))
baseline = status("VmRSS")
if config["sparse"]:
    rng = np.random.default_rng(0)
    shape, nnz = (config["rows"], config["features"]), config["nnz"]
    rows, cols = rng.integers(shape[0], size=nnz), rng.integers(shape[1], size=nnz)
    values = rng.random(nnz, dtype=np.float32)
    X = sp.coo_matrix((values, (rows, cols)), shape=shape).tocsr()
    size = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    dense_size = X.shape[0] * X.shape[1] * 4
else:
    rng = np.random.default_rng(0)
    X = rng.random((config["rows"], config["features"]), dtype=np.float32)
    size = dense_size = X.nbytes
with_data = status("VmRSS")
start = time.perf_counter()
ae = AutoEncoderTransformer(**params, early_stopping=early_stopping).fit(X)
fit_seconds = time.perf_counter() - start
codes = ae.transform(X)
assert codes.shape == (X.shape[0], 8) and np.isfinite(codes).all()
print(json.dumps(dict(
    baseline=baseline, with_data=with_data, peak=status("VmHWM"), data=size,
    dense_size=dense_size, fit_seconds=fit_seconds, n_iter=ae.n_iter_,
)))
"""


def measure(rows, features, *, hidden=(64,), sparse=False, nnz=None, **fit):
    """Fit one epoch in a fresh process; return its memory figures (bytes).

    The model is ``features -> hidden -> 8 -> hidden -> features``. With
    ``sparse``, X is a CSR matrix with about ``nnz`` random non-zeros.
    """
    config = dict(
        rows=rows, features=features, hidden=list(hidden), sparse=sparse, nnz=nnz
    )
    config.update(fit)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(config)],
        capture_output=True,
        text=True,
    )
    if child.returncode:
        raise RuntimeError(f"the measuring process failed:\n{child.stderr}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result["peak_ratio"] = result["peak"] / result["data"]
    result["growth_ratio"] = (result["peak"] - result["baseline"]) / result["data"]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.5, help="dense data size")
    parser.add_argument("--features", type=int, default=1000)
    parser.add_argument("--sparse", action="store_true", help="the big CSR case")
    parser.add_argument(
        "--sparse-validation",
        action="store_true",
        help="20,000 x 20,000 CSR, without and with early stopping",
    )
    args = parser.parse_args()
    if args.sparse_validation:
        # 39,000 float32 values: 156 KB.
        cases = {
            f"early_stopping={flag}": measure(
                20_000, 20_000, sparse=True, nnz=39_000, early_stopping=flag
            )
            for flag in (False, True)
        }
    elif args.sparse:
        cases = {"": measure(200_000, 50_000, hidden=(), sparse=True, nnz=400_000)}
    else:
        rows = int(args.gb * 1e9 / (4 * args.features))
        cases = {"": measure(rows, args.features)}
    mb = 1e6
    print(
        "| case | data | dense size | baseline RSS | peak RSS | peak - baseline "
        "| (peak - baseline) / data | fit (1 epoch) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for case, result in cases.items():
        print(
            f"| {case} | {result['data'] / mb:.2f} MB "
            f"| {result['dense_size'] / mb:.0f} MB "
            f"| {result['baseline'] / mb:.0f} MB | {result['peak'] / mb:.0f} MB "
            f"| +{(result['peak'] - result['baseline']) / mb:.0f} MB "
            f"| {result['growth_ratio']:.2f} | {result['fit_seconds']:.1f} s |"
        )


if __name__ == "__main__":
    main()
