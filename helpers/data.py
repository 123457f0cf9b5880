"""Load and validate the knowledge base in ``data/`` (see ``data/README.md`` for the schemas).

Every loader checks what it reads and raises :class:`DataError` naming the file, the line and the
problem; nothing is silently skipped.

Version 2 of the knowledge base is version 1 with the edits in ``kb_v2/edits.jsonl`` applied, the
documents in ``kb_v2/manifest.json`` retired or added, and the facts changed accordingly.
:func:`load_facts` with ``version=2`` returns the facts as they stand in version 2.
"""
from __future__ import annotations

import functools
import json
import re
import string
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

from . import config

Version = Literal[1, 2]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
# Characters inside numbers that SQuAD's normalization would delete: a leading minus sign ("-3 °C"),
# a decimal point ("4.9") and a clock colon ("13:00"). Deleting them makes "-3 °C" equal "3 °C" and
# "4.9" equal "49", so they are kept (swapped for placeholders while punctuation is stripped).
_MINUS = re.compile(r"(?<![\w.])[-\u2212](?=\d)")
_INNER = re.compile(r"(?<=\d)([.:])(?=\d)")
_KEEP = {"\x00": "-", "\x01": ".", "\x02": ":"}
# A dash between two digits ("3-5 days", "10–12"): a range, two numbers (see _range_dash).
_BETWEEN_DIGITS = re.compile(r"(?<=\d)([^\w\s])(?=\d)")
# A degree sign glued to its number or letter ("-3°C", "-3 ° C"): written "-3 °c".
_DEGREE = re.compile(r"(?<=\d)\s*°(?:\s*([cf])\b)?")
# Trailing zeros of a decimal ("4.90", "€9.50", "10.0"), on the placeholder text; not inside a
# dotted sequence ("1.2.30") and not glued to letters ("v4.10").
_TRAILING_ZEROS = re.compile(r"(?<![\w\x01\x02])(\d+)\x01(\d*?)0+(?![\w\x01\x02])")


def _is_punctuation(ch: str) -> bool:
    """ASCII punctuation (SQuAD's ``string.punctuation``, which includes symbols such as ``$``) or any
    Unicode punctuation character (category P*: curly quotes, dashes, guillemets, ...)."""
    return ch in _PUNCT or (ch > "\x7f" and unicodedata.category(ch).startswith("P"))


def _range_dash(match: re.Match[str]) -> str:
    """A dash (Unicode category Pd, or the minus sign) between two digits separates a range's two
    numbers: it becomes a space, so that "3-5" is "3 5", never "35"; any other character is kept."""
    ch = match.group(1)
    return " " if ch == "\u2212" or unicodedata.category(ch) == "Pd" else ch


def normalize_text(text: str, articles: bool = False) -> str:
    """SQuAD v1.1 normalization (lower case, no punctuation, no English articles, single spaces),
    made safe for numbers and for text copied from real documents.

    The rules, in order:

    1. Unicode NFKC: compatibility forms become their plain forms (the ligature "ﬁ" is "fi",
       full-width "４０" is "40", "℃" is "°C", a no-break space is a space); then lower case.
    2. A degree sign is a token of its own, glued to its scale letter: "-3°C", "-3 ° C" and "-3 °C"
       all read "-3 °c".
    3. A leading minus sign ("-" or U+2212 before a digit, not after a letter, digit or point) is
       kept: "-3 °C" is not "3 °C".
    4. A dash between two digits ("3-5 days", "10–12 days", "€3-89") separates two numbers: it
       becomes a space, so a range never reads as one number ("35", "€389").
    5. A decimal point or a clock colon between digits is kept ("4.9", "13:00"), and a decimal's
       trailing zeros are dropped ("4.90" is "4.9", "€9.50" is "€9.5", "10.0" is "10"; "4.09" stays).
       A version number written "4.10" thus reads as "4.1" (no answer in the data is written so).
    6. Punctuation is deleted (SQuAD: "1,200" is "1200", "co-op" is "coop"): ASCII punctuation and
       every Unicode punctuation character (category P*), so curly apostrophes, quotes and dashes
       behave like their ASCII forms. Symbols such as "€" and "°" stay.
    7. English articles are removed, unless ``articles=True`` (grading keeps them for answers such as
       "a year" that would otherwise shrink to a generic word); whitespace is collapsed.

    Used to grade answers (``helpers.grading``) and to compare questions (leakage checks).
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DEGREE.sub(lambda m: " °" + (m.group(1) or ""), text)
    text = _MINUS.sub("\x00", text)
    text = _BETWEEN_DIGITS.sub(_range_dash, text)
    text = _INNER.sub(lambda m: "\x01" if m.group(1) == "." else "\x02", text)
    text = _TRAILING_ZEROS.sub(lambda m: m.group(1) + ("\x01" + m.group(2) if m.group(2) else ""), text)
    text = "".join(ch for ch in text if not _is_punctuation(ch))
    if not articles:
        text = _ARTICLES.sub(" ", text)
    for placeholder, char in _KEEP.items():
        text = text.replace(placeholder, char)
    return " ".join(text.split())


class DataError(ValueError):
    """A problem in a data file; the message starts with ``file:line:`` where a line applies."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Document:
    """One Markdown document of the knowledge base."""

    doc_id: str   # file name without ``.md``
    title: str    # the first ``# `` heading
    text: str     # the whole file, heading included


