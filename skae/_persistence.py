r"""Safe model files: ``save`` and ``load`` without pickle.

A skae model file holds, in this order:

====================  ==========================================================
bytes                 content
====================  ==========================================================
9                     the magic ``b"\x89SKAE\r\n\x1a\n"``
8                     little-endian unsigned length of the JSON document
that many             the JSON document, UTF-8
8                     little-endian unsigned length of the weights
that many             the weights: a safetensors file
====================  ==========================================================

and nothing after. The JSON document names the estimator's class, its
parameters, its fitted attributes and the skae / torch / scikit-learn
versions; every array and tensor (the network weights, the optimizer state,
numeric fitted arrays) lives in the safetensors part, which JSON refers to by
key. :func:`load` builds only skae's public estimators (those in
``skae.__all__``), through their constructors, and reads tensors with
safetensors: no pickle, so a file from a stranger cannot run code. Every size
the JSON declares is checked against what the file holds before anything is
allocated. The format is documented for users in
``docs/persistence_and_scaling.rst``.
"""

import hashlib
import json
import math
import os
import re
import secrets
import struct
import sys

import numpy as np
import sklearn
import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_tensors
from safetensors.torch import save as _save_tensors
from sklearn.base import BaseEstimator
from skorch import NeuralNet
from skorch.history import History

from ._autoencoder import AutoEncoderTransformer
from ._classifier import EncoderClassifier
from ._contractive import ContractiveAE
from ._denoising import DenoisingAE
from ._devices import resolve_device
from ._net import BIAS_WITHOUT_DECAY
from ._outlier import AutoEncoderOutlierDetector
from ._sparse import SparseAE
from ._variational import VariationalAE
from ._version import __version__
from ._warnings import SkaeWarning, warn_user

MAGIC = b"\x89SKAE\r\n\x1a\n"
FORMAT_VERSION = 1
_LENGTH = struct.Struct("<Q")
_ATTRIBUTE_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9_]*\Z")
_FLOATS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
_NET_DTYPES = {"float16", "bfloat16", "float32", "float64"}
# Data-dependent settings of a net that a rebuild from parameters cannot know.
_NET_SIZES = ("batch_size", "iterator_valid__batch_size")
_USE_PICKLE = "save this estimator with pickle (or joblib) instead"
# An array of strings is a NumPy array of fixed-width strings: its memory is
# its number of items times its declared width. Together, a file's string
# arrays may take at most this many bytes per byte of its JSON document, so
# that a small file cannot declare a huge width (the strings themselves are
# in the JSON).
STRING_BYTES_PER_JSON_BYTE = 16
_INT_KEY = re.compile(r"-?(0|[1-9][0-9]{0,18})\Z")
_MAX_DIMENSIONS = 64  # NumPy's
# The classes a model file may name: skae's public estimators, the classes
# in skae.__all__.
_CLASSES = {
    cls.__name__: cls
    for cls in (
        AutoEncoderOutlierDetector,
        AutoEncoderTransformer,
        ContractiveAE,
        DenoisingAE,
        EncoderClassifier,
        SparseAE,
        VariationalAE,
    )
}


