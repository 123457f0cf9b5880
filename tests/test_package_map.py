"""The module map in helpers/__init__.py is the package as it is: every module listed, and every
import pointing down the map (the one-way data flow it states)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import helpers

PACKAGE = Path(helpers.__file__).parent
# imports the map states as exceptions: (importer, imported)
EXCEPTIONS = {("abstention", "statistics")}


def _rows() -> list[set[str]]:
    """The map's rows, top first: each a set of module names (a row may wrap onto indented lines)."""
    block = helpers.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    rows: list[set[str]] = []
    for line in block.splitlines():
        names = line[:32].strip()
        if not names:
            continue
        found = set(re.findall(r"[a-z_]+", names))
        if line.startswith("      "):
            rows[-1] |= found
        else:
            rows.append(found)
    return rows


def _imports(path: Path) -> set[str]:
    """Sibling modules ``path`` imports anywhere (functions included), except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and ast.unparse(node.test) == "TYPE_CHECKING" for n in ast.walk(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in skipped:
            out |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return out


def test_every_module_is_listed_once_in_the_map_and_in_all():
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    rows = _rows()
    listed = [m for row in rows for m in row]
    assert sorted(listed) == sorted(modules), "the map lists each module once"
    assert sorted(helpers.__all__) == sorted(modules)


def test_imports_point_down_the_map():
    rank = {m: i for i, row in enumerate(_rows()) for m in row}
    upward = [(m, dep) for m in rank for dep in _imports(PACKAGE / f"{m}.py")
              if rank[dep] <= rank[m] and (m, dep) not in EXCEPTIONS]
    assert not upward, f"imports that do not point down the map in helpers/__init__.py: {upward}"
