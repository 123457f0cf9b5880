"""The student variant in notebooks/clean/ must match the full notebooks it is made from, ask for
predictions before verdicts and checks, keep no assert message that states a result, and never write
to results/ (issue 23, "Student notebooks")."""
from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CLEAN = ROOT / "notebooks" / "clean"
STUDENT_COPIES = sorted(CLEAN.glob("[0-9]*.ipynb"))
NEUTRAL = re.compile(r"^check \d+ of this notebook$")
NEUTRAL_WITH_VALUE = re.compile(r"^check \d+ of this notebook: $")     # f"check N of this notebook: {value!r}"


def _script():
    spec = importlib.util.spec_from_file_location("make_clean_notebooks", ROOT / ".ci" / "make_clean_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _code(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def _tree(source: str) -> ast.Module:
    """A code cell parsed as Python, its IPython magic and shell lines (% and !) blanked."""
    return ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")))


def _asserts(path: Path) -> list[ast.Assert]:
    return [n for source in _code(path) for n in ast.walk(_tree(source)) if isinstance(n, ast.Assert)]


def test_student_notebooks_exist_for_every_notebook():
    assert [p.name for p in STUDENT_COPIES] == [p.name for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))]


def test_student_notebooks_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / ".ci" / "make_clean_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_student_notebooks_have_no_outputs_and_keep_exercises():
    for path in STUDENT_COPIES:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name
        assert any("## Exercises" in c.source for c in nb.cells if c.cell_type == "markdown"), path.name


def test_student_notebooks_keep_the_guides_claim():
    """Students predict against the claim, so every numbered notebook after 00 must show it."""
    for path in sorted(CLEAN.glob("0[1-9]*.ipynb")):
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        assert "## The claim" in text or "**The guide's claim" in text, path.name


def test_every_student_copy_asks_for_predictions():
    for path in STUDENT_COPIES:
        cells = nbformat.read(path, as_version=4).cells
        predict = [i for i, c in enumerate(cells) if c.cell_type == "markdown"
                   and c.source.startswith("**Predict before you run.**")]
        assert predict, path.name
        for i in predict:       # one to three numbered questions, each a question
            questions = re.findall(r"^\d+\. (.+)$", cells[i].source, flags=re.MULTILINE)
            assert 1 <= len(questions) <= 3 and all("?" in q for q in questions), (path.name, cells[i].source)


def test_every_verdict_cell_is_preceded_by_a_prediction():
    """A cell that calls family.check( or claims.plain_words( never runs before a prediction is asked."""
    for path in STUDENT_COPIES:
        cells = nbformat.read(path, as_version=4).cells
        for i, c in enumerate(cells):
            if c.cell_type == "code" and re.search(r"family\.check\(|claims\.plain_words\(", c.source):
                assert cells[i - 1].source.startswith("**Predict before you run.**"), (path.name, c.source[:200])


def test_student_assert_messages_are_neutral():
    """Every assert message names a check by number: none states the result it checks."""
    for path in STUDENT_COPIES:
        for node in _asserts(path):
            msg = node.msg
            if isinstance(msg, ast.JoinedStr):          # a bare value kept for diagnosis, after the number
                head = msg.values[0]
                assert isinstance(head, ast.Constant) and NEUTRAL_WITH_VALUE.match(head.value), (path.name, ast.unparse(node))
                assert len(msg.values) == 2 and not isinstance(msg.values[1], ast.Constant), (path.name, ast.unparse(node))
            else:
                assert isinstance(msg, ast.Constant) and NEUTRAL.match(str(msg.value)), (path.name, ast.unparse(node))


def test_no_result_stating_message_of_the_full_notebook_survives():
    for path in STUDENT_COPIES:
        def messages(p):
            return {n.msg.value for n in _asserts(p) if isinstance(n.msg, ast.Constant) and isinstance(n.msg.value, str)}

        full = messages(ROOT / "notebooks" / path.name)
        assert not messages(path) & full, (path.name, sorted(messages(path) & full))