def save(estimator, path):
    """Save a skae estimator to a safe model file.

    The file holds one JSON document (class, parameters, fitted attributes,
    skae / torch / scikit-learn versions) and the weights in safetensors
    format; :func:`load` reads it back without unpickling anything. The file
    is written to a temporary name and renamed, so an interrupted save never
    leaves a half-written model under ``path``.

    Parameters
    ----------
    estimator : estimator
        A skae estimator, fitted or not. Nested skae estimators (the
        ``autoencoder`` of :class:`AutoEncoderOutlierDetector` and
        :class:`EncoderClassifier`) are saved with it.
    path : str, path-like or binary file object
        Where to write the model.

    Raises
    ------
    ValueError
        If the estimator is not one of skae's own classes, or holds a value
        that JSON and safetensors cannot represent: a callable
        ``architecture``, ``callbacks``, a ``RandomState`` instance as
        ``random_state``, a dict whose keys are neither all strings nor all
        integers. Such estimators can still be pickled.

    See Also
    --------
    load : Read a model file back.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import skae
    >>> X = np.random.default_rng(0).normal(size=(100, 5)).astype(np.float32)
    >>> ae = skae.AutoEncoderTransformer(max_iter=5, random_state=0).fit(X)
    >>> file = io.BytesIO()  # or a path: skae.save(ae, "model.skae")
    >>> skae.save(ae, file)
    >>> file.getvalue()[1:5]  # the magic bytes
    b'SKAE'
    >>> loaded = skae.load(io.BytesIO(file.getvalue()))
    >>> np.array_equal(loaded.transform(X), ae.transform(X))
    True
    """
    writer = _Writer()
    document = {
        "format": "skae",
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "estimator": writer.estimator(estimator, "estimator", fitted=True),
    }
    weights = _save_tensors(writer.tensors)
    document["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    text = json.dumps(document, allow_nan=False, separators=(",", ":")).encode()
    if writer.string_bytes > STRING_BYTES_PER_JSON_BYTE * len(text):
        # load would refuse the file (see _Reader.strings): refuse it here.
        raise ValueError(
            f"The arrays of strings of this {type(estimator).__name__} take "
            f"{writer.string_bytes} bytes, more than a model file allows "
            f"({STRING_BYTES_PER_JSON_BYTE} per byte of its JSON, "
            f"{len(text)}): their fixed width is far above their strings' "
            "length (narrow them to their strings, as np.array(a.tolist()) "
            f"does), or {_USE_PICKLE}."
        )
    data = b"".join(
        [MAGIC, _LENGTH.pack(len(text)), text, _LENGTH.pack(len(weights)), weights]
    )
    if hasattr(path, "write"):
        path.write(data)
        return
    path = os.fspath(path)
    temporary = f"{path}.{secrets.token_hex(6)}.tmp"
    try:
        with open(temporary, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def load(path, *, device=None):
    """Load an estimator saved by :func:`save`.

    Only skae's own classes are built (the names in ``skae.__all__``), from
    parameters and attributes read as JSON and weights read with safetensors:
    nothing is unpickled, so loading a file from an untrusted source cannot
    run code. Anything that is not a well-formed skae model file is rejected
    with a ValueError before any estimator is built, and every size that the
    JSON declares (an array's shape and dtype, the network's layers) is
    checked against the data the file holds before anything is allocated:
    a small file cannot make ``load`` allocate much more memory than its
    own size.

    Parameters
    ----------
    path : str, path-like or binary file object
        The model file.
    device : str or torch.device, default=None
        Where to put the weights. None means each estimator's own ``device``
        parameter resolved on this machine, falling back to the CPU with a
        warning when that device is not available here (so a CUDA-fitted
        model loads on a CPU-only machine). A device given here must be
        available, and becomes the ``device`` parameter of the loaded
        estimators, so that further training stays on it.

    Returns
    -------
    estimator : estimator
        The estimator, fitted as it was saved: same outputs, and
        ``partial_fit`` or ``warm_start`` continue the training where it
        stopped (optimizer and random state included).

    Raises
    ------
    ValueError
        If the file is not a skae model file (a pickle, a zip, a truncated or
        altered file), names a class that is not one of skae's, or was
        written by a newer format version; or if ``device`` is not available.

    See Also
    --------
    save : Write a model file.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from skae import AutoEncoderTransformer, load, save
    >>> file = io.BytesIO()
    >>> X = np.random.default_rng(0).normal(size=(100, 5)).astype(np.float32)
    >>> save(AutoEncoderTransformer(max_iter=5, random_state=0).fit(X), file)
    >>> ae = load(io.BytesIO(file.getvalue()), device="cpu")
    >>> ae.device_
    device(type='cpu')
    >>> ae.transform(X).shape
    (100, 2)

    Anything else is refused, a pickle included, without being unpickled:

    >>> import pickle
    >>> load(io.BytesIO(pickle.dumps(ae)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: Not a skae model file (it looks like a pickle: ...
    """
    if hasattr(path, "read"):
        data = path.read()
    else:
        with open(path, "rb") as file:
            data = file.read()
    document, tensors, json_size = _parse(data)
    versions = document.get("versions")
    if not isinstance(versions, dict):
        raise ValueError("Not a valid skae model file: no versions recorded.")
    if versions.get("skae") != __version__:
        warn_user(
            f"This model was saved with skae {versions.get('skae')} and is "
            f"loaded with skae {__version__}; check its outputs.",
            SkaeWarning,
        )
    if device is not None:
        device = torch.device(resolve_device(str(device)))
    reader = _Reader(tensors, device, STRING_BYTES_PER_JSON_BYTE * json_size)
    node = document.get("estimator")
    try:
        estimator = reader.estimator(node, "estimator")
    except ValueError:
        raise
    except Exception as exc:
        # A well-formed container whose content does not fit skae's classes
        # (altered JSON or weights): refuse it rather than half-load it.
        raise ValueError(
            f"Not a valid skae model file: {type(exc).__name__}: {exc}"
        ) from exc
    unused = set(tensors) - reader.used
    if unused:
        raise ValueError(
            f"Not a valid skae model file: {len(unused)} tensors are not "
            f"referred to, e.g. {sorted(unused)[0]!r}."
        )
    return estimator


def _versions():
    return {
        "skae": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": ".".join(map(str, sys.version_info[:3])),
    }


def _parse(data):
    """Split a model file into its JSON document and tensors, checking both."""
    if not data.startswith(MAGIC):
        head = data[:4]
        if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}"):
            kind = " (it looks like a pickle: unpickle only files you trust)"
        elif head == b"PK\x03\x04":
            kind = " (it is a zip archive)"
        elif not data:
            kind = " (it is empty)"
        else:
            kind = ""
        raise ValueError(
            f"Not a skae model file{kind}: it does not start with skae's magic "
            "bytes. Files written by skae.save can be read by skae.load."
        )
    position = len(MAGIC)
    text, position = _chunk(data, position, "JSON document")
    weights, position = _chunk(data, position, "weights")
    if position != len(data):
        raise ValueError(
            f"Not a valid skae model file: {len(data) - position} unexpected "
            "bytes after the weights."
        )
    try:
        document = json.loads(text.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"Not a valid skae model file: bad JSON ({exc}).") from None
    if not isinstance(document, dict) or document.get("format") != "skae":
        raise ValueError("Not a valid skae model file: the JSON is not skae's.")
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("Not a valid skae model file: bad format_version.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"This model file has format version {version}; this skae reads "
            f"up to {FORMAT_VERSION}. Upgrade skae to load it."
        )
    if document.get("weights_sha256") != hashlib.sha256(weights).hexdigest():
        raise ValueError(
            "Not a valid skae model file: the weights do not match their "
            "recorded SHA-256 (the file is corrupt or was altered)."
        )
    try:
        tensors = _load_tensors(weights)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ValueError(f"Not a valid skae model file: bad weights ({exc}).") from None
    return document, tensors, len(text)


def _chunk(data, position, what):
    end = position + _LENGTH.size
    if end > len(data):
        raise ValueError(f"Not a valid skae model file: truncated before the {what}.")
    (length,) = _LENGTH.unpack(data[position:end])
    if end + length > len(data):
        raise ValueError(
            f"Not a valid skae model file: truncated ({what} needs {length} "
            f"bytes, {len(data) - end} left)."
        )
    return data[end : end + length], end + length


def _no_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate keys in a JSON object")
    return dict(pairs)


class _Writer:
    """Turns an estimator into JSON, collecting its tensors by key."""

    def __init__(self):
        self.tensors = {}
        # The memory that load gives the arrays of strings.
        self.string_bytes = 0

    def tensor(self, key, value):
        if key in self.tensors:
            raise ValueError(f"Two tensors would be saved under {key!r}.")
        self.tensors[key] = value.detach().to("cpu", copy=True).contiguous()
        return key

    def estimator(self, estimator, key, *, fitted):
        cls = type(estimator)
        if _CLASSES.get(cls.__name__) is not cls:
            raise ValueError(
                f"skae.save writes skae's own estimators only (those in "
                f"skae.__all__), not {cls.__module__}.{cls.__qualname__}; "
                f"{_USE_PICKLE}."
            )
        params = estimator.get_params(deep=False)
        node = {
            "type": "estimator",
            "class": cls.__name__,
            # A nested estimator given as a parameter is a template (the
            # estimator clones it), so only its parameters are kept.
            "params": {
                name: self.value(
                    value, f"{key}.{name}", f"parameter {name!r}", fitted=False
                )
                for name, value in params.items()
            },
        }
        if not fitted:
            return node
        attributes = {}
        net = None
        for name, value in vars(estimator).items():
            if name in params:
                continue
            if isinstance(value, NeuralNet):
                if name != "net_":
                    raise ValueError(
                        f"{cls.__name__}.{name} is a second skorch net, which "
                        f"a skae model file cannot hold; {_USE_PICKLE}."
                    )
                net = self.net(estimator, value, f"{key}.net_")
                continue
            attributes[name] = self.value(
                value, f"{key}.{name}", f"fitted attribute {name!r}"
            )
        node["fitted"] = attributes
        if net is not None:
            node["net"] = net
        return node

    def value(self, value, key, what, fitted=True):
        """JSON for ``value``; arrays and tensors are stored under ``key``."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if np.isfinite(value):
                return value
            return {"type": "float", "value": repr(value)}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return {
                "type": "numpy",
                "dtype": value.dtype.name,
                "value": self.value(value.item(), key, what),
            }
        if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
            items = [
                self.value(v, f"{key}.{i}", what, fitted) for i, v in enumerate(value)
            ]
            return (
                items if isinstance(value, list) else {"type": "tuple", "items": items}
            )
        if isinstance(value, dict) and _key_type(value) is not None:
            return self.mapping(value, key, what, fitted)
        if isinstance(value, np.ndarray):
            return self.array(value, key, what)
        if isinstance(value, torch.Tensor):
            return {
                "type": "tensor",
                "tensor": self.tensor(key, value),
                "on_device": value.device.type != "cpu",
            }
        if isinstance(value, BaseEstimator):
            return self.estimator(value, key, fitted=fitted)
        kind = "a callable" if callable(value) else f"a {type(value).__name__}"
        raise ValueError(
            f"The {what} is {kind}, which a skae model file cannot hold "
            f"(only JSON values, arrays and skae estimators); {_USE_PICKLE}."
        )

    def mapping(self, value, key, what, fitted):
        """JSON for a dict with string keys or with integer keys."""
        items = {
            str(k): self.value(v, f"{key}.{k}", what, fitted) for k, v in value.items()
        }
        node = {"type": "dict", "items": items}
        if _key_type(value) is int:
            # JSON keys are strings: say so for keys that were integers,
            # such as the bottleneck sizes of bottleneck_scores_.
            node["keys"] = "int"
        return node

    def array(self, value, key, what):
        if value.dtype.kind in "biuf":
            native = value.astype(value.dtype.newbyteorder("="), copy=False)
            return {
                "type": "ndarray",
                "dtype": value.dtype.name,
                "tensor": self.tensor(key, torch.from_numpy(np.array(native))),
            }
        if value.dtype.kind == "U" or (
            value.dtype.kind == "O"
            and all(
                isinstance(v, (str, int, float, np.integer, np.floating))
                for v in value.flat
            )
        ):
            if value.dtype.kind == "U":
                self.string_bytes += value.nbytes
            return {
                "type": "ndarray",
                "dtype": "object" if value.dtype.kind == "O" else value.dtype.str,
                "shape": list(value.shape),
                "items": [self.value(v, key, what) for v in value.ravel().tolist()],
            }
        raise ValueError(
            f"The {what} is an array of dtype {value.dtype}, which a skae model "
            f"file cannot hold (only numbers and strings); {_USE_PICKLE}."
        )

    def net(self, estimator, net, key):
        if not callable(getattr(estimator, "_rebuild_net", None)):
            raise ValueError(
                f"{type(estimator).__name__} has a trained network that skae "
                f"cannot rebuild from a model file; {_USE_PICKLE}."
            )
        parameters = list(net.module_.parameters())
        dtype = parameters[0].dtype if parameters else torch.float32
        for name, tensor in net.module_.state_dict().items():
            self.tensor(f"{key}.module.{name}", tensor)
        optimizer = net.optimizer_.state_dict()
        state = [
            [int(index), self.value(entry, f"{key}.optimizer.{index}", "optimizer")]
            for index, entry in optimizer["state"].items()
        ]
        # Epoch-level history (per-batch records are left out), JSON values only.
        history = [
            {
                name: value
                for name, value in epoch.items()
                if isinstance(value, (bool, int, str))
                or (isinstance(value, float) and np.isfinite(value))
            }
            for epoch in net.history
        ]
        return {
            "dtype": str(dtype).removeprefix("torch."),
            "device": str(net.device),
            "sizes": {name: getattr(net, name) for name in _NET_SIZES},
            "optimizer": {
                "state": state,
                "param_groups": self.value(
                    optimizer["param_groups"], f"{key}.optimizer", "optimizer"
                ),
            },
            "history": history,
        }


class _Reader:
    """Builds estimators back from a model file's JSON and tensors."""

    def __init__(self, tensors, device, string_budget):
        self.tensors = tensors
        self.device = device
        self.used = set()
        # The bytes that the arrays of strings may still take (they are
        # fixed-width NumPy arrays: a declared width is memory).
        self.string_budget = string_budget

    def tensor(self, key):
        if not isinstance(key, str) or key not in self.tensors:
            raise ValueError(f"Not a valid skae model file: no tensor {key!r}.")
        self.used.add(key)
        return self.tensors[key]

    def estimator(self, node, what):
        _check_node(node, {"type", "class", "params"}, {"fitted", "net"}, what)
        if node["type"] != "estimator":
            raise ValueError(f"Not a valid skae model file: {what} is no estimator.")
        name = node["class"]
        cls = _CLASSES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(
                f"Not a valid skae model file: {name!r} is not one of skae's "
                f"estimators ({', '.join(sorted(_CLASSES))})."
            )
        params = node["params"]
        if not isinstance(params, dict):
            raise ValueError(f"Not a valid skae model file: bad params in {what}.")
        params = {k: self.value(v, f"{what}.{k}") for k, v in params.items()}
        try:
            estimator = cls(**params)
        except TypeError as exc:
            raise ValueError(f"Not a valid skae model file: {exc}") from None
        estimator._validate_params()
        if self.device is not None and "device" in params:
            estimator.device = str(self.device)
        fitted = node.get("fitted")
        if fitted is None:
            if "net" in node:
                raise ValueError("Not a valid skae model file: a net without fit.")
            return estimator
        if not isinstance(fitted, dict):
            raise ValueError(f"Not a valid skae model file: bad fitted in {what}.")
        for name, value in fitted.items():
            if (
                not _ATTRIBUTE_NAME.match(name)
                or name in params
                or hasattr(cls, name)
                or name == "net_"
            ):
                raise ValueError(
                    f"Not a valid skae model file: {cls.__name__} cannot have "
                    f"a fitted attribute {name!r}."
                )
            setattr(estimator, name, self.value(value, f"{what}.{name}"))
        if "net" in node:
            self.net(estimator, node["net"], f"{what}.net_")
        return estimator

    def value(self, node, what):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.value(v, what) for v in node]
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise ValueError(f"Not a valid skae model file: bad value in {what}.")
        kind = node["type"]
        if kind == "estimator":
            return self.estimator(node, what)
        if kind == "float":
            _check_node(node, {"type", "value"}, set(), what)
            if node["value"] not in _FLOATS:
                raise ValueError(f"Not a valid skae model file: bad float in {what}.")
            return _FLOATS[node["value"]]
        if kind == "numpy":
            _check_node(node, {"type", "dtype", "value"}, set(), what)
            return _numpy_dtype(node["dtype"], what, "biuf").type(
                self.value(node["value"], what)
            )
        if kind == "tuple":
            _check_node(node, {"type", "items"}, set(), what)
            return tuple(self.value(v, what) for v in _list(node["items"], what))
        if kind == "dict":
            return self.mapping(node, what)
        if kind == "tensor":
            _check_node(node, {"type", "tensor", "on_device"}, set(), what)
            tensor = self.tensor(node["tensor"])
            if node["on_device"] is True and self.device is not None:
                tensor = tensor.to(self.device)
            return tensor
        if kind == "ndarray":
            return self.array(node, what)
        raise ValueError(f"Not a valid skae model file: unknown {kind!r} in {what}.")

    def mapping(self, node, what):
        _check_node(node, {"type", "items"}, {"keys"}, what)
        items = node["items"]
        keys = node.get("keys", "str")
        if not isinstance(items, dict) or keys not in ("str", "int"):
            raise ValueError(f"Not a valid skae model file: bad dict in {what}.")
        if keys == "int":
            if not all(_INT_KEY.match(k) for k in items):
                raise ValueError(f"Not a valid skae model file: bad key in {what}.")
            return {int(k): self.value(v, what) for k, v in items.items()}
        return {k: self.value(v, what) for k, v in items.items()}

    def array(self, node, what):
        if "tensor" in node:
            _check_node(node, {"type", "dtype", "tensor"}, set(), what)
            dtype = _numpy_dtype(node["dtype"], what, "biuf")
            array = self.tensor(node["tensor"]).numpy()
            if array.dtype != dtype:
                raise ValueError(f"Not a valid skae model file: bad dtype in {what}.")
            return array
        _check_node(node, {"type", "dtype", "shape", "items"}, set(), what)
        dtype = _numpy_dtype(node["dtype"], what, "UO")
        items = _list(node["items"], what)
        shape = _list(node["shape"], what)
        # The shape and the width must be those of the items given, checked
        # before the array is allocated.
        dimensions = len(shape) <= _MAX_DIMENSIONS and all(
            type(n) is int and n >= 0 for n in shape
        )
        if not dimensions or math.prod(shape) != len(items):
            raise ValueError(f"Not a valid skae model file: bad array in {what}.")
        if dtype.kind == "U":
            self.strings(items, dtype, what)
        else:
            items = [self.array_item(v, what) for v in items]
        array = np.empty(len(items), dtype=dtype)
        array[:] = items
        return array.reshape(shape)

    def strings(self, items, dtype, what):
        """Check the items of a string array and take its memory's budget."""
        width = dtype.itemsize // np.dtype("U1").itemsize
        if width < 1 or not all(isinstance(v, str) and len(v) <= width for v in items):
            raise ValueError(
                f"Not a valid skae model file: the strings of {what} do not "
                f"fit its dtype {dtype.str}."
            )
        self.string_budget -= len(items) * dtype.itemsize
        if self.string_budget < 0:
            raise ValueError(
                f"Not a valid skae model file: its arrays of strings would take "
                f"more than {STRING_BYTES_PER_JSON_BYTE} bytes of memory per "
                f"byte of its JSON ({what} declares {len(items)} strings of "
                f"dtype {dtype.str})."
            )

    def array_item(self, node, what):
        """Return an item of an object array: a string or a number."""
        if isinstance(node, dict) and node.get("type") in ("float", "numpy"):
            return self.value(node, what)
        if not isinstance(node, (str, int, float)):
            raise ValueError(f"Not a valid skae model file: bad array in {what}.")
        return node

    def net(self, estimator, record, what):
        _check_node(
            record,
            {"dtype", "device", "sizes", "optimizer", "history"},
            set(),
            what,
        )
        if record["dtype"] not in _NET_DTYPES:
            raise ValueError(f"Not a valid skae model file: bad dtype in {what}.")
        dtype = getattr(torch, record["dtype"])
        device = self.device or _default_device(estimator)
        sizes = _net_sizes(record["sizes"], what)
        weights = self.module_weights(estimator, dtype, what)
        net = estimator._rebuild_net(
            dtype=dtype, device=device, batch_size=sizes["batch_size"]
        )
        for name in _NET_SIZES:
            setattr(net, name, sizes[name])
        net.module_.load_state_dict(weights)
        self.optimizer_state(estimator, net, record["optimizer"], what)
        net.history = _history(record["history"], what)
        net.module_.eval()
        estimator.net_ = net

    def module_weights(self, estimator, dtype, what):
        """Return the module's weights in the file, checked against the estimator.

        The shapes are compared on the meta device first: a file that
        declares a huge network is refused before anything is allocated.
        """
        prefix = f"{what}.module."
        weights = {
            key[len(prefix) :]: self.tensor(key)
            for key in self.tensors
            if key.startswith(prefix)
        }
        with torch.device("meta"):
            expected = estimator._rebuild_module(dtype).state_dict()
        if weights.keys() != expected.keys() or any(
            weights[k].dtype != v.dtype or weights[k].shape != v.shape
            for k, v in expected.items()
        ):
            raise ValueError(
                f"Not a valid skae model file: the weights in {what} do not fit "
                f"the {type(estimator).__name__} that its parameters describe."
            )
        return weights

    def optimizer_state(self, estimator, net, record, what):
        """Load the optimizer's state into the rebuilt net's optimizer."""
        _check_node(record, {"state", "param_groups"}, set(), what)
        state = {}
        for entry in _list(record["state"], what):
            index, values = _list(entry, what)
            state[index] = self.value(values, what)
        groups = self.value(record["param_groups"], what)
        if isinstance(groups, list) and len(groups) != len(net.optimizer_.param_groups):
            # Written before 0.2 gave the biases a group of their own only
            # under weight decay: rebuild the optimizer with that layout.
            # (set as an attribute: skorch's set_params treats optimizer__
            # arguments as virtual and would not regroup.)
            vars(net)["optimizer__param_groups"] = [BIAS_WITHOUT_DECAY]
            net.initialize_optimizer()
        try:
            net.optimizer_.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise ValueError(
                f"Not a valid skae model file: the optimizer state in {what} does "
                f"not fit the {type(estimator).__name__} that its parameters "
                f"describe ({error})."
            ) from None
        # torch does not compare the state's shapes with the parameters'
        # (a mismatched moment would broadcast silently in the next step).
        for parameter, entry in net.optimizer_.state.items():
            if any(
                isinstance(v, torch.Tensor) and v.ndim and v.shape != parameter.shape
                for v in entry.values()
            ):
                raise ValueError(
                    f"Not a valid skae model file: the optimizer state in {what} "
                    "has a tensor whose shape is not its parameter's."
                )


