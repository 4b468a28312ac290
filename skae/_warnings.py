"""skae's warnings, pointed at the user's line."""

import contextlib
import functools
import os
import sys

import sklearn

# Frames a warning should skip to reach the user's line: skae's and
# scikit-learn's own code, and the decorators they wrap methods in.
_LIBRARY_FILES = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(sklearn.__file__) + os.sep,
    contextlib.__file__,
    functools.__file__,
)


def caller_stacklevel():
    """Stack level of the first frame outside skae and scikit-learn.

    The warning then points at the user's line, as scikit-learn's own
    ConvergenceWarnings do.
    """
    frame = sys._getframe(1)  # the caller of this function
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_FILES):
        frame = frame.f_back
        level += 1
    return level
