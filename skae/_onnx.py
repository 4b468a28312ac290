"""ONNX export: skae's estimators as skl2onnx converters.

Each fitted estimator is exported by tracing a small torch module built from
its public pieces (``module_.encode``, ``module_.decode``, the classifier's
``module_``) with torch's ONNX exporter; the traced graph is then copied,
with fresh names, into the graph that skl2onnx builds, so that a Pipeline
holding skae estimators converts as one graph.

onnx, onnxscript (torch's exporter) and skl2onnx are imported only here and
only when a conversion is asked for: ``import skae`` does not need them.
"""

import copy
import logging
import re
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import AutoEncoderTransformer
from ._base import BaseAutoEncoder
from ._classifier import EncoderClassifier
from ._contractive import ContractiveAE
from ._denoising import DenoisingAE
from ._outlier import AutoEncoderOutlierDetector
from ._sparse import SparseAE
from ._variational import VariationalAE

# torch's exporter emits operators of this opset and later only.
_MIN_OPSET = 18
# Rows of the sample traced by torch.export; the batch dimension of the
# graph stays symbolic (torch.export specialises sizes 0 and 1).
_TRACE_ROWS = 2
_TRANSFORMERS = (
    AutoEncoderTransformer,
    SparseAE,
    ContractiveAE,
    DenoisingAE,
    VariationalAE,
)


def _import_onnx():
    """Import what a conversion needs, or say which extra installs it."""
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's exporter needs it)
        import skl2onnx
    except ImportError as exc:
        raise ImportError(
            f"ONNX export needs onnx, onnxscript and skl2onnx ({exc}); install "
            "them with: pip install 'skae[onnx]'."
        ) from exc
    return onnx, skl2onnx


def register_onnx_converters():
    """Register skae's estimators with skl2onnx.

    After this call, :func:`skl2onnx.to_onnx` and
    :func:`skl2onnx.convert_sklearn` convert skae's estimators, alone or
    inside a :class:`~sklearn.pipeline.Pipeline` or
    :class:`~sklearn.compose.ColumnTransformer`, like scikit-learn's own.
    :func:`to_onnx` calls it for you; calling it again does nothing more.

    Each estimator becomes the following outputs (N rows):

    - the autoencoders (``AutoEncoderTransformer``, ``SparseAE``,
      ``ContractiveAE``, ``DenoisingAE``, ``VariationalAE``): ``codes``,
      (N, ``n_components_``), what ``transform`` returns.
    - ``AutoEncoderOutlierDetector``: ``label`` (N, 1), int64, +1 inlier
      and -1 outlier as ``predict``; ``scores`` (N, 1),
      ``decision_function``; with the skl2onnx option
      ``{"score_samples": True}`` also ``score_samples`` (N, 1), as
      skl2onnx does for :class:`~sklearn.ensemble.IsolationForest`.
    - ``EncoderClassifier``: ``label`` (N,), as ``predict`` (int64 for
      integer classes, strings for string classes), and ``probabilities``,
      ``predict_proba``; skl2onnx wraps the probabilities in a ZipMap (a
      list of dicts) unless the option ``{"zipmap": False}`` is given, as
      for its own classifiers.

    Raises
    ------
    ImportError
        If onnx, onnxscript or skl2onnx is missing (``pip install
        'skae[onnx]'``).

    See Also
    --------
    to_onnx : Convert a fitted estimator or pipeline in one call.

    Examples
    --------
    >>> import numpy as np
    >>> import skl2onnx
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skae import AutoEncoderTransformer, register_onnx_converters
    >>> X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> pipe = make_pipeline(
    ...     AutoEncoderTransformer(n_components=2, max_iter=5, random_state=0),
    ...     LogisticRegression(),
    ... ).fit(X, y)
    >>> register_onnx_converters()
    >>> onx = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    >>> [output.name for output in onx.graph.output]
    ['label', 'probabilities']
    """
    _, skl2onnx = _import_onnx()
    for cls in _TRANSFORMERS:
        skl2onnx.update_registered_converter(
            cls,
            f"Skae{cls.__name__}",
            _transformer_shapes,
            _convert_transformer,
            parser=_parse_transformer,
        )
    skl2onnx.update_registered_converter(
        AutoEncoderOutlierDetector,
        "SkaeAutoEncoderOutlierDetector",
        _outlier_shapes,
        _convert_outlier_detector,
        parser=_parse_outlier_detector,
        options={"score_samples": [False, True]},
    )
    skl2onnx.update_registered_converter(
        EncoderClassifier,
        "SkaeEncoderClassifier",
        _classifier_shapes,
        _convert_classifier,
        options={"zipmap": [True, False, "columns"]},
    )


