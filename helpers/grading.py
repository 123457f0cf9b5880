"""Grade replies: exact match, token F1, containment (lenient), hedges, outcomes, retrieval scores.

Exact match and F1 follow the SQuAD v1.1 evaluation script (lower-case, strip punctuation and
English articles, collapse whitespace), except that signs, decimal points and clock colons inside
numbers are kept (``helpers.data.normalize_text``). They are written out here because the maintained
implementation (the ``evaluate`` library's ``squad`` metric) downloads its code from the Hugging
Face hub at run time, which these notebooks must never do.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from .abstention import is_abstention
from .data import UNANSWERABLE_KINDS, Question, normalize_text

if TYPE_CHECKING:  # pragma: no cover
    from .retrieval import Chunk

# SQuAD normalization (lower case, no punctuation, no articles, single spaces); it lives in
# helpers.data because the data checks compare questions with it too.
normalize_answer = normalize_text


def _gold_forms(answer: str) -> tuple[str, bool]:
    """A gold answer's normalized form, and whether articles are kept for it.

    An answer such as "a year" would shrink to the generic word "year" once articles are removed, and
    match any reply that mentions a year; such answers keep their article.
    """
    plain = normalize_text(answer)
    if len(plain.split()) == 1 and not re.search(r"\d", plain) and normalize_text(answer, articles=True) != plain:
        return normalize_text(answer, articles=True), True
    return plain, False


def exact_match(prediction: str, answers: Sequence[str]) -> bool:
    """Strict grading: the normalized prediction equals one normalized accepted answer."""
    for answer in answers:
        gold, keep = _gold_forms(answer)
        if normalize_text(prediction, articles=keep) == gold:
            return True
    return False


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """SQuAD token F1 against the best-matching accepted answer (0.0 if there are none)."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for answer in answers:
        gold = normalize_answer(answer).split()
        common = sum((Counter(pred) & Counter(gold)).values())
        if common:
            precision, recall = common / len(pred), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def _has_run(text_tokens: list[str], gold_tokens: list[str]) -> bool:
    n = len(gold_tokens)
    return bool(gold_tokens) and any(text_tokens[i:i + n] == gold_tokens for i in range(len(text_tokens) - n + 1))


def contains_answer(prediction: str, answers: Sequence[str]) -> bool:
    """Some accepted answer occurs in the prediction as a run of whole tokens.

    Token runs rather than substrings, so that "2" is not found inside "12".
    """
    for answer in answers:
        gold, keep = _gold_forms(answer)
        if _has_run(normalize_text(prediction, articles=keep).split(), gold.split()):
            return True
    return False


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.:]\d+)*(?![\w])")


def numbers_in(text: str) -> set[str]:
    """Numbers written with digits in ``text`` (normalized: "1,200" -> "1200", "€389" -> "389")."""
    return {m.lstrip("0") or "0" for m in _NUMBER.findall(normalize_text(text).replace("€", " ").replace("$", " "))}


def competing_value(prediction: str, question: Question) -> str | None:
    """A value the prediction states *beside* the right one, or ``None``.

    Lenient grading must not reward a reply that lists several candidates ("14 or 30 days"). Two
    rules: when the answer is a number, any other number in the reply (not in an accepted answer and
    not in the question) competes; and any rival value of the question (``Question.rivals``: answers
    of other facts of the same kind in the same document) competes.
    """
    gold_numbers = set().union(*(numbers_in(a) for a in question.answers)) if question.answers else set()
    if gold_numbers:
        extra = numbers_in(prediction) - gold_numbers - numbers_in(question.text)
        if extra:
            return sorted(extra)[0]
    for rival in question.rivals:
        if contains_answer(prediction, [rival]) and not contains_answer(question.text, [rival]):
            return rival
    return None

def fact_of(qid: str) -> str:
    """The fact a question id belongs to: the part before the slash (``F034/h1`` -> ``F034``)."""
    return qid.split("/")[0]

@dataclass(frozen=True)
class Graded:
    """One graded answer.

    ``contains`` is lenient grading: an accepted answer occurs in the reply *and* no competing value
    does (``hedged`` marks replies that held the answer but also a competitor). ``invented``: answered
    (no abstention) but not correct, or answered an unanswerable question.
    """

    qid: str
    kind: str
    question: str
    prediction: str
    gold: str
    exact: bool
    contains: bool
    f1: float
    abstained: bool
    invented: bool
    hedged: bool = False
    answer_tokens: int | None = None   # length of the reply in generator tokens, when known

    @property
    def fact_id(self) -> str:
        """The fact a question asks about (see :func:`fact_of`)."""
        return fact_of(self.qid)


def grade(questions: Sequence[Question], predictions: Sequence[Any]) -> list[Graded]:
    """Grade predictions against their questions (same order, same length).

    A prediction is a string, or an object with ``text`` (and ``new_tokens``), such as
    :class:`helpers.generation.Answer`; then the reply's length in tokens is recorded too.
    """
    if len(questions) != len(predictions):
        raise ValueError(f"{len(questions)} questions but {len(predictions)} predictions")
    rows = []
    for q, pred in zip(questions, predictions, strict=True):
        p = pred if isinstance(pred, str) else pred.text
        abstained = is_abstention(p)
        found = contains_answer(p, q.answers) if q.answers else False
        hedged = found and competing_value(p, q) is not None
        exact = exact_match(p, q.answers) if q.answers else False
        rows.append(Graded(qid=q.qid, kind=q.kind, question=q.text, prediction=p,
                           gold=q.answers[0] if q.answers else "", exact=exact, contains=found and not hedged,
                           f1=token_f1(p, q.answers) if q.answers else 0.0, abstained=abstained,
                           invented=not abstained and not (found and not hedged), hedged=hedged,
                           answer_tokens=None if isinstance(pred, str) else getattr(pred, "new_tokens", None)))
    return rows


