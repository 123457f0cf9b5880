"""Read *your own* documents and question files for ``python -m helpers.compare``.

A documents folder holds ``.md``, ``.txt`` and ``.pdf`` files (subfolders included). Each becomes a
:class:`helpers.data.Document` whose id is its path relative to the folder (``guides/setup.md``)
and whose title is its first Markdown heading, else its first line if short, else its file name.
PDF text comes from ``pypdf`` (pure Python); a PDF with no extractable text (a scan) is an error
naming the file, so nothing is silently left out of the index.

Question files are JSON Lines, checked line by line like the knowledge base (:mod:`helpers.data`):

* evaluation: ``{"question": "...", "answers": ["...", ...], "id": "optional", "doc": "optional"}``
* training:   ``{"question": "...", "answer": "..."}``

Every problem raises :class:`helpers.data.DataError` naming the file, the line and what is wrong.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .data import DataError, Document, Question, normalize_text, read_jsonl

SUFFIXES = (".md", ".txt", ".pdf")
QUESTION_KEYS = {"id", "question", "answers", "doc"}
TRAINING_KEYS = {"question", "answer"}
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


@dataclass(frozen=True)
class Skipped:
    """A file in the documents folder that is not read (its type is not supported)."""

    path: Path
    reason: str


def pdf_text(path: Path) -> str:
    """The text of a PDF's pages (NFKC, hyphenated line breaks joined); :class:`DataError` naming
    the file for an encrypted, unreadable or text-less (scanned) PDF. Shared with
    :mod:`helpers.documents`."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError:
        raise DataError(path, "the PDF is password-protected; save an unprotected copy") from None
    except Exception as exc:   # pypdf raises many kinds (PdfReadError, ParseError, DependencyError...)
        raise DataError(path, f"cannot read this PDF ({type(exc).__name__}: {exc})") from None
    # NFKC turns ligatures ("\ufb01" -> "fi") into letters; words split across lines are joined
    text = unicodedata.normalize("NFKC", "\n\n".join(p.strip() for p in pages if p.strip()))
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    if not text.strip():
        raise DataError(path, "the PDF has no extractable text (a scanned image?); "
                              "convert it to text (OCR) or remove it from the folder")
    return text


def plain_text(path: Path) -> str:
    """A UTF-8 text file's contents; :class:`DataError` naming the file (and the byte) for UTF-16,
    binary, non-UTF-8 or empty files. Shared with :mod:`helpers.documents`."""
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(path, "UTF-16 text; save it as UTF-8")
    if b"\x00" in raw[:4096]:
        raise DataError(path, "not a text file (it contains NUL bytes); remove it or convert it to .txt")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                              "save it as UTF-8") from None
    if not text.strip():
        raise DataError(path, "the file is empty")
    if not "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")).strip():
        raise DataError(path, "the file holds only headings, no text to retrieve")
    return text


def title_of(text: str, path: Path) -> str:
    """The first Markdown heading; else a short first line; else the file name without suffix."""
    match = _HEADING.search(text)
    if match:
        return match.group(1).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first and len(first) <= 80 and not first.endswith("."):
        return first
    return path.stem.replace("-", " ").replace("_", " ")


def supported_files(folder: Path | str, suffixes: Sequence[str]) -> tuple[list[tuple[Path, Path]], list[Skipped]]:
    """The files under ``folder`` (subfolders included, hidden files and folders ignored), sorted by path:
    ``(path, path inside folder)`` for those whose suffix is in ``suffixes``, and a :class:`Skipped` for
    every other file. Raises :class:`DataError` when ``folder`` is not a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "documents folder not found")
    files: list[tuple[Path, Path]] = []
    skipped: list[Skipped] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        suffix = path.suffix.lower()
        if suffix in suffixes:
            files.append((path, rel))
        else:
            skipped.append(Skipped(path, f"unsupported type {suffix or '(none)'}; expected {', '.join(suffixes)}"))
    return files, skipped


def read_folder(folder: Path | str) -> tuple[list[Document], list[Skipped]]:
    """Every ``.md``, ``.txt`` and ``.pdf`` file under ``folder`` as a document, sorted by path, and
    the files that were not read (other types; hidden files are ignored).

    Raises :class:`DataError` for a missing folder, a folder with no readable document, a file that
    is not UTF-8 text, or a PDF without extractable text.
    """
    docs: list[Document] = []
    files, skipped = supported_files(folder, SUFFIXES)
    for path, rel in files:
        suffix = path.suffix.lower()
        text = pdf_text(path) if suffix == ".pdf" else plain_text(path)
        # a PDF's first line is often a running header or a page number: its title is the file name
        title = title_of(text, path) if suffix != ".pdf" else path.stem.replace("-", " ").replace("_", " ")
        docs.append(Document(doc_id=rel.as_posix(), title=title, text=text))
    if not docs:
        raise DataError(folder, f"no {', '.join(SUFFIXES)} files in the documents folder")
    return docs, skipped


def _doc_id(name: str, docs: Sequence[Document], path: Path, line: int) -> str:
    """Match a question's ``doc`` to a document: its relative path, or a file name / stem that is unique."""
    ids = [d.doc_id for d in docs]
    name = name.replace("\\", "/")          # Windows-style paths
    if name in ids:
        return name
    matches = [i for i in ids if name.lower() in (i.lower(), Path(i).name.lower(), Path(i).stem.lower())]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise DataError(path, f"doc {name!r} matches several files: {', '.join(matches)}; give the path", line)
    raise DataError(path, f"doc {name!r} names no file in the documents folder", line)


