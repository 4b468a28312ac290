"""Anomaly detection: skae's detector against scikit-learn's and PyOD's.

The suite, built from scikit-learn's bundled data (10 % outliers in every
set): digits one-class-vs-rest (inlier digit 0, 1 or 7, outliers drawn from
the other digits), breast cancer (benign rows, malignant outliers), wine
(classes 0 and 1, class-2 outliers) and a synthetic 20-D set (three
Gaussian clusters, outliers drawn uniformly over their bounding box). For
each of ``--seeds`` seeds the outliers are drawn, the rows split 60/40
(stratified), standardized on the 60 % part; every detector is fitted on
that contaminated part at its defaults and ranks the 40 % rest: ROC AUC and
average precision, mean over the seeds. Fit and score times are wall
seconds for the whole suite, medians over the seeds.

Detectors: ``AutoEncoderOutlierDetector`` with each ``anomaly_score``;
``IsolationForest``; ``LocalOutlierFactor(novelty=True)``; PCA
reconstruction (k=2, the squared residual); PyOD's ``AutoEncoder`` and
``PCA`` when ``pyod`` is importable (``pip install -e ".[bench]"``; never a
dependency of skae).

Then the case the combined score is not for: normal rows that form several
groups (digits/16, nine classes, clean), the tenth class unseen.

Run: ``python benchmarks/bench_outliers.py`` (``make bench``); ``--seeds``,
``--detectors``, ``--skip-groups``.
"""

import argparse
import platform
import statistics
import time
import warnings
from collections import defaultdict

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoderOutlierDetector

OUTLIER_SHARE = 0.1


def _mix(inliers, pool, rng):
    """The inliers plus outliers drawn from ``pool``: 10 % of the rows."""
    n_outliers = round(len(inliers) * OUTLIER_SHARE / (1 - OUTLIER_SHARE))
    outliers = pool[rng.choice(len(pool), n_outliers, replace=False)]
    y = np.r_[np.zeros(len(inliers), int), np.ones(n_outliers, int)]
    return np.vstack([inliers, outliers]), y


def _digits(inlier):
    def make(rng):
        data = load_digits()
        normal = data.target == inlier
        return _mix(data.data[normal], data.data[~normal], rng)

    return make


def _breast_cancer(rng):
    data = load_breast_cancer()  # target 1: benign
    return _mix(data.data[data.target == 1], data.data[data.target == 0], rng)


def _wine(rng):
    data = load_wine()
    return _mix(data.data[data.target < 2], data.data[data.target == 2], rng)


def _synthetic(rng, n_features=20):
    centers = rng.normal(scale=5, size=(3, n_features))
    inliers = np.vstack([c + rng.normal(size=(150, n_features)) for c in centers])
    low, high = inliers.min(axis=0), inliers.max(axis=0)
    pool = rng.uniform(low, high, size=(200, n_features))
    return _mix(inliers, pool, rng)


SUITE = {
    "digits0": _digits(0),
    "digits1": _digits(1),
    "digits7": _digits(7),
    "breast_cancer": _breast_cancer,
    "wine": _wine,
    "synthetic": _synthetic,
}


def split(name, seed):
    """Contaminated training part and labelled test part, standardized."""
    X, y = SUITE[name](np.random.default_rng(seed))
    X_train, X_test, _, y_test = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_test


class PCAReconstruction:
    """Squared residual off the first two principal components."""

    def __init__(self, random_state=None):
        self.pca = PCA(2)

    def fit(self, X):
        self.pca.fit(X)
        return self

    def anomaly(self, X):
        residual = X - self.pca.inverse_transform(self.pca.transform(X))
        return np.sum(residual**2, axis=1)


def _wrap(make, anomaly):
    """Wrap a detector built by ``make(seed)``; ``anomaly(model, X)`` ranks rows."""

    class Detector:
        def __init__(self, random_state):
            self.model = make(random_state)

        def fit(self, X):
            self.model.fit(X)
            return self

        def anomaly(self, X):
            return anomaly(self.model, X)

    return Detector


def _sklearn(make):
    """A scikit-learn detector: anomaly = -score_samples."""
    return _wrap(make, lambda model, X: -model.score_samples(X))


def _pyod(make):
    """A PyOD detector: anomaly = decision_function (higher: outlier)."""
    return _wrap(make, lambda model, X: model.decision_function(X))