@dataclass(frozen=True)
class Fact:
    """One atomic fact: the source of truth that questions are graded against."""

    id: str
    doc: str                      # document where the answer is written
    docs: tuple[str, ...]         # every document needed to answer (two for multi-hop facts)
    answer: str
    aliases: tuple[str, ...]
    question: str                 # the training wording
    heldout: tuple[str, ...]      # paraphrases that never appear in any training file
    bridge: str | None = None     # two-document facts: the term linking the documents
    rivals: tuple[str, ...] = ()  # values a confused answer would give instead (see data/README.md)
    same_as: str | None = None    # the fact this one asks again: same value from the same document

    @property
    def answers(self) -> tuple[str, ...]:
        """The answer followed by its accepted aliases."""
        return (self.answer, *self.aliases)

    @property
    def multi_hop(self) -> bool:
        return len(self.docs) > 1


@dataclass(frozen=True)
class Question:
    """A question put to a system, with what counts as a right answer."""

    qid: str                      # e.g. ``F034/train`` or ``F034/h1``
    text: str
    answers: tuple[str, ...]      # empty for unanswerable questions
    fact_id: str | None = None
    doc_ids: tuple[str, ...] = ()
    kind: str = "heldout"         # ``train``, ``heldout``, ``general``, ``unanswerable`` or ``false premise``
    rivals: tuple[str, ...] = ()  # values of *other* facts that, stated beside the answer, make it a hedge


@dataclass(frozen=True)
class Unanswerable:
    """A question that sounds like the domain but whose answer is in no document."""

    id: str
    question: str
    absent: tuple[str, ...]       # terms that must occur in no document (checked by the tests)


@dataclass(frozen=True)
class FalsePremise:
    """A question whose premise the knowledge base contradicts (data/false_premise.jsonl)."""

    id: str
    question: str
    doc: str                      # the document that contradicts the premise
    why: str                      # what that document says instead


@dataclass(frozen=True)
class Unknowable:
    """A question no document and no model can answer: about the person asking, the future, or nothing
    at all (data/unknowable.jsonl; notebook 04's condition the base model declines)."""

    id: str
    question: str
    about: str                    # one of UNKNOWABLE_ABOUT
    split: str                    # ``pilot`` (chose the kind of question; never evaluated) or ``test``


@dataclass(frozen=True)
class LabelledReply:
    """A real model reply labelled by hand: does it abstain? (data/abstention_labelled.jsonl)."""

    id: str
    source: str
    question: str
    reply: str
    abstains: bool
    why: str
    split: str                    # ``dev`` (the detector was written on it) or ``test``


@dataclass(frozen=True)
class StylePair:
    """A question answered in the house style (see data/README.md)."""

    id: str
    split: str                    # ``train`` or ``test``
    question: str
    answer: str


