"""What the corruption and penalty objects share: argument checks and repr.

:mod:`skae._corruption` and :mod:`skae._penalties` both define small
picklable callables whose constructor arguments are their fields. The checks
of those arguments and their repr live here, once.

Nothing here imports torch, scikit-learn or skorch.
"""

import math
import numbers

__all__ = [
    "Fields",
    "check_finite_nonnegative",
    "check_number",
    "check_probability",
]


def check_number(value, name, accept, expected):
    """Return ``value`` as a float if it is a real number that ``accept`` takes.

    Parameters
    ----------
    value : object
        The argument to check. Booleans are refused.
    name : str
        The argument's name, for the error message.
    accept : callable
        ``accept(value) -> bool`` on a real number.
    expected : str
        What ``value`` must be, for the error message ("a probability in
        [0, 1]").

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    ValueError
        "<name> must be <expected>; got <value>." when ``value`` is not a
        real number or ``accept`` refuses it.

    Examples
    --------
    >>> from skae._callables import check_number
    >>> check_number(1, "n", lambda v: v > 0, "positive")
    1.0
    """
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not accept(value)
    ):
        raise ValueError(f"{name} must be {expected}; got {value!r}.")
    return float(value)


def check_finite_nonnegative(value, name):
    """``check_number`` for a finite value >= 0 (a weight, a noise level)."""
    return check_number(
        value, name, lambda v: 0 <= v < math.inf, "a finite number >= 0"
    )


def check_probability(value, name):
    """``check_number`` for a value in [0, 1]."""
    return check_number(value, name, lambda v: 0 <= v <= 1, "a probability in [0, 1]")


class Fields:
    """Base of the objects whose constructor arguments are their fields.

    A subclass names its fields in ``_fields``; the repr shows them as
    keyword arguments, ``GaussianNoise(std=0.1)``.
    """

    _fields = ()

    def __repr__(self):
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({args})"
