"""The "?" link of skae's estimators in scikit-learn's HTML repr."""

from ._version import __version__

# The API reference pages, as docs/api.rst generates them (autosummary's
# gen_modules/ folder), under the documentation of the installed release.
DOCS_URL = "https://skae.readthedocs.io/en/{version}/"
_API_PAGE = "gen_modules/skae.{estimator_name}.html"


class DocLinkMixin:
    """Link an estimator's box in the HTML repr to its skae API page.

    scikit-learn draws an estimator, or a Pipeline of estimators, as boxes
    in notebooks (:func:`sklearn.utils.estimator_html_repr`); each box of a
    scikit-learn estimator carries a "?" link to its documentation. This
    mixin, put before :class:`~sklearn.base.BaseEstimator` in the bases,
    points the link of skae's estimators at their page of skae's API
    reference, for the installed version (``latest`` for a development
    version). Subclasses defined outside skae get no link.
    """

    _doc_link_module = "skae"
    _doc_link_template = DOCS_URL + _API_PAGE

    def _doc_link_url_param_generator(self):
        version = "latest" if "dev" in __version__ else __version__
        return {"version": version, "estimator_name": type(self).__name__}