def detectors():
    found = {
        f"skae {kind}": _sklearn(
            lambda seed, kind=kind: AutoEncoderOutlierDetector(
                anomaly_score=kind, random_state=seed
            )
        )
        for kind in ("combined", "reconstruction", "code")
    }
    found["IsolationForest"] = _sklearn(lambda seed: IsolationForest(random_state=seed))
    found["LOF (novelty)"] = _sklearn(lambda seed: LocalOutlierFactor(novelty=True))
    found["PCA reconstruction k=2"] = PCAReconstruction
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.pca import PCA as PyODPCA
    except ImportError:
        return found
    found["PyOD AutoEncoder"] = _pyod(
        lambda seed: AutoEncoder(random_state=seed, verbose=0)
    )
    found["PyOD PCA"] = _pyod(lambda seed: PyODPCA(random_state=seed))
    return found


def run(names, seeds):
    """Per detector: AUC and AP per set (lists over seeds), times per seed."""
    found = detectors()
    auc = defaultdict(lambda: defaultdict(list))
    ap = defaultdict(lambda: defaultdict(list))
    fit_s = defaultdict(lambda: defaultdict(float))
    score_s = defaultdict(lambda: defaultdict(float))
    # One untimed fit each first: torch's and PyOD's one-off start-up costs
    # would otherwise land on whichever detector runs first.
    warm_up = split("wine", 0)[0]
    for who in found:
        if names is None or who in names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found[who](0).fit(warm_up)
    for seed in range(seeds):
        for name in SUITE:
            X_train, X_test, y_test = split(name, seed)
            # Interleaved: the order of the detectors alternates per seed.
            order = [d for d in found if names is None or d in names]
            if seed % 2:
                order.reverse()
            for who in order:
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = found[who](seed).fit(X_train)
                fitted = time.perf_counter()
                anomaly = model.anomaly(X_test)
                scored = time.perf_counter()
                fit_s[who][seed] += fitted - start
                score_s[who][seed] += scored - fitted
                auc[who][name].append(roc_auc_score(y_test, anomaly))
                ap[who][name].append(average_precision_score(y_test, anomaly))
    return auc, ap, fit_s, score_s


def several_groups(seeds):
    """Normal rows of nine digit classes (clean), the tenth class held out.

    Where the normal codes form several groups the Gaussian of the codes is
    the wrong model; this table measures what that costs each score.
    """
    data = load_digits()
    found = detectors()
    names = [
        "skae combined",
        "skae reconstruction",
        "skae code",
        "IsolationForest",
        "PCA reconstruction k=2",
    ]
    auc = defaultdict(lambda: defaultdict(list))
    for seed in range(seeds):
        X_train, X_test, y_train, y_test = train_test_split(
            data.data / 16,
            data.target,
            test_size=0.5,
            stratify=data.target,
            random_state=seed,
        )
        for unseen in (0, 1, 7):
            normal = X_train[y_train != unseen]
            for who in names:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = found[who](seed).fit(normal)
                anomaly = model.anomaly(X_test)
                auc[who][f"digits without {unseen}"].append(
                    roc_auc_score(y_test == unseen, anomaly)
                )
    return auc


def table_of(metric, title):
    sets = list(next(iter(metric.values())))
    lines = [
        f"\n{title}\n",
        "| detector | " + " | ".join(sets) + " | mean |",
        "|---|" + "---|" * (len(sets) + 1),
    ]
    for who, per_set in metric.items():
        means = [float(np.mean(per_set[name])) for name in sets]
        cells = " | ".join(f"{m:.3f}" for m in means)
        lines.append(f"| {who} | {cells} | {np.mean(means):.3f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--detectors", nargs="*", default=None)
    parser.add_argument("--skip-groups", action="store_true")
    args = parser.parse_args()
    print(
        f"Machine: {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{args.seeds} seeds."
    )
    auc, ap, fit_s, score_s = run(args.detectors, args.seeds)
    print(table_of(auc, "ROC AUC (mean over seeds)"))
    print(table_of(ap, "Average precision (mean over seeds)"))
    reference = "PyOD AutoEncoder" if "PyOD AutoEncoder" in fit_s else None
    print("\n| detector | fit s (suite, median over seeds) | score s | fit / PyOD AE |")
    print("|---|---|---|---|")
    base = statistics.median(fit_s[reference].values()) if reference else None
    for who in fit_s:
        fit = statistics.median(fit_s[who].values())
        ratio = f"{fit / base:.2f}" if base else "-"
        score = statistics.median(score_s[who].values())
        print(f"| {who} | {fit:.2f} | {score:.3f} | {ratio} |")
    if not args.skip_groups:
        title = (
            "Several groups of normal rows: digits/16 without one class "
            "(clean training half), ROC AUC on the other half"
        )
        print(table_of(several_groups(args.seeds), title))


if __name__ == "__main__":
    main()
