"""The student variant in notebooks/clean/ must match the full notebooks it is made from."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_student_notebooks_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / ".ci" / "make_clean_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_student_notebooks_have_no_outputs_and_keep_exercises():
    import nbformat

    for path in sorted((ROOT / "notebooks" / "clean").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name
        assert any("## Exercises" in c.source for c in nb.cells if c.cell_type == "markdown"), path.name


def test_student_notebooks_keep_the_guides_claim():
    """Students predict against the claim, so every numbered notebook after 00 must show it."""
    import nbformat

    for path in sorted((ROOT / "notebooks" / "clean").glob("0[1-9]*.ipynb")):
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        assert "## The claim" in text or "**The guide's claim" in text, path.name
