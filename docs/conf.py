"""Sphinx configuration of the series' website: `make site` builds it into docs/_build/html.

The source folder is the repository root (`sphinx-build -c docs . docs/_build/html`), so the pages are
the committed notebooks themselves (notebooks/NN_*.ipynb, rendered from their stored outputs, never
executed) and the Markdown pages in docs/. Nothing is copied or duplicated.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "RAG, fine-tuning, or both? Measured on a laptop"
author = "the series' authors"
copyright = "the series' authors. Prose CC BY 4.0, code Apache-2.0"

extensions = ["myst_nb"]

# Pages: the landing page and any other Markdown page in docs/, and every numbered notebook
# (00..09..., not the student copies in notebooks/clean/).
root_doc = "docs/index"
include_patterns = ["docs/*.md", "notebooks/[0-9][0-9]_*.ipynb"]
exclude_patterns = [".*", "docs/_build", "docs/_ext", "docs/_extra", "notebooks/clean", "**/.ipynb_checkpoints",
                    "data", "results", "helpers", "tests", "build", "*.egg-info"]

# Stored outputs only: nothing is executed, no kernel is started, no network is used.
nb_execution_mode = "off"
nb_merge_streams = True
# myst-nb's reader for .ipynb, with check cells folded (hide-input) and `# NBVAL_*` lines removed
# from the displayed code (docs/_ext/evidence.py); the notebooks on disk are not changed.
nb_custom_formats = {".ipynb": ["evidence.read_notebook", {}, False]}
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "RAG, fine-tuning, or both?"
html_copy_source = False          # no _sources/ copies of the notebooks in the site
html_show_sourcelink = False
html_extra_path = ["_extra"]      # index.html at the site's root, which forwards to docs/index.html
# light by default (the figures are drawn on white); also spares the theme's console error on a first visit
html_context = {"default_mode": "light"}
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    # sphinx-book-theme 1.4 with pydata-sphinx-theme 0.20 shows an empty top bar holding a second search
    # button (executablebooks/sphinx-book-theme#986); the sidebar's search field is the one to keep
    "navbar_persistent": [],
}


# Rebuild every page when the cell-folding rules change (Sphinx only tracks conf.py itself).
evidence_rules = hashlib.sha256((HERE / "_ext" / "evidence.py").read_bytes()).hexdigest()[:16]


def setup(app):
    app.add_config_value("evidence_rules", "", "env")
