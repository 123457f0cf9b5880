"""Write the student ("clean") variant of every notebook into notebooks/clean/.

Like fastbook's clean notebooks: the same code cells with no outputs, the headings kept so the
structure is visible, the guide's claim, the run time, the terms and the exercises kept whole,
and every other piece of prose removed, so that students predict and explain results themselves
before reading the full notebook.

    make student                       # regenerate notebooks/clean/
    python .ci/make_clean_notebooks.py --check   # exit 1 if notebooks/clean/ is out of date
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE, TARGET = ROOT / "notebooks", ROOT / "notebooks" / "clean"
KEEP_PREFIXES = ("**The guide's claim", "**Run time", "**Terms")   # bold paragraphs a student needs


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student variant of one notebook."""
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    in_exercises = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            out.cells.append(nbformat.v4.new_code_cell(cell.source, id=cell.get("id")))
            continue
        lines = cell.source.splitlines()
        headings = [line.lstrip("#").strip().lower() for line in lines if line.startswith("#")]
        if any(h.startswith("exercises") for h in headings):
            in_exercises = True
        keep_whole = in_exercises or any(h.startswith("the claim") for h in headings)
        text = cell.source if keep_whole else "\n".join(line for line in lines if line.startswith("#"))
        if not keep_whole:      # the claim (06-08 state it in bold, not under a heading), run time and terms
            kept = [p for p in cell.source.split("\n\n") if p.startswith(KEEP_PREFIXES)]
            text = "\n\n".join(part for part in [text, *kept] if part.strip())
        if text.strip():
            out.cells.append(nbformat.v4.new_markdown_cell(text, id=cell.get("id")))
    return out


def render(path: Path) -> str:
    return nbformat.writes(clean(nbformat.read(path, as_version=4))) + "\n"


def main(check: bool) -> int:
    TARGET.mkdir(exist_ok=True)
    stale = []
    for path in sorted(SOURCE.glob("[0-9]*.ipynb")):
        target = TARGET / path.name
        text = render(path)
        if check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run `make student`):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
