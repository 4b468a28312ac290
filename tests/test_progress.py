"""What a fit shows while it runs (``verbose``): a bar, plain lines or a table."""

import io
import pickle
import re
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skae import AutoEncoderTransformer, EncoderClassifier
from skae._progress import EpochProgress, EpochTable, progress_callbacks

ANSI = "\x1b["


class Terminal(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self):
        return True


def make_data():
    return np.random.default_rng(0).normal(size=(60, 5))


def fit(verbose, max_iter=3, **params):
    """Fit until max_iter (it warns that it did not converge)."""
    ae = AutoEncoderTransformer(
        n_components=2,
        hidden_layer_sizes=(4,),
        max_iter=max_iter,
        verbose=verbose,
        random_state=0,
        device="cpu",
        **params,
    )
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        return ae.fit(make_data())


def test_progress_callbacks_per_verbose_level():
    assert progress_callbacks(0) == []
    [(name, bar)] = progress_callbacks(1)
    assert name == "progress" and isinstance(bar, EpochProgress)
    [(name, table)] = progress_callbacks(2)
    assert name == "progress" and isinstance(table, EpochTable)


def test_verbose_1_writes_one_plain_line_per_epoch_off_a_terminal(capsys):
    # A log file or a pipe: no carriage returns, no half-drawn bars, no
    # colour codes, nothing on stdout.
    fit(verbose=1, early_stopping=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "\r" not in err and ANSI not in err
    lines = err.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert re.fullmatch(
            rf"epoch {epoch}/3: train_loss=\d+\.\d{{4}}, valid_score=-?\d+\.\d{{4}}",
            line,
        ), line


def test_verbose_1_without_validation_shows_the_train_loss(capsys):
    fit(verbose=1)
    err = capsys.readouterr().err
    assert re.fullmatch(r"epoch 2/3: train_loss=\d+\.\d{4}", err.splitlines()[1])


def test_verbose_1_draws_one_bar_over_the_epochs_on_a_terminal(monkeypatch, capsys):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    fit(verbose=1, max_iter=4, early_stopping=True)
    drawn = terminal.getvalue()
    assert capsys.readouterr().out == ""
    # One bar, redrawn in place and ended by a single newline.
    assert drawn.count("\n") == 1 and drawn.endswith("\n")
    assert drawn.count("0/4") == 1  # it was never started again
    last = drawn.rstrip("\n").rsplit("\r", 1)[-1]
    assert "4/4" in last and "epoch" in last
    assert re.search(r"train_loss=\d+\.\d{4}, valid_score=-?\d+\.\d{4}", last)


def test_an_early_stop_ends_the_bar_full(monkeypatch):
    # A stop before max_iter is no failure: the bar ends at its last epoch.
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    ae = AutoEncoderTransformer(
        n_components=2,
        max_iter=50,
        tol=10.0,
        n_iter_no_change=1,
        verbose=1,
        random_state=0,
        device="cpu",
    ).fit(make_data())
    assert ae.n_iter_ == 3  # one epoch that counts, then two without gain
    last = terminal.getvalue().rstrip("\n").rsplit("\r", 1)[-1]
    assert "100%" in last and "3/3" in last


def test_verbose_2_prints_an_uncoloured_table_off_a_terminal(capsys):
    fit(verbose=2, early_stopping=True)
    out, err = capsys.readouterr()
    assert err == ""
    assert ANSI not in out and "\r" not in out
    header, rule, *rows = out.splitlines()
    assert header.split() == [
        "epoch",
        "train_loss",
        "train_score",
        "valid_loss",
        "valid_score",
        "dur",
    ]
    assert set(rule) <= {"-", " "}
    assert [row.split()[0] for row in rows] == ["1", "2", "3"]


def test_verbose_2_colours_the_best_values_on_a_terminal(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    fit(verbose=2)
    table = terminal.getvalue()
    assert ANSI in table
    assert len(table.splitlines()) == 2 + 3


@pytest.mark.parametrize("verbose", [1, 2])
def test_the_classifier_shows_the_same_progress(verbose, capsys):
    X = make_data()
    y = (X[:, 0] > 0).astype(int)
    ae = AutoEncoderTransformer(n_components=2, max_iter=2, random_state=0)
    clf = EncoderClassifier(
        ae, max_iter=2, fine_tune=False, verbose=verbose, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    out, err = capsys.readouterr()
    assert ANSI not in out + err and "\r" not in out + err
    shown, silent = (err, out) if verbose == 1 else (out, err)
    assert silent == ""
    assert len(shown.splitlines()) == (2 if verbose == 1 else 2 + 2)


@pytest.mark.parametrize("verbose", [1, 2])
def test_a_verbose_fit_pickles(verbose, capsys):
    X = make_data()
    ae = fit(verbose=verbose)
    again = pickle.loads(pickle.dumps(ae))
    assert_array_equal(again.transform(X), ae.transform(X))


def test_in_jupyter_it_is_a_bar_though_stderr_is_no_terminal(monkeypatch, capsys):
    # tqdm.auto is tqdm.notebook's widget bar in a Jupyter kernel.
    import tqdm.auto
    import tqdm.std

    class NotebookBar(tqdm.std.tqdm):
        pass

    NotebookBar.__module__ = "tqdm.notebook"
    monkeypatch.setattr(tqdm.auto, "tqdm", NotebookBar)
    fit(verbose=1)
    err = capsys.readouterr().err
    assert "epoch 1/3" not in err and "3/3" in err
