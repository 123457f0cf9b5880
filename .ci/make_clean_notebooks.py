"""Write the student ("clean") variant of every notebook into notebooks/clean/.

Like fastbook's clean notebooks: the same code cells with no outputs, the headings kept so the
structure is visible, the guide's claim, the run time, the terms and the exercises kept whole,
and every other piece of prose removed, so that students predict and explain results themselves
before reading the full notebook. On top of that, the student copy asks for predictions:

* **Verdict and check cells** get a "Predict before you run" cell in front of them. The rule, decided
  on the code alone (:func:`kind_of_cell`): a code cell is a *verdict cell* when it calls
  ``family.check(`` (or ``<x>_family.check(``) or ``claims.plain_words(``; it is a *check cell* when
  ``assert`` statements (counted anywhere in the cell) are at least half of its top-level statements.
  The one to three questions are derived from the cell (:func:`questions_for`): the texts of the
  ``claims.Claim`` objects it checks ("Will it hold: <claim>? By how much?", "... What value do you
  expect?" for a share against a bound, "... Or will one side come out ahead, and which?" for a "no
  difference" claim; a list built in earlier cells, ``verdict = [...] + diagnosis``, is followed back
  through its assignments), else the numbers its plain-words box fills in ("What number will the box
  show for `n_rag`?"), else its asserts (the message as a question when it is a sentence about the
  results, else the asserted expression: "Will `recall_k >= 0.8` be true?").
* **Checks move to the end** only where that cannot change what runs: a *pure* check cell, whose
  top-level statements are only asserts, ``print``/``display`` calls and ``if`` blocks of those
  (so it defines nothing: no assignment, def, import or walrus), and none of whose names is rebound
  or mutated (assignment, ``del``, ``x.attr = ...``, ``x[...] = ...``, ``x.append(...)`` and the like)
  by a later cell, moves to a final "## Checks" section; its prediction cell stays where it was.
  Every other check or verdict cell stays in place (moving it would break the execution order:
  it defines names that later cells use, or records comparisons in the family).
* **Assert messages are neutral.** Every assert gets the message "check N of this notebook" (N
  counts the asserts in the order of the full notebook), so a message no longer states the result
  it checks ("an adapter cannot answer facts it never saw"). A message that is a bare value rather
  than prose (``assert n_params == 134_515_008, n_params``) is kept after the number, for diagnosis
  (``f"check 3 of this notebook: {n_params!r}"``).
  The rewrite uses ``ast`` to *find* each assert and its message (exact line and column spans) and
  splices the new message into the original text, instead of ``ast.unparse``, which would drop the
  cell's comments and reformat its code; multi-line and parenthesised messages are handled alike.
* **Claims hide their expected status.** A ``claims.Claim(...)`` call states the status the prose was
  written for ("supported", "no detectable difference"): a result. In the student copy that argument
  becomes ``claims.PREDICT`` and ``expected_seeds=`` becomes ``None`` (:func:`hide_expected`), so the
  claims table shows what the run found and asserts nothing the student is asked to predict.
* **Comments that point to removed prose** ("the text below", "the verdict's statements", "the
  caption below") are removed, found with ``tokenize`` so that a ``#`` inside a string is never taken
  for a comment (:data:`POINTER`).
* **Terms.** A fixed glossary cell (:data:`GLOSSARY`: lenient, strict, 95% interval, "real" / no
  detectable difference, Holm p, status) follows the title of every copy, because the prose that
  defines these terms in the full notebooks is removed; the run time paragraph is kept.
* **Scratch results.** The first code cell sets ``RAGFT_RESULTS_DIR`` to a scratch folder,
  ``~/.cache/ragft-student-results`` (unless it is set already: ``make lab-student`` sets
  ``.cache/student-results``), before ``helpers`` is imported, so a run of a student
  copy never writes to ``results/``; committed numbers the notebooks *read* are read from
  ``results/`` explicitly, so any copy still starts from the committed results.

    make student                       # regenerate notebooks/clean/
    python .ci/make_clean_notebooks.py --check   # exit 1 if notebooks/clean/ is out of date
"""
from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE, TARGET = ROOT / "notebooks", ROOT / "notebooks" / "clean"
# bold (or italic) paragraphs a student needs
KEEP_PREFIXES = ("**The guide's claim", "**Run time", "Run time", "*Run time", "**Terms")

