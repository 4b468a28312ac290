"""The code's shape: imports run down the layers, functions stay short.

Every module under ``skae/`` is parsed with :mod:`ast` (nothing is imported)
and checked against two rules:

- **Layering.** Each module sits in a layer of ``LAYERS``; it may import
  skae modules of its own layer or lower ones, never higher ones, and never
  the package root ``skae`` (only ``__init__`` itself gathers the public
  names). ``skae/modules/`` is pure torch: no import from skae outside
  ``skae/modules``, and none of scikit-learn or skorch.
- **Size.** No function or method is longer than ``MAX_CODE_LINES`` lines of
  code (blank lines, comment lines and the docstring do not count), and none
  takes more than ``MAX_PARAMETERS`` parameters besides ``self``/``cls``,
  except the ``__init__`` of estimators and displays (see
  ``exempt_initializers``).

A new module must be placed in ``LAYERS``; the test says so until it is.
"""

import ast
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skae"
ROOT = PACKAGE.parent

# The layers, lowest first. A module may import modules of its own layer or
# of a lower one. Names are the module's path under skae/ without ".py";
# "modules" stands for skae/modules/ and every file under it. Modules listed
# here that do not exist (yet) are fine; a module on disk that is listed
# nowhere fails test_every_module_is_placed_in_a_layer.
LAYERS = {
    # pure torch nn.Modules: nothing from skae outside skae/modules, no
    # scikit-learn, no skorch
    "modules": ("modules",),
    # small helpers, each about one concern
    "foundations": (
        "_version",
        "_precision",
        "_validation",
        "_statistics",
        "_devices",
        "_seeding",
        "_warnings",
        "_docstrings",
        "_repr",
        "_progress",
        "_corruption",
        "_penalties",
        "_callables",
        "_labels",
        "_generative",
        "_threads",
    ),
    # the skorch net, the stopping rule, batched inference, the fit loop
    "training engine": ("_net", "_data", "_stopping", "_inference"),
    "training": ("_training",),
    "base": ("_base",),
    "estimators": (
        "_autoencoder",
        "_sparse",
        "_contractive",
        "_denoising",
        "_variational",
    ),
    "uses": ("_outlier", "_classifier"),
    "outside": ("_persistence", "_onnx", "plot", "metrics", "demo"),
    "package": ("__init__",),
}

MAX_CODE_LINES = 60
MAX_PARAMETERS = 6

# Third-party packages that skae/modules/ must not import.
NOT_IN_MODULES = ("sklearn", "skorch")


# --- Reading the package ---------------------------------------------------


def module_name(path):
    """Dotted name of a file under skae/: skae/_base.py -> "skae._base"."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files():
    """Every .py file under skae/, sorted."""
    return sorted(PACKAGE.rglob("*.py"))


def existing_modules():
    """The dotted names of every module and package under skae/."""
    return {module_name(path) for path in source_files()}


def layer_of(module):
    """Index in LAYERS of a dotted skae module name, or None if unplaced."""
    if module == "skae":
        short = "__init__"
    else:
        short = module.removeprefix("skae.")
        if short == "modules" or short.startswith("modules."):
            short = "modules"
    for index, members in enumerate(LAYERS.values()):
        if short in members:
            return index
    return None


def layer_name(index):
    return list(LAYERS)[index]


# --- Imports ---------------------------------------------------------------


def skae_imports(source, module, is_package, known):
    """The skae modules that ``source`` imports, as (line, dotted name) pairs.

    Relative and absolute imports alike, at any depth (function-level
    imports included). ``from X import name`` resolves to ``X.name`` when
    that is a module in ``known``, and to ``X`` otherwise (a name imported
    from a package's ``__init__``). Docstring examples are strings and do
    not count.
    """
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "skae" or alias.name.startswith("skae."):
                    found.append((node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target != "skae" and not target.startswith("skae."):
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((node.lineno, submodule if submodule in known else target))
    return found


def third_party_imports(source):
    """Top-level names of the packages that ``source`` imports absolutely."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def import_violations(source, module, is_package, known, filename):
    """Messages for every import of ``source`` that breaks the layering."""
    own = layer_of(module)
    if own is None:
        return [
            f"{filename} is in no layer: place it in LAYERS in tests/test_layout.py"
        ]
    messages = []
    # One message per imported module and line, however many names it gives.
    for line, target in dict.fromkeys(skae_imports(source, module, is_package, known)):
        where = f"{filename}:{line}"
        if target == "skae" and module != "skae":
            messages.append(
                f"{where} imports the package root skae; import the module "
                "that defines the name instead"
            )
            continue
        theirs = layer_of(target)
        if theirs is None:
            messages.append(f"{where} imports {target}, which is in no layer")
        elif own == 0 and theirs != 0:
            messages.append(
                f"{where} imports {target}: skae/modules is pure torch and "
                "may import nothing from skae outside skae/modules"
            )
        elif theirs > own:
            messages.append(
                f"{where} imports {target} (layer {theirs} "
                f"{layer_name(theirs)!r}) from layer {own} {layer_name(own)!r}; "
                "imports must run down the layers"
            )
    if own == 0:
        for line, package in third_party_imports(source):
            if package in NOT_IN_MODULES:
                messages.append(
                    f"{filename}:{line} imports {package}: skae/modules is pure torch"
                )
    return messages


# --- Sizes -----------------------------------------------------------------

_NOT_CODE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}


