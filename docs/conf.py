"""Sphinx configuration of the skae documentation.

Built offline by ``make docs`` with warnings as errors: no intersphinx
inventory is fetched, and the gallery executes every example.
"""

import re

import skae

# -- Project ---------------------------------------------------------------
project = "skae"
author = "The skae developers"
copyright = "2025, The skae developers"  # noqa: A001 (Sphinx's name)
version = release = skae.__version__

# -- Extensions ------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax shipped with the pages (into _static/mathjax), not a CDN's.
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# No network at build time: no intersphinx inventories. References to
# numpy, scikit-learn or torch objects render as plain code (nitpicky is off).
intersphinx_mapping = {}

# -- autodoc / autosummary / numpydoc -------------------------------------
autosummary_generate = True
# "object" means what True means (every inherited member); as a string it lets
# a directive name other base classes to stop at (the torch module template
# stops at torch.nn.Module), which Sphinx ignores when the default is True.
autodoc_default_options = {"members": True, "inherited-members": "object"}
autodoc_typehints = "none"
# autodoc documents every method (autodoc_default_options); numpydoc's own
# member tables would list them a second time.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# The docstrings are validated by tests/test_docstrings.py, not at build.

# -- Gallery ---------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "plot_",
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "doc_module": ("skae",),
    "backreferences_dir": "gen_modules/backreferences",
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "matplotlib_animations": False,
    # The per-example times are on each example's page; the global table
    # would be written into the source tree.
    "write_computation_times": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
}

# -- HTML ------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 8,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"install": [], "quickstart": []}
html_show_sourcelink = True


# -- Inherited scikit-learn docstrings --------------------------------------
# Methods inherited from scikit-learn (set_output, get_metadata_routing,
# set_fit_request, ClassifierMixin.score, ...) keep scikit-learn's
# docstrings, whose :ref: and :term: targets live in scikit-learn's own
# documentation. Without intersphinx they cannot resolve, so in those
# docstrings (and only there) the roles are rendered as plain text.
_FOREIGN_ROLE = re.compile(r":(?:ref|term|doc):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _plain_foreign_roles(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] == "skae":
        return
    for i, line in enumerate(lines):
        lines[i] = _FOREIGN_ROLE.sub(lambda m: m.group(1) or m.group(2), line)


def setup(app):
    """Connect the docstring hook above."""
    app.connect("autodoc-process-docstring", _plain_foreign_roles)
