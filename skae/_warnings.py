"""skae's warnings: their categories, pointed at the user's line."""

import concurrent.futures
import contextlib
import functools
import multiprocessing
import os
import runpy
import sys
import threading
import warnings

import joblib
import sklearn
from sklearn.exceptions import ConvergenceWarning


class SkaeWarning(UserWarning):
    """Base class of every warning skae itself issues.

    A :class:`UserWarning`, so filters on UserWarning keep catching them;
    ``warnings.filterwarnings("ignore", category=SkaeWarning)`` silences
    skae's own warnings and no one else's.
    """


class BottleneckWarning(SkaeWarning):
    """The code is as wide as the input: no bottleneck (``n_components``)."""


class SkaeConvergenceWarning(SkaeWarning, ConvergenceWarning):
    """Training stopped at ``max_iter`` before it converged.

    Also a :class:`sklearn.exceptions.ConvergenceWarning`, as
    MLPRegressor's, so filters on that category keep catching it.
    """


def _directory(path):
    return os.path.dirname(os.path.abspath(path)) + os.sep


# Frames a warning skips to reach the user's line: skae's own code, the
# libraries that call estimators on the user's behalf (scikit-learn's
# meta-estimators, joblib's parallel loop and memory), and the standard
# library's decorators and worker threads or processes in between.
_SKAE = _directory(__file__)
_LIBRARY_FILES = (
    _SKAE,
    _directory(sklearn.__file__),
    _directory(joblib.__file__),
    _directory(concurrent.futures.__file__),
    _directory(multiprocessing.__file__),
    contextlib.__file__,
    functools.__file__,
    threading.__file__,
    runpy.__file__,
    "<frozen ",  # frozen standard modules, e.g. runpy in a worker process
)


def caller_stacklevel():
    """Stack level of the first frame outside skae and the libraries above.

    The warning then points at the user's line, as scikit-learn's own
    ConvergenceWarnings do, also when scikit-learn (a Pipeline, a search)
    or joblib called the estimator. Where no frame is the user's (a joblib
    worker, a thread), it points at the line that called skae.
    """
    frame = sys._getframe(1)  # the caller of this function
    level = 1
    outside_skae = None
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_FILES):
        if outside_skae is None and not frame.f_code.co_filename.startswith(_SKAE):
            outside_skae = level
        frame = frame.f_back
        level += 1
    if frame is None and outside_skae is not None:
        return outside_skae
    return level


def warn_user(message, category, estimator=None):
    """Issue one of skae's warnings at the user's line.

    Parameters
    ----------
    message : str
        What happened.
    category : subclass of SkaeWarning
        The warning's category.
    estimator : object or None, default=None
        The estimator the warning is about; its class name starts the
        message, so that the warning says which estimator it concerns also
        where the user's line is not on the stack (a joblib worker, a
        Pipeline of several estimators).
    """
    if estimator is not None:
        message = f"{type(estimator).__name__}: {message}"
    warnings.warn(message, category, stacklevel=caller_stacklevel())
