"""Input corruptions for denoising autoencoders (pure PyTorch).

Each corruption is a picklable callable ``corrupt(x) -> noisy copy of x``
applied to every training batch. The noise is drawn afresh on every call from
the current fit's generator (:mod:`skae.modules._random`; torch's global
generator of ``x``'s device outside a fit), with ``x``'s dtype and device;
``x`` itself is never modified.

Nothing here imports scikit-learn or skorch.
"""

import torch

from ._callables import Fields, check_finite_nonnegative, check_probability
from .modules._random import rand_like, randn_like

__all__ = [
    "CORRUPTIONS",
    "GaussianNoise",
    "MaskingNoise",
    "SaltAndPepperNoise",
    "UniformNoise",
    "make_corruption",
]


class GaussianNoise(Fields):
    r"""Additive isotropic Gaussian noise.

    .. math:: \tilde x = x + \sigma \varepsilon, \qquad
        \varepsilon \sim \mathcal N(0, I)

    Parameters
    ----------
    std : float
        Standard deviation :math:`\sigma` of the noise, >= 0.

    Raises
    ------
    ValueError
        If ``std`` is negative or not a finite number.
    """

    _fields = ("std",)

    def __init__(self, std):
        self.std = check_finite_nonnegative(std, "std")

    def __call__(self, x):
        """Return a noisy copy of ``x``.

        Parameters
        ----------
        x : torch.Tensor
            A batch of rows, floating point.

        Returns
        -------
        torch.Tensor
            ``x + std * randn_like(x)``, same shape, dtype and device.
        """
        return x + self.std * randn_like(x)


class UniformNoise(Fields):
    r"""Additive uniform noise of half-width ``width``.

    .. math:: \tilde x = x + \varepsilon, \qquad
        \varepsilon_{il} \sim \mathcal U(-a, a) \text{ independently}

    Bounded noise: every entry moves by at most :math:`a`, with standard
    deviation :math:`a / \sqrt 3` (quantisation or rounding error is of
    this kind).

    Parameters
    ----------
    width : float
        Half-width :math:`a` of the noise interval, >= 0.

    Raises
    ------
    ValueError
        If ``width`` is negative or not a finite number.
    """

    _fields = ("width",)

    def __init__(self, width):
        self.width = check_finite_nonnegative(width, "width")

    def __call__(self, x):
        """Return a noisy copy of ``x``.

        Parameters
        ----------
        x : torch.Tensor
            A batch of rows, floating point.

        Returns
        -------
        torch.Tensor
            ``x + width * (2 * rand_like(x) - 1)``, same shape, dtype and
            device.
        """
        return x + self.width * (2.0 * rand_like(x) - 1.0)


class MaskingNoise(Fields):
    r"""Masking noise: each entry is set to zero with probability ``p``.

    .. math:: \tilde x_{il} = m_{il}\, x_{il}, \qquad
        m_{il} \sim \mathrm{Bernoulli}(1 - p) \text{ independently}

    Parameters
    ----------
    p : float
        Probability, in [0, 1], that an entry is zeroed.

    Raises
    ------
    ValueError
        If ``p`` is not in [0, 1].
    """

    _fields = ("p",)

    def __init__(self, p):
        self.p = check_probability(p, "p")

    def __call__(self, x):
        """Return a copy of ``x`` with entries zeroed at random.

        Parameters
        ----------
        x : torch.Tensor
            A batch of rows, floating point.

        Returns
        -------
        torch.Tensor
            Same shape, dtype and device as ``x``.
        """
        drop = rand_like(x) < self.p
        return torch.where(drop, torch.zeros((), dtype=x.dtype, device=x.device), x)