def to_onnx(estimator, X, *, target_opset=None, options=None):
    """Convert a fitted skae estimator, or a pipeline holding one, to ONNX.

    The model runs without Python's machine-learning stack, for example in
    ONNX Runtime (``onnxruntime.InferenceSession``), on any number of rows:
    the batch dimension is dynamic. This is :func:`skl2onnx.to_onnx` after
    :func:`register_onnx_converters`, with the outputs as plain tensors.

    The graph takes one input, ``X``, of X's dtype: float32, or float64
    (other numeric X is taken as float32, as ``transform`` does). It
    computes in that dtype whatever the dtype the estimator was fitted on:
    an estimator fitted on float64 data exports its weights rounded to
    float32 for a float32 input, so its outputs then differ from
    ``transform``'s by float32 rounding (about 1e-7 relative); pass a
    float64 sample for a float64 graph. An estimator with
    ``precision="bfloat16"`` exports a float32 graph, more precise than its
    bfloat16 ``transform`` (they differ by bfloat16 rounding, about 1e-2
    relative).

    Its outputs, N being the number of rows:

    - an autoencoder: ``codes``, (N, ``n_components_``), as ``transform``;
    - ``AutoEncoderOutlierDetector``: ``label`` (N, 1) int64, as
      ``predict``; ``scores`` (N, 1), as ``decision_function``;
      ``score_samples`` (N, 1), as ``score_samples``;
    - ``EncoderClassifier``: ``label`` (N,), as ``predict``;
      ``probabilities`` (N, n_classes), as ``predict_proba``;
    - a pipeline: the outputs of its last step, as skl2onnx names them
      (a final classifier's probabilities as a tensor, not a ZipMap).

    What cannot be exported raises ValueError (see Raises).

    Parameters
    ----------
    estimator : estimator
        A fitted skae estimator, or a fitted scikit-learn pipeline (or any
        estimator skl2onnx converts) holding skae estimators.
    X : array-like of shape (n_samples, n_features)
        A sample of the input, dense: only its dtype and its number of
        columns are used, so a single row will do.
    target_opset : int or dict, default=None
        The ONNX opset (or ``{domain: opset}``) to target; None for the
        newest that skl2onnx supports. skae's estimators need opset 18 or
        later.
    options : dict, default=None
        Conversion options for skl2onnx, by ``id(step)`` or class. By
        default the final classifier's ZipMap is off and an outlier
        detector also outputs ``score_samples``.

    Returns
    -------
    onnx_model : onnx.ModelProto
        The model; ``onnx_model.SerializeToString()`` gives the bytes of a
        ``.onnx`` file.

    Raises
    ------
    ImportError
        If onnx, onnxscript or skl2onnx is missing (``pip install
        'skae[onnx]'``).
    ValueError
        If X is sparse (ONNX graphs take dense tensors: convert the rows
        with ``X.toarray()``); if X does not have the estimator's number
        of features; if ``target_opset`` is below 18; if torch cannot
        export the estimator's module, e.g. a callable ``architecture``
        whose ``encode`` branches on tensor values or calls NumPy; if an
        ``AutoEncoderOutlierDetector`` wraps an autoencoder the graph
        cannot compute its score from: not a skae autoencoder, one that
        overrides ``score_samples`` (with ``anomaly_score="reconstruction"``),
        or ``transform`` or ``reconstruct`` (with "combined" or "code").
    sklearn.exceptions.NotFittedError
        If a skae estimator is not fitted.

    See Also
    --------
    register_onnx_converters : Use skl2onnx's own functions instead.
    save : Save a model to reload with skae, without pickle.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skae import AutoEncoderTransformer, to_onnx
    >>> X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    >>> ae = AutoEncoderTransformer(n_components=2, max_iter=5, random_state=0)
    >>> ae.fit(X)
    AutoEncoderTransformer(max_iter=5, random_state=0)
    >>> onx = to_onnx(ae, X[:1])
    >>> session = onnxruntime.InferenceSession(
    ...     onx.SerializeToString(), providers=["CPUExecutionProvider"]
    ... )
    >>> codes = session.run(None, {"X": X})[0]
    >>> np.allclose(codes, ae.transform(X), atol=1e-5)
    True
    """
    _, skl2onnx = _import_onnx()
    if sp.issparse(X):
        raise ValueError(
            "ONNX graphs take dense tensors: pass a dense sample of the input "
            "(such as X[:1].toarray()) and feed the graph dense rows."
        )
    if isinstance(
        estimator, (BaseAutoEncoder, AutoEncoderOutlierDetector, EncoderClassifier)
    ):
        check_is_fitted(estimator)
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
            raise ValueError(
                f"X has shape {X.shape}; {type(estimator).__name__} expects "
                f"2-D rows of {estimator.n_features_in_} features."
            )
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float32)
    register_onnx_converters()
    options = _default_options(estimator, {} if options is None else dict(options))
    return skl2onnx.to_onnx(
        estimator,
        X[:1],
        target_opset=target_opset,
        options=options,
        name=f"skae {type(estimator).__name__}",
    )