NEUTRAL = "check {n} of this notebook"
PREDICT_HEADER = "**Predict before you run.**"
# A comment that points to prose the student copy removes: "the text below", "the caption below", "what the
# text says", "the verdict's statements", "the reading below", "the literature table", "described above",
# "takeaways". Not any "below"/"above": "the exposure table below" (an output), "the example below" (code),
# "a weight above 3" stay.
POINTER = re.compile(r"\bthe (text|caption|prose|paragraph|reading|caveat|takeaways?|literature)\b|\bthe verdict's\b"
                     r"|\b(described|said|says|explained|discussed|stated|quoted) (below|above)\b|\btakeaways\b"
                     r"|\bsection \d+ says\b", re.IGNORECASE)
# An assert message that points elsewhere ("the matrices counted above") does not make a prediction question.
MESSAGE_POINTER = re.compile(POINTER.pattern + r"|\b(below|above)\b", re.IGNORECASE)
MAX_QUESTIONS = 3
MAX_EXPRESSION = 80          # longer asserted expressions are not turned into questions

SCRATCH_RESULTS = (
    "import os\n"
    "\n"
    "# A student copy saves its numbers to a scratch folder, never to results/ (make lab-student sets\n"
    "# RAGFT_RESULTS_DIR to .cache/student-results; elsewhere this default applies). Before helpers is imported.\n"
    'os.environ.setdefault("RAGFT_RESULTS_DIR", os.path.join(os.path.expanduser("~"), ".cache", "ragft-student-results"))\n'
)

GLOSSARY = """\
**Student copy.** The explanations of the full notebook are left out: before each verdict or check,
a *Predict before you run* cell asks what you expect. Write your answer down, run, compare. Checks that
nothing later depends on are collected in a **Checks** section at the end; their messages only give
their number. Your results go to a scratch folder, never to `results/`.

**Terms the tables use.**
* **lenient**: the reply states an accepted answer as whole words (not negated) and no competing value;
  a reply that lists candidates ("14 or 30 days") is a *hedge* and gets no credit.
* **strict** (exact match): the whole reply, normalized, equals an accepted answer.
* **95% interval**: a share is printed `mean [low, high]` (a Wilson interval): the true rate is very
  likely between the two numbers; fewer questions give a wider range. A paired difference (A minus B,
  on the same questions) has its own 95% interval.
* **real**: a difference the test can detect: its paired 95% interval excludes zero *and* the exact
  McNemar test gives p < 0.05. **No detectable difference**: not real at this n, which is not the same
  as "equal".
* **Holm p**: the p-value after Holm's correction for the number of comparisons in the notebook's
  *family*; a verdict rests only on comparisons still real after it (Holm p < 0.05).
* **Status** of a claim: *supported* (real, in the claimed direction), *contradicted* (real, the other
  way), *no detectable difference*, or *exploratory* (shown, never evidence). A claim about one share
  against a limit is supported when its whole 95% interval is on the claimed side.

**Your predictions.** In the full notebook the third argument of each `claims.Claim(...)` is the status
its text relies on, and the cell fails if a run disagrees. Here it is `claims.PREDICT`: nothing is checked.
Before running, write down a status for each claim: "Will it hold?" means "will it be *supported*?"; a
"no difference" claim can at best show *no detectable difference*; an *exploratory* one always shows
*exploratory* (predict its direction only). After running, the **status** column is what this run found;
**seeds agreeing** counts the training seeds whose own result shows the claim (e.g. 3/3)."""

CHECKS_INTRO = """\
## Checks

The checks the full notebook makes along the way, moved here so that they do not give your
predictions away. Run them after you have compared your predictions with the tables. Each message
only names the check's number: a failing check means this run's numbers differ from those the full
notebook was written for; look the check up there."""


# ---------------------------------------------------------------- parsing helpers

