"""Mixed precision and compiled modules against a hand-written float32 loop.

Run with ``.venv/bin/python benchmarks/bench_precision.py`` (``--quick``: a
smoke test in about a minute; ``--threads 1 --clock cpu`` for steadier
ratios on a busy machine; ``--compile`` adds the ``torch.compile``
measurements, a few minutes more).
Markdown tables go to stdout; progress goes to stderr.

1. Fit time per epoch on 60k x 784 (784-256-32) and digits (64-128-8), Adam
   lr 1e-3, batches of 200 rows, same seeds, interleaved: a float32 raw loop
   (the baseline: plain slicing loop, torch's default Adam), the same loop
   under ``torch.autocast`` bfloat16, each with torch's fused Adam, and skae
   with ``precision="float32"`` and ``"bfloat16"``. Each row gives the
   last-epoch training loss and the held-out MSE, so that speed is never
   bought with quality.
2. transform throughput: the float32 raw encoder (whole array or 4096-row
   batches, the faster) against the same weights under bfloat16 autocast,
   and skae's ``transform`` in both precisions.
3. (``--compile``) ``torch.compile`` of the module: compile time and the
   per-epoch time once compiled, for training and for inference.
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from bench_core import digits, machine_line, markdown_table, synthetic
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoEncoderTransformer
from skae._inference import block_rows
from skae._precision import autocast_context
from skae.modules import MLPAutoEncoder

BATCH_SIZE = 200
LR = 1e-3
SEED = 0
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ------------------------------------------------------------- raw loops
class RawLoop:
    """A plain PyTorch training loop that slices tensors (as bench_core's).

    ``precision`` runs forward and loss under :func:`autocast_context`;
    ``fused`` asks torch for its fused Adam kernel; ``compiled`` trains
    ``torch.compile(module)``. The initial weights and the batch order
    depend only on ``SEED``, so every variant sees the same work.
    """

    def __init__(self, X, k, hidden, precision="float32", fused=False, compiled=False):
        self.X = torch.from_numpy(X)
        self.precision = precision
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            self.module = MLPAutoEncoder(X.shape[1], k, hidden)
        self.forward = torch.compile(self.module) if compiled else self.module
        self.optimizer = torch.optim.Adam(
            self.module.parameters(), lr=LR, **({"fused": True} if fused else {})
        )
        self.generator = torch.Generator().manual_seed(SEED)
        self.module.train()

    def epoch(self):
        """Run one epoch; return its mean per-row training loss."""
        X, n = self.X, self.X.shape[0]
        perm = torch.randperm(n, generator=self.generator)
        total = 0.0
        for start in range(0, n, BATCH_SIZE):
            xb = X[perm[start : start + BATCH_SIZE]]
            self.optimizer.zero_grad()
            with autocast_context(self.precision, "cpu"):
                loss = F.mse_loss(self.forward(xb), xb, reduction="sum") / len(xb)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(xb)
        return total / n


def fit_raw(X, k, hidden, epochs, **options):
    t0 = clock()
    loop = RawLoop(X, k, hidden, **options)
    for _ in range(epochs):
        last = loop.epoch()
    return clock() - t0, loop, last


def fit_skae(X, k, hidden, epochs, precision):
    est = AutoEncoderTransformer(
        n_components=k,
        hidden_layer_sizes=hidden,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs,
        learning_rate_init=LR,
        batch_size=BATCH_SIZE,
        random_state=SEED,
        device="cpu",
        precision=precision,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = clock()
        est.fit(X)
        elapsed = clock() - t0
    if est.n_iter_ != epochs:
        raise RuntimeError(f"skae stopped after {est.n_iter_} of {epochs} epochs")
    return elapsed, est, est.loss_curve_[-1]


def raw_reconstruct(module, X, precision):
    with torch.inference_mode(), autocast_context(precision, "cpu"):
        module.eval()
        out = module(torch.from_numpy(X)).float().numpy()
        module.train()
    return out


def mse(reconstruction, X):
    return float(np.mean((reconstruction.astype(np.float64) - X) ** 2))


# ------------------------------------------------------- 1. fit speed
FIT_VARIANTS = {
    "raw float32 (baseline)": ("raw", {"precision": "float32"}),
    "raw bfloat16 autocast": ("raw", {"precision": "bfloat16"}),
    "raw float32, fused Adam": ("raw", {"precision": "float32", "fused": True}),
    "raw bfloat16, fused Adam": ("raw", {"precision": "bfloat16", "fused": True}),
    'skae precision="float32"': ("skae", {"precision": "float32"}),
    'skae precision="bfloat16"': ("skae", {"precision": "bfloat16"}),
}
BASELINE = "raw float32 (baseline)"


def bench_fit(cases, repeats):
    rows, fitted = [], {}
    for name, X, X_test, k, hidden, epochs in cases:
        log(f"[fit] {name}: {X.shape}, {X.shape[1]}-{hidden}-{k}, {epochs} epochs")
        times = {v: [] for v in FIT_VARIANTS}
        results = {}
        for rep in range(repeats):
            keys = list(FIT_VARIANTS)
            keys = keys if rep % 2 == 0 else keys[::-1]
            for key in keys:
                kind, options = FIT_VARIANTS[key]
                if kind == "raw":
                    t, loop, last = fit_raw(X, k, hidden, epochs, **options)
                    rec = raw_reconstruct(loop.module, X_test, options["precision"])
                    results[key] = (loop, last, mse(rec, X_test))
                else:
                    t, est, last = fit_skae(X, k, hidden, epochs, **options)
                    results[key] = (est, last, mse(est.reconstruct(X_test), X_test))
                times[key].append(t / epochs)
            log(f"  rep {rep}: " + ", ".join(f"{v} {times[v][-1]:.4f}" for v in keys))
        fitted[name] = {key: result[0] for key, result in results.items()}
        base_med = statistics.median(times[BASELINE])
        base_min = min(times[BASELINE])
        base_mse = {"raw": results[BASELINE][2]}
        base_mse["skae"] = results['skae precision="float32"'][2]
        for key, (kind, _) in FIT_VARIANTS.items():
            med = statistics.median(times[key])
            spread = (max(times[key]) - min(times[key])) / med
            _, last, held_out = results[key]
            rows.append(
                (
                    name,
                    key,
                    f"{med * 1e3:.1f} ms",
                    f"{spread:.0%}",
                    f"**{med / base_med:.3f}**",
                    f"{min(times[key]) / base_min:.3f}",
                    f"{last:.5g}",
                    f"{held_out:.5f}",
                    f"{held_out / base_mse[kind] - 1:+.2%}",
                )
            )
    header = (
        "data",
        "variant",
        "s/epoch (median)",
        "spread (max-min)/median",
        "/ baseline (medians)",
        "/ baseline (minima)",
        "last-epoch loss",
        "held-out MSE",
        "MSE vs same side's float32",
    )
    return markdown_table(header, rows), fitted


# --------------------------------------------------- 2. transform speed
def time_call(fn, inner):
    t0 = clock()
    for _ in range(inner):
        fn()
    return (clock() - t0) / inner


def blocked_encode(module, Xt, rows, precision):
    out = torch.empty(Xt.shape[0], module.code.out_features)
    with torch.inference_mode(), autocast_context(precision, "cpu"):
        for start in range(0, Xt.shape[0], rows):
            out[start : start + rows] = module.encode(Xt[start : start + rows])
    return out.numpy()


def transform_functions(X, fitted):
    """The encoders compared by :func:`bench_transform`, by name."""
    module = fitted[BASELINE].module.eval()
    Xt = torch.from_numpy(X)
    rows = block_rows(X.shape[0], X.shape[1], "cpu")
    est32 = fitted['skae precision="float32"']
    est16 = fitted['skae precision="bfloat16"']

    def raw_whole():
        with torch.inference_mode():
            return module.encode(Xt).numpy()

    return {
        "raw float32, one call": raw_whole,
        "raw float32, 4096-row batches": lambda: blocked_encode(
            module, Xt, 4096, "float32"
        ),
        f"raw bfloat16 autocast, {rows}-row blocks": lambda: blocked_encode(
            module, Xt, rows, "bfloat16"
        ),
        'skae transform, precision="float32"': lambda: est32.transform(X),
        'skae transform, precision="bfloat16"': lambda: est16.transform(X),
    }


def bench_transform(cases, repeats):
    rows = []
    for name, X, fitted in cases:
        log(f"[transform] {name}: {X.shape}")
        fns = transform_functions(X, fitted)
        raw_whole = fns["raw float32, one call"]
        reference = raw_whole()
        scale = np.abs(reference).max()
        errors = {
            key: np.abs(fn() - reference).max() / scale
            for key, fn in list(fns.items())[:3]
        }
        inner = max(
            1, int(0.05 / max(min(time_call(raw_whole, 1) for _ in range(3)), 1e-6))
        )
        for fn in fns.values():  # warm-up
            time_call(fn, inner)
        times = {key: [] for key in fns}
        for rep in range(repeats):
            keys = list(fns) if rep % 2 == 0 else list(fns)[::-1]
            for key in keys:
                times[key].append(time_call(fns[key], inner))
        med = {key: statistics.median(v) for key, v in times.items()}
        low = {key: min(v) for key, v in times.items()}
        raw_keys = list(fns)[:2]
        best_raw = min(raw_keys, key=med.get)
        n = X.shape[0]
        for key in fns:
            rows.append(
                (
                    name,
                    key,
                    f"{repeats}×{inner}",
                    f"{n / med[key]:,.0f}",
                    f"**{med[best_raw] / med[key]:.2f}**",
                    f"{min(low[r] for r in raw_keys) / low[key]:.2f}",
                    f"{errors[key]:.1e}" if key in errors else "-",
                )
            )
    header = (
        "data",
        "encoder",
        "repeats × calls",
        "rows/s (median)",
        "× best float32 raw (medians)",
        "× best float32 raw (maxima)",
        "max abs error / max abs code",
    )
    return markdown_table(header, rows)


# ------------------------------------------------------ 3. torch.compile
def compile_inference_row(name, module, X, precision):
    """Compile time and per-call time of ``torch.compile(module.encode)``."""
    Xt = torch.from_numpy(X)
    step = block_rows(X.shape[0], X.shape[1], "cpu")
    torch._dynamo.reset()
    compiled = torch.compile(module.encode)

    def run(encode):
        with torch.inference_mode(), autocast_context(precision, "cpu"):
            for start in range(0, Xt.shape[0], step):
                encode(Xt[start : start + step])

    t0 = time.perf_counter()
    run(compiled)
    first_call = time.perf_counter() - t0
    compiled_t, eager_t = [], []
    for _ in range(9):
        compiled_t.append(time_call(lambda: run(compiled), 3))
        eager_t.append(time_call(lambda: run(module.encode), 3))
    steady, eager = statistics.median(compiled_t), statistics.median(eager_t)
    gain = eager - steady
    return (
        name,
        f"transform, compiled encoder, {precision}",
        f"{first_call:.2f} s",
        f"{steady * 1e3:.1f} ms / call",
        f"{steady / eager:.3f}",
        f"{(first_call - steady) / gain:,.0f} calls" if gain > 0 else "never",
    )


def bench_compile(cases, epochs):
    """Compile cost and steady per-epoch time, eager against compiled.

    inductor's on-disk caches are disabled, so that the first epoch pays
    what a user's first fit in a fresh environment pays.
    """
    import torch._inductor.config

    torch._inductor.config.force_disable_caches = True
    rows = []
    for name, X, k, hidden in cases:
        variants = {
            "eager float32, fused Adam": {"precision": "float32", "fused": True},
            "compiled float32, fused Adam": {
                "precision": "float32",
                "fused": True,
                "compiled": True,
            },
            "eager bfloat16, fused Adam": {"precision": "bfloat16", "fused": True},
            "compiled bfloat16, fused Adam": {
                "precision": "bfloat16",
                "fused": True,
                "compiled": True,
            },
        }
        loops, first = {}, {}
        for key, options in variants.items():
            log(f"[compile] {name}: {key}, first epoch")
            t0 = time.perf_counter()
            loops[key] = RawLoop(X, k, hidden, **options)
            loops[key].epoch()
            first[key] = time.perf_counter() - t0
        times = {key: [] for key in variants}
        for rep in range(epochs):
            keys = list(variants) if rep % 2 == 0 else list(variants)[::-1]
            for key in keys:
                t0 = clock()
                loops[key].epoch()
                times[key].append(clock() - t0)
        for key in variants:
            steady = statistics.median(times[key])
            eager = statistics.median(times[key.replace("compiled", "eager")])
            cost = first[key] - steady
            if key.startswith("compiled"):
                gain = eager - steady
                even = f"{cost / gain:,.0f} epochs" if gain > 0 else "never"
            else:
                even = "-"
            rows.append(
                (
                    name,
                    key,
                    f"{first[key]:.2f} s",
                    f"{steady * 1e3:.1f} ms",
                    f"{steady / eager:.3f}",
                    even,
                )
            )
        # Inference: compiled encoder against eager, in skae's blocks.
        module = loops["eager bfloat16, fused Adam"].module.eval()
        for precision in ("float32", "bfloat16"):
            rows.append(compile_inference_row(name, module, X, precision))
    header = (
        "data",
        "variant",
        "first epoch (compile included)",
        "steady epoch (median)",
        "/ eager (medians)",
        "break-even",
    )
    return markdown_table(header, rows)


# ---------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument(
        "--compile", action="store_true", help="also measure torch.compile"
    )
    parser.add_argument(
        "--clock",
        choices=tuple(CLOCKS),
        default="wall",
        help="wall: elapsed time; cpu: this process's CPU time, which time "
        "spent waiting for a core shared with other jobs does not inflate "
        "(meaningful with --threads 1; compile times stay wall-clock, as "
        "the C++ compiler runs in child processes)",
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    global clock
    clock = CLOCKS[args.clock]
    if args.quick:
        n_big, big_epochs, digits_epochs, repeats, transform_repeats = (
            20_000,
            1,
            20,
            3,
            5,
        )
    else:
        n_big, big_epochs, digits_epochs, repeats, transform_repeats = (
            60_000,
            3,
            100,
            5,
            9,
        )

    start = time.perf_counter()
    X_all = synthetic(n_big + 10_000)
    X_big, X_big_test = X_all[:n_big], X_all[n_big:]
    X_digits, X_digits_test = train_test_split(digits(), test_size=0.25, random_state=0)
    big_name = f"synthetic {n_big // 1000}k"

    log("[warm-up]")
    for kind, options in FIT_VARIANTS.values():
        (fit_raw if kind == "raw" else fit_skae)(X_digits[:400], 8, (32,), 1, **options)

    fit_table, fitted = bench_fit(
        [
            (big_name, X_big, X_big_test, 32, (256,), big_epochs),
            ("digits", X_digits, X_digits_test, 8, (128,), digits_epochs),
        ],
        repeats,
    )
    transform_table = bench_transform(
        [(big_name, X_big, fitted[big_name]), ("digits", X_digits, fitted["digits"])],
        transform_repeats,
    )
    compile_table = None
    if args.compile:
        compile_table = bench_compile(
            [(big_name, X_big, 32, (256,)), ("digits", X_digits, 8, (128,))],
            3 if args.quick else 5,
        )
    total = time.perf_counter() - start

    print(f"{machine_line()}\n")
    print(
        f"Run: {'quick smoke test' if args.quick else 'full run'}, {total:.0f} s "
        f"in all, {args.clock} clock. Synthetic data as in bench_core.py "
        f"({n_big} training rows, "
        "10 000 held-out rows from the same manifold); digits X/16, 25 % "
        "held out.\n"
    )
    print("### Fit time per epoch (Adam lr 1e-3, batch 200, shuffled, MSE)\n")
    print(
        "raw: a plain loop slicing `X[perm[i:i+200]]` on `MLPAutoEncoder`, "
        "same seed for every variant, torch's default (unfused) Adam for the "
        "baseline; its time includes building the module. skae: the whole "
        "`fit` call divided by the epochs. Held-out MSE in the data's units, "
        "each model reconstructing in its own precision; the last column "
        "compares with the float32 variant of the same side (skae scales the "
        "data internally, so its losses are not on the raw loops' scale). "
        "Target: bfloat16 ≤ 0.65× the baseline, held-out MSE within 3 %.\n"
    )
    print(fit_table + "\n")
    print("### transform throughput (same weights)\n")
    print(
        "raw encoders use the raw float32 loop's weights; skae the "
        "estimators fitted above. Target: bfloat16 ≥ 1.5× the best float32 "
        "raw encoder.\n"
    )
    print(transform_table + "\n")
    if compile_table is not None:
        print("### torch.compile (inductor) of the module\n")
        print(
            "Training: the raw loop with `torch.compile(module)`; the first "
            "epoch includes compiling forward and backward. Inference: "
            "`torch.compile(module.encode)` over skae's row blocks. "
            "Break-even: compile time / time saved per epoch (or call).\n"
        )
        print(compile_table)


if __name__ == "__main__":
    main()
