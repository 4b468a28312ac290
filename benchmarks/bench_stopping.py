"""The stopping rule: 0.2's against 0.3's, side by side, on every case.

0.2's rule stopped once the unit-free training score had gained less than
``tol=7e-4`` for ``n_iter_no_change + 1 = 6`` epochs in a row, from the
first epoch on; 0.3's asks an epoch for ``tol`` or 2 % of the remaining
error ``1 - score``, whichever is less, never stops while the score is
below 0.05, at 0.3's defaults (``tol=9e-4``, ``n_iter_no_change=8``; 6 for the
VAE).
"0.2" here is the current code with the rule's two constants switched off
(``LEARNT = -inf``, ``RELATIVE_TOL = inf``) at 0.2's defaults, which is
exactly 0.2's rule (the warning that a fit learnt nothing is 0.3's, and
counts in both columns).

Cases (``stopping_cases.py``, every other parameter at its default):
digits k=8, the curved 3-D manifold in 40-D, the sine sequences with the
GRU, LSTM and transformer, conv on digits, each autoencoder of the family on
digits, 60 000 rows near an 8-D manifold; per case epochs, fit time (median
of ``--repeats`` fits, the two rules interleaved), held-out reconstruction
error over the held-out variance and over PCA's held-out error, and
ConvergenceWarnings. Then the drop-in table (every bundled data set, raw
and standardized, at every k = 1 ... 8): worst held-out R² against PCA's,
fits more than 0.01 below, ConvergenceWarnings, epochs (one fit each). Then
digits at k=8 against ``MLPRegressor((128, 8, 128))`` fitted on (X, X),
medians of interleaved fits.

Run: ``python benchmarks/bench_stopping.py`` (``make bench``);
``--repeats``, ``--cases``, ``--skip-bundled``.
"""

import argparse
import contextlib
import math
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import stopping_cases
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

import skae._stopping

OLD_DEFAULTS = {"tol": 7e-4, "n_iter_no_change": 5}


@contextlib.contextmanager
def rule(version):
    """Switch the stopping rule to 0.2's or leave 0.3's."""
    saved = skae._stopping.LEARNT, skae._stopping.RELATIVE_TOL
    if version == "0.2":
        skae._stopping.LEARNT, skae._stopping.RELATIVE_TOL = -math.inf, math.inf
    try:
        yield
    finally:
        skae._stopping.LEARNT, skae._stopping.RELATIVE_TOL = saved


def settings(params, version):
    """0.2's defaults for its rule; 0.3's are the estimators' own."""
    if version == "0.2":
        return {**params, **OLD_DEFAULTS}
    return params


def held_out_error(estimator, X_train, X_test):
    """Held-out squared error over the held-out variance (1 - R²)."""
    reconstruction = estimator.reconstruct(X_test)
    total = np.sum((X_test - X_train.mean(axis=0)) ** 2)
    return float(np.sum((X_test - reconstruction) ** 2) / total)


def pca_error(k, X_train, X_test):
    pca = PCA(k).fit(X_train)
    reconstruction = pca.inverse_transform(pca.transform(X_test))
    total = np.sum((X_test - X_train.mean(axis=0)) ** 2)
    return float(np.sum((X_test - reconstruction) ** 2) / total)


def fit(case, version):
    """Fit one case under one rule: (seconds, estimator, warnings, data)."""
    cls, params, X_train, X_test = case()
    estimator = cls(**settings(params, version), random_state=0)
    with rule(version), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X_train)
        seconds = time.perf_counter() - start
    n_warnings = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, estimator, n_warnings, (X_train, X_test, params)