def code_lines(source):
    """The numbers of the lines that hold code (not blank, not only comment).

    A token spanning several lines (a triple-quoted string) makes each of
    them code.
    """
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def docstring_lines(function):
    """The lines of a function's docstring, an empty range without one."""
    first = function.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return range(first.lineno, first.end_lineno + 1)
    return range(0)


def functions(tree):
    """Every function and method of ``tree`` as (qualified name, node, class).

    The qualified name joins enclosing classes and functions with dots;
    ``class`` is the name of the class a method is defined in directly,
    None for functions.
    """

    def visit(node, prefix, owner):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.", child.name)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{prefix}{child.name}", child, owner
                yield from visit(child, f"{prefix}{child.name}.", None)
            else:
                yield from visit(child, prefix, owner)

    yield from visit(tree, "", None)


def count_code_lines(function, code):
    """Lines of code of a function's body: the docstring excluded."""
    body = range(function.body[0].lineno, function.end_lineno + 1)
    docstring = docstring_lines(function)
    return sum(1 for line in body if line in code and line not in docstring)


def parameters(function, owner):
    """Parameter names of a function besides a method's ``self``/``cls``.

    ``*args`` and ``**kwargs`` count as one each.
    """
    args = function.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    if owner is not None and names[:1] in (["self"], ["cls"]):
        names = names[1:]
    return names