def test_check_numbers_count_every_assert_once():
    """Checks are numbered 1..N in the order of the full notebook; a prediction cell that sends the
    student to the Checks section names checks that are there."""
    for path in STUDENT_COPIES:
        cells = nbformat.read(path, as_version=4).cells
        numbers = sorted(int(m) for source in _code(path)
                         for m in re.findall(r"check (\d+) of this notebook", source))
        assert numbers == list(range(1, len(_asserts(ROOT / "notebooks" / path.name)) + 1)), path.name
        headings = [i for i, c in enumerate(cells) if c.source.startswith("## Checks")]
        at_end = "\n".join(c.source for c in cells[headings[0]:]) if headings else ""
        for c in cells:
            pointer = re.search(r"Checks section at the end \(checks? ([\d, -]+)\)", c.source)
            for part in pointer.group(1).split(", ") if pointer else []:       # "3, 4" or "22-30"
                first, _, last = part.partition("-")
                for n in range(int(first), int(last or first) + 1):
                    assert f'"check {n} of this notebook' in at_end, (path.name, n)


def test_moved_checks_define_nothing():
    """Only cells that bind no name move to the end (moving them cannot break what runs after)."""
    for path in STUDENT_COPIES:
        cells = nbformat.read(path, as_version=4).cells
        headings = [i for i, c in enumerate(cells) if c.source.startswith("## Checks")]
        for c in cells[headings[0] + 1:] if headings else []:
            assert c.cell_type == "code", path.name
            tree = _tree(c.source)
            assert not any(isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.Import,
                                          ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.For, ast.With))
                           for n in ast.walk(tree)), (path.name, c.source)