def parseable(source: str) -> str:
    """The cell's source with IPython magics and shell lines (``%``, ``!``) blanked, line count kept."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(parseable(source))
    except SyntaxError:
        return None


def _offset(lines: list[str], lineno: int, col_bytes: int) -> int:
    """Character offset in the joined source of (1-based line, UTF-8 byte column), as ``ast`` reports them."""
    line = lines[lineno - 1]
    col = len(line.encode("utf-8")[:col_bytes].decode("utf-8"))
    return sum(len(x) + 1 for x in lines[:lineno - 1]) + col


def _calls(tree: ast.AST, owner: str, name: str) -> list[ast.Call]:
    """Calls of ``owner.name(...)`` in ``tree``; an ``owner`` starting with ``*`` matches any name ending
    in the rest (``*family`` matches ``family`` and ``timing_family``)."""
    def matches(n: str) -> bool:
        return n.endswith(owner[1:]) if owner.startswith("*") else n == owner
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == name and isinstance(n.func.value, ast.Name) and matches(n.func.value.id)]


# ---------------------------------------------------------------- which cells are verdicts and checks

def kind_of_cell(tree: ast.Module | None) -> str | None:
    """``"verdict"`` (calls ``family.check`` (or ``<x>_family.check``) or ``claims.plain_words``),
    ``"check"`` (asserts are at least half of its top-level statements), or None."""
    if tree is None or not tree.body:
        return None
    if _calls(tree, "*family", "check") or _calls(tree, "claims", "plain_words"):
        return "verdict"
    n_asserts = sum(isinstance(n, ast.Assert) for n in ast.walk(tree))
    return "check" if n_asserts and 2 * n_asserts >= len(tree.body) else None


def _pure_statement(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Assert):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name):
        return stmt.value.func.id in {"print", "display"}
    if isinstance(stmt, ast.If):
        return all(map(_pure_statement, stmt.body + stmt.orelse))
    return False


def is_pure_check(tree: ast.Module | None) -> bool:
    """Only asserts, print/display calls and ifs of those: the cell defines nothing."""
    return (tree is not None and bool(tree.body) and all(map(_pure_statement, tree.body))
            and not any(isinstance(n, ast.NamedExpr) for n in ast.walk(tree)))


MUTATING_METHODS = {"append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
                    "add", "discard", "sort", "reverse"}


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _local_names(tree: ast.AST) -> set[int]:
    """ids of the Name nodes that bind a local name: comprehension targets, and plain assignments
    inside a function or lambda (their arguments included). They change nothing outside."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            out.update(id(n) for n in ast.walk(node.target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            body = node.body if isinstance(node.body, list) else [node.body]
            out.update(id(n) for stmt in body for n in ast.walk(stmt)
                       if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return out


def names_changed(tree: ast.Module) -> set[str]:
    """Names a cell binds, deletes or visibly mutates (``x = ...``, ``del x``, ``x.a = ...``,
    ``x[k] = ...``, ``x.append(...)``, def, class, import); a function's or comprehension's own
    local names do not count, a mutation inside a function body does."""
    local = _local_names(tree)
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and id(node) not in local:
            out.add(node.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(_root(node) or "")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.update(node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in MUTATING_METHODS):
            out.add(_root(node.func.value) or "")
    return out


def names_read(tree: ast.Module) -> set[str]:
    """Names a cell reads from the notebook: a comprehension's or lambda's own variables, read inside
    it, left out."""
    local: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            bound = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Lambda):
            bound = {a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs}
        else:
            continue
        local.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in bound)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            and id(n) not in local}


# ---------------------------------------------------------------- prediction questions

