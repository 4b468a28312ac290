"""Autoencoder against PCA on the digits: reconstruction and downstream accuracy.

Run with ``python -m skae.demo`` (or ``make demo``). On scikit-learn's 8x8
digits (pixels scaled to [0, 1], a quarter of the rows held out), for each
code size ``k`` the demo fits :class:`~sklearn.decomposition.PCA` and
:class:`~skae.AutoEncoderTransformer` on the training rows and prints a table
of

- the held-out mean squared reconstruction error of each, and their ratio
  (below 1: the autoencoder reconstructs better);
- the held-out accuracy of a logistic regression trained on each one's
  codes (standardised first);
- the time each took to fit.

It then draws held-out digits next to their PCA and autoencoder
reconstructions and saves the figure as a PNG (needs matplotlib).

Options: ``--output PATH`` for the figure (default
``demo_reconstructions.png`` in the current directory) and ``--quick`` for a
few epochs only, a smoke test that runs in seconds.
"""

import argparse
import contextlib
import os
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from ._autoencoder import AutoEncoderTransformer

K_VALUES = (2, 4, 8, 16)
MAX_ITER = 300
QUICK_MAX_ITER = 10
FIGURE_K = 8
N_FIGURE_DIGITS = 8
DEFAULT_OUTPUT = "demo_reconstructions.png"

_COLUMNS = (
    ("k", "k", "{:d}"),
    ("pca_mse", "PCA MSE", "{:.5f}"),
    ("ae_mse", "AE MSE", "{:.5f}"),
    ("ratio", "AE/PCA", "{:.3f}"),
    ("pca_accuracy", "PCA acc", "{:.3f}"),
    ("ae_accuracy", "AE acc", "{:.3f}"),
    ("pca_fit_s", "PCA fit s", "{:.3f}"),
    ("ae_fit_s", "AE fit s", "{:.2f}"),
)


def load_data():
    """Split the digits into training and held-out rows.

    Returns
    -------
    X_train, X_test : ndarray of shape (n_samples, 64), dtype float32
        Pixels divided by 16, so in [0, 1]. float32 trains the autoencoder
        faster than float64 and is ample precision for 17 grey levels.
    y_train, y_test : ndarray of shape (n_samples,)
        The digit labels.
    """
    digits = load_digits()
    X = (digits.data / 16).astype(np.float32)
    return train_test_split(X, digits.target, test_size=0.25, random_state=0)


def _mse(X, X_reconstructed):
    diff = np.asarray(X, dtype=np.float64) - np.asarray(X_reconstructed, np.float64)
    return float(np.mean(diff**2))


def _code_accuracy(codes_train, y_train, codes_test, y_test):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(clf.fit(codes_train, y_train).score(codes_test, y_test))


def _timed_fit(estimator, X):
    start = time.perf_counter()
    estimator.fit(X)
    return time.perf_counter() - start