@dataclass(frozen=True)
class GeneralItem:
    """A general-knowledge question a small pretrained model may already answer (data/general.jsonl)."""

    id: str
    question: str
    answer: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FactChange:
    id: str
    answer: str
    aliases: tuple[str, ...]
    was: str                      # the version-1 answer


@dataclass(frozen=True)
class Edit:
    """One text edit that turns a version-1 document into its version-2 form."""

    doc: str
    old: str
    new: str
    facts: tuple[FactChange, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------
# reading files


def _require_dir(path: Path) -> Path:
    if not path.is_dir():
        raise DataError(path, "folder not found (set RAGFT_DATA_DIR or run from the repository)")
    return path


def read_jsonl(path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each non-blank line of a JSONL file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    for number, raw_bytes in enumerate(path.read_bytes().split(b"\n"), start=1):
        try:   # a byte-order mark (Windows Notepad) is allowed on the first line
            raw = raw_bytes.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(path, f"not UTF-8 text (byte 0x{raw_bytes[exc.start]:02x}); save the file as UTF-8",
                            number) from None
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", number) from None
        if not isinstance(record, dict):
            raise DataError(path, f"expected a JSON object, got {type(record).__name__}", number)
        yield number, record


def _field(record: dict[str, Any], name: str, kind: type, path: Path, line: int) -> Any:
    if name not in record:
        raise DataError(path, f"missing field {name!r}", line)
    value = record[name]
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise DataError(path, f"field {name!r} must be a non-empty string, got {value!r}", line)
    elif kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise DataError(path, f"field {name!r} must be a list of non-empty strings", line)
        return tuple(value)
    elif kind is bool:
        if not isinstance(value, bool):
            raise DataError(path, f"field {name!r} must be true or false, got {value!r}", line)
    return value


def _check_keys(record: dict[str, Any], allowed: set[str], path: Path, line: int) -> None:
    """Refuse unknown keys: a typo such as ``aliasses`` would otherwise drop data silently."""
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise DataError(path, f"unknown key(s) {unknown}; expected only {sorted(allowed)}", line)


FACT_KEYS = {"id", "doc", "docs", "bridge", "rivals", "answer", "aliases", "question", "heldout", "same_as"}


def _parse_fact(record: dict[str, Any], path: Path, line: int) -> Fact:
    _check_keys(record, FACT_KEYS, path, line)
    fact = Fact(
        id=_field(record, "id", str, path, line),
        doc=_field(record, "doc", str, path, line),
        docs=_field(record, "docs", list, path, line) if "docs" in record else (),
        answer=_field(record, "answer", str, path, line),
        aliases=_field(record, "aliases", list, path, line) if "aliases" in record else (),
        question=_field(record, "question", str, path, line),
        heldout=_field(record, "heldout", list, path, line),
        bridge=_field(record, "bridge", str, path, line) if "bridge" in record else None,
        rivals=_field(record, "rivals", list, path, line) if "rivals" in record else (),
        same_as=_field(record, "same_as", str, path, line) if "same_as" in record else None,
    )
    if fact.same_as == fact.id:
        raise DataError(path, f"fact {fact.id}: same_as names the fact itself", line)
    if not fact.docs:
        fact = replace(fact, docs=(fact.doc,))
    if fact.doc not in fact.docs:
        raise DataError(path, f"fact {fact.id}: 'doc' {fact.doc!r} is not among 'docs' {list(fact.docs)}", line)
    if len(fact.heldout) < 2:
        raise DataError(path, f"fact {fact.id}: needs at least two held-out questions", line)
    return fact


def _read_facts(path: Path) -> list[Fact]:
    """The facts of one file, each checked; ``same_as`` must name a fact of the same file that is not
    itself a twin and has the same ``doc`` and ``answer``."""
    facts: list[Fact] = []
    seen: dict[str, int] = {}
    for line, record in read_jsonl(path):
        fact = _parse_fact(record, path, line)
        if fact.id in seen:
            raise DataError(path, f"fact id {fact.id} repeats the one on line {seen[fact.id]}", line)
        seen[fact.id] = line
        facts.append(fact)
    if not facts:
        raise DataError(path, "no facts in file")
    by_id = {f.id: f for f in facts}
    for fact in facts:
        if fact.same_as is None:
            continue
        twin = by_id.get(fact.same_as)
        if twin is None:
            raise DataError(path, f"fact {fact.id}: same_as {fact.same_as!r} names no fact of this file", seen[fact.id])
        if twin.same_as is not None:
            raise DataError(path, f"fact {fact.id}: same_as {twin.id!r} is itself a twin (of {twin.same_as}); "
                                  f"name {twin.same_as} instead", seen[fact.id])
        if (twin.doc, twin.answer) != (fact.doc, fact.answer):
            raise DataError(path, f"fact {fact.id}: same_as {twin.id!r} asks for another value or document "
                                  f"({twin.answer!r} in {twin.doc}, not {fact.answer!r} in {fact.doc})", seen[fact.id])
    return facts


def fact_clusters(root: Path | None = None) -> dict[str, str]:
    """``fact id -> cluster id`` for every fact of the knowledge base (``facts.jsonl`` and
    ``kb_v2/new_facts.jsonl``): a fact with ``same_as`` maps to the fact it repeats, every other fact to
    itself. The paired bootstrap (:func:`helpers.statistics.paired_values`) resamples a cluster as one
    unit. Read once per data folder and file version (cached on the files' size and modification time).
    """
    root = (root or config.data_dir()).resolve()
    paths = tuple(p for p in (root / "facts.jsonl", root / "kb_v2" / "new_facts.jsonl") if p.is_file())
    if not paths:
        raise DataError(root / "facts.jsonl", "file not found")
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    return dict(_fact_clusters_cached(stamp))


@functools.lru_cache(maxsize=4)
def _fact_clusters_cached(stamp: tuple[tuple[str, int, int], ...]) -> dict[str, str]:
    return {f.id: f.same_as or f.id for path, _, _ in stamp for f in _read_facts(Path(path))}


# --------------------------------------------------------------------------------------------
# public loaders


def docs_dir(version: Version = 1, root: Path | None = None) -> Path:
    """Folder of the Markdown documents of a knowledge-base version."""
    if version not in (1, 2):
        raise ValueError(f"unknown knowledge-base version {version!r}: expected 1 or 2")
    return (root or config.data_dir()) / f"kb_v{version}" / "docs"


def read_document(path: Path) -> Document:
    """One Markdown document: its id is the file name without ``.md``, its title the ``# `` heading
    that must open it."""
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise DataError(path, "document is empty", 1)
    first = text.lstrip().splitlines()[0]
    if not first.startswith("# "):
        raise DataError(path, "document must start with a '# Title' heading", 1)
    return Document(doc_id=path.stem, title=first[2:].strip(), text=text)


def load_corpus(version: Version = 1, root: Path | None = None) -> list[Document]:
    """All documents of a knowledge-base version, sorted by id."""
    folder = _require_dir(docs_dir(version, root))
    docs = [read_document(path) for path in sorted(folder.glob("*.md"))]
    if not docs:
        raise DataError(folder, "empty corpus: no .md documents in this folder")
    return docs


def load_manifest(root: Path | None = None) -> dict[str, list[str]]:
    """``{"retired_docs": [...], "added_docs": [...]}`` for version 2."""
    path = (root or config.data_dir()) / "kb_v2" / "manifest.json"
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON ({exc.msg})", exc.lineno) from None
    for key in ("retired_docs", "added_docs"):
        if not isinstance(manifest.get(key), list):
            raise DataError(path, f"missing list {key!r}")
    return manifest


def load_edits(root: Path | None = None) -> list[Edit]:
    """The version-2 edits, each with the facts it changes."""
    path = (root or config.data_dir()) / "kb_v2" / "edits.jsonl"
    edits = []
    for line, record in read_jsonl(path):
        _check_keys(record, {"doc", "old", "new", "facts"}, path, line)
        changes = []
        for item in record.get("facts", []):
            if not isinstance(item, dict):
                raise DataError(path, "each entry of 'facts' must be an object", line)
            _check_keys(item, {"id", "answer", "aliases", "was"}, path, line)
            changes.append(FactChange(
                id=_field(item, "id", str, path, line), answer=_field(item, "answer", str, path, line),
                aliases=_field(item, "aliases", list, path, line), was=_field(item, "was", str, path, line)))
        edits.append(Edit(doc=_field(record, "doc", str, path, line), old=_field(record, "old", str, path, line),
                          new=_field(record, "new", str, path, line), facts=tuple(changes)))
    return edits


def load_facts(version: Version = 1, root: Path | None = None) -> list[Fact]:
    """The facts of a knowledge-base version.

    Version 2: facts changed by an edit carry their new answer; facts whose documents were retired
    are dropped; facts of added documents (``kb_v2/new_facts.jsonl``) are appended.
    """
    root = root or config.data_dir()
    _require_dir(root)
    facts = _read_facts(root / "facts.jsonl")
    if version == 1:
        return facts
    if version != 2:
        raise ValueError(f"unknown knowledge-base version {version!r}: expected 1 or 2")
    changes = {c.id: c for e in load_edits(root) for c in e.facts}
    retired = set(load_manifest(root)["retired_docs"])
    out = []
    for fact in facts:
        if retired.intersection(fact.docs):
            continue
        change = changes.get(fact.id)
        out.append(replace(fact, answer=change.answer, aliases=change.aliases) if change else fact)
    return out + _read_facts(root / "kb_v2" / "new_facts.jsonl")


def changed_facts(root: Path | None = None) -> dict[str, FactChange]:
    """``fact id -> change`` for every fact whose answer differs between version 1 and 2."""
    return {c.id: c for e in load_edits(root) for c in e.facts}


def apply_edits(docs: dict[str, str], edits: list[Edit]) -> dict[str, str]:
    """Apply text edits to ``{doc_id: text}``; each ``old`` must occur exactly once."""
    out = dict(docs)
    for edit in edits:
        if edit.doc not in out:
            raise KeyError(f"edit names unknown document {edit.doc!r}")
        count = out[edit.doc].count(edit.old)
        if count != 1:
            raise ValueError(f"edit for {edit.doc!r}: text to replace occurs {count} times, expected once: {edit.old[:60]!r}")
        out[edit.doc] = out[edit.doc].replace(edit.old, edit.new)
    return out


UNANSWERABLE_FILES = {"test": "unanswerable.jsonl", "train": "unanswerable_train.jsonl"}


def load_unanswerable(root: Path | None = None, split: str = "test") -> list[Unanswerable]:
    """Questions whose answers are in no document.

    ``split="test"`` (the default) is the evaluation set, ``unanswerable.jsonl``; ``split="train"`` is
    a separate set, ``unanswerable_train.jsonl``, for training a model to say "I don't know" and for
    choosing thresholds; the data tests keep it free of near-copies of any evaluation question.
    """
    if split not in UNANSWERABLE_FILES:
        raise ValueError(f"split must be one of {sorted(UNANSWERABLE_FILES)}, got {split!r}")
    path = (root or config.data_dir()) / UNANSWERABLE_FILES[split]
    records = list(read_jsonl(path))
    for n, r in records:
        _check_keys(r, {"id", "question", "absent"}, path, n)
    return [Unanswerable(id=_field(r, "id", str, path, n), question=_field(r, "question", str, path, n),
                         absent=tuple(_field(r, "absent", list, path, n))) for n, r in records]


UNKNOWABLE_ABOUT = ("the asker", "the future", "nothing (nonsense)", "the company, unrecorded")


def load_unknowable(root: Path | None = None, split: str = "test") -> list[Unknowable]:
    """Questions nobody but the asker could answer, or nobody at all (``data/unknowable.jsonl``).

    ``split="pilot"``: 20 questions of four kinds, answered by the base model only, to find a kind it
    declines; ``split="test"``: 40 questions of the kind the pilot chose (about the asker), evaluated.
    """
    if split not in ("pilot", "test"):
        raise ValueError(f"split must be 'pilot' or 'test', got {split!r}")
    path = (root or config.data_dir()) / "unknowable.jsonl"
    items = []
    for n, r in read_jsonl(path):
        _check_keys(r, {"id", "question", "about", "split"}, path, n)
        item = Unknowable(**{k: _field(r, k, str, path, n) for k in ("id", "question", "about", "split")})
        if item.about not in UNKNOWABLE_ABOUT:
            raise DataError(path, f"'about' must be one of {UNKNOWABLE_ABOUT}, got {item.about!r}", n)
        if item.split not in ("pilot", "test"):
            raise DataError(path, f"'split' must be 'pilot' or 'test', got {item.split!r}", n)
        items.append(item)
    return [item for item in items if item.split == split]


def load_false_premise(root: Path | None = None) -> list[FalsePremise]:
    """Questions whose premise a document contradicts ("the Wi-Fi range of the S2": it has no Wi-Fi)."""
    path = (root or config.data_dir()) / "false_premise.jsonl"
    items = []
    for n, r in read_jsonl(path):
        _check_keys(r, {"id", "question", "doc", "why"}, path, n)
        items.append(FalsePremise(**{k: _field(r, k, str, path, n) for k in ("id", "question", "doc", "why")}))
    return items


def load_abstention_labelled(root: Path | None = None) -> list[LabelledReply]:
    """Real replies labelled by hand as abstaining or not: the detector's test set (see
    ``tests/test_abstention.py`` for the labelling rules and how the file was built)."""
    path = (root or config.data_dir()) / "abstention_labelled.jsonl"
    replies = []
    for n, r in read_jsonl(path):
        _check_keys(r, {"id", "source", "question", "reply", "abstains", "why", "split"}, path, n)
        if not isinstance(r.get("reply"), str):          # may be empty: an empty reply is labelled too
            raise DataError(path, f"field 'reply' must be a string, got {r.get('reply')!r}", n)
        reply = LabelledReply(**{k: _field(r, k, str, path, n) for k in ("id", "source", "question", "why", "split")},
                              reply=r["reply"], abstains=_field(r, "abstains", bool, path, n))
        if reply.split not in {"dev", "test"}:
            raise DataError(path, f"split must be 'dev' or 'test', got {reply.split!r}", n)
        replies.append(reply)
    return replies


def load_style(split: str | None = None, root: Path | None = None) -> list[StylePair]:
    """House-style question/answer pairs, optionally one split (``train`` or ``test``)."""
    path = (root or config.data_dir()) / "style.jsonl"
    pairs = []
    for n, r in read_jsonl(path):
        _check_keys(r, {"id", "split", "question", "answer"}, path, n)
        pair = StylePair(id=_field(r, "id", str, path, n), split=_field(r, "split", str, path, n),
                         question=_field(r, "question", str, path, n), answer=_field(r, "answer", str, path, n))
        if pair.split not in {"train", "test"}:
            raise DataError(path, f"split must be 'train' or 'test', got {pair.split!r}", n)
        pairs.append(pair)
    return [p for p in pairs if split is None or p.split == split]


def load_general(root: Path | None = None) -> list[GeneralItem]:
    """General-knowledge questions (capitals, planets, ...): a control for what a model already knew
    before fine-tuning, so that forgetting can be measured. Duplicate ids are an error."""
    return _load_general((root or config.data_dir()) / "general.jsonl")


def load_general_train(root: Path | None = None) -> list[GeneralItem]:
    """Candidate *training* facts of general knowledge (``general_train.jsonl``, other facts than
    ``general.jsonl``'s): notebook 04's known-facts control trains on those the base model already
    answers right (:func:`helpers.hallucination.known_pairs`). Never evaluated."""
    return _load_general((root or config.data_dir()) / "general_train.jsonl")


def _load_general(path: Path) -> list[GeneralItem]:
    items: list[GeneralItem] = []
    seen: set[str] = set()
    for n, r in read_jsonl(path):
        _check_keys(r, {"id", "question", "answer", "aliases"}, path, n)
        aliases = _field(r, "aliases", list, path, n) if r.get("aliases") else ()
        item = GeneralItem(id=_field(r, "id", str, path, n), question=_field(r, "question", str, path, n),
                           answer=_field(r, "answer", str, path, n), aliases=aliases)
        if item.id in seen:
            raise DataError(path, f"duplicate id {item.id!r}", n)
        seen.add(item.id)
        items.append(item)
    if not items:
        raise DataError(path, "no questions in the file")
    return items


# --------------------------------------------------------------------------------------------
# questions


_NUMBER_WORDS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|"
                           r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)\b", re.I)
# month and weekday names, capitalised (a lower-case "may" is a verb)
_CALENDAR = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|December|"
                       r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
_ASKS_WHO = re.compile(r"\bwho(m)?\b", re.I)
_ASKS_WHERE = re.compile(r"\bwhere\b|\b(which|what)\s+(\w+\s+)?(town|city|village|valley|street|place|country|region|"
                         r"farm|estate|college|venue)\b", re.I)
ANSWER_KINDS = ("number", "date", "person", "place", "name", "text")


def answer_kind(answer: str, questions: Sequence[str] = ()) -> str:
    """What kind of value an answer is, one of :data:`ANSWER_KINDS`; rivals are values of the same kind.

    In this order:

    * ``number``: digits or number words ("21 days", "eleven", "Skylark S1");
    * ``date``: a month or weekday name, capitalised ("November", "October to April", "second
      Saturday of June", "first Friday of each month");
    * ``person``: a capitalised answer to a question that asks *who* ("Who is the CEO?", "led by
      whom?"). The organisations such a question asks for ("Who ships parcels?") count as persons:
      they answer the same question;
    * ``place``: a capitalised answer to a question that asks *where* or for a town, city, valley,
      street, farm, ... ("In which town...?");
    * ``name``: any other capitalised answer (products, formats, titles, mottos);
    * ``text``: the rest ("bees", "senior engineer").

    ``questions``: the fact's questions (training and held-out wordings); without them no answer is
    a person or a place.
    """
    if re.search(r"\d", answer) or _NUMBER_WORDS.search(answer):
        return "number"
    if _CALENDAR.search(answer):
        return "date"
    if not answer[:1].isupper():
        return "text"
    if any(_ASKS_WHO.search(q) for q in questions):
        return "person"
    if any(_ASKS_WHERE.search(q) for q in questions):
        return "place"
    return "name"


def _fact_kind(fact: Fact) -> str:
    """:func:`answer_kind` of a fact's answer, read with all its questions."""
    return answer_kind(fact.answer, (fact.question, *fact.heldout))


def rival_answers(fact: Fact, pool: Sequence[Fact]) -> tuple[str, ...]:
    """Values that compete with ``fact``'s answer:

    * its listed ``rivals`` (two-document facts, data/README.md), and the answer and aliases of any
      fact of ``pool`` whose answer or alias is one of them;
    * the answers *and aliases* of other facts written in one of its documents whose answer is of the
      same kind (:func:`answer_kind`: a person competes with persons, a place with places, a date with
      dates, not with each other). Numbers compete through a general rule instead
      (:func:`helpers.grading.competing_value`), so a number fact gets only its listed rivals.

    An answer that states one of these beside the right value is hedging, not answering
    (``helpers.grading`` then withholds lenient credit): "Ferrand (or Marchetti)" hedges when
    Marchetti is the alias of a rival's answer. Values that occur in one of the fact's own questions,
    or overlap an accepted answer, are left out: repeating the question is not a hedge.
    """
    own = [normalize_text(a) for a in fact.answers]
    asked = " ".join(normalize_text(q) for q in (fact.question, *fact.heldout))
    listed = {normalize_text(r) for r in fact.rivals}
    kind = _fact_kind(fact)
    out: list[str] = list(fact.rivals)
    for other in pool:
        if other.id == fact.id:
            continue
        if listed & {normalize_text(a) for a in other.answers}:
            out += other.answers
        elif kind != "number" and set(other.docs) & set(fact.docs) and _fact_kind(other) == kind:
            out += other.answers
    keep = []
    for value in dict.fromkeys(out):
        v = normalize_text(value)
        if v and v not in asked and not any(v in a or a in v for a in own):
            keep.append(value)
    return tuple(keep)


def fact_questions(facts: Sequence[Fact], which: str = "heldout", pool: Sequence[Fact] | None = None) -> list[Question]:
    """Turn facts into questions.

    ``which``: ``"train"`` (the training wording), ``"heldout"`` (every paraphrase), or
    ``"h1"`` / ``"h2"`` (only the first / second paraphrase; ``h0`` or an index past the last
    paraphrase is an error). ``pool``: the facts whose answers count as rivals (default: ``facts``
    themselves; pass the whole knowledge base when ``facts`` is a sample).
    """
    pool = list(facts) if pool is None else list(pool)
    out: list[Question] = []
    for fact in facts:
        if which == "train":
            texts = [("train", fact.question)]
        elif which == "heldout":
            texts = [(f"h{i}", q) for i, q in enumerate(fact.heldout, start=1)]
        elif re.fullmatch(r"h\d+", which):
            i = int(which[1:])
            if not 1 <= i <= len(fact.heldout):
                raise ValueError(f"which={which!r}: fact {fact.id} has paraphrases h1..h{len(fact.heldout)}")
            texts = [(which, fact.heldout[i - 1])]
        else:
            raise ValueError(f"which={which!r}: expected 'train', 'heldout', 'h1', 'h2', ...")
        rivals = rival_answers(fact, pool)
        out += [Question(qid=f"{fact.id}/{tag}", text=text, answers=fact.answers, fact_id=fact.id,
                         doc_ids=fact.docs, kind="train" if tag == "train" else "heldout", rivals=rivals)
                for tag, text in texts]
    return out


UNANSWERABLE_KINDS = ("unanswerable", "false premise")


def unanswerable_questions(items: Sequence[Unanswerable | FalsePremise | Unknowable]) -> list[Question]:
    """Unanswerable items as questions with no accepted answer: ``kind="unanswerable"`` (an
    :class:`Unknowable` too), or ``"false premise"`` for a :class:`FalsePremise` (listed in
    :data:`UNANSWERABLE_KINDS`)."""
    return [Question(qid=u.id, text=u.question, answers=(),
                     kind="false premise" if isinstance(u, FalsePremise) else "unanswerable") for u in items]


def general_questions(items: Sequence[GeneralItem]) -> list[Question]:
    """General-knowledge items as questions (``kind="general"``, no source document)."""
    return [Question(qid=f"{g.id}/q", text=g.question, answers=(g.answer, *g.aliases), fact_id=g.id,
                     kind="general") for g in items]


@dataclass(frozen=True)
class DocumentSplit:
    """Facts split by document: ``inside`` facts live only in ``train_docs`` (what a fine-tuning run
    may read), ``outside`` facts share no document with them (knowledge the model was never handed)."""

    train_docs: tuple[str, ...]
    inside: tuple[Fact, ...]
    outside: tuple[Fact, ...]


def document_split(facts: Sequence[Fact], docs: Sequence[Document], min_inside: int, n_outside: int,
                   seed: int = 0) -> DocumentSplit:
    """Shuffle the documents with ``seed`` and take them in that order until at least ``min_inside``
    facts have every source document taken; then sample ``n_outside`` facts none of whose documents
    was taken. Splitting by document (not by fact) keeps a raw-text (LM) adapter, which reads whole
    documents, from ever seeing an outside fact. Raises ``ValueError`` when either side cannot be filled.
    """
    import random

    order = [d.doc_id for d in docs]      # corpus order, so the split depends only on the seed
    known = set(order)
    unknown = sorted({d for f in facts for d in f.docs} - known)
    if unknown:
        raise ValueError(f"facts cite documents that are not in the corpus: {', '.join(unknown)}")
    taken: list[str] = []
    for doc_id in random.Random(seed).sample(order, len(order)):
        taken.append(doc_id)
        if sum(set(f.docs) <= set(taken) for f in facts) >= min_inside:
            break
    else:
        raise ValueError(f"the corpus holds fewer than min_inside={min_inside} facts")
    inside = [f for f in facts if set(f.docs) <= set(taken)]
    candidates = [f for f in facts if not set(f.docs) & set(taken)]
    if len(candidates) < n_outside:
        raise ValueError(f"only {len(candidates)} facts lie outside the training documents; asked for {n_outside}")
    outside = random.Random(seed).sample(candidates, n_outside)
    return DocumentSplit(tuple(taken), tuple(inside), tuple(outside))