def _default_options(estimator, options):
    """Turn the final classifier's ZipMap off, and on ``score_samples``."""
    final = estimator
    while hasattr(final, "steps"):
        final = final.steps[-1][1]
    if options.get(id(final)) is None and options.get(type(final)) is None:
        if isinstance(final, AutoEncoderOutlierDetector):
            options[id(final)] = {"score_samples": True}
        elif is_classifier(final):
            options[id(final)] = {"zipmap": False}
    return options


# ------------------------------------------------------------------ parsers
def _parse_transformer(scope, model, inputs, custom_parsers=None):
    from skl2onnx.common.data_types import guess_tensor_type

    operator = scope.declare_local_operator(f"Skae{type(model).__name__}", model)
    operator.inputs = inputs
    codes = scope.declare_local_variable("codes", guess_tensor_type(inputs[0].type))
    operator.outputs.append(codes)
    return operator.outputs


def _parse_outlier_detector(scope, model, inputs, custom_parsers=None):
    from skl2onnx.common.data_types import Int64TensorType, guess_tensor_type

    operator = scope.declare_local_operator("SkaeAutoEncoderOutlierDetector", model)
    operator.inputs = inputs
    score_type = guess_tensor_type(inputs[0].type)
    operator.outputs.append(scope.declare_local_variable("label", Int64TensorType()))
    operator.outputs.append(scope.declare_local_variable("scores", score_type))
    if scope.get_options(model, {"score_samples": False})["score_samples"]:
        operator.outputs.append(
            scope.declare_local_variable(
                "score_samples", guess_tensor_type(inputs[0].type)
            )
        )
    return operator.outputs


# --------------------------------------------------------- shape calculators
def _output_tensor_type(operator):
    """Return the outputs' tensor type: double for double input, else float."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(operator.inputs[0].type, DoubleTensorType):
        return DoubleTensorType
    return FloatTensorType


def _check_width(operator, n_features):
    width = operator.inputs[0].get_second_dimension()
    if isinstance(width, int) and width != n_features:
        raise ValueError(
            f"{type(operator.raw_operator).__name__} was fitted on {n_features} "
            f"features; its ONNX input has {width}."
        )


def _transformer_shapes(operator):
    model = operator.raw_operator
    _check_width(operator, model.n_features_in_)
    n_rows = operator.inputs[0].get_first_dimension()
    tensor_type = _output_tensor_type(operator)
    operator.outputs[0].type = tensor_type([n_rows, model.n_components_])


def _outlier_shapes(operator):
    from skl2onnx.common.data_types import Int64TensorType

    _check_width(operator, operator.raw_operator.n_features_in_)
    n_rows = operator.inputs[0].get_first_dimension()
    tensor_type = _output_tensor_type(operator)
    operator.outputs[0].type = Int64TensorType([n_rows, 1])
    for output in operator.outputs[1:]:
        output.type = tensor_type([n_rows, 1])


def _classifier_shapes(operator):
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    model = operator.raw_operator
    _check_width(operator, model.n_features_in_)
    n_rows = operator.inputs[0].get_first_dimension()
    labels = _class_labels(model)
    label_type = StringTensorType if labels.dtype.kind == "U" else Int64TensorType
    operator.outputs[0].type = label_type([n_rows])
    tensor_type = _output_tensor_type(operator)
    operator.outputs[1].type = tensor_type([n_rows, len(labels)])


def _class_labels(model):
    """``classes_`` as int64 or str, the label types ONNX classifiers use."""
    classes = np.asarray(model.classes_)
    # scikit-learn's classifiers take float labels only with integer values.
    return classes.astype(np.int64 if classes.dtype.kind in "biuf" else str)


# --------------------------------------------------------------- converters
class _Codes(torch.nn.Module):
    """``transform``: the codes of the rows."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module.encode(x)