def read_questions(path: Path | str, docs: Sequence[Document] | None = None) -> list[Question]:
    """Evaluation questions. ``id`` defaults to ``q<line>``; ``doc`` (checked against ``docs``) lets
    retrieval recall be measured. Raises :class:`DataError` for malformed lines, unknown keys, a
    question without answers, duplicate ids and a ``doc`` that names no file."""
    path = Path(path)
    out: list[Question] = []
    seen: dict[str, int] = {}
    for line, record in read_jsonl(path):
        unknown = sorted(set(record) - QUESTION_KEYS)
        if unknown:
            raise DataError(path, f"unknown key(s) {unknown}; expected only {sorted(QUESTION_KEYS)}", line)
        text = record.get("question")
        if not isinstance(text, str) or not text.strip():
            raise DataError(path, "field 'question' must be a non-empty string", line)
        answers = record.get("answers")
        if isinstance(answers, str):
            raise DataError(path, "field 'answers' must be a list, e.g. \"answers\": [\"...\"]", line)
        if not isinstance(answers, list) or not answers:
            raise DataError(path, "the question has no answers: give \"answers\": [\"...\"] "
                                  "(every accepted wording of the right answer)", line)
        if not all(isinstance(a, str) and normalize_text(a) for a in answers):
            raise DataError(path, "every answer must be a string with at least one letter or digit", line)
        qid = record.get("id", f"q{line}")
        if not isinstance(qid, str) or not qid.strip() or "/" in qid:
            raise DataError(path, f"field 'id' must be a non-empty string without '/', got {qid!r} "
                                  "(each question is resampled on its own in the paired intervals)", line)
        if qid in seen:
            raise DataError(path, f"duplicate id {qid!r} (first used on line {seen[qid]})", line)
        seen[qid] = line
        doc_ids: tuple[str, ...] = ()
        if "doc" in record:
            if not isinstance(record["doc"], str) or not record["doc"].strip():
                raise DataError(path, "field 'doc' must be a file name", line)
            if docs is not None:
                doc_ids = (_doc_id(record["doc"], docs, path, line),)
            else:
                doc_ids = (record["doc"],)
        out.append(Question(qid=qid, text=text.strip(), answers=tuple(answers), fact_id=qid, doc_ids=doc_ids))
    if not out:
        raise DataError(path, "the questions file holds no questions")
    return out


def read_training(path: Path | str, evaluation: Sequence[Question] = (),
                  check: Callable[[str, str], object] | None = None) -> list[tuple[str, str]]:
    """Training pairs ``(question, answer)``. A pair whose question repeats an evaluation question
    word for word (after normalization) is refused: that would test the model on its training set.
    ``check(question, answer)`` may raise ``ValueError`` (e.g. too long to train on); it becomes a
    :class:`DataError` naming the line."""
    path = Path(path)
    asked = {normalize_text(q.text): q.qid for q in evaluation}
    pairs: list[tuple[str, str]] = []
    for line, record in read_jsonl(path):
        unknown = sorted(set(record) - TRAINING_KEYS)
        if unknown:
            raise DataError(path, f"unknown key(s) {unknown}; expected only {sorted(TRAINING_KEYS)}", line)
        values = []
        for name in ("question", "answer"):
            value = record.get(name)
            if not isinstance(value, str) or not value.strip():
                raise DataError(path, f"field {name!r} must be a non-empty string", line)
            values.append(value.strip())
        twin = asked.get(normalize_text(values[0]))
        if twin is not None:
            raise DataError(path, f"this training question repeats evaluation question {twin!r} word for word; "
                                  "training on it would test the model on its training set", line)
        if check is not None:
            try:
                check(values[0], values[1])
            except ValueError as exc:
                raise DataError(path, str(exc), line) from None
        pairs.append((values[0], values[1]))
    if not pairs:
        raise DataError(path, "the training file holds no pairs")
    return pairs