def _text(node: ast.AST | None) -> str | None:
    """A string literal's text; an f-string's with each placeholder shown as `expression`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else f"`{ast.unparse(v.value)}`" for v in node.values)
    return None


def _claim_calls(tree: ast.AST, aliases: set[str]) -> list[ast.Call]:
    """``claims.Claim(...)`` calls, and calls of a name bound to it (``C = claims.Claim``)."""
    return _calls(tree, "claims", "Claim") + [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                                              and isinstance(n.func, ast.Name) and n.func.id in aliases]


def _claim_aliases(trees: list[ast.Module]) -> set[str]:
    return {t.id for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Assign)
            and isinstance(n.value, ast.Attribute) and n.value.attr == "Claim" for t in n.targets
            if isinstance(t, ast.Name)}


def _claims_checked(tree: ast.Module, earlier: list[ast.Module]) -> tuple[list[ast.Call], bool]:
    """The Claim calls a verdict cell checks: its own, else those of the lists it passes to
    ``family.check``, followed back through the assignments of this and earlier cells (``verdict =
    [...] + diagnosis``). Also whether the table holds more claims than these calls (a call inside a
    comprehension makes several)."""
    aliases = _claim_aliases([*earlier, tree])
    found = _claim_calls(tree, aliases)
    seen: set[str] = set()
    partial = False         # a list filtered by a comprehension: some of its claims are left out here

    def direct_names(node: ast.AST) -> list[str]:
        """Names in ``node`` outside comprehensions (``[...] + diagnosis``, ``*recall_claims``)."""
        nonlocal partial
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            partial = partial or not _claim_calls(node, aliases)
            return []
        if isinstance(node, ast.Name):
            return [node.id]
        return [n for child in ast.iter_child_nodes(node) for n in direct_names(child)]

    def follow(name: str, depth: int) -> list[ast.Call]:
        if depth > 3 or name in seen:
            return []
        seen.add(name)
        for cell in [tree, *reversed(earlier)]:
            values = [n.value for n in ast.walk(cell) if isinstance(n, ast.Assign)
                      and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
            if values:
                calls = [c for v in values for c in _claim_calls(v, aliases)]
                for v in values:
                    for sub in direct_names(v):
                        calls += follow(sub, depth + 1)
                return calls
        return []

    if not found:
        for call in _calls(tree, "*family", "check"):
            for arg in call.args:
                if isinstance(arg, ast.Name):
                    found += follow(arg.id, 0)
    in_loops = partial or any(isinstance(n, (ast.ListComp, ast.GeneratorExp)) and any(c in found for c in ast.walk(n))
                              for cell in [tree, *earlier] for n in ast.walk(cell))
    return found, in_loops


def _claim_question(call: ast.Call) -> tuple[int, str] | None:
    args = {**dict(zip(("text", "direction", "expected"), call.args[:3], strict=False)),
            **{k.arg: k.value for k in call.keywords if k.arg}}
    text, direction, expected = (_text(args.get(k)) for k in ("text", "direction", "expected"))
    if not text or text.startswith("...") or expected == "exploratory":
        return None
    text = re.sub(r"^\(\d+(, \d+)*\)\s*", "", text).rstrip(". ")
    if direction == "no difference":
        follow = "Or will one side come out ahead, and which?"
    elif "estimate" in args:
        follow = "What value do you expect?"
    else:
        follow = "By how much?"
    rank = 0 if isinstance(args.get("text"), ast.Constant) else 1       # plain sentences before templates
    return rank, f"Will it hold: {text}? {follow}"


def _placeholder_questions(tree: ast.Module) -> list[str]:
    """Questions about the numbers a plain-words box fills in: first those the cell computes itself,
    then other values, then counts (``len(...)``)."""
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    ranked = []
    for call in _calls(tree, "claims", "plain_words"):
        for node in ast.walk(call):
            if not isinstance(node, ast.FormattedValue):
                continue
            expr = ast.unparse(node.value)
            if len(expr) > 60:
                continue
            spec = "".join(v.value for v in getattr(node.format_spec, "values", []) if isinstance(v, ast.Constant))
            what = ("percentage" if spec.endswith("%") else "number" if expr.startswith("len(") or not expr.endswith(")")
                    else "value")
            rank = 2 if expr.startswith("len(") else 0 if _root(node.value) in assigned else 1
            question = f"What {what} will the box show for `{expr}`?"
            if question not in [q for _, q in ranked]:
                ranked.append((rank, question))
    ranked.sort(key=lambda r: r[0])
    return [q for rank, q in ranked if rank < 2] or [q for _, q in ranked]     # counts only when nothing else


def _assert_questions(tree: ast.Module, source: str) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        message = node.msg.value if isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str) else None
        if message and not MESSAGE_POINTER.search(message) and len(message.split()) >= 3:
            out.append(f"Will it hold: {message.rstrip('. ')}?")
            continue
        expr = ast.get_source_segment(parseable(source), node.test) or ""
        if expr and "\n" not in expr and len(expr) <= MAX_EXPRESSION:
            out.append(f"Will `{expr}` be true?")
    return out


def questions_for(tree: ast.Module, source: str, earlier: list[ast.Module]) -> list[str]:
    """One to three concrete questions about the cell's outcome: from the claims it checks, else from
    the numbers its plain-words box fills in, else from its asserts."""
    calls, in_loops = _claims_checked(tree, earlier)
    claim_qs = list(filter(None, map(_claim_question, calls)))
    plain = [q for rank, q in claim_qs if rank == 0]        # templates (f-strings) only when no plain sentence
    questions = (plain or [q for _, q in claim_qs])[:MAX_QUESTIONS]
    if questions and (len(claim_qs) > len(questions) or in_loops):
        questions[-1] += " (The table lists more statements: predict each one's status.)"
    questions += _placeholder_questions(tree)[:MAX_QUESTIONS - len(questions)]
    if not questions:
        questions = _assert_questions(tree, source)[:MAX_QUESTIONS]
    n_asserts = sum(isinstance(n, ast.Assert) for n in ast.walk(tree))
    if not questions and n_asserts:
        questions = [f"This cell checks {n_asserts} statements about the numbers so far. Which do you expect "
                     f"to hold, and which could fail?"]
    return questions or ["What will this cell's verdict be: which statements hold, and by how much?"]


def predict_cell(questions: list[str], moved_checks: list[int]) -> str:
    lines = [f"{PREDICT_HEADER} Write your answers down, then run the next cell.", ""]
    if moved_checks:
        runs: list[list[int]] = []
        for n in moved_checks:          # 3, 4, 5, 9 -> "3-5, 9"
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        numbers = ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)
        lines[0] = (f"{PREDICT_HEADER} Write your answers down; the checks of this step run in the "
                    f"Checks section at the end (check{'s' if len(moved_checks) > 1 else ''} {numbers}).")
    lines += [f"{i}. {q}" for i, q in enumerate(questions, 1)]
    return "\n".join(lines)


# ---------------------------------------------------------------- rewriting code

def neutralize_asserts(source: str, first: int) -> tuple[str, int]:
    """Give every assert the message "check N of this notebook", N counting from ``first``.
    Returns the new source and the next N. Cells that do not parse are returned unchanged."""
    tree = parse(source)
    if tree is None:
        return source, first
    lines = source.split("\n")
    asserts = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Assert)), key=lambda n: (n.lineno, n.col_offset))
    edits = []          # (start, end, replacement), character offsets
    for i, node in enumerate(asserts):
        label = NEUTRAL.format(n=first + i)
        if node.msg is None:        # append at the end of the statement, so that a parenthesised test stays intact
            end = _offset(lines, node.end_lineno, node.end_col_offset)
            edits.append((end, end, f', "{label}"'))
            continue
        start = _offset(lines, node.msg.lineno, node.msg.col_offset)
        end = _offset(lines, node.msg.end_lineno, node.msg.end_col_offset)
        value = ast.get_source_segment(parseable(source), node.msg) or ""
        if isinstance(node.msg, (ast.Constant, ast.JoinedStr)) or not value or any(c in value for c in "\"\\\n{}"):
            new = f'"{label}"'          # prose (it states a result): replaced
        else:
            new = f'f"{label}: {{{value}!r}}"'      # a bare value, for diagnosis: kept
        edits.append((start, end, new))
    text = "\n".join(lines)
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text, first + len(asserts)


def hide_expected(source: str, aliases: set[str]) -> str:
    """Replace each Claim call's expected status with ``claims.PREDICT`` and its ``expected_seeds`` with
    ``None`` (spliced into the original text, like :func:`neutralize_asserts`). Cells that do not parse
    are returned unchanged."""
    tree = parse(source)
    if tree is None:
        return source
    lines = source.split("\n")
    edits = []
    for call in _claim_calls(tree, aliases):
        targets = [(call.args[2], "claims.PREDICT")] if len(call.args) >= 3 else []
        targets += [(k.value, "claims.PREDICT" if k.arg == "expected" else "None") for k in call.keywords
                    if k.arg in ("expected", "expected_seeds")]
        for node, new in targets:
            edits.append((_offset(lines, node.lineno, node.col_offset),
                          _offset(lines, node.end_lineno, node.end_col_offset), new))
    text = "\n".join(lines)
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def remove_pointer_comments(source: str) -> str:
    """Drop comments that point to prose the student copy removes (a comment line goes whole)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(parseable(source)).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    lines = source.split("\n")
    drop, cut = set(), {}
    for tok in tokens:
        if tok.type == tokenize.COMMENT and POINTER.search(tok.string) and not tok.string.startswith("# NBVAL"):
            row, col = tok.start
            if lines[row - 1][:col].strip():
                cut[row - 1] = col
            else:
                drop.add(row - 1)
    for row, col in cut.items():
        lines[row] = lines[row][:col].rstrip()
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def with_scratch_results(source: str) -> str:
    """``source`` with :data:`SCRATCH_RESULTS` in front (after a leading ``# NBVAL_...`` marker line)."""
    first, _, rest = source.partition("\n")
    if first.startswith("# NBVAL"):
        return first + "\n" + SCRATCH_RESULTS + "\n" + rest
    return SCRATCH_RESULTS + "\n" + source


