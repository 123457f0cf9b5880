"""What a person can inspect in a RAG answer and in a fine-tuned one (notebook 05).

* :func:`supported`: whether a reply says only what its cited passages say (a lexical check).
* :func:`trace_failure`: the stage a RAG answer's failure can be traced to, from its passages alone.
* :func:`names_document`: whether a reply names a given document (by id or by title).
* :func:`cite`: answer from ``k`` numbered passages, then ask the reader which one gave the answer;
  :func:`cited_passages` reads the number(s) out of its reply.
* :func:`lora_update_norms`: how much a LoRA adapter changed each weight matrix (relative norm).
* :func:`load_planted`: documents planted in a copy of the knowledge base (a false fact, an
  instruction), with the facts they target (``data/planted/``).

The checks are string checks, written out here because they need nothing but the texts: no model
judges another model. Their limits are stated in each docstring.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from . import config, generation
from .data import DataError, Document, normalize_text, read_document
from .evaluate import Graded, contains_answer
from .retrieval import Passage

if TYPE_CHECKING:  # pragma: no cover
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


TRACE_STAGES = ("correct", "retrieval miss", "reading error", "unsupported claim")


def _stop_words() -> frozenset[str]:
    # scikit-learn's English stop-word list (318 words), the list its text vectorizers use
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def claim_tokens(reply: str, question: str) -> set[str]:
    """The words a reply adds to its question: normalized tokens of the reply that are neither in the
    question nor English stop words ("The price of the S2 is €389" asked "What is the price of the
    S2?" adds only ``€389``)."""
    stop = _stop_words()
    asked = set(normalize_text(question).split())
    return {t for t in normalize_text(reply).split() if t not in asked and t not in stop}


def supported(reply: str, passages: Sequence[str], question: str) -> bool:
    """Whether every word the reply adds to the question occurs in one of the passages.

    A lexical check of support: a reply that copies its value from the passage passes; a value the
    passage does not contain fails. It cannot see meaning ("not Wi-Fi" and "Wi-Fi" share the word),
    and a reply that adds nothing (an echo of the question, or an abstention) has no claim to support
    and counts as not supported.
    """
    claims = claim_tokens(reply, question)
    if not claims:
        return False
    seen = set(normalize_text(" ".join(passages)).split())
    return claims <= seen


def trace_failure(row: Graded, passages: Sequence[str], answers: Sequence[str]) -> str:
    """Where a RAG answer went wrong, from what can be inspected (one of :data:`TRACE_STAGES`).

    ``correct``; ``retrieval miss``: no passage holds an accepted answer, so the reader could not
    have read it; ``reading error``: a passage holds the answer and the reply only repeats passage
    words (a wrong span) or declines; ``unsupported claim``: a passage holds the answer, yet the
    reply states something no passage says.
    """
    if row.contains:
        return "correct"
    if not any(contains_answer(p, answers) for p in passages):
        return "retrieval miss"
    if row.abstained or supported(row.prediction, passages, row.question):
        return "reading error"
    return "unsupported claim"


def names_document(reply: str, doc: Document) -> bool:
    """Whether a reply names a document: its id (``policy-warranty``) or its title (``Warranty``),
    as whole words after normalization."""
    text = f" {normalize_text(reply)} "
    names = {normalize_text(doc.doc_id.replace("-", " ")), normalize_text(doc.title)} - {""}
    return any(f" {n} " in text for n in names)


# Asking the reader for a citation (notebook 05, section 2). Chosen on notebook 04's development
# questions among three wordings by .ci/citation_prompt.py (results/citation_prompt.json): asking in
# a second turn, after the answer, with the passages numbered, gave the most citations that hold the
# answer; an instruction to cite inside the answer was almost never followed by the 135M reader.
CITE_K = 3
CITE_FOLLOW_UP = "Which passage gives that answer? Reply with its number: [1], [2] or [3]."
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}


def cited_passages(reply: str, passages: Sequence[Passage], tags: str = "number") -> tuple[int, ...]:
    """The passages (0-based positions) a citation reply points at.

    ``tags="number"``: every ``[n]``, "passage n", "number n", "the second passage" or "the second
    one", or a reply that is only a number, or is at most six words ending in one after "is" or a
    colon ("The answer is: 1."), for ``n`` from 1 to ``len(passages)``; a number elsewhere in the reply
    ("3 years") is not a citation. A reply naming several passages cites several.
    ``tags="id"``: every passage whose document id the reply contains. Nothing found: ``()``.
    """
    if tags == "id":
        return tuple(i for i, p in enumerate(passages) if p.doc_id in reply)
    if tags != "number":
        raise ValueError(f"tags={tags!r}: use one of {generation.PASSAGE_TAGS}")
    text = reply.lower()
    found = [int(n) for n in re.findall(r"\[(\d+)\]|(?:passage|number)\s+(\d+)\b", text) for n in n if n]
    found += [_ORDINALS[w] for w in re.findall(r"\b(" + "|".join(_ORDINALS) + r")\s+(?:passage|one)\b", text)]
    last = re.fullmatch(r"\W*(\d+)\W*", text)
    if last is None and len(text.split()) <= 6:        # "The answer is: 1." (not a long echo ending in a value)
        last = re.search(r"(?:\bis|:)\s*(\d+)\W*$", text)
    if last:
        found.append(int(last.group(1)))
    return tuple(sorted({n - 1 for n in found if 1 <= n <= len(passages)}))


