"""Core benchmarks of skae: training speed, inference speed, reconstruction.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_core.py``).
``--quick`` runs a smoke test (fewer rows, epochs and repeats) in under a
minute. Markdown tables go to stdout; progress goes to stderr.

1. Fit time per epoch: ``AutoEncoderTransformer.fit`` against a plain PyTorch
   loop on the same module class (``skae.modules.MLPAutoEncoder``), seeded the
   same, with the same hyper-parameters (Adam, lr 1e-3, batch 200, reshuffled
   every epoch, float32, MSE). The skae time is the whole ``fit`` call divided
   by the epochs, so it includes input validation, building the net and the
   skorch bookkeeping.
2. transform throughput: ``est.transform(X)`` against the fitted module's
   ``encode`` under ``torch.inference_mode`` (whole array in one call, and in
   batches of 4096; the faster is the baseline).
3. Reconstruction quality at the same code size on held-out digits: PCA,
   skae and sklearn's ``MLPRegressor`` used as an autoencoder.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
import skorch
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor

import skae
from skae import AutoEncoderTransformer
from skae.modules import MLPAutoEncoder

BATCH_SIZE = 200
LR = 1e-3


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ data
def synthetic(n_samples=60_000, n_features=784, rank=16, seed=0):
    """Low-rank nonlinear data in (0, 1): ``sigmoid(Z @ W + b)``, float32.

    ``Z`` is (n_samples, rank) standard normal, ``W`` (rank, n_features)
    normal scaled by ``1/sqrt(rank)``, ``b`` normal: MNIST-sized rows that lie
    near a curved 16-dimensional manifold.
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_samples, rank), dtype=np.float32)
    W = rng.standard_normal((rank, n_features), dtype=np.float32) / np.sqrt(rank)
    b = rng.standard_normal(n_features, dtype=np.float32)
    X = 1.0 / (1.0 + np.exp(-(Z @ W + b)))
    return np.ascontiguousarray(X, dtype=np.float32)


def digits():
    return (load_digits().data / 16).astype(np.float32)


# ------------------------------------------------------------- machine
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line():
    uname = platform.uname()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return (
        f"Machine: {cpu_model()} ({uname.system} {uname.release} {uname.machine}); "
        f"CPUs: {os.cpu_count()} (usable {usable}); torch threads: "
        f"{torch.get_num_threads()}; Python {platform.python_version()}; "
        f"torch {torch.__version__}, skorch {skorch.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"skae {skae.__version__}"
    )


# ---------------------------------------------------------------- helpers
def skae_seed(random_state=0):
    """The torch seed that skae derives from ``random_state`` (see _train)."""
    return np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)


def make_skae(k, hidden, epochs, random_state=0):
    return AutoEncoderTransformer(
        n_components=k,
        hidden_layer_sizes=hidden,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs,
        learning_rate_init=LR,
        batch_size=BATCH_SIZE,
        shuffle=True,
        random_state=random_state,
        device="cpu",
    )


def fit_skae(X, k, hidden, epochs):
    est = make_skae(k, hidden, epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X)
        elapsed = time.perf_counter() - t0
    if est.n_iter_ != epochs:
        raise RuntimeError(f"skae stopped after {est.n_iter_} of {epochs} epochs")
    return elapsed, est, est.loss_curve_[-1]


def raw_criterion():
    """skae's own MSE objective, so that both loops optimise the same loss.

    skae wraps ``MSELoss`` (currently summed over features, averaged over
    rows); the cost per batch is that of ``MSELoss`` either way, and sharing
    the objective lets the benchmark check that both loops did the same work
    (equal last-epoch losses). Plain ``MSELoss`` where the hook is missing.
    """
    try:
        return AutoEncoderTransformer(loss="mse")._criterion()
    except AttributeError:
        return torch.nn.MSELoss()