OUTCOMES = ("correct", "abstained", "invented")


def outcome(row: Graded) -> str:
    """``correct`` (answer found, lenient), ``abstained`` or ``invented`` (answered, wrong).

    For an unanswerable question, abstaining is the right behaviour and any answer is invented.
    """
    if row.contains:
        return "correct"
    return "abstained" if row.abstained else "invented"


def outcome_shares(rows: Sequence[Graded], classify: Callable[[Graded], str] | None = None,
                   order: Sequence[str] = OUTCOMES) -> dict[str, float]:
    """Share of rows in each outcome of ``order``, as ``classify`` (default :func:`outcome`) sorts them."""
    if not rows:
        raise ValueError("no graded rows")
    counts = Counter((classify or outcome)(r) for r in rows)
    return {o: counts.get(o, 0) / len(rows) for o in order}


REPLY_OUTCOMES = ("correct", "wrong", "abstained", "invented")


def reply_outcome(row: Graded) -> str:
    """Four ways a reply can end, for questions with and without an answer.

    An answerable question's reply is ``correct`` (lenient), ``abstained`` or ``wrong``; an
    unanswerable one's (``kind`` in :data:`helpers.data.UNANSWERABLE_KINDS`) is ``abstained`` or
    ``invented`` (an answer where none exists). Unlike :func:`outcome`, a wrong answer to an
    answerable question is not called invented: the model may have misread a real fact.
    """
    if row.kind in UNANSWERABLE_KINDS:
        return "abstained" if row.abstained else "invented"
    if row.contains:
        return "correct"
    return "abstained" if row.abstained else "wrong"


def reply_outcome_shares(rows: Sequence[Graded]) -> dict[str, float]:
    """Share of rows in each of :data:`REPLY_OUTCOMES` (see :func:`reply_outcome`)."""
    return outcome_shares(rows, reply_outcome, REPLY_OUTCOMES)

VALUE_OUTCOMES = ("new value", "stale value", "neither")


def value_outcome(prediction: str, new_answers: Sequence[str], old_answers: Sequence[str]) -> str:
    """After a fact changed: does the reply give the ``new value``, the ``stale value``, or ``neither``?

    A reply that contains both counts as ``new value`` only if the old one is absent; otherwise it is
    ``neither`` (hedging between the two is not an update).
    """
    new = contains_answer(prediction, new_answers)
    # an old value written inside the new one ("fifty" in "one hundred and fifty") is not the old value
    rest = normalize_text(prediction)
    for answer in sorted(new_answers, key=len, reverse=True):
        gold = normalize_text(answer)
        if gold:
            rest = re.sub(rf"(?<!\S){re.escape(gold)}(?!\S)", " | ", rest)
    old = contains_answer(rest, old_answers)
    if new and not old:
        return "new value"
    if old and not new:
        return "stale value"
    return "neither"


def as_records(rows: Iterable[Graded]) -> list[dict]:
    """Graded rows as plain dicts (for ``pandas.DataFrame``)."""
    return [asdict(r) for r in rows]


def recall_at_k(ranked_doc_ids: Sequence[str], gold_doc_ids: Sequence[str], k: int) -> float:
    """Share of the gold documents found among the first ``k`` retrieved (1.0 or 0.0 for one gold)."""
    if not gold_doc_ids:
        raise ValueError("recall@k needs at least one gold document")
    top = set(ranked_doc_ids[:k])
    return sum(d in top for d in set(gold_doc_ids)) / len(set(gold_doc_ids))


def reciprocal_rank(ranked_doc_ids: Sequence[str], gold_doc_ids: Sequence[str]) -> float:
    """1 / rank of the first gold document retrieved, 0.0 if none is (MRR averages this)."""
    gold = set(gold_doc_ids)
    for rank, doc in enumerate(ranked_doc_ids, start=1):
        if doc in gold:
            return 1.0 / rank
    return 0.0


def dedupe(doc_ids: Sequence[str]) -> list[str]:
    """Document ids in first-seen order (several chunks of one document count once)."""
    return list(dict.fromkeys(doc_ids))

def error_stage(row: Graded, passages: Sequence[str], answers: Sequence[str]) -> str:
    """Where a RAG answer went wrong: ``correct``; ``reading error`` (an accepted answer was in the
    passages the reader saw, and the reply missed it, hedged or declined); ``retrieval miss`` (no
    accepted answer was in the passages)."""
    if row.contains:
        return "correct"
    return "reading error" if contains_answer("\n".join(passages), answers) else "retrieval miss"


ERROR_STAGES = ("correct", "reading error", "retrieval miss")


def oracle_passages(chunks: Sequence["Chunk"], question: Question) -> list["Chunk"]:
    """The reader's best case: the first chunk of the question's gold document(s) that holds an
    accepted answer ("the paragraph holding the answer"). For a two-document fact this is the answer's
    paragraph only, not the one that names the bridge. Raises if no chunk holds the answer: then the
    data or the chunking is broken."""
    found = [c for c in chunks if c.doc_id in question.doc_ids and contains_answer(c.text, question.answers)]
    if not found:
        raise ValueError(f"{question.qid}: no chunk of {list(question.doc_ids)} contains {question.answers[0]!r}")
    return found[:1]