def compare(name, case, repeats):
    """Interleave the two rules ``repeats`` times; one row per rule."""
    times = {"0.2": [], "0.3": []}
    result = {}
    for repeat in range(repeats):
        order = ("0.2", "0.3") if repeat % 2 == 0 else ("0.3", "0.2")
        for version in order:
            seconds, estimator, n_warnings, data = fit(case, version)
            times[version].append(seconds)
            result[version] = (estimator, n_warnings, data)
    rows = []
    for version in ("0.2", "0.3"):
        estimator, n_warnings, (X_train, X_test, params) = result[version]
        error = held_out_error(estimator, X_train, X_test)
        pca = pca_error(params["n_components"], X_train, X_test)
        train = estimator.net_.history[-1, "train_score"]
        rows.append(
            f"| {name} | {version} | {estimator.n_iter_} | "
            f"{statistics.median(times[version]):.2f} | {train:.3f} | {error:.3f} | "
            f"{error / pca:.3f} | {n_warnings} |"
        )
    print(f"{name} done", file=sys.stderr, flush=True)
    return rows


def bundled(version):
    """The drop-in table under one rule: (summary row, worst case)."""
    diffs, epochs, n_warnings, seconds = {}, 0, 0, 0.0
    for name, case in stopping_cases.bundled_cases().items():
        took, estimator, caught, (X_train, X_test, params) = fit(case, version)
        ae = 1 - held_out_error(estimator, X_train, X_test)
        pca = 1 - pca_error(params["n_components"], X_train, X_test)
        diffs[name] = ae - pca
        epochs += estimator.n_iter_
        n_warnings += caught
        seconds += took
    worst = min(diffs, key=diffs.get)
    below = sum(d < -0.01 for d in diffs.values())
    return (
        f"| {version} | {len(diffs)} | {diffs[worst]:+.4f} ({worst}) | {below} | "
        f"{n_warnings} | {epochs} | {seconds:.1f} |"
    )


def against_mlp(repeats):
    """Digits k=8 at defaults against MLPRegressor((128, 8, 128)) on (X, X)."""
    X_train, X_test = stopping_cases.digits_split()
    pca = pca_error(8, X_train, X_test)
    times = {"0.2": [], "0.3": [], "mlp": []}
    errors = {}
    for repeat in range(repeats):
        order = ["0.2", "0.3", "mlp"]
        if repeat % 2:
            order.reverse()
        for who in order:
            if who == "mlp":
                model = MLPRegressor(
                    hidden_layer_sizes=(128, 8, 128), max_iter=300, random_state=0
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start = time.perf_counter()
                    model.fit(X_train, X_train)
                    times[who].append(time.perf_counter() - start)
                reconstruction = model.predict(X_test)
                total = np.sum((X_test - X_train.mean(axis=0)) ** 2)
                errors[who] = np.sum((X_test - reconstruction) ** 2) / total
            else:
                seconds, estimator, _, _ = fit(stopping_cases.CASES["digits_k8"], who)
                times[who].append(seconds)
                errors[who] = held_out_error(estimator, X_train, X_test)
    mlp = statistics.median(times["mlp"])
    return [
        f"| {who} | {statistics.median(times[who]):.2f} | "
        f"{statistics.median(times[who]) / mlp:.2f} | {errors[who] / pca:.3f} |"
        for who in ("0.2", "0.3", "mlp")
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cases", nargs="*", default=None)
    parser.add_argument("--skip-bundled", action="store_true")
    args = parser.parse_args()
    cases = stopping_cases.CASES
    if args.cases is not None:
        cases = {name: cases[name] for name in args.cases}
    print(
        f"Machine: {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"medians of {args.repeats} interleaved fits.\n"
    )
    print("| case | rule | epochs | fit s | train R² | held-out err / var | "
          "/ PCA's | ConvergenceWarnings |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, case in cases.items():
        for row in compare(name, case, args.repeats):
            print(row, flush=True)
    if not args.skip_bundled:
        print("\n| rule | fits | worst AE - PCA held-out R² | below -0.01 | "
              "ConvergenceWarnings | epochs | fit s |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for version in ("0.2", "0.3"):
            print(bundled(version), flush=True)
    print("\n| digits k=8 | fit s | / MLPRegressor | held-out MSE / PCA's |")
    print("|---|---|---|---|")
    for row in against_mlp(args.repeats):
        print(row, flush=True)


if __name__ == "__main__":
    main()
