"""What a user sees while a fit runs (``verbose``)."""

from skorch.callbacks import ProgressBar


def progress_callbacks(verbose):
    """Return the ``(name, callback)`` pairs that report a fit's progress."""
    return [("progress", ProgressBar())] if verbose else []
