"""AutoEncoderTransformer at its defaults against PCA on scikit-learn's data sets.

Every real data set bundled with scikit-learn that is a matrix of samples by
features: iris, wine, breast cancer, diabetes, digits and linnerud (its 20 x 3
exercise matrix), raw and standardized, at every bottleneck size
``k = 1 ... min(8, n_features - 1)``: held-out R² (75/25 split,
random_state=0) of ``PCA(k)`` and of
``AutoEncoderTransformer(n_components=k, random_state=0)`` on the same split,
their difference, epochs run, ConvergenceWarnings raised and fit time, then a
summary (worst difference, rows below PCA by more than 0.01 and 0.001). The
sample images are left out: they are two photographs, not a data set of
samples. Then the time-to-quality row: digits at k=8 against
``MLPRegressor((128, 8, 128), max_iter=300)`` trained as an autoencoder, in
the same run.

Run: ``python benchmarks/bench_pca.py`` (``make bench``); ``--datasets``,
``--max-k`` and ``--skip-quality`` / ``--skip-time`` select parts;
``--random-state`` and ``--params '{"alpha": 0.01}'`` change the
autoencoder of the quality table (the defaults are the protocol);
``--threads 1`` gives the same R² and epochs and steadier times on a busy
machine.
"""

import argparse
import json
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
)
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoderTransformer

DATASETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
    "digits": load_digits,
    "linnerud": load_linnerud,
}
LARGEST_K = 8


def r2(X_test, reconstruction, center):
    return 1 - np.sum((X_test - reconstruction) ** 2) / np.sum((X_test - center) ** 2)


def fit_quietly(estimator, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X)
        seconds = time.perf_counter() - start
    n_warnings = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, n_warnings


def splits(name):
    """Yield (scaling, X_train, X_test) for the raw and the standardized data."""
    X = DATASETS[name]().data.astype(np.float64)
    for scaling in ("raw", "standardized"):
        X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
        if scaling == "standardized":
            scaler = StandardScaler().fit(X_train)
            X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        yield scaling, X_train, X_test


def quality_row(X_train, X_test, k, settings):
    """Return (PCA R², AE R², epochs, ConvergenceWarnings, fit s) at size k."""
    center = X_train.mean(axis=0)
    pca = PCA(k).fit(X_train)
    pca_r2 = r2(X_test, pca.inverse_transform(pca.transform(X_test)), center)
    ae = AutoEncoderTransformer(n_components=k, **settings)
    seconds, n_warnings = fit_quietly(ae, X_train)
    ae_r2 = r2(X_test, ae.reconstruct(X_test), center)
    return pca_r2, ae_r2, ae.n_iter_, n_warnings, seconds


def quality_table(names, largest_k, settings):
    print(
        "| data | scaling | k | PCA R² | AE R² | AE - PCA | epochs | "
        "ConvergenceWarnings | fit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name in names:
        for scaling, X_train, X_test in splits(name):
            for k in range(1, min(largest_k, X_train.shape[1] - 1) + 1):
                pca_r2, ae_r2, epochs, n_warnings, seconds = quality_row(
                    X_train, X_test, k, settings
                )
                rows.append((name, scaling, k, ae_r2 - pca_r2, epochs, n_warnings))
                print(
                    f"| {name} | {scaling} | {k} | {pca_r2:.4f} | {ae_r2:.4f} | "
                    f"{ae_r2 - pca_r2:+.4f} | {epochs} | {n_warnings} | "
                    f"{seconds:.2f} |",
                    flush=True,
                )
    return rows


def summarize(rows):
    worst = min(rows, key=lambda row: row[3])
    below = {t: [r for r in rows if r[3] < -t] for t in (0.01, 0.001)}
    print(
        f"\n{len(rows)} fits; worst AE - PCA {worst[3]:+.4f} ({worst[0]} "
        f"{worst[1]} k={worst[2]}); below PCA by more than 0.01: "
        f"{len(below[0.01])}, by more than 0.001: {len(below[0.001])}; "
        f"fits with a ConvergenceWarning: {sum(r[5] > 0 for r in rows)}; "
        f"epochs {min(r[4] for r in rows)}-{max(r[4] for r in rows)}"
    )
    for name, scaling, k, diff, *_ in below[0.001]:
        print(f"  below by more than 0.001: {name} {scaling} k={k}: {diff:+.4f}")


def time_to_quality(repeats):
    X = load_digits().data / 16
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    pca = PCA(8).fit(X_train)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    times = {"skae": [], "mlp": []}
    mse = {}
    for _ in range(repeats):  # interleaved: both see the same machine load
        ae = AutoEncoderTransformer(n_components=8, random_state=0)
        seconds, _ = fit_quietly(ae, X_train)
        times["skae"].append(seconds)
        mse["skae"] = np.mean((ae.reconstruct(X_test) - X_test) ** 2)
        mlp = MLPRegressor(
            hidden_layer_sizes=(128, 8, 128), max_iter=300, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            mlp.fit(X_train, X_train)
            times["mlp"].append(time.perf_counter() - start)
        mse["mlp"] = np.mean((mlp.predict(X_test) - X_test) ** 2)
        epochs = {"skae": ae.n_iter_, "mlp": mlp.n_iter_}
    skae_s, mlp_s = np.median(times["skae"]), np.median(times["mlp"])
    print()
    print("| digits k=8 | fit s (median) | epochs | held-out MSE | MSE / PCA's |")
    print("|---|---|---|---|---|")
    print(f"| PCA | - | - | {pca_mse:.5f} | 1.00 |")
    print(
        f"| MLPRegressor((128, 8, 128)) | {mlp_s:.3f} | {epochs['mlp']} | "
        f"{mse['mlp']:.5f} | {mse['mlp'] / pca_mse:.2f} |"
    )
    print(
        f"| AutoEncoderTransformer(8) | {skae_s:.3f} | {epochs['skae']} | "
        f"{mse['skae']:.5f} | {mse['skae'] / pca_mse:.2f} |"
    )
    print(
        f"\nfit time ratio skae / MLPRegressor: {skae_s / mlp_s:.2f} "
        f"(target <= 1.5); MSE ratio skae / PCA: {mse['skae'] / pca_mse:.2f} "
        "(target <= 0.6)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--max-k", type=int, default=LARGEST_K)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--params", default="{}", help="other settings, e.g. '{\"alpha\": 0.01}'"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-time", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    if not args.skip_quality:
        settings = {"random_state": args.random_state, **json.loads(args.params)}
        print(f"AutoEncoderTransformer settings: {settings}\n")
        summarize(quality_table(args.datasets, args.max_k, settings))
    if not args.skip_time:
        time_to_quality(args.repeats)


if __name__ == "__main__":
    main()