def _net_sizes(sizes, what):
    """Return the batch sizes of a saved net, checked."""
    if not isinstance(sizes, dict) or not all(
        isinstance(sizes.get(name), int) and sizes[name] >= 1 for name in _NET_SIZES
    ):
        raise ValueError(f"Not a valid skae model file: bad sizes in {what}.")
    return sizes


def _history(records, what):
    """Return a saved net's epoch-level history, without per-batch records."""
    records = _list(records, what)
    if not all(isinstance(epoch, dict) for epoch in records):
        raise ValueError(f"Not a valid skae model file: bad history in {what}.")
    return History([{**epoch, "batches": []} for epoch in records])


def _key_type(mapping):
    """Return str or int when every key of the dict is one, else None."""
    if all(isinstance(k, str) for k in mapping):
        return str
    if all(
        isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in mapping
    ):
        return int
    return None


def _default_device(estimator):
    """Return the estimator's own device here, or the CPU with a warning."""
    try:
        return resolve_device(estimator.device)
    except ValueError:
        warn_user(
            f"{type(estimator).__name__} was saved with device="
            f"{estimator.device!r}, which is not available on this machine; "
            "loading it on the CPU.",
            SkaeWarning,
        )
        return torch.device("cpu")


def _check_node(node, required, optional, what):
    if not isinstance(node, dict) or not (
        required <= node.keys() <= required | optional
    ):
        raise ValueError(f"Not a valid skae model file: malformed {what}.")


def _list(value, what):
    if not isinstance(value, list):
        raise ValueError(f"Not a valid skae model file: expected a list in {what}.")
    return value


def _numpy_dtype(name, what, kinds):
    try:
        dtype = np.dtype(name) if isinstance(name, str) else None
    except (TypeError, ValueError, OverflowError):
        dtype = None
    if dtype is None or dtype.kind not in kinds:
        raise ValueError(f"Not a valid skae model file: bad dtype in {what}.")
    return dtype
