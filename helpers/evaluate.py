"""Score answers and retrieval: exact match, token F1, containment, abstention, recall@k, MRR,
and bootstrap confidence intervals.

Exact match and F1 follow the SQuAD v1.1 evaluation script (lower-case, strip punctuation and
English articles, collapse whitespace). They are written out here because the maintained
implementation (the ``evaluate`` library's ``squad`` metric) downloads its code from the Hugging
Face hub at run time, which these notebooks must never do. Bootstrap intervals use
``scipy.stats.bootstrap``.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from .data import Question, normalize_text

_ABSTAIN = re.compile(
    r"\b(i\s+(?:do\s*n[o']?t|don't|cannot|can't|am\s+not\s+sure)\s+(?:know|say|answer|find|have|tell)"
    r"|not\s+(?:mentioned|stated|given|provided|specified|available|sure)"
    r"|no\s+(?:information|mention|answer|data)"
    r"|(?:cannot|can't|unable\s+to)\s+(?:answer|determine|find|tell)"
    r"|unknown)\b", re.IGNORECASE)


# SQuAD normalization (lower case, no punctuation, no articles, single spaces); it lives in
# helpers.data because the data checks compare questions with it too.
normalize_answer = normalize_text


def exact_match(prediction: str, answers: Sequence[str]) -> bool:
    """Strict grading: the normalized prediction equals one normalized accepted answer."""
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(a) for a in answers)


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


def contains_answer(prediction: str, answers: Sequence[str]) -> bool:
    """Lenient grading: some accepted answer occurs in the prediction as a run of whole tokens.

    Token runs rather than substrings, so that "2" is not found inside "12".
    """
    pred = normalize_answer(prediction).split()
    for answer in answers:
        gold = normalize_answer(answer).split()
        if gold and any(pred[i:i + len(gold)] == gold for i in range(len(pred) - len(gold) + 1)):
            return True
    return False


def is_abstention(prediction: str) -> bool:
    """Whether the answer declines to answer ("I don't know", "not mentioned", ...)."""
    return not prediction.strip() or bool(_ABSTAIN.search(prediction))


@dataclass(frozen=True)
class Graded:
    """One graded answer. ``invented`` = answered (no abstention) but wrong, or answered an
    unanswerable question: a confident invention."""

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


def grade(questions: Sequence[Question], predictions: Sequence[str]) -> list[Graded]:
    """Grade predictions against their questions (same order, same length)."""
    if len(questions) != len(predictions):
        raise ValueError(f"{len(questions)} questions but {len(predictions)} predictions")
    rows = []
    for q, p in zip(questions, predictions):
        abstained = is_abstention(p)
        exact = exact_match(p, q.answers) if q.answers else False
        contains = contains_answer(p, q.answers) if q.answers else False
        rows.append(Graded(qid=q.qid, kind=q.kind, question=q.text, prediction=p,
                           gold=q.answers[0] if q.answers else "", exact=exact, contains=contains,
                           f1=token_f1(p, q.answers) if q.answers else 0.0, abstained=abstained,
                           invented=not abstained and not contains))
    return rows


OUTCOMES = ("correct", "abstained", "invented")


def outcome(row: Graded) -> str:
    """``correct`` (answer found, lenient), ``abstained`` or ``invented`` (answered, wrong).

    For an unanswerable question, abstaining is the right behaviour and any answer is invented.
    """
    if row.contains:
        return "correct"
    return "abstained" if row.abstained else "invented"


def outcome_shares(rows: Sequence[Graded]) -> dict[str, float]:
    """Share of rows in each outcome."""
    if not rows:
        raise ValueError("no graded rows")
    counts = Counter(outcome(r) for r in rows)
    return {o: counts.get(o, 0) / len(rows) for o in OUTCOMES}


VALUE_OUTCOMES = ("new value", "stale value", "neither")


def value_outcome(prediction: str, new_answers: Sequence[str], old_answers: Sequence[str]) -> str:
    """After a fact changed: does the reply give the ``new value``, the ``stale value``, or ``neither``?

    A reply that contains both counts as ``new value`` only if the old one is absent; otherwise it is
    ``neither`` (hedging between the two is not an update).
    """
    new, old = contains_answer(prediction, new_answers), contains_answer(prediction, old_answers)
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


@dataclass(frozen=True)
class Estimate:
    """A mean with a bootstrap confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000,
                 seed: int = 0) -> Estimate:
    """Mean of ``values`` with a percentile bootstrap interval (``scipy.stats.bootstrap``)."""
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    mean = float(data.mean())
    if data.size == 1 or np.ptp(data) == 0:
        return Estimate(mean, mean, mean, int(data.size))
    res = bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                    method="percentile", rng=np.random.default_rng(seed))
    return Estimate(mean, float(res.confidence_interval.low), float(res.confidence_interval.high), int(data.size))


def paired_difference(rows_a: Sequence[Graded], rows_b: Sequence[Graded], metric: str = "contains",
                      seed: int = 0) -> Estimate:
    """Mean of ``metric(a) - metric(b)`` over the same questions, with a bootstrap interval.

    When two systems answer the *same* questions, resampling questions and comparing per-question
    differences is much more sensitive than checking whether two separate intervals overlap: the
    question-to-question variation that both systems share cancels out. If the interval excludes 0,
    the difference is unlikely to be noise.
    """
    if [r.qid for r in rows_a] != [r.qid for r in rows_b]:
        raise ValueError("paired comparison needs the same questions in the same order")
    return bootstrap_ci([float(getattr(a, metric)) - float(getattr(b, metric)) for a, b in zip(rows_a, rows_b)],
                        seed=seed)


def summarize(rows: Sequence[Graded], metrics: Sequence[str] = ("exact", "contains", "f1", "abstained", "invented"),
              seed: int = 0) -> dict[str, Estimate]:
    """Mean and 95% bootstrap interval of each metric over graded rows."""
    return {m: bootstrap_ci([float(getattr(r, m)) for r in rows], seed=seed) for m in metrics}
