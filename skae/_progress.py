"""What a user sees while a fit runs (``verbose``)."""

import sys

from skorch.callbacks import Callback, PrintLog


def _isatty(stream):
    """Whether ``stream`` is an interactive terminal (False when unknown)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _write_line(stream, text):
    stream.write(text + "\n")
    stream.flush()


class EpochProgress(Callback):
    """One progress bar over the epochs of a training call.

    The bar counts epochs, not batches, and its postfix shows the last
    epoch's ``train_loss`` and, when there is a validation split,
    ``valid_score``. It is a :mod:`tqdm.auto` bar on ``sys.stderr``: a
    widget in Jupyter, a line redrawn in place on a terminal. Where
    ``sys.stderr`` is neither (a log file, a pipe, a CI job) nothing is
    redrawn: each epoch writes one plain line instead, so the log holds no
    carriage returns and no half-drawn bars. An early stop ends the bar
    full: it is no failure.
    """

    def __init__(self):
        self.bar_ = None

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self._close()  # a bar left open by a fit that raised
        self.stream_ = sys.stderr
        self.epochs_ = 0
        self.total_ = net.max_epochs
        notebook = any(cls.__module__ == "tqdm.notebook" for cls in tqdm.__mro__)
        if notebook or _isatty(self.stream_):
            self.bar_ = tqdm(
                total=self.total_,
                unit="epoch",
                file=self.stream_,
                dynamic_ncols=True,
            )

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1
        row = net.history[-1]
        scores = {k: row[k] for k in ("train_loss", "valid_score") if k in row}
        if self.bar_ is not None:
            self.bar_.set_postfix(
                {k: f"{v:.4f}" for k, v in scores.items()}, refresh=False
            )
            self.bar_.update()
        else:
            text = ", ".join(f"{k}={v:.4f}" for k, v in scores.items())
            _write_line(self.stream_, f"epoch {self.epochs_}/{self.total_}: {text}")

    def on_train_end(self, net, **kwargs):
        self._close()

    def _close(self):
        bar, self.bar_ = self.bar_, None
        if bar is not None:
            bar.total = bar.n  # stopped early: done, not failed
            bar.close()

    def __getstate__(self):
        # A live bar holds a stream; a pickled net keeps no bar.
        state = self.__dict__.copy()
        state["bar_"] = None
        state.pop("stream_", None)
        return state


class EpochTable(PrintLog):
    """skorch's per-epoch table on ``sys.stdout``, coloured only on a terminal.

    :class:`skorch.callbacks.PrintLog` marks each column's best epoch so
    far with ANSI colour codes; written to a file, a pipe or a notebook
    cell those are escape sequences, not colours, so they are left out
    there. The table prints whatever the net's ``verbose`` is.
    """

    def __init__(self):
        super().__init__(sink=self._print)

    def on_train_begin(self, net, **kwargs):
        self.colour_ = _isatty(sys.stdout)

    def format_row(self, row, key, color):
        if not getattr(self, "colour_", False):
            row = {k: v for k, v in row.items() if k != key + "_best"}
        return super().format_row(row, key, color)

    @staticmethod
    def _print(text):
        # Not ``print`` itself: PrintLog would then stay silent unless the
        # net's own ``verbose`` is set.
        _write_line(sys.stdout, text)


def progress_callbacks(verbose):
    """Return the ``(name, callback)`` pairs that report a fit's progress.

    They are everything a fit shows the user, so they go after the
    callbacks that record scores (they show each epoch's complete row) and
    before the stopping rule (which ends the last epoch by raising).

    - ``verbose=0``: nothing.
    - ``verbose=1``: one bar over the epochs of each training call, with
      the train loss and the validation score in its postfix
      (:class:`EpochProgress`). On a terminal or in Jupyter it is redrawn
      in place; in a log file or a pipe each epoch writes one plain line to
      stderr.
    - ``verbose>=2``: the per-epoch table of every recorded score and the
      epoch's duration on stdout (:class:`EpochTable`), with the best
      values coloured on a terminal only.

    Parameters
    ----------
    verbose : int
        The estimator's ``verbose``.

    Returns
    -------
    list of (str, skorch.callbacks.Callback)
        Empty, or one ``("progress", callback)`` pair.
    """
    if not verbose:
        return []
    return [("progress", EpochProgress() if verbose == 1 else EpochTable())]
