"""What a person can inspect in a RAG answer and in a fine-tuned one (notebook 05).

* :func:`supported`: whether a reply says only what its cited passages say (a lexical check).
* :func:`trace_failure`: the stage a RAG answer's failure can be traced to, from its passages alone.
* :func:`names_document`: whether a reply names a given document (by id or by title).
* :func:`lora_update_norms`: how much a LoRA adapter changed each weight matrix (relative norm).
* :func:`load_planted`: documents planted in a copy of the knowledge base (a false fact, an
  instruction), with the facts they target (``data/planted/``).

The checks are string checks, written out here because they need nothing but the texts: no model
judges another model. Their limits are stated in each docstring.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from . import config
from .data import DataError, Document, normalize_text, read_document
from .evaluate import Graded, contains_answer

if TYPE_CHECKING:  # pragma: no cover
    from peft import PeftModel


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


def lora_update_norms(model: "PeftModel", adapter: str = "default") -> dict[tuple[int, str], float]:
    """For each weight matrix a LoRA adapter changed: ``||delta W|| / ||W||`` (Frobenius norms), keyed
    by (layer index, module name). ``delta W`` is the update the adapter adds (peft's
    ``get_delta_weight``, scaling included). Says *where* and *how much* training changed the model;
    nothing in it refers to a question or a fact.
    """
    import re

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
