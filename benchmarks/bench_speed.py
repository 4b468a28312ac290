"""Speed on a real machine: time to quality, one-off costs, busy cores.

One run, medians of interleaved repeats, wall seconds, the CPU named.

1. *Digits, time to quality.* ``AutoEncoderTransformer(n_components=8)`` at
   its defaults against ``MLPRegressor(hidden_layer_sizes=(128, 8, 128))``
   (the same network, scikit-learn's defaults), both on digits / 16 (75 %
   of the rows), each fit's held-out MSE as a multiple of ``PCA(8)``'s.
2. *60k x 784, time to a fixed held-out error.* Rows near an 8-D manifold
   through a tanh layer (``stopping_cases.large_manifold`` widened to 784
   features, standardized, 80/20 split), network 784-256-32. The target is
   the held-out error skae's default float32 fit ends at; for each method
   the time until its held-out error first reaches it (evaluation excluded):
   a hand-written float32 loop (torch's Adam, lr 1e-3, batch 256, random
   start), skae at defaults in float32 and in ``precision="bfloat16"``.
3. *Per-epoch and one-off costs on 20000 x 784*: skae's float32 epoch at
   batch 256 and a fit's start (from ``fit`` to the first epoch:
   validation, statistics, PCA directions, the net) against one float32
   batch-256 epoch of the hand-written loop; ``transform`` against
   the raw encoder over the same module (``module.encode`` on the whole
   array under ``inference_mode``).
4. *Busy cores*: a default digits fit, and 3 epochs of the 784-256-32
   network on 20 000 rows (at torch's setting, and at
   ``torch.set_num_threads(1)``, the remedy the user guide gives), quiet
   and beside a process running 512 x 512 torch matrix products on every
   core (bench_threads.py). ``--busy-only`` runs this section alone.

Run: ``python benchmarks/bench_speed.py`` (``make bench``); ``--repeats``,
``--skip-large`` (sections 2 and 3 take most of the run).
"""

import argparse
import contextlib
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from bench_core import machine_line, markdown_table
from bench_threads import busy_cores
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from skorch.callbacks import Callback
from stopping_cases import large_manifold

from skae import AutoEncoderTransformer

LARGE_K, LARGE_HIDDEN = 32, (256,)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def quiet_fit(estimator, X):
    """Fit (an MLPRegressor to reproduce X) without warnings; return seconds."""
    target = (X,) if isinstance(estimator, MLPRegressor) else ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        estimator.fit(X, *target)
        return time.perf_counter() - start


def mse(reconstruction, X):
    return float(np.mean((np.asarray(reconstruction, dtype=np.float64) - X) ** 2))


# ------------------------------------------------------------ 1. digits
def bench_digits(repeats):
    X_train, X_test = train_test_split(
        load_digits().data / 16, test_size=0.25, random_state=0
    )
    pca = PCA(8).fit(X_train)
    pca_error = mse(pca.inverse_transform(pca.transform(X_test)), X_test)
    makers = {
        "skae": lambda seed: AutoEncoderTransformer(8, random_state=seed),
        "MLPRegressor": lambda seed: MLPRegressor(
            hidden_layer_sizes=(128, 8, 128), random_state=seed
        ),
    }
    quiet_fit(makers["skae"](0), X_train)  # warm-up
    times, errors = {}, {}
    for repeat in range(repeats):
        order = list(makers) if repeat % 2 == 0 else list(makers)[::-1]
        for name in order:
            model = makers[name](repeat)
            times.setdefault(name, []).append(quiet_fit(model, X_train))
            if name == "skae":
                recon = model.inverse_transform(model.transform(X_test))
            else:
                recon = model.predict(X_test)
            errors.setdefault(name, []).append(mse(recon, X_test) / pca_error)
    base = statistics.median(times["MLPRegressor"])
    rows = [
        [
            name,
            f"{statistics.median(times[name]):.3f}",
            f"{statistics.median(times[name]) / base:.2f}",
            f"{statistics.median(errors[name]):.3f}",
        ]
        for name in makers
    ]
    print(f"\n### 1. Digits (k=8), medians of {repeats} interleaved fits\n")
    print(markdown_table(["fit", "seconds", "x MLPRegressor", "MSE / PCA's"], rows))


# ------------------------------------------------------------ 2. large
class HeldOutCurve(Callback):
    """The held-out error after every epoch, timed outside the epoch."""

    def __init__(self, X_test):
        self.X_test = X_test

    def initialize(self):
        self.errors_, self.train_begin_ = [], None
        return self

    def on_train_begin(self, net, **kwargs):
        self.train_begin_ = time.perf_counter()

    def on_epoch_end(self, net, **kwargs):
        module = net.module_
        module.eval()
        with torch.inference_mode():
            recon = module.decode(module.encode(self.X_test))
        module.train()
        self.errors_.append(float(((recon.float() - self.X_test) ** 2).mean()))