@contextlib.contextmanager
def _torch_threads(n_threads):
    """Run the block with ``n_threads`` torch threads (None: unchanged)."""
    previous = torch.get_num_threads()
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _fit_quietly(ae, X):
    """Fit and time ``ae``, its ConvergenceWarning noted rather than shown.

    Other warnings are shown as usual. Returns the fit time in seconds and
    whether the fit converged (raised no ConvergenceWarning).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit_s = _timed_fit(ae, X)
    for warning in caught:
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return fit_s, converged


def _fit_pair(k, max_iter, X_train, bar):
    """Fit PCA, then the autoencoder, with ``k`` components; one bar step each.

    Returns the row entries of the fits: ``pca_fit_s``, ``ae_fit_s``,
    ``ae_epochs``, ``ae_converged``, ``pca`` and ``ae``.
    """
    bar.set_description(f"Fitting PCA (k={k})")
    pca = PCA(n_components=k)
    pca_fit_s = _timed_fit(pca, X_train)
    bar.update()

    bar.set_description(f"Training autoencoder (k={k}, up to {max_iter} epochs)")
    ae = AutoEncoderTransformer(n_components=k, max_iter=max_iter, random_state=0)
    ae_fit_s, converged = _fit_quietly(ae, X_train)
    bar.update()
    return {
        "pca_fit_s": pca_fit_s,
        "ae_fit_s": ae_fit_s,
        "ae_epochs": ae.n_iter_,
        "ae_converged": converged,
        "pca": pca,
        "ae": ae,
    }


def _held_out_scores(pca, ae, data):
    """Reconstruction errors and code accuracies of the fitted pair.

    Returns the row entries ``pca_mse``, ``ae_mse``, ``ratio``,
    ``pca_accuracy`` and ``ae_accuracy``; ``data`` is :func:`load_data`'s.
    """
    X_train, X_test, y_train, y_test = data
    pca_mse = _mse(X_test, pca.inverse_transform(pca.transform(X_test)))
    ae_mse = _mse(X_test, ae.reconstruct(X_test))
    return {
        "pca_mse": pca_mse,
        "ae_mse": ae_mse,
        "ratio": ae_mse / pca_mse,
        "pca_accuracy": _code_accuracy(
            pca.transform(X_train), y_train, pca.transform(X_test), y_test
        ),
        "ae_accuracy": _code_accuracy(
            ae.transform(X_train), y_train, ae.transform(X_test), y_test
        ),
    }


def run(k_values=K_VALUES, max_iter=MAX_ITER, *, n_threads=1):
    """Fit PCA and an autoencoder for each code size and compare them.

    A progress bar on stderr follows the ``2 * len(k_values)`` fits.

    Parameters
    ----------
    k_values : sequence of int, default=(2, 4, 8, 16)
        The code sizes (``n_components``) to compare.
    max_iter : int, default=300
        The autoencoder's maximum number of epochs; it stops earlier once
        the training loss stops improving.
    n_threads : int or None, default=1
        Torch intra-op threads while training, restored afterwards. These
        networks are too small to gain from more, and on a busy machine
        extra threads wait on each other (one demo run was 25 times slower
        with 2 threads than with 1 on a loaded 2-core machine). None keeps
        torch's setting.

    Returns
    -------
    rows : list of dict
        One dict per code size, with keys ``k``, ``pca_mse``, ``ae_mse``,
        ``ratio`` (``ae_mse / pca_mse``), ``pca_accuracy``, ``ae_accuracy``,
        ``pca_fit_s``, ``ae_fit_s``, ``ae_epochs`` (epochs the autoencoder
        ran), ``ae_converged`` (False where it stopped at ``max_iter``
        rather than on a plateau of the training loss; its
        ConvergenceWarning is not shown) and the fitted estimators ``pca``
        and ``ae``.
    """
    data = load_data()
    rows = []
    with (
        _torch_threads(n_threads),
        tqdm(total=2 * len(k_values), unit="fit", file=sys.stderr) as bar,
    ):
        for k in k_values:
            fits = _fit_pair(k, max_iter, data[0], bar)
            scores = _held_out_scores(fits["pca"], fits["ae"], data)
            rows.append({"k": k, **scores, **fits})
    return rows


def format_table(rows):
    """Render the rows of :func:`run` as a fixed-width text table.

    Parameters
    ----------
    rows : list of dict
        Each with the keys ``k``, ``pca_mse``, ``ae_mse``, ``ratio``,
        ``pca_accuracy``, ``ae_accuracy``, ``pca_fit_s`` and ``ae_fit_s``;
        other keys are ignored.

    Returns
    -------
    table : str
        A header line, a rule, and one line per row, columns separated by
        `` | ``; no trailing newline.
    """
    cells = [[title for _, title, _ in _COLUMNS]]
    for row in rows:
        cells.append([fmt.format(row[key]) for key, _, fmt in _COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    lines = [
        " | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in cells
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_reconstructions(originals, pca_reconstructions, ae_reconstructions, path):
    """Save a 3-row figure: digits, their PCA and autoencoder reconstructions.

    matplotlib is imported here, with the Agg backend, so the rest of the
    module works without it.

    Parameters
    ----------
    originals : array-like of shape (n_digits, 64)
        Held-out digits, pixels in [0, 1].
    pca_reconstructions : array-like of shape (n_digits, 64)
        The same digits reconstructed by PCA.
    ae_reconstructions : array-like of shape (n_digits, 64)
        The same digits reconstructed by the autoencoder.
    path : str or path-like
        Where to write the PNG.

    Returns
    -------
    path : str or path-like
        The ``path`` written.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        ("Original", originals),
        (f"PCA ({FIGURE_K})", pca_reconstructions),
        (f"AE ({FIGURE_K})", ae_reconstructions),
    ]
    n_digits = len(originals)
    fig, axes = plt.subplots(
        len(rows),
        n_digits,
        figsize=(1.2 * n_digits + 1, 1.3 * len(rows)),
        squeeze=False,
    )
    for (label, images), row_axes in zip(rows, axes, strict=True):
        for image, ax in zip(np.asarray(images), row_axes, strict=True):
            ax.imshow(
                np.clip(image.reshape(8, 8), 0, 1),
                cmap="gray_r",
                vmin=0,
                vmax=1,
                interpolation="nearest",
            )
            ax.set_xticks([])
            ax.set_yticks([])
        row_axes[0].set_ylabel(label, fontsize=11)
    fig.suptitle(f"Held-out digits and their {FIGURE_K}-component reconstructions")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m skae.demo",
        description="Compare PCA and AutoEncoderTransformer on the digits.",
    )
    parser.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="PATH",
        help=f"where to write the reconstruction figure (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"train {QUICK_MAX_ITER} epochs instead of up to {MAX_ITER} "
        "(a smoke test; the autoencoder numbers are not meaningful)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Run the demo: print the comparison table and save the figure.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    rows : list of dict
        The rows of :func:`run`.
    """
    args = _parse_args(argv)
    max_iter = QUICK_MAX_ITER if args.quick else MAX_ITER
    print(
        "skae demo: PCA vs AutoEncoderTransformer on the digits "
        "(pixels / 16, 25% held out, random_state=0)\n"
        f"Autoencoder: hidden_layer_sizes=(128,), up to {max_iter} epochs"
        f"{' (--quick)' if args.quick else ''}, random_state=0; data passed as "
        "float32 for speed; torch on 1 thread.\n"
        "MSE: held-out mean squared reconstruction error (AE/PCA < 1: AE "
        "better).\n"
        "acc: held-out accuracy of StandardScaler + LogisticRegression"
        "(max_iter=2000) on the codes.\n",
        flush=True,
    )
    start = time.perf_counter()
    rows = run(K_VALUES, max_iter)
    elapsed = time.perf_counter() - start
    print(format_table(rows))
    epochs = ", ".join(
        f"k={row['k']}: {row['ae_epochs']}"
        + ("" if row["ae_converged"] else " (stopped at max_iter)")
        for row in rows
    )
    print(f"\nAutoencoder epochs run (of at most {max_iter}): {epochs}")
    print(f"Total fitting and scoring time: {elapsed:.1f} s")

    figure_row = next((row for row in rows if row["k"] == FIGURE_K), None)
    if figure_row is not None:
        X_test = load_data()[1][:N_FIGURE_DIGITS]
        pca, ae = figure_row["pca"], figure_row["ae"]
        try:
            plot_reconstructions(
                X_test,
                pca.inverse_transform(pca.transform(X_test)),
                ae.reconstruct(X_test),
                args.output,
            )
        except ImportError:
            print(
                "\nmatplotlib is not installed, so no figure was drawn; install "
                "it with `pip install matplotlib` (or skae[plot])."
            )
        else:
            print(f"\nFigure written to {os.path.abspath(args.output)}")
    return rows


if __name__ == "__main__":
    main()
