"""Few labels: EncoderClassifier against what a user would do without skae.

Digits (pixels / 16) and breast cancer, each split 75/25 (stratified,
``random_state=0``); the 25 % part is the test set. Of the 75 % part only a
budget of rows keeps its label (1, 2, 5, 10 or 20 % of the rows, at least
one per class, or 5 per class); the others are marked -1, scikit-learn's
convention for unlabelled rows. Each budget is drawn ``--draws`` times
(default 10) and every method sees the same labelled rows of a draw
(paired), with and without ``StandardScaler()`` in front (fitted on all the
training rows, as a Pipeline would).

Methods, all at their defaults (``k`` = 16 on digits, 8 on breast cancer):

- ``EncoderClassifier(AutoEncoderTransformer(n_components=k))``, seeded
  with the draw;
- ``LogisticRegression()`` on the labelled rows (what a user does without
  skae);
- ``PCA(k)`` fitted on all training rows, then a logistic regression on the
  labelled rows' components;
- ``AutoEncoderTransformer(n_components=k)`` fitted on all training rows,
  then a logistic regression on the labelled rows' codes;
- ``SelfTrainingClassifier(LogisticRegression())`` and ``LabelSpreading()``:
  scikit-learn's own semi-supervised estimators, fed the same -1 labels.

Cells are mean test accuracy over the draws; ``+-`` is the standard error of
the paired difference against the logistic regression on the labelled rows.
Fit times are medians over the draws, wall seconds.

Run: ``python benchmarks/bench_fewlabel.py`` (``make bench``); ``--draws``,
``--datasets``, ``--budgets``.
"""

import argparse
import statistics
import sys
import time
import warnings
from collections import defaultdict

import numpy as np
from bench_core import machine_line, markdown_table
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from skae import AutoEncoderTransformer, EncoderClassifier

BUDGETS = ("5pc", 0.01, 0.02, 0.05, 0.1, 0.2)
METHODS = ("encoder", "logistic", "pca+logistic", "codes+logistic", "self", "spread")
TITLES = {
    "encoder": "EncoderClassifier",
    "logistic": "logistic (labelled rows)",
    "pca+logistic": "PCA(k) + logistic",
    "codes+logistic": "skae codes + logistic",
    "self": "SelfTraining(logistic)",
    "spread": "LabelSpreading",
}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def load(name):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16, y, 16
    X, y = load_breast_cancer(return_X_y=True)
    return X, y, 8


def draw_labels(y, budget, seed):
    """``y`` with all but the budget's rows marked -1 (at least one per class)."""
    rng = np.random.RandomState(seed)
    classes = np.unique(y)
    if budget == "5pc":
        labelled = np.concatenate(
            [rng.choice(np.flatnonzero(y == c), 5, replace=False) for c in classes]
        )
    else:
        labelled = np.array([rng.choice(np.flatnonzero(y == c)) for c in classes])
        n = max(len(classes), int(round(budget * len(y))))
        rest = np.setdiff1d(np.arange(len(y)), labelled)
        labelled = np.concatenate(
            [labelled, rng.choice(rest, n - len(labelled), replace=False)]
        )
    partial = np.full_like(y, -1)
    partial[labelled] = y[labelled]
    return partial


def logistic():
    return LogisticRegression(max_iter=5000)


def methods(k, seed):
    """name -> fit(X, y_partial) returning a fitted predictor of X's rows."""

    def on_labelled(make):
        def fit(X, y):
            labelled = y != -1
            features = make().fit(X)  # every training row, labels unused
            model = logistic().fit(features.transform(X[labelled]), y[labelled])
            return make_pipeline(features, model)

        return fit

    def plain(make):
        return lambda X, y: make().fit(X, y)

    return {
        "encoder": plain(
            lambda: EncoderClassifier(
                AutoEncoderTransformer(n_components=k), random_state=seed
            )
        ),
        "logistic": lambda X, y: logistic().fit(X[y != -1], y[y != -1]),
        "pca+logistic": on_labelled(lambda: PCA(k, random_state=seed)),
        "codes+logistic": on_labelled(
            lambda: AutoEncoderTransformer(n_components=k, random_state=seed)
        ),
        "self": plain(lambda: SelfTrainingClassifier(logistic())),
        "spread": plain(LabelSpreading),
    }


def run(datasets, budgets, draws, chosen):
    accuracy = defaultdict(list)
    seconds = defaultdict(list)
    for name in datasets:
        X, y, k = load(name)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y
        )
        for scaled in (False, True):
            scaler = StandardScaler().fit(X_train) if scaled else None
            A = scaler.transform(X_train) if scaled else X_train
            B = scaler.transform(X_test) if scaled else X_test
            for budget in budgets:
                for seed in range(draws):
                    partial = draw_labels(y_train, budget, seed)
                    for method, fit in methods(k, seed).items():
                        if method not in chosen:
                            continue
                        start = time.perf_counter()
                        model = fit(A, partial)
                        seconds[name, scaled, budget, method].append(
                            time.perf_counter() - start
                        )
                        accuracy[name, scaled, budget, method].append(
                            float(np.mean(model.predict(B) == y_test))
                        )
                log(name, "scaled" if scaled else "raw", budget, "done")
    return accuracy, seconds


def budget_name(budget):
    return "5 per class" if budget == "5pc" else f"{budget:.0%}"


def tables(accuracy, seconds, datasets, budgets, chosen):
    for name in datasets:
        for scaled in (False, True):
            header = ["labels", *(TITLES[m] for m in chosen)]
            rows = []
            for budget in budgets:
                key = (name, scaled, budget)
                base = np.array(accuracy[(*key, "logistic")])
                cells = []
                for method in chosen:
                    values = np.array(accuracy[(*key, method)])
                    cell = f"{values.mean():.3f}"
                    if method != "logistic" and len(base) == len(values) > 1:
                        diff = values - base
                        error = diff.std(ddof=1) / np.sqrt(len(diff))
                        cell += f" ({diff.mean():+.3f} +- {error:.3f})"
                    cells.append(cell)
                rows.append([budget_name(budget), *cells])
            times = [
                f"{statistics.median(seconds[(name, scaled, budgets[-1], m)]):.2f} s"
                for m in chosen
            ]
            rows.append([f"fit time ({budget_name(budgets[-1])})", *times])
            scaler = "StandardScaler()" if scaled else "no scaler"
            print(
                f"\n### {name}, {scaler} (mean test accuracy; "
                "(difference to logistic +- s.e.))\n"
            )
            print(markdown_table(header, rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--datasets", nargs="+", default=["digits", "breast_cancer"])
    parser.add_argument(
        "--budgets",
        nargs="+",
        default=[str(b) for b in BUDGETS],
        help='"5pc" (5 per class) or a fraction of the training rows',
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    args = parser.parse_args(argv)
    budgets = [b if b == "5pc" else float(b) for b in args.budgets]
    warnings.filterwarnings("ignore")  # convergence chatter of the baselines
    print("## Few labels (`bench_fewlabel.py`)\n")
    print(machine_line())
    accuracy, seconds = run(args.datasets, budgets, args.draws, args.methods)
    tables(accuracy, seconds, args.datasets, budgets, args.methods)


if __name__ == "__main__":
    main()
