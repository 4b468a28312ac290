"""The links of skae's estimators in scikit-learn's HTML repr.

The "?" link of an estimator's box goes to its API page; each parameter and
fitted attribute links to its entry on that page with a text fragment
(``#:~:text=<name>,-<type line>``), which browsers scroll to and highlight.
scikit-learn builds the fragment from the docstring's type line as written,
straight quotes included, while Sphinx renders that line with curly quotes
(its ``smartquotes``): ``default="auto"`` is shown as ``default=”auto”``, so
the fragment would not be found. skae's fragments quote as the page does.
"""

import re
from urllib.parse import quote, unquote

from ._version import __version__

# The API reference pages, as docs/api.rst generates them (autosummary's
# gen_modules/ folder), under the documentation of the installed release.
DOCS_URL = "https://skae.readthedocs.io/en/{version}/"
_API_PAGE = "gen_modules/skae.{estimator_name}.html"

# A text fragment as scikit-learn writes it in a link of the parameter and
# attribute tables: the quoted name, ",-", the quoted type line.
_FRAGMENT = re.compile(r'#:~:text=([^",]*),-([^"]*)(?=")')
# What docutils renders as a token of its own in a type line: a ``literal``
# (left as written) or a `role` (its text, quoted as text).
_TOKEN = re.compile(r"(``.+?``|`[^`]+`)")

# docutils' smartquotes for English (docutils.utils.smartquotes, the
# "qDe" action that Sphinx applies): the substitutions of educateQuotes, in
# its order. Its START_ rules match a backslash and never apply; they are left
# out.
_PUNCT = r"""[-!"  #\$\%'()*+,.\/:;<=>?\@\[\\\]\^_`{|}~]"""
_SEP = "[\\s\u200b\u200c]"
_OPEN = "[([{]"
_DASH = "[-\u2013\u2014]"
_QUOTE_RULES = (
    (re.compile("\"'(?=\\w)"), "\u201c\u2018"),
    (re.compile("'\"(?=\\w)"), "\u2018\u201c"),
    (re.compile(f"({_OPEN}|{_DASH})'(?={_PUNCT}? )"), "\\1\u2019"),
    (re.compile(f'({_OPEN}|{_DASH})"(?={_PUNCT}? )'), "\\1\u201d"),
    (re.compile(r"'(?=\d{2}s)"), "\u2019"),
    (re.compile(f"({_SEP}|{_OPEN}|{_DASH})'(?=\\w|{_PUNCT})"), "\\1\u2018"),
    (re.compile(r"(?<!\s)'"), "\u2019"),
    (re.compile("'"), "\u2018"),
    (re.compile(f'({_SEP}|{_OPEN}|{_DASH})"(?=\\w|{_PUNCT})'), "\\1\u201c"),
    (re.compile(r'(?<!\s)"|"(?=\s)'), "\u201d"),
    (re.compile('"'), "\u201c"),
)


class DocLinkMixin:
    """Link an estimator's box in the HTML repr to its skae API page.

    scikit-learn draws an estimator, or a Pipeline of estimators, as boxes
    in notebooks (:func:`sklearn.utils.estimator_html_repr`); each box of a
    scikit-learn estimator carries a "?" link to its documentation. This
    mixin, put before :class:`~sklearn.base.BaseEstimator` in the bases,
    points the link of skae's estimators at their page of skae's API
    reference, for the installed version (``latest`` for a development
    version), and the links of its parameters and fitted attributes at
    their entries there, quoted as the rendered page quotes them.
    Subclasses defined outside skae get no link.
    """

    _doc_link_module = "skae"
    _doc_link_template = DOCS_URL + _API_PAGE

    def _doc_link_url_param_generator(self):
        version = "latest" if "dev" in __version__ else __version__
        return {"version": version, "estimator_name": type(self).__name__}

    def _get_params_html(self, deep=True, doc_link=""):
        table = super()._get_params_html(deep=deep, doc_link=doc_link)
        return _with_rendered_fragments(table, type(self))

    def _get_fitted_attr_html(self, doc_link=""):
        table = super()._get_fitted_attr_html(doc_link=doc_link)
        return _with_rendered_fragments(table, type(self))


def _with_rendered_fragments(table, cls):
    """Make the links of a table point at the page's text, as rendered.

    ``table`` is scikit-learn's table of the parameters or of the fitted
    attributes of an estimator of class ``cls``.
    """
    render = table._html_repr

    def html():
        return _FRAGMENT.sub(lambda match: _rendered_fragment(match, cls), render())

    table._html_repr = html
    return table


def _rendered_fragment(match, cls):
    """Return the text fragment of a name's entry as the docs page shows it."""
    name = unquote(match.group(1))
    found = re.search(f"{re.escape(name)} : (.+)\\n", cls.__doc__ or "")
    if found is None:  # scikit-learn found it: leave its fragment
        return match.group(0)
    return f"#:~:text={quote(name)},-{quote(as_rendered(found.group(1)))}"


def as_rendered(text):
    """Return a line of reST as Sphinx renders it: curly quotes, no backticks.

    Sphinx's ``smartquotes`` (docutils' "qDe": quotes, ``--`` and ``---``
    dashes, ``...`` ellipses) apply to each run of text; a ``literal`` keeps
    its straight quotes, and the text of a `role` is a run of its own.

    Parameters
    ----------
    text : str
        One line of a docstring, such as a parameter's type line.

    Returns
    -------
    rendered : str
        The line as the HTML page shows it, its markup's backticks removed.
    """
    rendered = []
    context = " "  # docutils starts each element's text after a space
    for token in _TOKEN.split(text):
        if token.startswith("``"):
            literal = token[2:-2]
            rendered.append(literal)
            context = literal[-1:] or context
            continue
        token = token.replace("`", "")  # a role's text, or text
        if token:
            rendered.append(_smartquotes(token, context))
            context = token[-1]
    return "".join(rendered)


def _smartquotes(text, context):
    """Return one token as docutils' educate_tokens does, after ``context``."""
    text = text.replace("---", "\u2014").replace("--", "\u2013")
    text = text.replace("...", "\u2026").replace(". . .", "\u2026")
    if not re.search("[-\"']", text):
        return text
    text = context.replace('"', ";").replace("'", ";") + text
    for pattern, replacement in _QUOTE_RULES:
        text = pattern.sub(replacement, text)
    return text[1:]
