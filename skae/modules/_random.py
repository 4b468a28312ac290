"""Random draws from generators that a fit owns, never torch's global streams.

A fit creates a :class:`FitGenerators` from its seed and makes it current
for its own thread with :func:`use_generators`. Everything random in skae
(weight initialisation, shuffling, noise, dropout, reparameterisation)
draws from it: two fits in two threads cannot interleave their draws, and a
thread that is not fitting sees torch's global stream untouched.

Nothing here imports scikit-learn or skorch.
"""

import contextlib
import threading

import torch
from torch.overrides import TorchFunctionMode

_local = threading.local()


class FitGenerators:
    """One :class:`torch.Generator` per device, all seeded from one seed.

    Generators are created on first use; each device's stream depends only
    on the seed, so a fit on the CPU and a fit on CUDA are each
    reproducible.

    Parameters
    ----------
    seed : int
        The seed of every generator.
    """

    def __init__(self, seed):
        self.seed = int(seed)
        self._generators = {}

    def __call__(self, device):
        """Return the generator for ``device`` (a torch device or string)."""
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(
                self.seed
            )
        return self._generators[key]

    def get_state(self):
        """Return the state of every generator created so far."""
        return {
            "seed": self.seed,
            "states": {k: g.get_state() for k, g in self._generators.items()},
        }

    @classmethod
    def from_state(cls, state):
        """Recreate generators saved by :meth:`get_state`."""
        generators = cls(state["seed"])
        for key, value in state["states"].items():
            if torch.device(key).type == "cuda" and not torch.cuda.is_available():
                continue  # a CUDA fit continued on the CPU: that stream is moot
            generators(key).set_state(value)
        return generators


@contextlib.contextmanager
def use_generators(generators):
    """Make ``generators`` the source of skae's random draws in this thread."""
    previous = getattr(_local, "generators", None)
    _local.generators = generators
    try:
        yield generators
    finally:
        _local.generators = previous


def generator_for(device):
    """Return the current fit's generator for ``device``, or None (global)."""
    generators = getattr(_local, "generators", None)
    return None if generators is None else generators(device)


def rand_like(x):
    """Return uniform [0, 1) draws shaped like ``x`` (current generator)."""
    return torch.rand(
        x.shape, generator=generator_for(x.device), dtype=x.dtype, device=x.device
    )


def randn_like(x):
    """Return standard normal draws shaped like ``x`` (current generator)."""
    return torch.randn(
        x.shape, generator=generator_for(x.device), dtype=x.dtype, device=x.device
    )


def randperm(n, device="cpu"):
    """Return a random permutation of ``range(n)`` (current generator)."""
    return torch.randperm(n, generator=generator_for(device), device=device)


# In-place samplers that ``torch.nn.init`` and module constructors call,
# and the factory functions; each takes a ``generator`` keyword.
_SAMPLERS = {
    torch.Tensor.uniform_,
    torch.Tensor.normal_,
    torch.Tensor.bernoulli_,
    torch.Tensor.random_,
    torch.Tensor.exponential_,
    torch.Tensor.geometric_,
    torch.Tensor.log_normal_,
    torch.Tensor.cauchy_,
    torch.rand,
    torch.randn,
    torch.randint,
    torch.randperm,
    torch.normal,
    torch.bernoulli,
    torch.multinomial,
}
_LIKE = {torch.rand_like: rand_like, torch.randn_like: randn_like}


class _RouteToGenerators(TorchFunctionMode):
    """Give every sampler call without a generator the fit's generator.

    Torch function modes are per thread, so this affects only the thread
    that builds the module. Used only while a module is constructed: on
    every training op it would cost about a third of a small fit's time.
    """

    def __init__(self, generators):
        super().__init__()
        self.generators = generators

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in _LIKE and len(args) == 1 and len(kwargs) == 0:
            with use_generators(self.generators):
                return _LIKE[func](args[0])
        # torch.nn.init's functions pass ``generator=None`` by keyword.
        if kwargs.get("generator") is None and (
            func in _SAMPLERS or "generator" in kwargs
        ):
            tensors = [a for a in (*args, *kwargs.values()) if torch.is_tensor(a)]
            device = tensors[0].device if tensors else kwargs.get("device") or "cpu"
            if torch.device(device).type != "meta":  # meta tensors draw nothing
                kwargs["generator"] = self.generators(device)
        return func(*args, **kwargs)


@contextlib.contextmanager
def seeded_construction(generators):
    """Route random initialisation in this thread to ``generators``.

    Modules built inside (skae's and user-supplied ones) initialise their
    weights from the fit's generators instead of torch's global stream, as
    long as they draw through torch's samplers (``torch.nn.init`` does).
    """
    with use_generators(generators), _RouteToGenerators(generators):
        yield
