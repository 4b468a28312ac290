"""The thread policy: a default digits fit, quiet and beside a busy process.

A default ``AutoEncoderTransformer(8)`` fit on digits / 16 (75 % of the
rows) with skae's thread policy (one torch thread for a small dense
network) and without it (torch's own setting, by patching the policy's
threshold to 0), interleaved, medians of ``--repeats`` fits; first on a
quiet machine, then beside a process running 512 x 512 torch matrix
products on every core.

Run: ``python benchmarks/bench_threads.py``; ``--repeats``.
"""

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import skae._base
from skae import AutoEncoderTransformer

BUSY = (
    "import torch\n"
    f"torch.set_num_threads({os.cpu_count()})\n"
    "a = torch.randn(512, 512)\n"
    "while True:\n"
    "    a @ a\n"
)


@contextlib.contextmanager
def busy_cores(busy=True):
    """Run the block beside the BUSY process (if ``busy``), then stop it."""
    if not busy:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", BUSY])
    time.sleep(2)  # let it occupy the cores
    try:
        yield
    finally:
        process.kill()
        process.wait()


def fit(X, policy):
    saved = skae._base.SMALL_WORK
    skae._base.SMALL_WORK = saved if policy else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            AutoEncoderTransformer(8, random_state=0).fit(X)
            return time.perf_counter() - start
    finally:
        skae._base.SMALL_WORK = saved


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    X = train_test_split(load_digits().data / 16, test_size=0.25, random_state=0)[0]
    fit(X, True)  # warm-up
    times = {}
    for state in ("quiet", "busy"):
        with busy_cores(state == "busy"):
            for repeat in range(args.repeats):
                order = (True, False) if repeat % 2 == 0 else (False, True)
                for policy in order:
                    times.setdefault((state, policy), []).append(fit(X, policy))
    print(
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads by default); "
        f"medians of {args.repeats} interleaved fits.\n"
    )
    print("| threads | quiet s | busy s | busy / quiet |")
    print("|---|---|---|---|")
    for policy, name in ((True, "skae's policy (1 thread here)"), (False, "torch's")):
        quiet = statistics.median(times[("quiet", policy)])
        busy = statistics.median(times[("busy", policy)])
        print(f"| {name} | {quiet:.3f} | {busy:.3f} | {busy / quiet:.2f} |")


if __name__ == "__main__":
    main()
