"""The exercise solutions (notebooks/solutions/): one notebook per series notebook, one section per
exercise, each labelled with its minutes and whether it trains; every code cell parses; and the cheap
cells run.

"Cheap" means untagged. Cells tagged ``solution-slow`` train an adapter or generate many answers
(minutes with a cold cache) and cells tagged ``solution-model`` load a model or read a slow cell's
results; both are skipped here, so this test needs no model and no cache and takes seconds per
notebook (about 20 s for all ten on 2 cores, measured). ``make solutions`` (.ci/run_solutions.py)
executes every cell, on scratch copies.
"""
from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SERIES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = ROOT / "notebooks" / "solutions"
LABEL = re.compile(r"\((?:≈)?\d+ min, (?:trains|no training)\)")
SECTION = re.compile(r"^## Exercise (\d+) · (.+)$", re.M)

_spec = importlib.util.spec_from_file_location("run_solutions", ROOT / ".ci" / "run_solutions.py")
run_solutions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_solutions)


def solution_of(series: Path) -> Path:
    return SOLUTIONS / f"{series.stem}_solutions.ipynb"


def exercise_items(series: Path) -> list[str]:
    """The numbered items of the series notebook's "## Exercises" cell."""
    nb = nbformat.read(series, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Exercises"))
    return re.findall(r"^\d+\. .*$", cell.source, re.M)


@pytest.mark.parametrize("series", SERIES, ids=lambda p: p.stem[:2])
def test_one_labelled_section_per_exercise(series: Path) -> None:
    items = exercise_items(series)
    assert items, f"{series.name}: no numbered exercises"
    assert all(LABEL.search(item) for item in items), f"{series.name}: an exercise lacks its label, e.g. (≈3 min, trains)"
    assert f"solutions/{solution_of(series).name}" in "".join(
        c.source for c in nbformat.read(series, as_version=4).cells if c.source.startswith("## Exercises"))
    nb = nbformat.read(solution_of(series), as_version=4)
    sections = [c for c in nb.cells if c.cell_type == "markdown" and SECTION.search(c.source)]
    assert [int(SECTION.search(c.source).group(1)) for c in sections] == list(range(1, len(items) + 1))
    assert all(LABEL.search(c.source) for c in sections), f"{solution_of(series).name}: a section lacks its label"
    for item, section in zip(items, sections, strict=True):      # the same label in both places
        assert LABEL.search(item).group(0) == LABEL.search(section.source).group(0), item


@pytest.mark.parametrize("series", SERIES, ids=lambda p: p.stem[:2])
def test_code_parses_and_markdown_is_short(series: Path) -> None:
    nb = nbformat.read(solution_of(series), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)
            assert set(cell.metadata.get("tags", [])) <= {"solution-slow", "solution-model"}
        else:
            assert len(cell.source.split()) <= 250, cell.source[:80]
        assert not cell.get("outputs"), "solutions are committed without outputs"


def test_cheap_cells_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGFT_RESULTS_DIR", str(tmp_path / "results"))
    paths = run_solutions.notebooks()
    assert [p.name for p in paths] == [solution_of(s).name for s in SERIES]
    for path in paths:
        run_solutions.execute(path, tmp_path / "executed", cheap=True, timeout=120)