def skae_curve(X_train, X_test, precision, **params):
    curve = HeldOutCurve(torch.from_numpy(X_test))
    model = AutoEncoderTransformer(
        LARGE_K,
        hidden_layer_sizes=LARGE_HIDDEN,
        precision=precision,
        random_state=0,
        callbacks=[("curve", curve)],
        **params,
    )
    start = time.perf_counter()
    quiet_fit(model, X_train)
    curve = dict(model.net_.callbacks_)["curve"]
    begin = curve.train_begin_ - start
    seconds = begin + np.cumsum([epoch["dur"] for epoch in model.net_.history])
    return seconds, np.array(curve.errors_), begin


def raw_curve(X_train, X_test, max_seconds, batch=256):
    """Hand-written float32 loop: torch's Adam, random start, batch 256."""
    X, Xt = torch.from_numpy(X_train), torch.from_numpy(X_test)
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        widths = [X.shape[1], *LARGE_HIDDEN, LARGE_K]
        layers = []
        for path in (widths, widths[::-1]):
            for width_in, width_out in zip(path[:-1], path[1:], strict=True):
                layers += [torch.nn.Linear(width_in, width_out), torch.nn.ReLU()]
            layers.pop()
        module = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    seconds, errors, elapsed = [], [], 0.0
    while not seconds or elapsed < max_seconds:  # at least one epoch
        start = time.perf_counter()
        order = torch.randperm(len(X), generator=generator)
        for first in range(0, len(X), batch):
            xb = X[order[first : first + batch]]
            loss = torch.nn.functional.mse_loss(module(xb), xb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        elapsed += time.perf_counter() - start
        with torch.inference_mode():
            errors.append(float(((module(Xt) - Xt) ** 2).mean()))
        seconds.append(elapsed)
    return np.array(seconds), np.array(errors), module


def time_to(seconds, errors, target):
    reached = np.flatnonzero(errors <= target)
    return float(seconds[reached[0]]) if len(reached) else float("nan")


def bench_large(repeats, n_rows):
    X_train, X_test = large_manifold(n_rows=n_rows, n_features=784)
    runs = {"float32": [], "bfloat16": []}
    for repeat in range(repeats):
        order = ("float32", "bfloat16") if repeat % 2 == 0 else ("bfloat16", "float32")
        for precision in order:
            runs[precision].append(skae_curve(X_train, X_test, precision))
            log("large", precision, repeat, f"{runs[precision][-1][0][-1]:.1f} s")
    target = statistics.median(errors[-1] for _, errors, _ in runs["float32"])
    skae_float32 = statistics.median(seconds[-1] for seconds, _, _ in runs["float32"])
    # The raw loop gets three times skae's float32 fit to reach the target.
    raw = raw_curve(X_train, X_test, 3 * skae_float32)[:2]
    log("large raw", f"{raw[0][-1]:.1f} s")
    rows = []
    results = {"raw float32 loop (batch 256)": [raw]}
    results.update({f"skae {p}": runs[p] for p in runs})
    raw_time = time_to(*raw, target)
    float32_time = statistics.median(
        time_to(s, e, target) for s, e, _ in runs["float32"]
    )
    for name, curves in results.items():
        reach = statistics.median(time_to(s, e, target) for s, e, *_ in curves)
        rows.append(
            [
                name,
                f"{reach:.1f}" if np.isfinite(reach) else "not reached",
                f"{min(e.min() for _, e, *_ in curves):.4f}",
                f"{statistics.median(len(e) for _, e, *_ in curves)}",
                f"{statistics.median(s[-1] for s, *_ in curves):.1f}",
                f"{reach / raw_time:.2f}" if np.isfinite(raw_time) else "-",
                f"{reach / float32_time:.2f}",
            ]
        )
    print(
        f"\n### 2. {n_rows // 1000}k x 784, 784-256-32: time to held-out MSE "
        f"{target:.4f} (skae float32's final), medians of {repeats}\n"
    )
    print(
        markdown_table(
            [
                "fit",
                "s to target",
                "best held-out MSE",
                "epochs",
                "s in all",
                "x raw loop",
                "x skae float32",
            ],
            rows,
        )
    )
    if not np.isfinite(raw_time):
        print(
            f"\nThe raw loop (random start) did not reach the target in "
            f"{raw[0][-1]:.0f} s ({len(raw[1])} epochs)."
        )


# ------------------------------------------------------------ 3. one-off
def bench_one_off(repeats):
    X_train, _ = large_manifold(n_rows=25_000, n_features=784)
    X = X_train[:20_000]
    epoch, skae_epoch, start, encode, transform = [], [], [], [], []
    fitted = AutoEncoderTransformer(
        LARGE_K, hidden_layer_sizes=LARGE_HIDDEN, max_iter=1, random_state=0
    )
    quiet_fit(fitted, X)
    for _ in range(repeats):
        seconds, _, module = raw_curve(X, X[:10], 0.0)
        epoch.append(float(seconds[0]))
        curve_model = AutoEncoderTransformer(
            LARGE_K,
            hidden_layer_sizes=LARGE_HIDDEN,
            max_iter=1,
            random_state=0,
            callbacks=[("curve", HeldOutCurve(torch.from_numpy(X[:10])))],
        )
        begin = time.perf_counter()
        quiet_fit(curve_model, X)
        start.append(dict(curve_model.net_.callbacks_)["curve"].train_begin_ - begin)
        # skae's epoch at the raw loop's batch: the second of two (the first
        # pays for warm-up, as the raw loop's does not).
        epochs_model = AutoEncoderTransformer(
            LARGE_K,
            hidden_layer_sizes=LARGE_HIDDEN,
            batch_size=256,
            max_iter=2,
            random_state=0,
        )
        quiet_fit(epochs_model, X)
        skae_epoch.append(float(epochs_model.net_.history[-1, "dur"]))
        Xt = torch.from_numpy(X)
        tick = time.perf_counter()
        with torch.inference_mode():
            fitted.module_.encode(Xt).numpy()
        encode.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        fitted.transform(X)
        transform.append(time.perf_counter() - tick)
    epoch_s, start_s = statistics.median(epoch), statistics.median(start)
    skae_epoch_s = statistics.median(skae_epoch)
    encode_s, transform_s = statistics.median(encode), statistics.median(transform)
    print(f"\n### 3. Per-epoch and one-off costs, 20000 x 784, medians of {repeats}\n")
    print(
        markdown_table(
            ["what", "seconds", "ratio"],
            [
                ["raw float32 epoch (batch 256)", f"{epoch_s:.3f}", "1"],
                [
                    "skae float32 epoch (batch 256)",
                    f"{skae_epoch_s:.3f}",
                    f"{skae_epoch_s / epoch_s:.2f}",
                ],
                ["skae fit start", f"{start_s:.3f}", f"{start_s / epoch_s:.2f}"],
                ["raw encoder", f"{encode_s:.4f}", "1"],
                [
                    "skae transform",
                    f"{transform_s:.4f}",
                    f"{transform_s / encode_s:.2f}",
                ],
            ],
        )
    )


# ------------------------------------------------------------ 4. busy
@contextlib.contextmanager
def torch_threads(n_threads):
    """Run the block with torch's setting at ``n_threads`` (None: as it is)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(n_threads or saved)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def bench_busy(repeats, large=True):
    """Quiet against busy: a default digits fit; a large network's fit."""
    digits = load_digits().data / 16
    digits = train_test_split(digits, test_size=0.25, random_state=0)[0]
    cases = {
        "digits (k=8), defaults": (
            lambda: AutoEncoderTransformer(8, random_state=0),
            digits,
            None,
        )
    }
    if large:
        X = large_manifold(n_rows=25_000, n_features=784)[0]  # 20 000 rows

        def make():
            return AutoEncoderTransformer(
                LARGE_K, hidden_layer_sizes=LARGE_HIDDEN, max_iter=3, random_state=0
            )

        cases["20000 x 784, 784-256-32, 3 epochs"] = (make, X, None)
        cases["the same, torch.set_num_threads(1)"] = (make, X, 1)
    for make, X, _ in cases.values():
        quiet_fit(make(), X)  # one-off costs out of the way
    times = {}
    for state in ("quiet", "busy"):
        with busy_cores(state == "busy"):
            for _ in range(repeats):
                for name, (make, X, n_threads) in cases.items():
                    with torch_threads(n_threads):
                        seconds = quiet_fit(make(), X)
                    times.setdefault((name, state), []).append(seconds)
    rows = []
    for name in cases:
        quiet, busy = (statistics.median(times[name, s]) for s in ("quiet", "busy"))
        rows.append([name, f"{quiet:.3f}", f"{busy:.3f}", f"{busy / quiet:.2f}"])
    print(f"\n### 4. Fits beside a busy process, medians of {repeats}\n")
    print(markdown_table(["fit", "quiet s", "busy s", "busy / quiet"], rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large-repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument(
        "--busy-only", action="store_true", help="only section 4 (busy cores)"
    )
    args = parser.parse_args(argv)
    print("## Speed (`bench_speed.py`)\n")
    print(machine_line())
    if args.busy_only:
        bench_busy(args.repeats)
        return
    bench_digits(args.repeats)
    if not args.skip_large:
        bench_large(args.large_repeats, args.rows)
        bench_one_off(args.repeats)
    bench_busy(args.repeats, large=not args.skip_large)


if __name__ == "__main__":
    main()