def public_names(path):
    """The strings of a module's ``__all__`` (parsed, not imported)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def exempt_initializers():
    """Classes whose ``__init__`` may take more than MAX_PARAMETERS.

    A scikit-learn estimator's ``__init__`` takes every hyper-parameter as a
    keyword and only stores it: its length is the estimator's interface, not
    a function doing too much. The public estimators are the classes in
    skae/__init__'s ``__all__``, plus ``BaseAutoEncoder`` whose ``__init__``
    the autoencoders share. scikit-learn's displays follow the same contract
    (``PartialDependenceDisplay.__init__`` takes 9 keyword parameters,
    ``DecisionBoundaryDisplay.__init__`` 7), so the displays of skae.plot's
    ``__all__`` are exempt too, and so are the public torch modules of
    skae.modules' ``__all__``: documented constructors whose keywords are the
    estimators' network parameters, as ``torch.nn.Transformer``'s are (10).
    Their other methods (``plot``, ``from_estimator``, ``encode``), and
    private classes, are not.
    """
    return (
        public_names(PACKAGE / "__init__.py")
        | public_names(PACKAGE / "plot.py")
        | public_names(PACKAGE / "modules" / "__init__.py")
        | {"BaseAutoEncoder"}
    )


def size_violations(source, filename, exempt=frozenset()):
    """Messages for every function of ``source`` too long or with too many
    parameters; ``exempt`` names the classes whose ``__init__`` may take more.
    """
    code = code_lines(source)
    messages = []
    for name, function, owner in functions(ast.parse(source)):
        n_lines = count_code_lines(function, code)
        if n_lines > MAX_CODE_LINES:
            messages.append(
                f"{filename}:{name} has {n_lines} lines of code "
                f"(at most {MAX_CODE_LINES})"
            )
        if function.name == "__init__" and owner in exempt:
            continue
        names = parameters(function, owner)
        if len(names) > MAX_PARAMETERS:
            besides = " besides self" if owner is not None else ""
            messages.append(
                f"{filename}:{name} has {len(names)} parameters{besides} "
                f"(at most {MAX_PARAMETERS})"
            )
    return messages


# --- The package -----------------------------------------------------------

FILES = source_files()
IDS = [str(path.relative_to(ROOT)) for path in FILES]


def test_package_is_found():
    assert (PACKAGE / "__init__.py").is_file()
    assert len(FILES) > 10


def test_every_module_is_placed_in_a_layer():
    unplaced = [
        f"{name} is in no layer: place it in LAYERS in tests/test_layout.py"
        for path, name in zip(FILES, IDS, strict=True)
        if layer_of(module_name(path)) is None
    ]
    assert not unplaced, "\n".join(unplaced)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_imports_run_down_the_layers(path):
    messages = import_violations(
        path.read_text(),
        module_name(path),
        path.name == "__init__.py",
        existing_modules(),
        str(path.relative_to(ROOT)),
    )
    assert not messages, "\n".join(messages)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_functions_are_short(path):
    messages = size_violations(
        path.read_text(), str(path.relative_to(ROOT)), exempt_initializers()
    )
    assert not messages, "\n".join(messages)


# --- The checkers themselves -----------------------------------------------

KNOWN = {
    "skae",
    "skae._base",
    "skae._net",
    "skae._training",
    "skae._version",
    "skae.plot",
    "skae.modules",
    "skae.modules._random",
}


def function_source(n_lines, name="f"):
    """A function with ``n_lines`` lines of code, padded with non-code.

    A docstring, blank lines, a comment line and trailing comments, none of
    which count; a statement over three lines counts three.
    """
    lines = [f"def {name}(a, b):", '    """A docstring', "", '    of lines."""']
    lines += ["", "    # a comment line", ""]
    if n_lines >= 3:
        lines += ["    x = a + b  # trailing comment"] * (n_lines - 3)
        lines += ["    return (", "        a", "    )"]
    else:
        lines += ["    x = a + b  # trailing comment"] * (n_lines - 1)
        lines += ["    return a"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("n_lines", [1, 5, 60, 61])
def test_code_lines_leave_out_blanks_comments_and_docstring(n_lines):
    source = function_source(n_lines)
    (_, function, _), *_ = functions(ast.parse(source))
    assert count_code_lines(function, code_lines(source)) == n_lines


def test_a_61_line_function_is_reported():
    assert size_violations(function_source(60), "skae/_x.py") == []
    assert size_violations(function_source(61, name="g"), "skae/_x.py") == [
        "skae/_x.py:g has 61 lines of code (at most 60)"
    ]


def test_multiline_strings_count_as_code_but_the_docstring_does_not():
    source = 'def f():\n    """Doc\n    string."""\n    s = """a\nb\nc"""\n'
    (_, function, _), *_ = functions(ast.parse(source))
    assert count_code_lines(function, code_lines(source)) == 3


def test_methods_and_nested_functions_are_named_and_measured():
    source = (
        "class A:\n"
        "    def m(self, a, b, c, d, e, f, g):\n"
        "        def inner(a, b, c, d, e, f, g):\n"
        "            pass\n"
        "    @classmethod\n"
        "    def c(cls, a, b, c, d, e, f):\n"
        "        pass\n"
        "    def __init__(self, *, a, b, c, d, e, f, g):\n"
        "        pass\n"
        "def free(self, b, c, d, e, f, *args, **kwargs):\n"
        "    pass\n"
    )
    assert size_violations(source, "skae/_x.py") == [
        "skae/_x.py:A.m has 7 parameters besides self (at most 6)",
        "skae/_x.py:A.m.inner has 7 parameters (at most 6)",
        "skae/_x.py:A.__init__ has 7 parameters besides self (at most 6)",
        "skae/_x.py:free has 8 parameters (at most 6)",
    ]
    assert size_violations(source, "skae/_x.py", exempt={"A"}) == [
        "skae/_x.py:A.m has 7 parameters besides self (at most 6)",
        "skae/_x.py:A.m.inner has 7 parameters (at most 6)",
        "skae/_x.py:free has 8 parameters (at most 6)",
    ]


def test_imports_are_resolved():
    source = (
        "from . import _net\n"
        "from ._training import split_rows\n"
        "from .modules._random import FitGenerators\n"
        "from .modules import MLPAutoEncoder\n"
        "import skae._version\n"
        "from skae import AutoEncoderTransformer\n"
        "import numpy\n"
        "def f():\n"
        '    """>>> from skae import plot"""\n'
        "    from .plot import LossCurveDisplay\n"
    )
    assert skae_imports(source, "skae._base", False, KNOWN) == [
        (1, "skae._net"),
        (2, "skae._training"),
        (3, "skae.modules._random"),
        (4, "skae.modules"),
        (5, "skae._version"),
        (6, "skae"),
        (10, "skae.plot"),
    ]
    # In a package's __init__, "." is the package itself; ".." its parent.
    source = "from . import _random\nfrom .. import _base\nfrom ._mlp import X\n"
    assert skae_imports(source, "skae.modules", True, KNOWN) == [
        (1, "skae.modules._random"),
        (2, "skae._base"),
        (3, "skae.modules._mlp"),
    ]
    assert skae_imports(source, "skae.modules._conv", False, KNOWN)[1] == (
        2,
        "skae._base",
    )


def test_a_higher_layer_import_is_reported():
    source = "from ._training import split_rows\nfrom ._base import BaseAutoEncoder\n"
    messages = import_violations(source, "skae._net", False, KNOWN, "skae/_net.py")
    assert messages == [
        "skae/_net.py:1 imports skae._training (layer 3 'training') from layer 2 "
        "'training engine'; imports must run down the layers",
        "skae/_net.py:2 imports skae._base (layer 4 'base') from layer 2 "
        "'training engine'; imports must run down the layers",
    ]
    # Down or sideways is fine.
    source = "from ._net import X\nfrom ._stopping import Y\nfrom .modules import Z\n"
    assert import_violations(source, "skae._net", False, KNOWN, "n") == []


def test_the_root_and_unplaced_modules_are_reported():
    source = "import skae\nfrom ._nowhere import x, y\n"
    assert import_violations(source, "skae.plot", False, KNOWN, "skae/plot.py") == [
        "skae/plot.py:1 imports the package root skae; import the module that "
        "defines the name instead",
        "skae/plot.py:2 imports skae._nowhere, which is in no layer",
    ]
    assert import_violations("", "skae._nowhere", False, KNOWN, "skae/_nowhere.py")
    assert import_violations("from . import plot", "skae", True, KNOWN, "i") == []


def test_modules_are_pure_torch_in_the_checker():
    source = (
        "import torch\n"
        "from sklearn.base import clone\n"
        "import skorch\n"
        "from .._net import X\n"
        "from ._random import Y\n"
    )
    path = "skae/modules/_x.py"
    assert import_violations(source, "skae.modules._x", False, KNOWN, path) == [
        f"{path}:4 imports skae._net: skae/modules is pure torch and may import "
        "nothing from skae outside skae/modules",
        f"{path}:2 imports sklearn: skae/modules is pure torch",
        f"{path}:3 imports skorch: skae/modules is pure torch",
    ]


def test_exempt_initializers_are_the_estimators_and_the_displays():
    exempt = exempt_initializers()
    assert {"AutoEncoderTransformer", "EncoderClassifier", "BaseAutoEncoder"} <= exempt
    assert {"LossCurveDisplay", "BottleneckCurveDisplay"} <= exempt
    assert {"MLPAutoEncoder", "RecurrentAutoEncoder"} <= exempt  # public modules
    assert "_ConvDecoder" not in exempt  # private classes are not