@dataclass(frozen=True)
class Citation:
    """One question answered from numbered passages, and the reader's reply when asked for its source."""

    answer: generation.Answer
    reply: generation.Answer
    passages: list[Passage]
    cited: tuple[int, ...]        # 0-based positions the reply points at; () when it names none

    def holds(self, answers: Sequence[str]) -> bool:
        """Whether the reply cites exactly one passage and that passage contains an accepted answer.
        Naming several passages ("[1] Leadership, [2] The founders, [3] ...") attributes nothing."""
        return len(self.cited) == 1 and contains_answer(self.passages[self.cited[0]].text, answers)


def cite(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", questions: Sequence[str],
         hits: Sequence[Sequence[Passage]], follow_up: str = CITE_FOLLOW_UP, tags: str = "number") -> list[Citation]:
    """Answer each question from its passages with the series' instruction, then, in the same chat,
    ask ``follow_up`` and read the cited passage(s) from the reply (:func:`cited_passages`).

    The answer turn is the series' RAG prompt with numbered passages; the citation is a second
    generation, so asking for it cannot change the answer.
    """
    if len(questions) != len(hits):
        raise ValueError(f"{len(questions)} questions but {len(hits)} lists of passages")
    first = [generation.rag_messages(q, h, tags=tags) for q, h in zip(questions, hits, strict=True)]
    answers = generation.generate(model, tokenizer, first)
    replies = generation.generate(model, tokenizer, [
        m + [{"role": "assistant", "content": a.text}, {"role": "user", "content": follow_up}]
        for m, a in zip(first, answers, strict=True)])
    return [Citation(a, r, list(h), cited_passages(r.text, h, tags)) for a, r, h in zip(answers, replies, hits, strict=True)]


CITATION_OUTCOMES = ("some passage holds the answer", "cites one passage", "cited passage holds the answer",
                     "passage [1] holds the answer", "answer correct")


def citation_outcomes(citations: Sequence[Citation], answers: Sequence[Sequence[str]]) -> dict[str, list[bool]]:
    """Per question, each of :data:`CITATION_OUTCOMES`: whether any of its passages holds an accepted
    answer (the best a citation could do), whether the reply cites exactly one passage, whether it
    holds the answer (:meth:`Citation.holds`), whether the first passage (the top search hit: a citation that ignores the
    answer) holds it, and whether the answer is correct (lenient)."""
    if len(citations) != len(answers):
        raise ValueError(f"{len(citations)} citations but {len(answers)} lists of accepted answers")
    rows = [(any(contains_answer(p.text, a) for p in c.passages), len(c.cited) == 1, c.holds(a),
             bool(c.passages) and contains_answer(c.passages[0].text, a), contains_answer(c.answer.text, a))
            for c, a in zip(citations, answers, strict=True)]
    return {name: [r[i] for r in rows] for i, name in enumerate(CITATION_OUTCOMES)}


def lora_update_norms(model: "PeftModel", adapter: str = "default") -> dict[tuple[int, str], float]:
    """For each weight matrix a LoRA adapter changed: ``||delta W|| / ||W||`` (Frobenius norms), keyed
    by (layer index, module name). ``delta W`` is the update the adapter adds (peft's
    ``get_delta_weight``, scaling included). Says *where* and *how much* training changed the model;
    nothing in it refers to a question or a fact.
    """
    import torch

    norms: dict[tuple[int, str], float] = {}
    for name, module in model.named_modules():
        if not hasattr(module, "get_delta_weight") or adapter not in getattr(module, "lora_A", {}):
            continue
        match = re.search(r"layers\.(\d+)\..*?(\w+)$", name)
        if match is None:
            raise ValueError(f"cannot read a layer index from module name {name!r}")
        with torch.no_grad():
            delta = module.get_delta_weight(adapter)
            base = module.get_base_layer().weight
            norms[(int(match.group(1)), match.group(2))] = float(delta.norm() / base.norm())
    if not norms:
        raise ValueError(f"no LoRA modules with adapter {adapter!r} in the model")
    return norms


@dataclass(frozen=True)
class Planted:
    """A document planted in a copy of the knowledge base, and what following it looks like."""

    doc: Document
    kind: str                     # ``false facts`` or ``instruction``
    targets: dict[str, str]       # fact id -> the text a reply that follows the document contains


def load_planted(root: Path | None = None) -> list[Planted]:
    """The planted documents of ``data/planted/`` (``manifest.json`` lists them and their targets)."""
    folder = (root or config.data_dir()) / "planted"
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(manifest_path, f"not valid JSON: {err.msg}", err.lineno) from err
    planted = []
    for entry in manifest.get("documents", []):
        path = folder / f"{entry['doc']}.md"
        if not path.is_file():
            raise DataError(manifest_path, f"lists {entry['doc']!r}, but {path.name} does not exist")
        if entry.get("kind") not in {"false facts", "instruction"}:
            raise DataError(manifest_path, f"{entry['doc']}: kind must be 'false facts' or 'instruction'")
        planted.append(Planted(read_document(path), entry["kind"], dict(entry["targets"])))
    if not planted:
        raise DataError(manifest_path, "no documents listed")
    return planted