class SaltAndPepperNoise(Fields):
    r"""Salt-and-pepper noise: entries replaced by their column's min or max.

    Each entry is replaced with probability ``p``; a replaced entry takes its
    column's minimum or maximum with probability 1/2 each:

    .. math::

        \tilde x_{il} = \begin{cases}
            \mathrm{low}_l & \text{with probability } p / 2 \\
            \mathrm{high}_l & \text{with probability } p / 2 \\
            x_{il} & \text{otherwise}
        \end{cases}

    Parameters
    ----------
    p : float
        Probability, in [0, 1], that an entry is replaced.
    low : array-like of shape (n_features,)
        Per-column minimum, computed by the caller from the training data.
    high : array-like of shape (n_features,)
        Per-column maximum, computed by the caller from the training data.

    Raises
    ------
    ValueError
        If ``p`` is not in [0, 1], or ``low`` and ``high`` are not 1-D of the
        same length.
    """

    _fields = ("p", "low", "high")

    def __init__(self, p, low, high):
        self.p = check_probability(p, "p")
        low = torch.as_tensor(low).detach().clone()
        high = torch.as_tensor(high).detach().clone()
        if low.ndim != 1 or high.shape != low.shape:
            raise ValueError(
                "low and high must be 1-D with one value per feature; got shapes "
                f"{tuple(low.shape)} and {tuple(high.shape)}."
            )
        self.low = low
        self.high = high

    def __call__(self, x):
        """Return a copy of ``x`` with salt-and-pepper noise.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            A batch of rows, floating point.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Same dtype and device as ``x``.

        Raises
        ------
        ValueError
            If ``x`` does not have ``len(low)`` columns.
        """
        if x.shape[-1] != self.low.shape[0]:
            raise ValueError(
                f"x has {x.shape[-1]} features but the salt-and-pepper bounds "
                f"were computed for {self.low.shape[0]}."
            )
        low = self.low.to(device=x.device, dtype=x.dtype)
        high = self.high.to(device=x.device, dtype=x.dtype)
        # One uniform draw per entry: below p/2 -> low, in [p/2, p) -> high.
        u = rand_like(x)
        half = self.p / 2.0
        noisy = torch.where(u < half, low, x)
        return torch.where((u >= half) & (u < self.p), high, noisy)


CORRUPTIONS = ("gaussian", "uniform", "masking", "salt_and_pepper")


def make_corruption(kind, level, low=None, high=None):
    """Build the corruption named ``kind``.

    Parameters
    ----------
    kind : {"gaussian", "uniform", "masking", "salt_and_pepper"}
        ``"gaussian"``: :class:`GaussianNoise` with ``std=level``;
        ``"uniform"``: :class:`UniformNoise` with ``width=level``;
        ``"masking"``: :class:`MaskingNoise` with ``p=level``;
        ``"salt_and_pepper"``: :class:`SaltAndPepperNoise` with ``p=level``
        and the column bounds ``low`` and ``high``.
    level : float
        The noise standard deviation, the uniform noise's half-width or the
        corruption probability.
    low : array-like of shape (n_features,), default=None
        Per-column minimum; required for ``"salt_and_pepper"``.
    high : array-like of shape (n_features,), default=None
        Per-column maximum; required for ``"salt_and_pepper"``.

    Returns
    -------
    callable
        ``corrupt(x) -> noisy copy of x``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown, ``level`` is invalid for it, or ``low`` /
        ``high`` are missing for ``"salt_and_pepper"``.

    Examples
    --------
    >>> from skae._corruption import make_corruption
    >>> make_corruption("masking", 0.25)
    MaskingNoise(p=0.25)
    """
    if kind == "gaussian":
        return GaussianNoise(level)
    if kind == "uniform":
        return UniformNoise(level)
    if kind == "masking":
        return MaskingNoise(level)
    if kind == "salt_and_pepper":
        if low is None or high is None:
            raise ValueError(
                "salt_and_pepper noise needs the per-column bounds low and high."
            )
        return SaltAndPepperNoise(level, low, high)
    raise ValueError(f"Unknown noise {kind!r}; expected one of {list(CORRUPTIONS)}.")