def fit_raw(X, k, hidden, epochs):
    """A plain PyTorch training loop that slices tensors, as fast as it gets."""
    t0 = time.perf_counter()
    Xt = torch.from_numpy(X)
    n = Xt.shape[0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(skae_seed())
        module = MLPAutoEncoder(X.shape[1], k, hidden)
        optimizer = torch.optim.Adam(module.parameters(), lr=LR)
        criterion = raw_criterion()
        module.train()
        for _ in range(epochs):
            perm = torch.randperm(n)
            total = 0.0
            for i in range(0, n, BATCH_SIZE):
                xb = Xt[perm[i : i + BATCH_SIZE]]
                optimizer.zero_grad()
                loss = criterion(module(xb), xb)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(xb)
            last = total / n
    return time.perf_counter() - t0, module, last


def median(values):
    return statistics.median(values)


def fmt_time(seconds):
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


# ------------------------------------------------------- 1. fit speed
def bench_fit(cases, repeats):
    rows, fitted = [], {}
    for name, X, k, hidden, epochs in cases:
        log(f"[fit] {name}: {X.shape}, hidden={hidden}, k={k}, {epochs} epochs")
        skae_times, raw_times = [], []
        for rep in range(repeats):
            # Interleave (and alternate the order) so machine noise hits both.
            order = ("skae", "raw") if rep % 2 == 0 else ("raw", "skae")
            for which in order:
                if which == "skae":
                    t, est, skae_loss = fit_skae(X, k, hidden, epochs)
                    skae_times.append(t / epochs)
                    fitted[name] = est
                else:
                    t, _, raw_loss = fit_raw(X, k, hidden, epochs)
                    raw_times.append(t / epochs)
            log(
                f"  rep {rep}: skae {skae_times[-1]:.4f} s/epoch, "
                f"raw {raw_times[-1]:.4f} s/epoch"
            )
        s, r = median(skae_times), median(raw_times)
        best = min(skae_times) / min(raw_times)
        rows.append(
            (
                name,
                f"{X.shape[0]}×{X.shape[1]}",
                f"{X.shape[1]}-{'-'.join(map(str, hidden))}-{k}",
                epochs,
                repeats,
                fmt_time(s),
                fmt_time(r),
                f"**{s / r:.3f}**",
                f"{best:.3f}",
                f"{skae_loss:.5g} / {raw_loss:.5g}",
            )
        )
    table = markdown_table(
        (
            "data",
            "shape",
            "encoder",
            "epochs",
            "repeats",
            "skae s/epoch (median)",
            "raw loop s/epoch (median)",
            "skae / raw (medians)",
            "skae / raw (minima)",
            "last-epoch loss skae / raw",
        ),
        rows,
    )
    return table, fitted


# --------------------------------------------------- 2. transform speed
def time_call(fn, inner):
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def calibrate(fn, target=0.05):
    """Calls per repeat so that one repeat lasts about ``target`` seconds."""
    single = min(time_call(fn, 1) for _ in range(5))  # robust to a busy moment
    return max(1, int(target / max(single, 1e-6)))


def bench_transform(cases, repeats):
    rows = []
    for name, X, est in cases:
        log(f"[transform] {name}: {X.shape}")
        module = est.module_
        module.eval()
        Xt = torch.from_numpy(X)

        def skae_call(X=X, est=est):
            return est.transform(X)

        def raw_whole(module=module, Xt=Xt):
            with torch.inference_mode():
                return module.encode(Xt).numpy()

        def raw_batched(module=module, Xt=Xt):
            with torch.inference_mode():
                return torch.cat(
                    [module.encode(b) for b in torch.split(Xt, 4096)]
                ).numpy()

        # Same weights, same result.
        np.testing.assert_allclose(skae_call(), raw_whole(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(raw_batched(), raw_whole(), rtol=1e-4, atol=1e-5)
        fns = {"skae": skae_call, "whole": raw_whole, "batched": raw_batched}
        inner = calibrate(raw_whole)
        for fn in fns.values():  # warm-up
            time_call(fn, inner)
        times = {key: [] for key in fns}
        for rep in range(repeats):
            keys = list(fns) if rep % 2 == 0 else list(fns)[::-1]
            for key in keys:
                times[key].append(time_call(fns[key], inner))
        med = {key: median(v) for key, v in times.items()}
        low = {key: min(v) for key, v in times.items()}
        raw_key = min(("whole", "batched"), key=med.get)
        n = X.shape[0]
        rows.append(
            (
                name,
                f"{n}×{X.shape[1]}",
                f"{repeats}×{inner}",
                f"{n / med['skae']:,.0f}",
                f"{n / med['whole']:,.0f}",
                f"{n / med['batched']:,.0f}",
                f"**{med[raw_key] / med['skae']:.3f}**",
                f"{min(low['whole'], low['batched']) / low['skae']:.3f}",
            )
        )
    table = markdown_table(
        (
            "data",
            "shape",
            "repeats × calls",
            "skae transform rows/s",
            "raw encode, one call rows/s",
            "raw encode, 4096-row batches rows/s",
            "skae / best raw (medians)",
            "skae / best raw (maxima)",
        ),
        rows,
    )
    return table


# ----------------------------------------------------------- 3. quality
def bench_quality(ks, max_iter):
    X = digits()
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    rows = []
    for k in ks:
        log(f"[quality] digits k={k}")
        results = []

        t0 = time.perf_counter()
        pca = PCA(n_components=k, random_state=0).fit(X_train)
        t = time.perf_counter() - t0
        rec = pca.inverse_transform(pca.transform(X_test))
        results.append(("PCA", t, rec, "-"))

        est = AutoEncoderTransformer(n_components=k, max_iter=max_iter, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            est.fit(X_train)
            t = time.perf_counter() - t0
        results.append(
            ("skae AutoEncoderTransformer", t, est.reconstruct(X_test), est.n_iter_)
        )

        mlp = MLPRegressor(
            hidden_layer_sizes=(128, k, 128), max_iter=max_iter, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            mlp.fit(X_train, X_train)
            t = time.perf_counter() - t0
        results.append(
            ("sklearn MLPRegressor (128, k, 128)", t, mlp.predict(X_test), mlp.n_iter_)
        )

        for method, seconds, rec, n_iter in results:
            mse = float(np.mean((np.asarray(rec, dtype=np.float64) - X_test) ** 2))
            rows.append((k, method, f"{mse:.5f}", f"{seconds:.2f}", n_iter))
    table = markdown_table(
        ("k", "method", "held-out MSE", "fit seconds", "epochs run"), rows
    )
    return table


# ---------------------------------------------------------------- output
def markdown_table(header, rows):
    lines = ["| " + " | ".join(map(str, header)) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: fewer rows/epochs/repeats"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's own default); "
        "--threads 1 gives steadier ratios on a busy machine",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    if quick:
        n_big, big_epochs, digits_epochs, fit_repeats = 10_000, 1, 10, 2
        transform_repeats, quality_iter = 3, 30
    else:
        n_big, big_epochs, digits_epochs, fit_repeats = 60_000, 3, 100, 5
        transform_repeats, quality_iter = 9, 300

    start = time.perf_counter()
    X_big = synthetic(n_big)
    X_digits = digits()
    big_name = f"synthetic {n_big // 1000}k"

    # Warm-up: first calls pay for lazy initialisation in torch and skorch.
    log("[warm-up]")
    fit_skae(X_digits[:400], 8, (32,), 1)
    fit_raw(X_digits[:400], 8, (32,), 1)

    fit_table, fitted = bench_fit(
        [
            (big_name, X_big, 32, (256,), big_epochs),
            ("digits", X_digits, 8, (128,), digits_epochs),
        ],
        fit_repeats,
    )
    transform_table = bench_transform(
        [
            (big_name, X_big, fitted[big_name]),
            ("digits", X_digits, fitted["digits"]),
        ],
        transform_repeats,
    )
    quality_table = bench_quality((8, 4), quality_iter)
    total = time.perf_counter() - start

    mode = "quick smoke test" if quick else "full run"
    print(f"{machine_line()}\n")
    print(
        f"Run: {mode}, {total:.0f} s in all. Synthetic data: "
        "`sigmoid(Z @ W + b)` with Z of rank 16 (a curved low-rank manifold "
        "in (0, 1)), float32.\n"
    )
    print("### 1. Fit time per epoch (Adam lr 1e-3, batch 200, shuffled, MSE)\n")
    print(
        "skae: the whole `fit` call divided by the epochs (includes input "
        "validation, building the skorch net and its callbacks); raw: a plain "
        "loop slicing `X[perm[i:i+200]]` on the same `MLPAutoEncoder`, same "
        "seed and skae's MSE objective (equal losses show equal work). Medians "
        "of interleaved repeats; the ratio of the fastest runs is given too, "
        "as it is less sensitive to a busy machine. Targets: ≤ 1.10 "
        "(60k×784), ≤ 1.25 (digits).\n"
    )
    print(fit_table + "\n")
    print("### 2. transform throughput (fitted estimator, same weights)\n")
    print(
        "raw: `module.encode` under `torch.inference_mode()`, either on the "
        "whole array at once or in 4096-row batches; the faster one is the "
        "baseline. Ratios of throughputs from medians and from the fastest "
        "repeats. Target: skae / raw ≥ 0.9 (higher is better).\n"
    )
    print(transform_table + "\n")
    print(
        f"### 3. Held-out reconstruction on digits (X/16, 25 % test, "
        f"max_iter={quality_iter})\n"
    )
    print(
        "skae: `AutoEncoderTransformer` defaults (64-128-k, relu, Adam, early "
        f"stop on the training R², tol {AutoEncoderTransformer().tol:g}, PCA "
        "start); MLPRegressor: "
        "64-128-k-128-64 fitted on (X, X), relu also on the code layer, "
        "alpha=1e-4.\n"
    )
    print(quality_table)


if __name__ == "__main__":
    main()
