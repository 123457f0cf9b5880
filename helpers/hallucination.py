"""The question sets and measurements of notebook 04 (reducing hallucinations), shared with
``.ci/idk_seeds.py``.

* :func:`question_sets`: answerable questions on facts inside and outside the Q&A fine-tuning set
  (notebook 02's split), the unanswerable and false-premise questions, the general-knowledge control,
  and a development split (the other facts, in the evaluated questions' held-out wording, + the
  separate unanswerable training set) on which a retrieval-score threshold is chosen. No evaluation
  question is in the development split.
* :func:`known_pairs`: the known-facts control's training pairs (general facts the base model already
  answers right, none near an evaluated question).
* :func:`idk_pairs`: the Q&A pairs of notebook 02's adapter plus "I don't know" for each unanswerable
  *training* question.
* :func:`threshold_curve`: what a RAG system that abstains below a retrieval score would score at
  every threshold, from one set of answers (no new generation).
* :func:`borrowed`: how many replies state an answer of the fine-tuning facts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from . import data, finetune, generation, recipe
from .evaluate import Graded, contains_answer

# Notebook 02's split and Q&A recipe, named here for the notebooks' text that cites them; defined in
# helpers.recipe (the same examples and settings give the same cached adapter).
MIN_INSIDE, N_OUTSIDE, SPLIT_SEED = recipe.MIN_INSIDE, recipe.N_OUTSIDE, recipe.SPLIT_SEED
QA_SETTINGS = recipe.QA_SETTINGS
QA_SNAPSHOTS = recipe.QA_SNAPSHOTS
WORDING = "h1"          # the first held-out paraphrase of each fact (one question per fact)


@dataclass(frozen=True)
class QuestionSets:
    """Every question notebook 04 asks, by role."""

    inside_facts: list[data.Fact]          # the Q&A adapter was trained on these facts
    outside_facts: list[data.Fact]         # no adapter saw these facts or their documents
    inside: list[data.Question]            # held-out wording of inside_facts
    outside: list[data.Question]           # held-out wording of facts no adapter saw
    unanswerable: list[data.Question]      # answer in no document, or a premise a document contradicts
    general: list[data.Question]           # general knowledge the base model may already have
    dev_answerable: list[data.Question]    # training wording of the facts in neither set (notebook 06's shots)
    dev_unanswerable: list[data.Question]  # the separate unanswerable training set
    dev_heldout: list[data.Question]       # held-out wording of other facts (no twin, no near-copy): the threshold's

    @property
    def evaluated(self) -> list[data.Question]:
        """The knowledge-base questions every system answers, in order: inside, outside, unanswerable."""
        return self.inside + self.outside + self.unanswerable


def question_sets() -> QuestionSets:
    """Build the question sets from ``data/`` (version 1 of the knowledge base)."""
    facts, docs = data.load_facts(1), data.load_corpus(1)
    split = recipe.document_split(facts, docs)
    used = {f.id for f in split.inside} | {f.id for f in split.outside}
    inside = data.fact_questions(list(split.inside), WORDING, pool=facts)
    outside = data.fact_questions(list(split.outside), WORDING, pool=facts)
    unanswerable = data.unanswerable_questions([*data.load_unanswerable(), *data.load_false_premise()])
    return QuestionSets(
        inside_facts=list(split.inside),
        outside_facts=list(split.outside),
        inside=inside,
        outside=outside,
        unanswerable=unanswerable,
        general=data.general_questions(data.load_general()),
        dev_answerable=data.fact_questions([f for f in facts if f.id not in used], "train", pool=facts),
        dev_unanswerable=data.unanswerable_questions(data.load_unanswerable(split="train")),
        dev_heldout=_dev_heldout(facts, used, inside + outside + unanswerable),
    )


def _dev_heldout(facts: Sequence[data.Fact], used: set[str], evaluated: Sequence[data.Question]) -> list[data.Question]:
    """The threshold's answerable development questions: the :data:`WORDING` of every fact that is in
    neither evaluated set, is not the same fact as one that is (``same_as``), and whose question is no
    near-copy (:data:`helpers.finetune.NEAR_COPY_JACCARD`) of an evaluated question."""
    clusters = data.fact_clusters()
    used_clusters = {clusters.get(f, f) for f in used}
    others = [f for f in facts if f.id not in used and clusters.get(f.id, f.id) not in used_clusters]
    return [q for q in data.fact_questions(others, WORDING, pool=facts)
            if all(finetune.jaccard(q.text, e.text) < finetune.NEAR_COPY_JACCARD for e in evaluated)]


def idk_pairs(facts: Sequence[data.Fact], unanswerable: Sequence[data.Unanswerable]) -> list[tuple[str, str]]:
    """(question, answer) pairs: each fact's training question with its answer, then each unanswerable
    training question with :data:`helpers.generation.IDK_REPLY`."""
    return finetune.fact_pairs(facts).pairs + [(u.question, generation.IDK_REPLY) for u in unanswerable]


@dataclass(frozen=True)
class CurvePoint:
    """A RAG system that abstains below ``threshold``: its shares on the evaluated questions."""

    threshold: float
    accuracy: float          # correct answers / answerable questions
    invented: float          # answers given / unanswerable questions
    abstained: float         # abstentions / answerable questions (the price of caution)


def threshold_curve(answerable: Sequence[Graded], answerable_scores: Sequence[float],
                    unanswerable: Sequence[Graded], unanswerable_scores: Sequence[float],
                    thresholds: Sequence[float]) -> list[CurvePoint]:
    """Shares at each threshold for a system that abstains when its best retrieval score is below it.

    Abstaining replaces the reply, so a question scores only if its score reaches the threshold:
    the same numbers as grading :func:`helpers.generation.abstain_below`'s answers (a unit test checks
    that), without generating or grading again for each threshold.
    """
    if len(answerable) != len(answerable_scores) or len(unanswerable) != len(unanswerable_scores):
        raise ValueError("each graded row needs its retrieval score")
    if not answerable or not unanswerable:
        raise ValueError("need answerable and unanswerable rows")
    points = []
    for t in thresholds:
        kept = [s >= t for s in answerable_scores]
        points.append(CurvePoint(
            threshold=float(t),
            accuracy=sum(r.contains and k for r, k in zip(answerable, kept, strict=True)) / len(answerable),
            invented=sum(r.invented and s >= t for r, s in zip(unanswerable, unanswerable_scores, strict=True)) / len(unanswerable),
            abstained=sum(r.abstained or not k for r, k in zip(answerable, kept, strict=True)) / len(answerable)))
    return points


def borrowed(rows: Sequence[Graded], facts: Sequence[data.Fact]) -> int:
    """How many of ``rows`` state an accepted answer of one of ``facts`` (lenient containment):
    a wrong or invented reply that does is an answer borrowed from those facts."""
    answers = [a for f in facts for a in (f.answer, *f.aliases)]
    return sum(contains_answer(r.prediction, answers) for r in rows)


def known_pairs(candidates: Sequence[data.GeneralItem], base: Sequence[Graded], evaluated: Sequence[data.Question],
                n: int) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """The known-facts control's training pairs: the first ``n`` ``candidates`` (in file order) that the
    base model answered right (``base``: its graded closed-book replies, same order) and that neither
    nearly copy an evaluated question (token Jaccard at least :data:`helpers.finetune.NEAR_COPY_JACCARD`)
    nor state an evaluated question's answer (:func:`helpers.finetune.answer_overlaps`). Returns the
    pairs and how many candidates each rule dropped (``unknown``, ``near-copy``, ``states an answer``).
    Raises if ``base`` does not match ``candidates``."""
    if [f"{c.id}/q" for c in candidates] != [r.qid for r in base]:
        raise ValueError("base must grade the candidates, in the same order")
    pairs: list[tuple[str, str]] = []
    dropped = {"unknown": 0, "near-copy": 0, "states an answer": 0}
    for item, row in zip(candidates, base, strict=True):
        if len(pairs) == n:
            break
        if not row.contains:
            dropped["unknown"] += 1
        elif any(finetune.jaccard(item.question, q.text) >= finetune.NEAR_COPY_JACCARD for q in evaluated):
            dropped["near-copy"] += 1
        elif finetune.answer_overlaps([(item.id, f"{item.question} {item.answer}")], evaluated):
            dropped["states an answer"] += 1
        else:
            pairs.append((item.question, item.answer))
    return pairs, dropped


def declines_to_erase(qids: Sequence[str], invented: Sequence[float], base_invented: Sequence[float]) -> int:
    """How many of the base model's declines would have to be misjudged inventions before "A invents
    more than the base model" stops being a real difference (:attr:`helpers.statistics.Difference.real`,
    uncorrected). The worst case for the claim: declines on questions where A invented are recounted
    first, in question order, then the others. Returns the count (0 when the difference is not real
    to begin with); ``invented`` and ``base_invented`` hold 1.0 (invented) or 0.0 per question."""
    from .statistics import paired_values

    if not (len(qids) == len(invented) == len(base_invented)):
        raise ValueError(f"need equal lists, got {len(qids)}, {len(invented)}, {len(base_invented)}")
    declines = [i for i, b in enumerate(base_invented) if b == 0]
    order = [i for i in declines if invented[i] == 1] + [i for i in declines if invented[i] != 1]
    recounted = list(base_invented)
    for n in range(len(order) + 1):
        if not paired_values(qids, invented, recounted).real:
            return n
        if n < len(order):
            recounted[order[n]] = 1.0
    return len(order)
