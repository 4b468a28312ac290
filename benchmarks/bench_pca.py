"""AutoEncoderTransformer at its defaults against PCA on scikit-learn's data sets.

For iris, wine, breast cancer, diabetes and digits, raw and standardized, at
two bottleneck sizes each: held-out R² (75/25 split, random_state=0) of PCA
and of ``AutoEncoderTransformer(n_components=k, random_state=0)``, epochs
run, ConvergenceWarnings raised and fit time. Then the time-to-quality row:
digits at k=8 against ``MLPRegressor((128, 8, 128), max_iter=300)`` trained
as an autoencoder, in the same run.

Run: ``python benchmarks/bench_pca.py`` (``make bench-pca``).
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoderTransformer

DATASETS = {
    "iris": (load_iris, (1, 2)),
    "wine": (load_wine, (2, 4)),
    "breast_cancer": (load_breast_cancer, (2, 8)),
    "diabetes": (load_diabetes, (2, 4)),
    "digits": (load_digits, (4, 8)),
}


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


def quality_table(names):
    rows = []
    for name in names:
        loader, sizes = DATASETS[name]
        X = loader().data.astype(np.float64)
        for scaling in ("raw", "standardized"):
            X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
            if scaling == "standardized":
                scaler = StandardScaler().fit(X_train)
                X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
            center = X_train.mean(axis=0)
            for k in sizes:
                pca = PCA(k).fit(X_train)
                projected = pca.inverse_transform(pca.transform(X_test))
                pca_r2 = r2(X_test, projected, center)
                ae = AutoEncoderTransformer(n_components=k, random_state=0)
                seconds, n_warnings = fit_quietly(ae, X_train)
                ae_r2 = r2(X_test, ae.reconstruct(X_test), center)
                rows.append(
                    (name, scaling, k, pca_r2, ae_r2, ae.n_iter_, n_warnings, seconds)
                )
                print(
                    f"| {name} | {scaling} | {k} | {pca_r2:.4f} | {ae_r2:.4f} | "
                    f"{ae_r2 - pca_r2:+.4f} | {ae.n_iter_} | {n_warnings} | "
                    f"{seconds:.2f} |",
                    flush=True,
                )
    return rows


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    if not args.skip_quality:
        print(
            "| data | scaling | k | PCA R² | AE R² | AE - PCA | epochs | "
            "ConvergenceWarnings | fit s |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        quality_table(args.datasets)
    time_to_quality(args.repeats)


if __name__ == "__main__":
    main()
