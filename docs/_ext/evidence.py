"""Read the series' notebooks for the site: evidence first, machinery folded away.

Used by docs/conf.py as myst-nb's reader for ``.ipynb`` files (``nb_custom_formats``), so the
notebooks in notebooks/ are rendered as stored (never executed, never edited) with two changes:

* check cells get myst-nb's ``hide-input`` tag: their code is folded behind a "Show code cell
  source" toggle while their output stays visible. A check cell is one whose code is mostly
  ``assert`` statements (at least as many assert lines as lines of other code and as lines of
  ``print`` calls; comments not counted) or that ends in ``family.check(...)`` (a claims table). A cell that makes a
  figure always keeps its code visible.
* the ``# NBVAL_...`` marker lines that start a cell (for nbval, not for readers) are removed from
  the displayed code.
* every figure gets alt text: its caption, the one-line italic paragraph that opens the markdown
  cell after it (the series' convention; :func:`figure_captions` finds them, a test checks that
  every figure has one).

Tags a notebook already carries are kept; ``show-input`` on a cell keeps its code visible.
"""
from __future__ import annotations

import ast
import re

import nbformat

HIDE = "hide-input"
KEEP = "show-input"          # a notebook author's override: never fold this cell's code
_FOLDING = {"hide-input", "remove-input", "hide-cell", "remove-cell"}
_NBVAL_LINE = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")
_FIGURE_CODE = re.compile(r"\bplt\.|\.savefig\(|\bsubplots\(|\.plot\(|\.plot\.")


def strip_nbval_markers(source: str) -> str:
    """Drop the blank and ``# NBVAL_*`` lines at the top of a cell's code."""
    lines = source.splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip() or _NBVAL_LINE.match(lines[start])):
        start += 1
    return "\n".join(lines[start:])


def _is_print(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "print")


def _only_asserts(node: ast.stmt) -> bool:
    """An assert, or a loop/branch whose statements are all asserts (``for d in ds: assert ...``)."""
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, (ast.For, ast.If, ast.While, ast.With)):
        body = list(node.body) + list(getattr(node, "orelse", []))
        return bool(body) and all(_only_asserts(s) or _is_print(s) for s in body) and any(
            _only_asserts(s) for s in body)
    return False


def _ends_in_family_check(body: list[ast.stmt]) -> bool:
    last = body[-1] if body else None
    return (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Attribute) and last.value.func.attr == "check"
            and isinstance(last.value.func.value, ast.Name) and last.value.func.value.id == "family")


def _parse(source: str) -> list[ast.stmt] | None:
    # IPython magics and shell escapes are not Python; they are never checks
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines)).body
    except SyntaxError:
        return None


def is_check_cell(source: str, outputs: list | None = None) -> bool:
    """True for a cell that only checks things (mostly asserts, or ending in ``family.check(...)``)."""
    if _FIGURE_CODE.search(source) or any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
                                          for o in outputs or []):
        return False
    body = _parse(source)
    if not body:
        return False
    if _ends_in_family_check(body):
        return True
    assert_lines = print_lines = other_lines = 0
    for node in body:
        n_lines = node.end_lineno - node.lineno + 1
        if _only_asserts(node):
            assert_lines += n_lines
        elif _is_print(node):
            print_lines += n_lines
        else:
            other_lines += n_lines
    return assert_lines > 0 and assert_lines >= max(other_lines, print_lines)


_CAPTION = re.compile(r"^\*(?!\*)(.+?)(?<!\*)\*(?:\n\n|\s*$)", re.DOTALL)
_MARKUP = re.compile(r"[*_`]")


def _has_figure(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and any(
        "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}) for o in cell.get("outputs", []))


def figure_captions(nb: nbformat.NotebookNode) -> dict[int, str | None]:
    """For each cell that shows a figure: its caption as plain text, or None when the next cell does not
    open with one. A caption is an italic paragraph (``*...*``, not bold) at the top of the markdown
    cell right after the figure."""
    captions: dict[int, str | None] = {}
    for i, cell in enumerate(nb.cells):
        if not _has_figure(cell):
            continue
        after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        source = "" if after is None or after.cell_type != "markdown" else (
            after.source if isinstance(after.source, str) else "".join(after.source))
        match = _CAPTION.match(source.strip() + "\n\n")
        captions[i] = " ".join(_MARKUP.sub("", match.group(1)).split()) if match else None
    return captions


def prepare(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Tag check cells ``hide-input``, strip nbval markers from code and give each figure its caption as
    alt text (myst-nb's ``mystnb.image.alt`` cell metadata), in place; returns ``nb``."""
    for i, caption in figure_captions(nb).items():
        if caption:
            mystnb = nb.cells[i].metadata.setdefault("mystnb", {})
            mystnb.setdefault("image", {}).setdefault("alt", caption)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        tags = list(cell.metadata.get("tags", []))
        if KEEP not in tags and not _FOLDING.intersection(tags) and is_check_cell(source, cell.get("outputs")):
            tags.append(HIDE)
            cell.metadata["tags"] = tags
        cell.source = strip_nbval_markers(source)
    return nb


def read_notebook(text: str) -> nbformat.NotebookNode:
    """myst-nb reader (``nb_custom_formats``): the stored notebook, prepared for the site."""
    return prepare(nbformat.reads(text, as_version=4))
