"""skae's warnings: their categories, the user's line, the estimator's name."""

import ast
import functools
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skae._warnings
from skae import AutoEncoderTransformer
from skae._warnings import BottleneckWarning, SkaeConvergenceWarning, SkaeWarning

PACKAGE = Path(skae._warnings.__file__).parent


def make_data():
    return np.random.default_rng(0).normal(size=(40, 4))


def short_fit(**params):
    """An estimator that stops at max_iter: it warns."""
    return AutoEncoderTransformer(
        n_components=2,
        hidden_layer_sizes=(4,),
        max_iter=2,
        random_state=0,
        device="cpu",
        **params,
    )


def recorded(run):
    """Run ``run()`` and return skae's convergence warnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    found = [w for w in caught if issubclass(w.category, SkaeConvergenceWarning)]
    assert found, [str(w.message) for w in caught]
    return found


# --- Categories ----------------------------------------------------------


def test_skae_categories_keep_the_categories_users_filter_on():
    assert issubclass(SkaeWarning, UserWarning)
    assert issubclass(BottleneckWarning, SkaeWarning)
    assert issubclass(SkaeConvergenceWarning, SkaeWarning)
    assert issubclass(SkaeConvergenceWarning, ConvergenceWarning)


def test_a_code_as_wide_as_the_input_is_a_bottleneck_warning():
    X = make_data()
    with pytest.warns(
        BottleneckWarning,
        match=r"^AutoEncoderTransformer: n_components=4 equals n_features=4",
    ):
        AutoEncoderTransformer(n_components=4, max_iter=2, device="cpu").fit(X)


def test_max_iter_is_a_skae_convergence_warning_naming_the_estimator():
    with pytest.warns(
        SkaeConvergenceWarning,
        match=r"^AutoEncoderTransformer: Stochastic Optimizer: Maximum iterations",
    ):
        short_fit().fit(make_data())


def warning_calls(tree):
    """Yield (line, category name or None) of each warning call in ``tree``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "warn" or name == "warn_user":
            category = node.args[1] if len(node.args) > 1 else None
            yield node.lineno, getattr(category, "id", None)


def test_every_warning_skae_issues_has_a_skae_category():
    # Through warn_user, which also points it at the user's line.
    skae_categories = {
        name
        for name, obj in vars(skae._warnings).items()
        if isinstance(obj, type) and issubclass(obj, SkaeWarning)
    }
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_warnings.py":
            continue  # warn_user itself
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, category in warning_calls(tree):
            if category not in skae_categories:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line}")
    assert wrong == []


def test_the_test_suite_makes_skae_warnings_errors(request):
    # Unless the test expects them (pytest.warns) or says why not (a mark).
    filters = request.config.getini("filterwarnings")
    assert filters.index("error::skae._warnings.SkaeWarning") < filters.index(
        "ignore::sklearn.exceptions.ConvergenceWarning"
    )


# --- The user's line -----------------------------------------------------


def test_a_warning_in_a_grid_search_points_at_the_user_line():
    search = GridSearchCV(short_fit(), {"alpha": [1e-4, 1e-3]}, cv=2, n_jobs=1)
    for w in recorded(lambda: search.fit(make_data())):
        assert w.filename == __file__


def test_a_warning_inside_a_pipeline_points_at_the_user_line():
    # A step before the last is fitted through joblib's Memory.
    pipe = make_pipeline(short_fit(), StandardScaler())
    for w in recorded(lambda: pipe.fit(make_data())):
        assert w.filename == __file__


def test_without_the_user_line_on_the_stack_it_points_at_the_caller():
    # A worker thread (or a joblib worker process) runs the fit: no frame is
    # the user's. The warning points at the line that called skae, and its
    # message names the estimator.
    def run():
        thread = threading.Thread(target=functools.partial(short_fit().fit, X))
        thread.start()
        thread.join()

    X = make_data()
    [w] = recorded(run)
    library = os.path.dirname(sklearn.__file__) + os.sep
    assert w.filename.startswith(library)
    assert str(w.message).startswith("AutoEncoderTransformer: ")
