"""Record per-epoch training curves with the stopping rule switched off.

For each case of ``stopping_cases`` (and, with ``--bundled``, every size of
the drop-in table) the estimator trains for its full ``max_iter`` with
``tol=0``, ``n_iter_no_change=max_iter``; every epoch's unit-free training
score (what the stopping rule watches), held-out R² and duration go to one
JSON file. Stopping rules are then compared on these curves offline
(``bench_stopping.py --curves``), as 0.2 chose its rule.

Run: ``python benchmarks/record_curves.py --out curves.json [--bundled]
[--cases gru lstm] [--params '{"alpha": 0.01}']``.
"""

import argparse
import json
import sys
import time
import warnings

import numpy as np
import stopping_cases
import torch
from skorch.callbacks import Callback


class HeldOutR2(Callback):
    """Record the held-out R² of the module after every epoch."""

    def __init__(self, X_test, center):
        self.X_test = X_test
        self.center = center

    def on_epoch_end(self, net, **kwargs):
        module = net.module_
        was_training = module.training
        module.eval()
        dtype = next(module.parameters()).dtype
        with torch.inference_mode():
            x = torch.as_tensor(self.X_test, dtype=dtype)
            reconstruction = module.decode(module.encode(x)).double().numpy()
        module.train(was_training)
        sse = np.sum((self.X_test - reconstruction) ** 2)
        sst = np.sum((self.X_test - self.center) ** 2)
        net.history.record("heldout_r2", float(1 - sse / sst))


def record(case, extra, random_state=0):
    cls, params, X_train, X_test = case()
    params = {**params, **extra}
    max_iter = params.get("max_iter", 200)
    estimator = cls(
        **params,
        tol=0.0,
        n_iter_no_change=max_iter,
        random_state=random_state,
        callbacks=[("heldout", HeldOutR2(X_test, X_train.mean(axis=0)))],
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X_train)
    seconds = time.perf_counter() - start
    history = estimator.net_.history
    return dict(
        train_score=[float(h["train_score"]) for h in history],
        heldout_r2=[float(h["heldout_r2"]) for h in history],
        dur=[float(h["dur"]) for h in history],
        seconds=seconds,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--cases", nargs="*", default=None)
    parser.add_argument("--bundled", action="store_true")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--params", type=json.loads, default={}, help="e.g. '{\"alpha\": 0.01}'"
    )
    args = parser.parse_args()
    cases = dict(stopping_cases.CASES)
    if args.bundled:
        cases = stopping_cases.bundled_cases()
    if args.cases:
        cases = {name: cases[name] for name in args.cases}
    curves = {}
    for name, case in cases.items():
        curves[name] = record(case, args.params, args.random_state)
        c = curves[name]
        print(
            f"{name}: {len(c['train_score'])} epochs {c['seconds']:.1f} s, "
            f"train {c['train_score'][-1]:.3f} held-out {c['heldout_r2'][-1]:.3f}",
            file=sys.stderr,
            flush=True,
        )
        with open(args.out, "w") as f:
            json.dump(curves, f)


if __name__ == "__main__":
    main()
