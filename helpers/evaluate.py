"""Score answers and retrieval: exact match, token F1, containment, abstention, recall@k, MRR,
Wilson intervals for proportions and paired tests between systems.

Exact match and F1 follow the SQuAD v1.1 evaluation script (lower-case, strip punctuation and
English articles, collapse whitespace), except that signs, decimal points and clock colons inside
numbers are kept (``helpers.data.normalize_text``). They are written out here because the maintained
implementation (the ``evaluate`` library's ``squad`` metric) downloads its code from the Hugging
Face hub at run time, which these notebooks must never do.

Intervals: proportions of 0/1 outcomes get Wilson score intervals (``scipy.stats.binomtest``), never
a zero-width interval; means of other scores get a percentile bootstrap (``scipy.stats.bootstrap``);
a difference between two systems on the same questions gets a paired bootstrap that resamples
*facts* (the paraphrases of one fact are not independent) and an exact McNemar test.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from .data import UNANSWERABLE_KINDS, Question, normalize_text

if TYPE_CHECKING:  # pragma: no cover
    from .retrieval import Chunk

# What an abstaining reply says, in three named groups (see is_abstention). Written on the dev half of
# data/abstention_labelled.jsonl (real replies, labelled by hand); tests/test_abstention.py and
# notebook 04 measure precision and recall on the other half (detector_scores).
_ABSTAIN = re.compile(r"""
    (?P<empty>                      # nothing to read, or only a preamble: "The answer to this question is:"
        \A\W*(?:(?:the\s+)?(?:answer|reply)(?:\s+to\s+(?:this|the|your)\s+question)?(?:\s+is)?)?\W*\Z)
  | \b(?P<refusal>                  # the speaker cannot answer, or the sources do not give it
        i\s+(?:do\s*n[o']?t|cannot|can't|am\s+not\s+(?:sure|able))\s+(?:know|say|answer|find|have|tell)
      | i'?m\s+not\s+sure
      | (?:cannot|can't|unable\s+to)\s+(?:answer|determine|find|tell|say)
      | (?:do|does|did)(?:\s+not|n't)\s+(?:say|mention|provide|give|specify|state|contain|include|list)
      | not\s+(?:mentioned|stated|given|provided|specified|listed|available|sure)
      | no\s+(?:information|mention|answer|data|details)
      | unknown\s+(?:to\s+me|from\s+the|in\s+the)
    )\b
  | \b(?P<denial>                   # a false premise corrected: the thing asked about does not exist
        (?:has|have|had)\s+no
      | there\s+(?:is|are|was|were)\s+no
      | (?:do|does|did)(?:\s+not|n't)\s+(?:have|offer|exist|sell|make|use|own)
    )\s+\w                          # ... and says what ("It does not have" cut off says nothing)
    """, re.IGNORECASE | re.VERBOSE)


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


def is_abstention(prediction: str) -> bool:
    """Whether the reply declines to give an answer, or refuses to invent one.

    Three kinds of reply count (the labelling rules are in ``tests/test_abstention.py``):

    * nothing to read: an empty reply, or only a preamble ("The answer to this question is:");
    * a refusal: the speaker does not know or cannot answer ("I don't know"), or the sources do not
      give the answer ("The passage does not mention the year", "not stated", "no information");
    * a corrected premise: the thing asked about does not exist ("The S2 has no CO2 sensor",
      "There is no Tokyo office", "Marrowby does not offer a Black Friday discount"), except after a
      leading "Yes," or "No,", where the reply answers a yes/no question.

    A bare "unknown" ("the cause is unknown", "the price is unknown") is a claim about the world, not
    a refusal; only "unknown to me" or "unknown from the passages" count. Whether a corrected premise
    is really false is not checked: the form decides. A reply that declines and then gives a value
    anyway ("I don't know, maybe 10 days") is still counted as abstaining (a known miss).
    """
    yes_no = re.match(r"\s*(?:yes|no)\s*[,.!]", prediction, re.IGNORECASE)
    return any(m.lastgroup != "denial" or not yes_no for m in _ABSTAIN.finditer(prediction))


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
    for q, pred in zip(questions, predictions):
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


@dataclass(frozen=True)
class DetectorScores:
    """How a yes/no detector agrees with hand labels: counts, precision and recall (Wilson intervals)."""

    n: int
    tp: int
    fp: int
    fn: int
    precision: Estimate | None    # None when the detector said yes to nothing
    recall: Estimate | None       # None when nothing was labelled yes


def detector_scores(labels: Sequence[bool], predictions: Sequence[bool]) -> DetectorScores:
    """Precision and recall of ``predictions`` against hand ``labels`` (same order), each a Wilson
    interval over the replies it is computed on (precision: those flagged; recall: those labelled)."""
    if len(labels) != len(predictions):
        raise ValueError(f"{len(labels)} labels but {len(predictions)} predictions")
    tp = sum(bool(l) and bool(p) for l, p in zip(labels, predictions))
    fp = sum(not l and bool(p) for l, p in zip(labels, predictions))
    fn = sum(bool(l) and not p for l, p in zip(labels, predictions))
    return DetectorScores(n=len(labels), tp=tp, fp=fp, fn=fn,
                          precision=wilson(tp, tp + fp) if tp + fp else None,
                          recall=wilson(tp, tp + fn) if tp + fn else None)


def separating_threshold(scores_yes: Sequence[float], scores_no: Sequence[float]) -> float:
    """The score threshold that best separates two groups (``score >= threshold`` means "yes").

    It maximises Youden's J, the share of ``scores_yes`` at or above it minus the share of
    ``scores_no`` at or above it, over the thresholds of ``sklearn.metrics.roc_curve``. Used to choose,
    on a development split, the retrieval score below which a RAG system abstains.
    """
    from sklearn.metrics import roc_curve

    if not len(scores_yes) or not len(scores_no):
        raise ValueError("need at least one score in each group")
    labels = [1] * len(scores_yes) + [0] * len(scores_no)
    fpr, tpr, thresholds = roc_curve(labels, list(scores_yes) + list(scores_no))
    best = int(np.argmax(tpr - fpr))
    return float(thresholds[best])


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


@dataclass(frozen=True)
class Estimate:
    """A mean (or proportion) with a 95% confidence interval, and how many questions it rests on."""

    mean: float
    low: float
    high: float
    n: int
    facts: int | None = None     # distinct facts behind the n questions, when known

    def __str__(self) -> str:
        return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


def wilson(successes: int, n: int, confidence: float = 0.95) -> Estimate:
    """A proportion with its Wilson score interval (``scipy.stats.binomtest``).

    Unlike the bootstrap, it never collapses to a zero-width interval: 0 of 60 gives [0.00, 0.06].
    """
    from scipy.stats import binomtest

    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes} of {n}")
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return Estimate(successes / n, float(ci.low), float(ci.high), int(n))


def proportion(values: Sequence[bool | float], facts: int | None = None) -> Estimate:
    """Share of true values, with its Wilson interval."""
    if not len(values):
        raise ValueError("proportion needs at least one value")
    if any(v not in (0, 1, True, False) for v in values):
        raise ValueError("proportion needs 0/1 values; use bootstrap_ci for other scores")
    est = wilson(int(sum(bool(v) for v in values)), len(values))
    return Estimate(est.mean, est.low, est.high, est.n, facts)


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000,
                 seed: int = 0) -> Estimate:
    """Mean of ``values`` with a percentile bootstrap interval (``scipy.stats.bootstrap``).

    For scores that are not 0/1 (token F1, lengths). For proportions use :func:`proportion`.
    """
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


@dataclass(frozen=True)
class Difference:
    """System A minus system B on the same questions: a paired comparison.

    ``low``/``high``: 95% paired bootstrap interval that resamples facts (both paraphrases of a fact
    go together). ``a_only``/``b_only``: questions only A (only B) got right; ``p_value``: exact
    McNemar test on those discordant pairs. ``real`` is true only when the interval excludes zero.
    """

    mean: float
    low: float
    high: float
    n: int
    facts: int
    a_only: int
    b_only: int
    p_value: float

    @property
    def real(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def status(self) -> str:
        """``real``, ``no detectable difference``, or ``identical scores`` (no question differs, so
        there is nothing to test): the verdict column of a comparison table."""
        if self.a_only == self.b_only == 0:
            return "identical scores"
        return "real" if self.real else "no detectable difference"

    def verdict(self, a: str = "A", b: str = "B", groups: str | None = "facts") -> str:
        """One sentence a notebook can print under a comparison. ``groups``: what the resampled
        units are called ("facts"); ``None`` leaves them out (when each question is its own unit)."""
        where = f"n = {self.n} questions" + (f" ({self.facts} {groups})" if groups else "")
        ci = f"{self.mean:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"
        if not self.real:
            return f"{a} vs {b}: {ci}, no detectable difference at {where}"
        return f"{a} {'above' if self.mean > 0 else 'below'} {b}: {ci}, a real difference at {where}"

    def __str__(self) -> str:
        return f"{self.mean:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"


def paired_values(qids: Sequence[str], a: Sequence[float], b: Sequence[float], seed: int = 0,
                  n_resamples: int = 4000) -> Difference:
    """Mean of ``a - b`` over the same questions (ids ``qids``, ``FACT/tag``), with a paired interval.

    When two systems answer the *same* questions, comparing per-question differences is much more
    sensitive than checking whether two separate intervals overlap: the question-to-question
    variation both systems share cancels out. Facts (the part of the id before ``/``), not questions,
    are resampled, so the two paraphrases of one fact are not counted as independent evidence. For
    0/1 scores the exact McNemar test on the discordant questions is reported too.
    """
    from scipy.stats import binomtest

    if not (len(qids) == len(a) == len(b)) or not qids:
        raise ValueError(f"paired comparison needs equal, non-empty lists ({len(qids)}, {len(a)}, {len(b)})")
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    groups: dict[str, list[int]] = {}
    for i, qid in enumerate(qids):
        groups.setdefault(fact_of(qid), []).append(i)
    sums = np.array([diffs[idx].sum() for idx in groups.values()])
    sizes = np.array([len(idx) for idx in groups.values()])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sums), size=(n_resamples, len(sums)))
    means = sums[picks].sum(axis=1) / sizes[picks].sum(axis=1)
    low, high = (float(x) for x in np.percentile(means, [2.5, 97.5]))
    a_only, b_only = int((diffs > 0).sum()), int((diffs < 0).sum())
    p = 1.0 if a_only + b_only == 0 else float(binomtest(a_only, a_only + b_only, 0.5).pvalue)
    return Difference(float(diffs.mean()), low, high, len(diffs), len(groups), a_only, b_only, p)


def paired_difference(rows_a: Sequence[Graded], rows_b: Sequence[Graded],
                      metric: str | Callable[[Graded], float] = "contains", seed: int = 0) -> Difference:
    """System A minus system B on ``metric`` over the same graded questions (see :func:`paired_values`).

    ``metric``: a field of :class:`Graded` (``"contains"``, ``"abstained"``, ...), one of
    :data:`REPLY_OUTCOMES` (1 when :func:`reply_outcome` gives it), or a function of a row.
    """
    if [r.qid for r in rows_a] != [r.qid for r in rows_b]:
        raise ValueError("paired comparison needs the same questions in the same order")
    if callable(metric):
        score = metric
    elif metric in REPLY_OUTCOMES and metric != "abstained":
        score = lambda r: float(reply_outcome(r) == metric)    # noqa: E731
    else:
        score = lambda r: float(getattr(r, metric))           # noqa: E731
    return paired_values([r.qid for r in rows_a], [score(r) for r in rows_a], [score(r) for r in rows_b], seed=seed)


def auc(scores_yes: Sequence[float], scores_no: Sequence[float], seed: int = 0) -> Estimate:
    """Area under the ROC curve: the chance that a random "yes" item scores above a random "no" item
    (ties count half; 0.5 = no separation), with a 95% percentile bootstrap interval that resamples
    each group separately (``scipy.stats.mannwhitneyu`` and ``scipy.stats.bootstrap``)."""
    from scipy.stats import bootstrap, mannwhitneyu

    yes, no = np.asarray(scores_yes, dtype=float), np.asarray(scores_no, dtype=float)
    if not yes.size or not no.size:
        raise ValueError("need at least one score in each group")

    def statistic(a: np.ndarray, b: np.ndarray) -> float:
        return mannwhitneyu(a, b).statistic / (len(a) * len(b))

    ci = bootstrap((yes, no), statistic, paired=False, vectorized=False, n_resamples=2000,
                   method="percentile", rng=np.random.default_rng(seed)).confidence_interval
    return Estimate(float(statistic(yes, no)), float(ci.low), float(ci.high), int(yes.size + no.size))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given (each capped at 1).

    With many comparisons in one notebook, some nominal p-values below 0.05 arise by chance; a
    comparison "survives the correction" when its adjusted p-value is below 0.05. Written here
    because scipy offers only false-discovery-rate adjustments (``scipy.stats.false_discovery_control``)
    and statsmodels is not a dependency; Holm controls the family-wise error, like Bonferroni,
    but is uniformly more powerful.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted


BINARY_METRICS = ("exact", "contains", "abstained", "invented", "hedged")


def summarize(rows: Sequence[Graded], metrics: Sequence[str] = ("exact", "contains", "f1", "abstained", "invented", "hedged"),
              seed: int = 0) -> dict[str, Estimate]:
    """Each metric over graded rows: Wilson intervals for 0/1 metrics, bootstrap for F1 and length.

    ``answer_tokens`` (mean reply length) is added when the rows know it.
    """
    if not rows:
        raise ValueError("no graded rows")
    facts = len({r.fact_id for r in rows})
    out = {}
    for m in metrics:
        values = [float(getattr(r, m)) for r in rows]
        est = proportion(values) if m in BINARY_METRICS else bootstrap_ci(values, seed=seed)
        out[m] = Estimate(est.mean, est.low, est.high, est.n, facts)
    if all(r.answer_tokens is not None for r in rows):
        est = bootstrap_ci([float(r.answer_tokens) for r in rows], seed=seed)
        out["answer_tokens"] = Estimate(est.mean, est.low, est.high, est.n, facts)
    return out


def summary_table(summaries: dict[str, dict[str, Estimate]]) -> "Any":
    """A ``pandas.DataFrame``, one row per system: strict, lenient, F1 (with intervals), reply
    length, hedged hits removed, questions and facts."""
    import pandas as pd

    table = {}
    for system, s in summaries.items():
        row = {"strict (exact)": str(s["exact"]), "lenient": str(s["contains"]), "token F1": str(s["f1"])}
        if "answer_tokens" in s:
            row["reply tokens"] = f"{s['answer_tokens'].mean:.1f}"
        if "hedged" in s:   # replies that held an accepted answer beside a competing value: no credit
            row["hedges (no credit)"] = round(s["hedged"].mean * s["hedged"].n)
        row["questions"] = s["contains"].n
        row["facts"] = s["contains"].facts
        table[system] = row
    return pd.DataFrame(table).T


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
