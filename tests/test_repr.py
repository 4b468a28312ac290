"""The HTML repr's links to the docs: text fragments as the page renders."""

import re
from urllib.parse import unquote

import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

import skae
from skae import AutoEncoderOutlierDetector, AutoEncoderTransformer
from skae._repr import as_rendered

ESTIMATORS = [
    getattr(skae, name)
    for name in skae.__all__
    if isinstance(getattr(skae, name), type)
]


def fragments(html):
    """The text fragments of the links to skae's pages, by entry name."""
    found = re.findall(r'href="https://skae[^"#]*#:~:text=([^",]*),-([^"]*)"', html)
    return {unquote(name): unquote(text) for name, text in found}


def test_string_defaults_are_curly_quoted_as_on_the_rendered_page():
    links = fragments(estimator_html_repr(AutoEncoderTransformer()))
    # Sphinx's smartquotes: an opening quote after a space, a closing one
    # after "=" (docutils has no opening quote after "=").
    assert links["batch_size"] == "int or \u201cauto\u201d, default=\u201dauto\u201d"
    assert links["precision"] == (
        "{\u201cfloat32\u201d, \u201cbfloat16\u201d}, default=\u201dfloat32\u201d"
    )
    assert links["n_components"] == "int or float, default=2"  # nothing to curl
    assert not any('"' in text or "'" in text for text in links.values())


def test_fitted_attribute_links_are_rendered_too():
    X = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0]] * 5
    ae = AutoEncoderTransformer(n_components=1, max_iter=2, random_state=0).fit(X)
    links = fragments(estimator_html_repr(ae))
    assert links["n_features_in_"] == "int"
    assert links["mean_"] == "ndarray of shape (n_features_in_,)"


def test_links_inside_a_pipeline_are_rendered():
    html = estimator_html_repr(
        make_pipeline(StandardScaler(), AutoEncoderOutlierDetector())
    )
    links = fragments(html)
    assert (
        links["contamination"] == "\u201cauto\u201d or float, default=\u201dauto\u201d"
    )
    # scikit-learn's own links are left as scikit-learn writes them.
    assert "scikit-learn.org" in html


@pytest.mark.parametrize(
    "line, rendered",
    [
        ('int or "auto", default="auto"', "int or “auto”, default=”auto”"),
        ("{'a', 'b'}, default='a'", "{‘a’, ‘b’}, default=’a’"),
        ('``"raw"`` or "x"', '"raw" or “x”'),
        ("array-like of shape (`n`,) -- or ...", "array-like of shape (n,) – or …"),
        ("str", "str"),
    ],
)
def test_as_rendered(line, rendered):
    assert as_rendered(line) == rendered


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_every_type_line_renders_as_docutils_renders_it(cls):
    # docutils parses "name : type" in a definition list as numpydoc's output
    # does, and applies the same smartquotes as Sphinx.
    core = pytest.importorskip("docutils.core")
    nodes = pytest.importorskip("docutils.nodes")
    lines = re.findall(r"^\s*(\w+) : (.+)$", cls.__doc__, flags=re.MULTILINE)
    assert lines
    source = "\n\n".join(f"{name} : {line}\n    Text." for name, line in lines)
    tree = core.publish_doctree(
        source, settings_overrides={"smart_quotes": True, "report_level": 5}
    )
    classifiers = [node.astext() for node in tree.findall(nodes.classifier)]
    assert classifiers == [as_rendered(line) for _, line in lines]
