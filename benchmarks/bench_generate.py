"""Generation: VariationalAE's samples against GaussianMixture's and sdv's TVAE.

Data: breast cancer and wine (standardized), a swiss roll
(``make_swiss_roll(1500, noise=0.3)``, standardized) and digits (pixels /
16). Per seed (``--seeds``, default 0 and 1) the rows are split 70/30; each
generator is fitted on the 70 % and generates as many rows. Measures
(``skae.metrics``): discriminator ROC AUC (a random forest telling the
training rows from the generated ones, 5-fold; 0.5 = indistinguishable),
distance to closest record (median distance of a generated row to its
nearest training row over the same for the held-out 30 %; 1 = as close as
new data, below = copies), the median over features of the samples' std
over the data's, and fit time (median over seeds).

Generators: ``VariationalAE(random_state=seed)`` at its defaults; the
0.2 way of sampling (``n_components=2``, decoding draws of the prior
N(0, I) to the decoder's mean, emulated through ``inverse_transform``);
``GaussianMixture(10)``; sdv's ``TVAESynthesizer`` (300 epochs, its
default) when ``sdv`` is importable (``pip install -e ".[bench]"``, never a
dependency of skae).

Run: ``python benchmarks/bench_generate.py`` (``make bench``); ``--seeds``,
``--datasets``, ``--skip-tvae``.
"""

import argparse
import platform
import statistics
import time
import warnings
from collections import defaultdict

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_swiss_roll
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import VariationalAE
from skae.metrics import discriminator_auc, distance_to_closest_record


def _standardized(X, seed):
    X_train, X_holdout = train_test_split(X, test_size=0.3, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_holdout)


DATASETS = {
    "breast_cancer": lambda seed: _standardized(load_breast_cancer().data, seed),
    "wine": lambda seed: _standardized(load_wine().data, seed),
    "swiss_roll": lambda seed: _standardized(
        make_swiss_roll(1500, noise=0.3, random_state=seed)[0], seed
    ),
    "digits": lambda seed: train_test_split(
        load_digits().data / 16, test_size=0.3, random_state=seed
    ),
}


class SkaeVAE:
    def __init__(self, seed):
        self.model = VariationalAE(random_state=seed)
        self.seed = seed

    def fit(self, X):
        self.model.fit(X)
        return self

    def sample(self, n):
        return self.model.sample(n, random_state=self.seed)


class PriorMean:
    """0.2's sample(): prior draws decoded to the mean, at n_components=2, beta=1."""

    def __init__(self, seed):
        self.model = VariationalAE(n_components=2, beta=1.0, random_state=seed)
        self.seed = seed

    def fit(self, X):
        self.model.fit(X)
        return self

    def sample(self, n):
        codes = np.random.default_rng(self.seed).standard_normal((n, 2))
        return self.model.inverse_transform(codes)


class Mixture:
    def __init__(self, seed):
        self.model = GaussianMixture(10, random_state=seed)

    def fit(self, X):
        self.model.fit(X)
        return self

    def sample(self, n):
        return self.model.sample(n)[0]


class TVAE:
    def __init__(self, seed):
        self.seed = seed

    def fit(self, X):
        import pandas as pd
        from sdv.metadata import Metadata
        from sdv.single_table import TVAESynthesizer

        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
        metadata = Metadata.detect_from_dataframes({"table": frame})
        torch.manual_seed(self.seed)  # TVAE draws from torch's global stream
        self.model = TVAESynthesizer(metadata)
        self.model.fit({"table": frame})  # sdv 2 takes {table name: frame}
        return self

    def sample(self, n):
        torch.manual_seed(self.seed)
        rows = self.model.sample(n)
        rows = rows["table"] if isinstance(rows, dict) else rows
        return rows.to_numpy(dtype=np.float64)


def generators(skip_tvae):
    found = {
        "skae VariationalAE (defaults)": SkaeVAE,
        "0.2 sample(): prior, decoder mean, k=2": PriorMean,
        "GaussianMixture(10)": Mixture,
    }
    if not skip_tvae:
        try:
            import sdv  # noqa: F401
        except ImportError:
            return found
        found["sdv TVAE (300 epochs)"] = TVAE
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--skip-tvae", action="store_true")
    args = parser.parse_args()
    found = generators(args.skip_tvae)
    # One untimed fit of each generator first: the first fit in a process
    # pays one-off costs (torch's first kernels, imports) no fit time should.
    warm = DATASETS["wine"](0)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in found.values():
            make(0).fit(warm)
    print(
        f"Machine: {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"seeds {args.seeds}; means over seeds, fit time medians.\n"
    )
    print("| data | generator | discriminator AUC | DCR | std / data's | fit s |")
    print("|---|---|---|---|---|---|")
    for name in args.datasets:
        rows = defaultdict(lambda: defaultdict(list))
        for seed in args.seeds:
            X_train, X_holdout = DATASETS[name](seed)
            for who, make in found.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    model = make(seed).fit(X_train)
                    took = time.perf_counter() - start
                    samples = model.sample(len(X_train))
                result = rows[who]
                result["auc"].append(
                    discriminator_auc(X_train, samples, random_state=seed)
                )
                result["dcr"].append(
                    distance_to_closest_record(X_train, samples, X_holdout)
                )
                spread = samples.std(axis=0) / np.maximum(X_train.std(axis=0), 1e-12)
                result["std"].append(np.median(spread))
                result["fit"].append(took)
        for who, result in rows.items():
            print(
                f"| {name} | {who} | {np.mean(result['auc']):.3f} | "
                f"{np.mean(result['dcr']):.2f} | {np.mean(result['std']):.2f} | "
                f"{statistics.median(result['fit']):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
