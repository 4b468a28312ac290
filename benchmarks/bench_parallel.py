"""GridSearchCV with n_jobs=2 against n_jobs=1 on a small grid.

Run with ``.venv/bin/python benchmarks/bench_parallel.py`` (``--repeats``
sets the runs per setting; the median and the best run are reported: on a
shared machine the best run is the one least disturbed by other load).

The grid searches an ``AutoEncoderTransformer`` (64-256-k-256-64) over 4
bottleneck sizes with 3-fold CV: 12 fits of 30 epochs on 2,000 of 3,000 x 64
float32 rows.

With ``n_jobs=1`` torch may use every core for its intra-op threads; with
``n_jobs=2`` joblib limits each worker to its share (cores / 2), so the
comparison is processes against threads for the same cores. ``n_jobs=1``
with one torch thread is timed too, to tell the gain of parallel fits from
the cost of torch's threads. The first ``n_jobs=2`` search also starts the
worker processes (each imports torch); it is timed separately as "cold" and
the medians are taken over the warm runs that follow, as in a session that
runs several searches. Runs are interleaved, so that a drifting load on a
shared machine hits every setting alike.
"""

import argparse
import os
import statistics
import time
import warnings

import joblib
import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skae import AutoEncoderTransformer


def data(n_samples=3000, n_features=64, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_samples, 4))
    X = np.tanh(latent @ rng.normal(size=(4, n_features)))
    return (X + 0.05 * rng.normal(size=X.shape)).astype(np.float32)


def search(X, n_jobs, threads=None):
    """Time one grid search; ``threads`` caps torch in this process."""
    default = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _search(X, n_jobs)
    finally:
        torch.set_num_threads(default)


def _search(X, n_jobs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        GridSearchCV(
            AutoEncoderTransformer(
                hidden_layer_sizes=(256,), max_iter=30, random_state=0, device="cpu"
            ),
            {"n_components": [2, 4, 8, 16]},
            cv=3,
            n_jobs=n_jobs,
        ).fit(X)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X = data()
    cores = joblib.cpu_count()
    print(
        f"cores: {cores} (os.cpu_count {os.cpu_count()}), torch threads in the "
        f"parent: {torch.get_num_threads()}, torch {torch.__version__}"
    )
    cold = search(X, 2)
    settings = {
        f"n_jobs=1, torch default ({torch.get_num_threads()} threads)": (1, None),
        "n_jobs=1, 1 torch thread": (1, 1),
        "n_jobs=2 (joblib: cores / 2 threads each)": (2, None),
    }
    times = {name: [] for name in settings}
    for _ in range(args.repeats):
        for name, (n_jobs, threads) in settings.items():
            times[name].append(search(X, n_jobs, threads))
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    mins = {name: min(runs) for name, runs in times.items()}
    print("| setting | median (s) | best (s) | runs (s) |")
    print("|---|---|---|---|")
    for name, runs in times.items():
        listed = ", ".join(f"{t:.1f}" for t in runs)
        print(f"| {name} | {medians[name]:.1f} | {min(runs):.1f} | {listed} |")
    print(f"\nfirst n_jobs=2 search (starts the workers): {cold:.1f} s")
    for what, values in (("medians", medians), ("best runs", mins)):
        one, one_thread, two = values.values()
        print(
            f"speed-up of n_jobs=2 over n_jobs=1 ({what}): {one / two:.2f}x "
            f"(over n_jobs=1 with 1 torch thread: {one_thread / two:.2f}x)"
        )


if __name__ == "__main__":
    main()