class _OutlierScores(torch.nn.Module):
    """``predict``, ``decision_function`` and ``score_samples`` of the rows.

    ``parts`` is None for the reconstruction score, else the detector's
    fitted parts (see ``AutoEncoderOutlierDetector.score_samples``).
    """

    def __init__(self, module, offset, n_outputs, parts=None):
        super().__init__()
        self.module = module
        self.offset = offset
        self.n_outputs = n_outputs
        self.parts = parts
        if parts is not None:
            for name in ("feature_scales", "code_mean", "code_precision"):
                tensor = torch.as_tensor(parts[name], dtype=torch.float32)
                self.register_buffer(name, tensor)

    def forward(self, x):
        codes = self.module.encode(x)
        reconstruction = self.module.decode(codes)
        if self.parts is None:
            scores = -torch.mean((reconstruction - x) ** 2, dim=1, keepdim=True)
        else:
            residual_scale, code_scale = self.parts["part_scales"]
            centred = codes - self.code_mean
            code = torch.sum((centred @ self.code_precision) * centred, 1, True)
            scores = -code / code_scale
            if not self.parts["code_only"]:
                errors = (reconstruction - x) ** 2 / self.feature_scales
                scores = scores - torch.sum(errors, 1, True) / residual_scale
        decision = scores - self.offset
        label = torch.where(decision < 0, -1, 1).to(torch.int64)
        return (label, decision, scores)[: self.n_outputs]


