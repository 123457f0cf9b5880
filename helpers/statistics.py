"""Statistics for the series' measurements: intervals, paired tests, the "real" rule, Holm.

Intervals: proportions of 0/1 outcomes get Wilson score intervals (``scipy.stats.binomtest``), never
a zero-width interval; means of other scores get a percentile bootstrap (``scipy.stats.bootstrap``);
a difference between two systems on the same questions gets a paired bootstrap that resamples
*facts* (the paraphrases of one fact are not independent, nor are two facts that ask for one value:
``same_as`` in ``data/facts.jsonl``) and an exact McNemar test. :attr:`Difference.real` is the
series' one rule for calling a difference real: both must agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .data import fact_clusters
from .grading import REPLY_OUTCOMES, Graded, fact_of, reply_outcome

ALPHA = 0.05   # the level of the McNemar test in Difference.real (the interval is a 95% interval)


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

    ``low``/``high``: 95% paired bootstrap interval that resamples facts (both paraphrases of a fact,
    and a fact and its ``same_as`` twin, go together); ``facts``: how many such units. ``a_only`` /
    ``b_only``: questions on which A (B) scored higher; ``p_value``: exact McNemar (sign) test on
    those discordant questions. :attr:`real` needs both to agree.
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
        """The series' one rule: a difference is real only when the paired interval excludes zero
        *and* the exact McNemar test on the discordant questions gives p < 0.05.

        Each alone can mislead on few questions: 4 discordant questions all one way out of 20 give a
        percentile-bootstrap interval that excludes zero, while the exact test gives p = 0.125; and
        McNemar counts questions, so paraphrases of one fact would count as independent evidence.
        """
        return (self.low > 0 or self.high < 0) and self.p_value < ALPHA

    @property
    def status(self) -> str:
        """``real`` (see :attr:`real`: interval and McNemar test agree), ``no detectable difference``,
        or ``identical scores`` (no question differs, so there is nothing to test): the verdict column
        of a comparison table."""
        if self.a_only == self.b_only == 0:
            return "identical scores"
        return "real" if self.real else "no detectable difference"

    def verdict(self, a: str = "A", b: str = "B", groups: str | None = "facts") -> str:
        """One sentence a notebook can print under a comparison: "a real difference" when :attr:`real`
        (interval excludes zero and McNemar p < 0.05), else "no detectable difference". ``groups``: what
        the resampled units are called ("facts"); ``None`` leaves them out (each question its own unit)."""
        where = f"n = {self.n} questions" + (f" ({self.facts} {groups})" if groups else "")
        ci = f"{self.mean:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"
        if not self.real:
            return f"{a} vs {b}: {ci}, no detectable difference at {where}"
        return f"{a} {'above' if self.mean > 0 else 'below'} {b}: {ci}, a real difference at {where}"

    def __str__(self) -> str:
        return f"{self.mean:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"


def paired_values(qids: Sequence[str], a: Sequence[float], b: Sequence[float], seed: int = 0,
                  n_resamples: int = 4000, clusters: Mapping[str, str] | None = None) -> Difference:
    """Mean of ``a - b`` over the same questions (ids ``qids``, ``FACT/tag``), with a paired interval.

    When two systems answer the *same* questions, comparing per-question differences is much more
    sensitive than checking whether two separate intervals overlap: the question-to-question
    variation both systems share cancels out. Facts (the part of the id before ``/``), not questions,
    are resampled, so the two paraphrases of one fact are not counted as independent evidence; and
    ``clusters`` (fact id -> cluster id) puts facts that are one fact asked twice into one unit. By
    default it is :func:`helpers.data.fact_clusters`, the ``same_as`` links of the series' facts; an
    id it does not know (another corpus's question ids) is its own unit, and ``clusters={}`` makes
    every fact its own unit. The exact McNemar (sign) test on the discordant questions is reported
    too; :attr:`Difference.real` needs both.
    """
    from scipy.stats import binomtest

    if not (len(qids) == len(a) == len(b)) or not qids:
        raise ValueError(f"paired comparison needs equal, non-empty lists ({len(qids)}, {len(a)}, {len(b)})")
    if clusters is None:
        clusters = fact_clusters()
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    groups: dict[str, list[int]] = {}
    for i, qid in enumerate(qids):
        fact = fact_of(qid)
        groups.setdefault(clusters.get(fact, fact), []).append(i)
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
                      metric: str | Callable[[Graded], float] = "contains", seed: int = 0,
                      clusters: Mapping[str, str] | None = None) -> Difference:
    """System A minus system B on ``metric`` over the same graded questions (see :func:`paired_values`,
    which also explains ``clusters``).

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
    return paired_values([r.qid for r in rows_a], [score(r) for r in rows_a], [score(r) for r in rows_b], seed=seed,
                         clusters=clusters)


def difference_in_differences(a_changed: Sequence[Graded], a_base: Sequence[Graded], b_changed: Sequence[Graded],
                              b_base: Sequence[Graded], metric: str = "contains", seed: int = 0) -> Difference:
    """Does one change (int8 weights, say) cost system A more than system B on the same questions?

    Per question: ``(a_changed - a_base) - (b_changed - b_base)`` on ``metric``, with the paired interval
    and sign test of :func:`paired_values` (facts resampled). Negative: the change cost A more.
    """
    qids = [r.qid for r in a_changed]
    if any([r.qid for r in rows] != qids for rows in (a_base, b_changed, b_base)):
        raise ValueError("a difference in differences needs the same questions in the same order in all four lists")
    score = lambda r: float(getattr(r, metric))           # noqa: E731
    effect_a = [score(x) - score(y) for x, y in zip(a_changed, a_base, strict=True)]
    effect_b = [score(x) - score(y) for x, y in zip(b_changed, b_base, strict=True)]
    return paired_values(qids, effect_a, effect_b, seed=seed)


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
    tp = sum(bool(y) and bool(p) for y, p in zip(labels, predictions, strict=True))
    fp = sum(not y and bool(p) for y, p in zip(labels, predictions, strict=True))
    fn = sum(bool(y) and not p for y, p in zip(labels, predictions, strict=True))
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