def test_first_code_cell_sends_results_to_a_scratch_folder_before_importing_helpers():
    for path in STUDENT_COPIES:
        first = next(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        body = _tree(first).body
        sets = [i for i, s in enumerate(body) if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                and ast.unparse(s.value.func) == "os.environ.setdefault"
                and ast.literal_eval(s.value.args[0]) == "RAGFT_RESULTS_DIR"]
        imports = [i for i, s in enumerate(body) if isinstance(s, (ast.Import, ast.ImportFrom))
                   and ast.unparse(s).split()[1].split(".")[0] == "helpers"]
        assert sets, path.name
        assert not imports or sets[0] < imports[0], path.name
        default = ast.Expression(body[sets[0]].value.args[1])
        folder = Path(eval(compile(default, "<default>", "eval"), {"os": os})).resolve()   # os.path calls only
        assert folder != ROOT / "results" and ROOT / "results" not in folder.parents, folder


def test_student_code_cells_parse():
    for path in STUDENT_COPIES:
        for source in _code(path):
            try:
                _tree(source)
            except SyntaxError as e:
                pytest.fail(f"{path.name}: {e}\n{source}")


def test_no_comment_points_to_removed_prose():
    pointers = re.compile(r"#.*\b(the text below|what the text|the caption below|the reading below|the verdict's|"
                          r"described above)\b", re.IGNORECASE)
    for path in STUDENT_COPIES:
        for source in _code(path):
            assert not pointers.search(source), (path.name, pointers.search(source).group(0))


def test_terms_the_tables_need_and_the_run_time_stay():
    for path in STUDENT_COPIES:
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        for term in ("**lenient**", "**strict**", "**95% interval**", "**real**", "**No detectable difference**",
                     "**Holm p**"):
            assert term in text, (path.name, term)
    for path in STUDENT_COPIES:         # every full notebook that states its run time keeps it in the student copy
        full = "\n".join(c.source for c in nbformat.read(ROOT / "notebooks" / path.name, as_version=4).cells
                         if c.cell_type == "markdown")
        if re.search(r"^\W*Run time", full, flags=re.MULTILINE):
            assert re.search(r"^\W*Run time", "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                                                       if c.cell_type == "markdown"), flags=re.MULTILINE), path.name


def test_lab_student_opens_the_student_copy_with_scratch_results():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lab-student:.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
    assert recipe, "no lab-student target"
    assert "/lab/tree/notebooks/clean/00_setup_and_first_look.ipynb" in recipe.group(1)
    assert "RAGFT_RESULTS_DIR=" in recipe.group(1) and "/results" not in recipe.group(1).replace("-results", "")
    assert re.search(r"^\.PHONY:.*\blab-student\b", makefile, flags=re.MULTILINE)


# ---------------------------------------------------------------- the rewrite on small made-up cells

def test_assert_rewrite_keeps_parenthesised_tests_and_multiline_messages():
    script = _script()
    source = ('x = 1  # é\n'
              'assert (x == 1\n'
              '        and x > 0)\n'
              'assert x, ("a long message that states"\n'
              '           " a result")\n'
              'assert x == 1, x   # é keeps its column\n'
              'if x: assert x, f"x is {x}"')
    new, after = script.neutralize_asserts(source, 3)
    assert after == 7
    tree = ast.parse(new)
    tests = [n for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    assert [ast.unparse(n.test) for n in tests] == ["x == 1 and x > 0", "x", "x == 1", "x"]   # never a tuple
    assert [ast.unparse(n.msg) for n in tests] == ["'check 3 of this notebook'", "'check 4 of this notebook'",
                                                   "f'check 5 of this notebook: {x!r}'", "'check 6 of this notebook'"]
    assert "# é keeps its column" in new


def test_clean_moves_only_checks_nothing_later_changes():
    script = _script()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · A test\n\nSome prose.\n\nRun time: a second.", id="title"),
        nbformat.v4.new_code_cell("from helpers import claims\nfamily = claims.Family()\nx, y = 1, 2", id="setup"),
        nbformat.v4.new_code_cell('assert x == 1, "x is one, as the text below says"', id="check-x"),
        nbformat.v4.new_code_cell('assert y == 2, "y is two"\nprint("ok")', id="check-y"),
        nbformat.v4.new_code_cell("assert all(s > 0 for s in [x])", id="check-z"),        # s: its own variable
        nbformat.v4.new_code_cell("y = 3  # see the text below\nt = [s for s in range(3)]", id="rebind"),
        nbformat.v4.new_code_cell('verdict = [claims.Claim("RAG answers more than the adapter", "higher", "supported",'
                                  ' key="RAG - adapter")]\nfamily.check(verdict)', id="verdict"),
        nbformat.v4.new_markdown_cell("## Exercises\n\n1. Try it.", id="ex"),
    ]
    out = script.clean(nb).cells
    ids = [c.get("id") for c in out]
    assert ids == ["title", "student-terms", "setup", "check-x-predict", "check-y-predict", "check-y",
                   "check-z-predict", "rebind", "verdict-predict", "verdict", "ex", "student-checks", "check-x", "check-z"]
    first = out[ids.index("setup")].source
    assert first.index("RAGFT_RESULTS_DIR") < first.index("from helpers import")
    assert "Run time: a second." in out[0].source
    assert "check 1" in out[ids.index("check-x-predict")].source                  # sent to the end
    assert out[ids.index("check-y")].source.startswith('assert y == 2, "check 2 of this notebook"')   # y changes later
    assert out[ids.index("rebind")].source == "y = 3\nt = [s for s in range(3)]"
    assert "Will it hold: RAG answers more than the adapter? By how much?" in out[ids.index("verdict-predict")].source


def test_student_claims_do_not_state_their_expected_status():
    """Every Claim in a student copy expects ``claims.PREDICT`` (the student's prediction) and no number of
    agreeing seeds; the full notebook's Claims state a status."""
    from helpers import claims

    script = _script()
    for path in STUDENT_COPIES:
        trees = [_tree(s) for s in _code(path)]
        aliases = script._claim_aliases(trees)
        calls = [c for t in trees for c in script._claim_calls(t, aliases)]
        full = [c for s in _code(ROOT / "notebooks" / path.name)
                for c in script._claim_calls(_tree(s), script._claim_aliases([_tree(s)]) | aliases)]
        assert len(calls) == len(full), path.name
        for call in calls:
            expected = call.args[2] if len(call.args) >= 3 else next(k.value for k in call.keywords if k.arg == "expected")
            assert ast.unparse(expected) == "claims.PREDICT", (path.name, ast.unparse(call))
            seeds = [k.value for k in call.keywords if k.arg == "expected_seeds"]
            assert all(isinstance(v, ast.Constant) and v.value is None for v in seeds), (path.name, ast.unparse(call))
    # what the student copy relies on: a PREDICT claim is shown, never asserted
    family = claims.Family()
    from helpers.statistics import paired_values
    family.add("a - b", paired_values([f"F{i}/h1" for i in range(10)], [1.0] * 10, [0.0] * 10))
    shown = family.check([claims.Claim("a beats b", "lower", claims.PREDICT, key="a - b")])
    assert list(shown["status"]) == [claims.CONTRADICTED]
    with pytest.raises(AssertionError):
        family.check([claims.Claim("a beats b", "lower", claims.SUPPORTED, key="a - b")])