class _Probabilities(torch.nn.Module):
    """``predict_proba``: the softmax of the classifier network's logits."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return torch.softmax(self.module(x), dim=1)


@dataclass(frozen=True)
class _TorchGraph:
    """What a converter exports with torch: a module around a fitted network.

    Attributes
    ----------
    wrapper : callable
        Called on a copy of ``model.module_``; returns the torch module to
        export, whose outputs are the converter's.
    model : estimator
        The fitted skae estimator whose ``module_`` is exported.
    outputs : list of str
        The names, in the skl2onnx graph, that the outputs are copied into.
    torch_outputs : list of str, default=None
        The outputs' names in torch's graph (for readable node names); None
        names them all ``y``.
    """

    wrapper: object
    model: object
    outputs: list
    torch_outputs: list | None = None


def _convert_transformer(scope, operator, container):
    model = operator.raw_operator
    outputs = [operator.outputs[0].full_name]
    _add_torch_graph(scope, operator, container, _TorchGraph(_Codes, model, outputs))


def _convert_outlier_detector(scope, operator, container):
    detector = operator.raw_operator
    autoencoder = detector.autoencoder_
    # A FrozenEstimator (a reused, fitted autoencoder) exposes the original.
    autoencoder = getattr(autoencoder, "estimator", autoencoder)
    kind = detector.anomaly_score
    name = type(autoencoder).__name__
    if not isinstance(autoencoder, BaseAutoEncoder):
        raise ValueError(
            f"Cannot export an AutoEncoderOutlierDetector built on {name}: the "
            "export computes the scores from a skae autoencoder's network."
        )
    if kind == "reconstruction":
        parts = None
        if type(autoencoder).score_samples is not BaseAutoEncoder.score_samples:
            raise ValueError(
                f"Cannot export an AutoEncoderOutlierDetector built on {name} "
                'with anomaly_score="reconstruction": the export computes the '
                "scores as minus the mean squared reconstruction error of a skae "
                f"autoencoder, which is not what {name}.score_samples returns."
            )
    else:
        for method in ("transform", "reconstruct"):
            if getattr(type(autoencoder), method) is not getattr(
                BaseAutoEncoder, method
            ):
                raise ValueError(
                    f"Cannot export an AutoEncoderOutlierDetector built on {name}: "
                    f"it overrides {method}, which the export computes from the "
                    "network."
                )
        parts = {
            "feature_scales": detector.feature_scales_,
            "code_mean": detector.code_mean_,
            "code_precision": detector.code_precision_,
            "part_scales": [float(v) for v in detector.part_scales_],
            "code_only": kind == "code",
        }
    outputs = [output.full_name for output in operator.outputs]
    graph = _TorchGraph(
        lambda module: _OutlierScores(
            module, float(detector.offset_), len(outputs), parts
        ),
        autoencoder,
        outputs,
        torch_outputs=["label", "scores", "score_samples"][: len(outputs)],
    )
    _add_torch_graph(scope, operator, container, graph)


def _convert_classifier(scope, operator, container):
    from onnx import TensorProto

    model = operator.raw_operator
    labels = _class_labels(model)
    probabilities = operator.outputs[1].full_name
    graph = _TorchGraph(_Probabilities, model, [probabilities])
    _add_torch_graph(scope, operator, container, graph)
    classes = scope.get_unique_variable_name("classes")
    if labels.dtype.kind == "U":
        container.add_initializer(
            classes,
            TensorProto.STRING,
            [len(labels)],
            [label.encode("utf-8") for label in labels],
        )
    else:
        container.add_initializer(classes, TensorProto.INT64, [len(labels)], labels)
    best = scope.get_unique_variable_name("argmax")
    container.add_node(
        "ArgMax",
        probabilities,
        best,
        axis=1,
        keepdims=0,
        name=scope.get_unique_operator_name("ArgMax"),
    )
    container.add_node(
        "Gather",
        [classes, best],
        operator.outputs[0].full_name,
        axis=0,
        name=scope.get_unique_operator_name("Gather"),
    )


def _add_torch_graph(scope, operator, container, graph):
    """Export ``graph.wrapper(graph.model.module_)`` and copy it into the graph.

    ``graph`` is a :class:`_TorchGraph`. The module is a copy, in eval mode,
    on the CPU, in the dtype of the operator's input (float64 for double
    input, float32 otherwise).
    """
    opset = container.target_opset_onnx
    if opset is not None and opset < _MIN_OPSET:
        raise ValueError(
            f"skae's estimators export to ONNX opset {_MIN_OPSET} or later; "
            f"target_opset asks for {opset}."
        )
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    input_type = operator.inputs[0].type
    double = isinstance(input_type, DoubleTensorType)
    dtype = torch.float64 if double else torch.float32
    source = operator.inputs[0].full_name
    if not isinstance(input_type, (DoubleTensorType, FloatTensorType)):
        source = scope.get_unique_variable_name("cast_input")
        container.add_node(
            "Cast",
            operator.inputs[0].full_name,
            source,
            to=1,  # TensorProto.FLOAT
            name=scope.get_unique_operator_name("Cast"),
        )
    model = graph.model
    module = copy.deepcopy(model.module_).to("cpu", dtype).eval()
    traced = _export(
        graph.wrapper(module),
        torch.zeros(_TRACE_ROWS, model.n_features_in_, dtype=dtype),
        opset,
        graph.torch_outputs or ["y"] * len(graph.outputs),
        model,
    )
    _inline(traced, scope, container, source, graph.outputs)


def _export(module, sample, opset, output_names, model):
    """Return the ONNX graph of ``module``, its batch dimension dynamic."""
    import onnx.inliner

    output_names = [f"{name}_{i}" for i, name in enumerate(output_names)]
    # torch's exporter warns about its own internals (deprecations inside
    # torch.export, unregistered torchvision operators): nothing a user of
    # skae can act on.
    registration = logging.getLogger("torch.onnx")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module,
                (sample,),
                dynamo=True,
                opset_version=opset,
                input_names=["x"],
                output_names=output_names,
                dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                verbose=False,
                report=False,
            )
    except Exception as exc:
        cause = exc
        while cause.__cause__ is not None:  # torch's own reason, innermost
            cause = cause.__cause__
        reason = re.sub(r"\x1b\[[0-9;]*m", "", str(cause)).strip()
        reason = reason.splitlines()[0] if reason else type(cause).__name__
        raise ValueError(
            f"Cannot export {type(model).__name__} to ONNX: torch.onnx.export "
            f"failed on its module ({type(cause).__name__}: {reason}). A callable "
            "architecture must return a module that torch.export can trace: "
            "no Python branches on tensor values, no NumPy calls."
        ) from exc
    finally:
        registration.setLevel(level)
    proto = onnx.inliner.inline_local_functions(program.model_proto)
    foreign = {node.domain for node in proto.graph.node} - {"", "ai.onnx"}
    if foreign:
        raise ValueError(
            f"Cannot export {type(model).__name__} to ONNX: its module uses "
            f"operators outside the standard ONNX domain ({sorted(foreign)})."
        )
    return proto.graph


def _inline(graph, scope, container, source, outputs):
    """Copy ``graph``'s nodes and weights into the container, renamed.

    The graph's input reads ``source``; its outputs are copied by Identity
    nodes (removed by skl2onnx's optimisation) into ``outputs``; every other
    name is made unique in the scope.
    """
    from onnx import helper, numpy_helper

    names = {graph.input[0].name: source, "": ""}

    def rename(name):
        if name not in names:
            names[name] = scope.get_unique_variable_name(f"skae_{name}")
        return names[name]

    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        container.add_initializer(
            rename(tensor.name),
            tensor.data_type,
            list(array.shape),
            numpy_helper.from_array(array),
        )
    for node in graph.node:
        attributes = {}
        for attribute in node.attribute:
            value = helper.get_attribute_value(attribute)
            if attribute.type == attribute.GRAPH:
                value = _renamed_subgraph(value, rename)
            elif attribute.type == attribute.GRAPHS:
                value = [_renamed_subgraph(g, rename) for g in value]
            attributes[attribute.name] = value
        inputs = [rename(name) for name in node.input]
        while inputs and not inputs[-1]:
            inputs.pop()  # an omitted optional input at the end
        if "" in inputs:
            inputs = _fill_omitted_inputs(node, inputs, scope, container)
        container.add_node(
            node.op_type,
            inputs,
            [rename(name) for name in node.output],
            op_domain=node.domain,
            name=scope.get_unique_operator_name(f"skae_{node.op_type}"),
            **attributes,
        )
    for graph_output, output in zip(graph.output, outputs, strict=True):
        container.add_node(
            "Identity",
            rename(graph_output.name),
            output,
            name=scope.get_unique_operator_name("skae_Identity"),
        )


def _fill_omitted_inputs(node, inputs, scope, container):
    """Give an omitted optional input between others its default value.

    skl2onnx orders the nodes of a graph by their inputs and has no name for
    "absent", so an empty input name before a present one cannot be kept.
    torch's exporter writes one for the recurrent layers only: their
    ``sequence_lens``, whose default is every sequence at full length.
    """
    if node.op_type not in ("LSTM", "GRU", "RNN") or inputs.index("") != 4:
        raise ValueError(
            f"Cannot export an ONNX {node.op_type} node that omits an optional "
            "input before another one."
        )
    layout = next((a.i for a in node.attribute if a.name == "layout"), 0)
    time_axis, batch_axis = (1, 0) if layout else (0, 1)

    def unique(name):
        return scope.get_unique_variable_name(f"skae_{name}")

    length, batch, length32, lengths = (
        unique(name) for name in ("length", "batch", "length32", "sequence_lens")
    )
    for axis, name in ((time_axis, length), (batch_axis, batch)):
        container.add_node(
            "Shape",
            inputs[0],
            name,
            start=axis,
            end=axis + 1,
            name=scope.get_unique_operator_name("skae_Shape"),
        )
    container.add_node(
        "Cast",
        length,
        length32,
        to=6,  # TensorProto.INT32, the type of sequence_lens
        name=scope.get_unique_operator_name("skae_Cast"),
    )
    container.add_node(
        "Expand",
        [length32, batch],
        lengths,
        name=scope.get_unique_operator_name("skae_Expand"),
    )
    return [lengths if i == 4 else name for i, name in enumerate(inputs)]


def _renamed_subgraph(graph, rename):
    """Return a copy of a control-flow body, every name passed through rename."""
    graph = copy.deepcopy(graph)
    for value in [*graph.input, *graph.output, *graph.value_info]:
        value.name = rename(value.name)
    for tensor in graph.initializer:
        tensor.name = rename(tensor.name)
    for node in graph.node:
        node.input[:] = [rename(name) for name in node.input]
        node.output[:] = [rename(name) for name in node.output]
        for attribute in node.attribute:
            if attribute.type == attribute.GRAPH:
                attribute.g.CopyFrom(_renamed_subgraph(attribute.g, rename))
            elif attribute.type == attribute.GRAPHS:
                for i, sub in enumerate(attribute.graphs):
                    attribute.graphs[i].CopyFrom(_renamed_subgraph(sub, rename))
    return graph