def imports_helpers(tree: ast.Module | None) -> bool:
    return tree is not None and any(
        (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "helpers")
        or (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "helpers" for a in n.names))
        for n in tree.body)


# ---------------------------------------------------------------- the student copy

def _markdown(cell: nbformat.NotebookNode, in_exercises: bool) -> tuple[str, bool]:
    lines = cell.source.splitlines()
    headings = [line.lstrip("#").strip().lower() for line in lines if line.startswith("#")]
    if any(h.startswith("exercises") for h in headings):
        in_exercises = True
    keep_whole = in_exercises or any(h.startswith("the claim") for h in headings)
    text = cell.source if keep_whole else "\n".join(line for line in lines if line.startswith("#"))
    if not keep_whole:      # the claim (06-08 state it in bold, not under a heading), run time and terms
        kept = [p for p in cell.source.split("\n\n") if p.startswith(KEEP_PREFIXES)]
        text = "\n\n".join(part for part in [text, *kept] if part.strip())
    return text, in_exercises


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student variant of one notebook."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    trees = {id(c): parse(c.source) for c in code}
    # assert numbers follow the full notebook's order, wherever a check ends up
    numbers, rewritten, n = {}, {}, 1
    aliases = _claim_aliases([t for t in trees.values() if t is not None])
    for c in code:
        new, after = neutralize_asserts(c.source, n)
        numbers[id(c)], n = list(range(n, after)), after
        rewritten[id(c)] = remove_pointer_comments(hide_expected(new, aliases))

    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    moved: list[nbformat.NotebookNode] = []
    in_exercises, glossary_done, scratch_done = False, False, False
    earlier: list[ast.Module] = []
    for pos, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            text, in_exercises = _markdown(cell, in_exercises)
            if text.strip():
                out.cells.append(nbformat.v4.new_markdown_cell(text, id=cell.get("id")))
            if not glossary_done:
                out.cells.append(nbformat.v4.new_markdown_cell(GLOSSARY, id="student-terms"))
                glossary_done = True
            continue
        tree, source = trees[id(cell)], rewritten[id(cell)]
        if not glossary_done:
            out.cells.append(nbformat.v4.new_markdown_cell(GLOSSARY, id="student-terms"))
            glossary_done = True
        if not scratch_done:
            if imports_helpers(tree):
                source = with_scratch_results(source)
            else:
                out.cells.append(nbformat.v4.new_code_cell(SCRATCH_RESULTS.rstrip("\n"), id="student-results-dir"))
            scratch_done = True
        new_cell = nbformat.v4.new_code_cell(source, id=cell.get("id"))
        kind = kind_of_cell(tree)
        if kind:
            later = [trees[id(c)] for c in nb.cells[pos + 1:] if c.cell_type == "code"]
            movable = (kind == "check" and is_pure_check(tree) and None not in later
                       and not names_read(tree) & set().union(*map(names_changed, later)))
            out.cells.append(nbformat.v4.new_markdown_cell(
                predict_cell(questions_for(tree, cell.source, earlier), numbers[id(cell)] if movable else []),
                id=f"{cell.get('id')}-predict"[:64]))
            if movable:
                moved.append(new_cell)
                new_cell = None
        if new_cell is not None:
            out.cells.append(new_cell)
        if tree is not None:
            earlier.append(tree)
    if moved:
        out.cells.append(nbformat.v4.new_markdown_cell(CHECKS_INTRO, id="student-checks"))
        out.cells.extend(moved)
    parsed = {c.get("id") for c in code if trees[id(c)] is not None}
    for cell in out.cells:      # safety: a rewritten code cell must parse wherever the original did
        if cell.cell_type == "code" and cell.get("id") in parsed and parse(cell.source) is None:
            raise SyntaxError(f"the student rewrite broke cell {cell.get('id')}:\n{cell.source}")
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
