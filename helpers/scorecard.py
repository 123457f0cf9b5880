"""The scorecard: every notebook's verdict on the guide in one table, and what it means for a use case.

Notebook 10 and the README's "answer in 60 seconds" read the numbers notebooks 01-09 saved in
``results/`` through this module; nothing here measures anything, and no number is typed by hand.

:func:`load` gives one :class:`Row` per factor of the guide (the seven factors, the two kinds of
fine-tuning, and RAG and fine-tuning together): the guide's claim in our words, what RAG, fine-tuning
and both achieved on the row's measure (estimate, 95% interval, n), the paired comparison that carries
the verdict, its *status* and the notebook that measured it. A missing file or key raises
:class:`ResultsError` naming both. :func:`table` shows the rows' numbers and statuses compactly,
:func:`details` what each row claims, measures and compares, :func:`sub_claims` the further statements.

**Status**, always relative to the guide's claim (the words of :mod:`helpers.claims`):

* ``supported``: the deciding comparison is a difference the test detects after Holm's correction,
  in the direction the guide claims;
* ``contradicted``: detected, in the other direction;
* ``no detectable difference``: not detected (never "equal");
* ``exploratory``: the comparison was outside the notebook's correction (never evidence);
* ``not testable at this scale``: a claim the series cannot test (e.g. model size: one generator).

"Detected" is read from the notebook itself, never recomputed where the notebook saved it: its claims
table's status where it saved one, else its ``real_after_holm`` / ``real_after_correction`` flag, else
(notebook 05) its Holm-adjusted p with the series' rule (:attr:`helpers.statistics.Difference.real`).

**The scoring rule** (:func:`recommend`), kept simple on purpose:

1. Each of the seven factors has a *leader*: the approach its numbers favour (the guide's favourite
   when the status is ``supported``; the rival, where the row names one, when ``contradicted``), or
   none (no detectable difference, or not testable).
2. A use case weighs the seven factors (0 = irrelevant ... 3 = decisive). RAG's score is the sum of the
   weights of the factors RAG leads; fine-tuning's, of those fine-tuning leads (a factor led by the
   combination counts for both). Factors with no leader add nothing to either side.
3. The recommendation is **both** when each side scores above zero and the smaller score is at least
   half the larger (:data:`BOTH_RATIO`): the use case needs something only each approach gave.
   Otherwise the higher score wins. When no weighted factor has a leader it is **RAG**
   (:data:`DEFAULT`), the approach with no training run.
4. When a heaviest-weighted factor has no leader, the recommendation carries a *caveat*
   (:attr:`Recommendation.caveat`): that factor is undecided, and, where a notebook measured remedies
   for it (:data:`REMEDIES`), which of them worked there.

Weights are numbers >= 0, fractional ones included; the series' use cases use whole numbers from 0 to
3 (:data:`MAX_WEIGHT`). The deciding numbers of a recommendation are the measured headline numbers of
the heaviest factors behind it (and, for "both", the measured cost of combining naively, from notebook
08), each with its notebook and n. :func:`flip_points` says how far each weight alone must move before
the recommendation changes (:attr:`FlipPoint.beyond_scale`: only past the top of the 0-3 scale).
:func:`reread` gives the scorecard with one row read another defensible way, :func:`with_ratio` runs the
rule under another :data:`BOTH_RATIO`: notebook 10's sensitivity tables. The use cases' weights and this
rule were written after notebooks 01-09's results were known (not pre-registered).
"""
from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

from . import claims, config

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

RAG, FINE_TUNING, BOTH = "RAG", "fine-tuning", "both"
OPTIONS = (RAG, FINE_TUNING, BOTH)
NOT_TESTABLE = "not testable at this scale"
STATUSES = (*claims.STATUSES, NOT_TESTABLE)
BOTH_RATIO = 0.5     # "both" when the weaker side scores at least this share of the stronger one
DEFAULT = RAG        # when no weighted factor has a leader: the approach with no training run
MAX_WEIGHT = 3.0     # the use cases' scale: 0 (irrelevant) to 3 (decisive); fractional and larger weights are allowed
COMMITTED = config.REPO_ROOT / "results"          # the numbers the README quotes
HERO_IMAGE = config.REPO_ROOT / "docs" / "figures" / "inside_outside.png"
# Okabe & Ito's palette for colour-blind readers (with its grey)
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
             "grey": "#999999"}

Direction = Literal["higher", "lower", "no difference"]
Unit = Literal["share", "seconds", "range"]
Path_ = tuple[str, ...]


class ResultsError(ValueError):
    """A results file is missing, unreadable, or lacks a key the scorecard needs (the message names both)."""


# ----------------------------------------------------------------------------------------------------
# what a row holds

@dataclass(frozen=True)
class Measure:
    """What one approach achieved on a row's measure.

    ``unit``: ``"share"`` (a proportion with its 95% Wilson interval ``low``-``high``), ``"seconds"``
    (a median, no interval) or ``"range"`` (accuracy across a grid of settings: ``low`` the worst
    setting, ``high`` the best, ``mean`` their difference). ``n``: questions (settings for a range).
    """

    mean: float
    low: float | None
    high: float | None
    n: int
    unit: Unit = "share"

    def short(self) -> str:
        """The number a person can hold: ``"38%"``, ``"0.52 s"``, ``"24% to 51%"``."""
        if self.unit == "share":
            return f"{self.mean:.0%}"
        if self.unit == "seconds":
            return f"{self.mean:.2f} s"
        return f"{self.low:.0%} to {self.high:.0%}"

    def __str__(self) -> str:
        if self.unit == "share":
            return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}], n = {self.n}"
        if self.unit == "seconds":
            return f"{self.mean:.2f} s median, n = {self.n}"
        return f"{self.low:.2f} to {self.high:.2f} over {self.n} settings"


@dataclass(frozen=True)
class Comparison:
    """The paired comparison (A minus B, on the same questions) behind a claim, and its status."""

    text: str                 # what is compared, in words
    direction: Direction      # what the claim expects of A minus B
    mean: float
    low: float
    high: float
    n: int
    holm_p: float | None      # None: exploratory, or not saved
    detected: bool            # a difference the test detects after the notebook's Holm correction
    status: str               # relative to the claim (see the module docstring)
    unit: Unit = "share"

    def estimate(self) -> str:
        """``"+0.35 [+0.24, +0.46]"`` (seconds carry an ``s``)."""
        s = " s" if self.unit == "seconds" else ""
        return f"{self.mean:+.2f}{s} [{self.low:+.2f}, {self.high:+.2f}]"

    def where(self) -> str:
        """``"a difference the test detects, n = 80"`` or ``"no detectable difference at n = 80"``."""
        if self.status == claims.EXPLORATORY:
            return f"exploratory, n = {self.n}"
        if self.status == NOT_TESTABLE:
            return "not testable at this scale (one model size)"
        return f"a difference the test detects, n = {self.n}" if self.detected else \
            f"no detectable difference at n = {self.n}"


@dataclass(frozen=True)
class SubClaim:
    """A further statement of the same notebook, with its own comparison and status."""

    text: str
    status: str
    comparison: Comparison | None       # None for a claim the series cannot test


@dataclass(frozen=True)
class Row:
    """One factor of the guide, as measured. See the module docstring for ``status`` and ``leader``."""

    key: str                  # "dynamic", "external", ... (see FACTORS and ROWS)
    label: str                # "1 · Dynamic vs static data"
    claim: str                # the guide's claim, in our words
    measure: str              # what RAG / fine-tuning / both are measured on
    measure_short: str        # the same in a few words, for one-line summaries
    better: Literal["higher", "lower"]
    rag: Measure | None
    fine_tuning: Measure | None
    both: Measure | None
    others: tuple[tuple[str, Measure], ...]
    comparison: Comparison
    status: str
    favours: str | None       # the approach the guide's claim favours
    leader: str | None        # the approach this row's numbers favour, or None
    also: tuple[SubClaim, ...]
    notebook: str             # file name in notebooks/
    results_file: str         # file name in results/
    # a further measure that leads the headline, with its words: ("RAG's recorded source is the right
    # document for {}", Measure); None for most rows
    featured: tuple[str, Measure] | None = None
    notes: tuple[tuple[str, Measure], ...] = ()     # further saved measures, e.g. notebook 04's AUC
    counts: Mapping[str, float] = field(default_factory=dict)   # saved counts the text quotes (training exposure)

    @property
    def number(self) -> str:
        """The notebook's number, ``"02"``."""
        return self.notebook[:2]

    def measures(self) -> dict[str, Measure]:
        """RAG, fine-tuning and both, where measured, in that order."""
        return {name: m for name, m in ((RAG, self.rag), (FINE_TUNING, self.fine_tuning), (BOTH, self.both))
                if m is not None}

    def source(self) -> str:
        """Where the headline's numbers come from: ``"notebook 02, 80 questions"`` (settings for a range)."""
        ms = list(self.measures().values()) + ([self.featured[1]] if self.featured else [])
        if self.unit == "range":
            return f"notebook {self.number}, " + " and ".join(
                f"{m.n} {name if name != BOTH else 'combined'}" for name, m in self.measures().items()) + " settings"
        ns = sorted({m.n for m in ms})
        return f"notebook {self.number}, {ns[0] if len(ns) == 1 else f'{ns[0]} to {ns[-1]}'} questions"

    @property
    def unit(self) -> Unit:
        return next(iter(self.measures().values())).unit

    def headline(self, source: bool = False) -> str:
        """``"RAG 38%, fine-tuning 3%, both 10% (right on facts outside the fine-tuning set)"``; with
        ``source``, the notebook and n follow the measure: ``"(...; notebook 02, 80 questions)"``. A row
        with a :attr:`featured` measure puts it first."""
        parts = ", ".join(f"{name} {m.short()}" for name, m in self.measures().items())
        text = f"{parts} ({self.measure_short}{'; ' + self.source() if source else ''})"
        if self.featured is not None:
            words, m = self.featured
            text = f"{words.format(m.short())}; {text}"
        return text


# ----------------------------------------------------------------------------------------------------
# where each row's numbers are stored (the keys each notebook's save cell writes)

@dataclass(frozen=True)
class _Check:
    """Where a comparison's numbers and verdict are saved, and what the claim expects of it.

    ``difference``: path to the saved paired difference (mean, low, high, n, p_value). The verdict
    comes from, in this order of preference: ``claim`` (path to the notebook's claims table, claim
    text), ``real`` (path to its real-after-correction flag), or ``holm_p`` with the series' rule.
    """

    text: str
    direction: Direction
    difference: Path_
    holm_p: Path_ | None = None
    real: Path_ | None = None
    claim: tuple[Path_, str] | None = None
    unit: Unit = "share"


@dataclass(frozen=True)
class _Spec:
    key: str
    label: str
    results: str                    # results/<results>.json
    notebook: str
    claim: str
    measure: str
    measure_short: str
    check: _Check
    favours: str | None
    if_supported: str | None        # the leader when the status is "supported"
    if_contradicted: str | None     # the leader when "contradicted"
    better: Literal["higher", "lower"] = "higher"
    unit: Unit = "share"
    rag: Path_ | None = None
    fine_tuning: Path_ | None = None
    both: Path_ | None = None
    others: tuple[tuple[str, Path_], ...] = ()
    also: tuple[_Check, ...] = ()
    untested: tuple[str, ...] = ()
    featured: tuple[str, str] | None = None   # (words with {} for the share, label in ``others``): leads the headline
    # False: the guide's claim cannot be tested at this scale; the row's comparison is what was measured
    # instead (status NOT_TESTABLE, no leader)
    testable: bool = True
    # further results files this row reads (a notebook split in two): each file's numbers are read in
    # under its stem, so their paths start with it, e.g. ("09_training_for_rag", "style_both", "RAG")
    more_results: tuple[str, ...] = ()
    notes: tuple[tuple[str, Path_], ...] = ()           # further saved measures (label, path), unit "share"
    # further statements chosen from the results by a rule fixed in advance (e.g. "the largest drop")
    rules: tuple[Any, ...] = ()


def _paired(key: str, field_: str) -> Path_:
    return ("paired", key, field_)


_NB = {"01": "01_dynamic_vs_static_data.ipynb", "02": "02_external_knowledge.ipynb",
       "03": "03_model_customization.ipynb", "04": "04_hallucinations.ipynb", "05": "05_transparency.ipynb",
       "06": "06_cost_of_smaller_models.ipynb", "07": "07_technical_expertise.ipynb",
       "08": "08_rag_and_finetuning_together.ipynb", "09": "09_training_for_rag.ipynb"}
_R09 = "09_training_for_rag"      # notebook 09's results, read into the "both" row under this key
_NEW, _OLD, _CONT = "RAG, re-indexed (after)", "fine-tuned on v1, not updated", "fine-tuned, continued on changes"
_H04 = "invented on unanswerable"


def _c02(text: str, direction: Direction, key: str) -> _Check:
    return _Check(text, direction, ("paired", key), holm_p=_paired(key, "holm_p"), real=_paired(key, "real_after_holm"))


def _c04(text: str, direction: Direction, key: str) -> _Check:
    return _Check(text, direction, ("paired", key), holm_p=_paired(key, "holm_p"),
                  real=_paired(key, "real_after_correction"))


def _c03(text: str, direction: Direction, kind: str, pair: str) -> _Check:
    key = f"{kind}: {pair}"
    return _Check(text, direction, (f"{kind}_paired", pair), holm_p=("holm_p", key), real=("real_after_holm", key))


def _c03s(text: str, direction: Direction, part: str, pair: str) -> _Check:
    """Notebook 03's style comparisons, one per question set (``knowledge-base`` or ``style``)."""
    key = f"style on {part} questions: {pair}"
    return _Check(text, direction, ("style_paired", part, pair), holm_p=("holm_p", key), real=("real_after_holm", key))


_KB = "knowledge-base"    # notebook 03's row: the company's own questions, the ones an assistant answers in its style


def _c07(text: str, direction: Direction, saved: str, family_key: str, where: str = "paired_vs_series") -> _Check:
    return _Check(text, direction, (where, saved), holm_p=("holm_p", family_key), real=("real_after_correction", family_key))


def _c08(text: str, direction: Direction, where: str, pair: str, claim: str, holm_p: Path_) -> _Check:
    return _Check(text, direction, (where, pair), holm_p=holm_p, claim=(("claims",), claim))


def _c09(text: str, direction: Direction, where: str, pair: str, claim: str, holm_p: Path_) -> _Check:
    """A statement of the "both" row saved by notebook 09: its paths start with :data:`_R09`."""
    return _Check(text, direction, (_R09, where, pair), holm_p=(_R09, *holm_p), claim=((_R09, "claims"), claim))


def _h08(part: str, metric: str) -> Path_:
    return ("two_by_two_holm_p", f"{part} | fine-tuned + RAG  minus  base + RAG | {metric}")


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        key="dynamic", label="1 · Dynamic vs static data", results="01_dynamic_data", notebook=_NB["01"],
        claim="RAG stays current when the documents change (re-index them); a fine-tuned model is a snapshot "
              "of its training data.",
        measure="share of questions about changed facts answered with the new value, after the update",
        measure_short="new value after an update",
        check=_Check("re-indexed RAG minus the fine-tuned model left as it was (new value)", "higher",
                     ("paired_new_value", f"{_NEW} - {_OLD}"), holm_p=("holm_p", f"new value: {_NEW} vs {_OLD}"),
                     real=("real_after_holm", f"new value: {_NEW} vs {_OLD}")),
        favours=RAG, if_supported=RAG, if_contradicted=FINE_TUNING,
        rag=("new_value", _NEW), fine_tuning=("new_value", _OLD),
        others=(("fine-tuned, then trained on the changes", ("new_value", _CONT)),),
        also=(
            _Check("Fine-tuning does not guarantee recall: a fine-tuned model recalls its training wording more often "
                   "than new wordings of the same facts",
                   "higher", ("recall_gap",), holm_p=("holm_p", "recall: training wording vs held-out wordings"),
                   real=("real_after_holm", "recall: training wording vs held-out wordings")),
            _Check("Trained further on the changes, the fine-tuned model and re-indexed RAG give new values alike",
                   "no difference", ("paired_new_value", f"{_NEW} - {_CONT}"),
                   holm_p=("holm_p", f"new value: {_NEW} vs {_CONT}"), real=("real_after_holm", f"new value: {_NEW} vs {_CONT}")),
            _Check("Training the fine-tuned model further on the changes lowered its recall of facts that did not "
                   "change", "lower", ("forgetting",),
                   holm_p=("holm_p", "control facts: after vs before continued fine-tuning"),
                   real=("real_after_holm", "control facts: after vs before continued fine-tuning")),
        ),
    ),
    _Spec(
        key="external", label="2 · External knowledge", results="02_external_knowledge", notebook=_NB["02"],
        claim="For knowledge that lives in documents and databases, RAG is a better route than fine-tuning.",
        measure="share correct (lenient) on questions about facts outside the fine-tuning set",
        measure_short="right on facts outside the fine-tuning set",
        check=_c02("RAG minus the Q&A fine-tuned model, facts outside the fine-tuning set", "higher",
                   "RAG - Q&A fine-tuned | outside"),
        favours=RAG, if_supported=RAG, if_contradicted=FINE_TUNING,
        rag=("arms", "RAG | outside", "contains"), fine_tuning=("arms", "Q&A fine-tuned | outside", "contains"),
        both=("arms", "Q&A fine-tuned + RAG | outside", "contains"),
        others=(("fine-tuned on the raw text (LM)", ("arms", "LM fine-tuned | outside", "contains")),
                ("no help (closed book)", ("arms", "closed-book | outside", "contains"))),
        also=(_c02("RAG answers more than the model fine-tuned on the raw text, outside", "higher",
                   "RAG - LM fine-tuned | outside"),),
    ),
    _Spec(
        key="kinds", label="Two kinds of fine-tuning", results="02_external_knowledge", notebook=_NB["02"],
        claim="Language-modelling fine-tuning (next-token prediction on raw text) adapts a model broadly; "
              "supervised Q&A fine-tuning (question-answer pairs) is the kind built for answering questions.",
        measure="share correct (lenient) on reworded questions about facts inside the fine-tuning set",
        measure_short="right on facts inside the fine-tuning set",
        check=_c02("Q&A fine-tuning minus fine-tuning on the raw text, facts inside the fine-tuning set", "higher",
                   "Q&A fine-tuned - LM fine-tuned | inside"),
        favours=None, if_supported=None, if_contradicted=None,       # both sides are fine-tuning
        rag=("arms", "RAG | inside", "contains"), fine_tuning=("arms", "Q&A fine-tuned | inside", "contains"),
        both=("arms", "Q&A fine-tuned + RAG | inside", "contains"),
        others=(("fine-tuned on the raw text (LM)", ("arms", "LM fine-tuned | inside", "contains")),),
        also=(_c02("With a Q&A pair written for every fact, the Q&A fine-tuned model and RAG answer alike",
                   "no difference", "Q&A fine-tuned - RAG | inside"),
              _c02("RAG answers more than the model fine-tuned on the raw text, even inside", "higher",
                   "RAG - LM fine-tuned | inside")),
    ),
    _Spec(
        key="customization", label="3 · Model customization", results="03_model_customization", notebook=_NB["03"],
        claim="Fine-tuning is the direct route to a house style, tone or vocabulary.",
        measure="share of replies keeping all four rules of the house style, on knowledge-base questions",
        measure_short="replies in the house style (knowledge-base questions)",
        check=_c03s("the style adapter minus the base model (replies in the house style, knowledge-base questions)",
                    "higher", _KB, "style LoRA - base"),
        favours=FINE_TUNING, if_supported=FINE_TUNING, if_contradicted=None,
        rag=("systems", "RAG", "style_by_set", _KB), fine_tuning=("systems", "style LoRA", "style_by_set", _KB),
        both=("systems", "style LoRA + RAG", "style_by_set", _KB),
        others=(("three examples in the prompt (few-shot)", ("systems", "few-shot", "style_by_set", _KB)),
                ("the style adapter, farming questions",
                 ("systems", "style LoRA", "style_by_set", "style")),
                ("three examples in the prompt, farming questions", ("systems", "few-shot", "style_by_set", "style"))),
        also=(
            _c03s("RAG adds knowledge but no house style (RAG against the base model, knowledge-base questions)",
                  "no difference", _KB, "RAG - base"),
            _c03s("Closed-book, the style adapter keeps the style less often than three examples in the prompt "
                  "(knowledge-base questions)", "lower", _KB, "style LoRA - few-shot"),
            _c03s("Closed-book, the style adapter keeps the style less often than three examples in the prompt "
                  "(farming questions)", "lower", "style", "style LoRA - few-shot"),
            _c03s("With a retrieved passage, the adapter keeps the style more often than three examples "
                  "(knowledge-base questions)", "higher", _KB, "style LoRA + RAG - few-shot + RAG"),
            _c03s("With a retrieved passage, the adapter keeps the style more often than three examples "
                  "(farming questions)", "higher", "style", "style LoRA + RAG - few-shot + RAG"),
            _c03("The style adapter + RAG answers as accurately as plain RAG", "no difference", "accuracy",
                 "style LoRA + RAG - RAG"),
        ),
    ),
    _Spec(
        key="hallucination", label="4 · Reducing hallucinations", results="04_hallucinations", notebook=_NB["04"],
        claim="RAG invents less than a model without retrieval, because each answer rests on retrieved evidence.",
        measure="share of unanswerable questions answered anyway (an invented answer)",
        measure_short="invented answers to unanswerable questions", better="lower",
        check=_c04("RAG minus the model alone, unanswerable questions (invented)", "lower", f"{_H04}: RAG - base"),
        favours=RAG, if_supported=RAG, if_contradicted=None,
        rag=("systems", "RAG", "unanswerable: invented"),
        fine_tuning=("systems", "Q&A fine-tuned", "unanswerable: invented"),
        others=(("the model alone", ("systems", "base", "unanswerable: invented")),
                ("trained to say \"I don't know\"", ("systems", "IDK fine-tuned", "unanswerable: invented")),
                ("RAG with a retrieval-score threshold",
                 ("systems", "RAG, passages only + threshold", "unanswerable: invented"))),
        notes=(("threshold AUC, evaluation", ("auc", "evaluation")),),
        also=(
            _c04("RAG gives fewer wrong answers than the model alone to questions the documents answer", "lower",
                 "wrong on answerable: RAG - base"),
            _c04("Fine-tuning on the domain reduces invention (the Q&A fine-tuned model against the model alone)",
                 "lower", f"{_H04}: Q&A fine-tuned - base"),
            _c04("Where the model alone often declines (questions about the asker), RAG invents less than it", "lower",
                 "invented on about the asker: RAG - base"),
            _c04("Where the model alone often declines (questions about the asker), the Q&A fine-tuned model invents "
                 "more than it", "higher", "invented on about the asker: Q&A fine-tuned - base"),
            _c04("Training a model to say \"I don't know\" cuts invention (against the Q&A adapter)", "lower",
                 f"{_H04}: IDK fine-tuned - Q&A fine-tuned"),
            _c04("A retrieval-score threshold cuts invention", "lower",
                 f"{_H04}: RAG, passages only + threshold - RAG, passages only"),
            _c04("The retrieval-score threshold also costs correct answers", "lower",
                 "correct on answerable: RAG, passages only + threshold - RAG, passages only"),
            _c04("The \"I don't know\" model also declines answerable general questions more often than the Q&A "
                 "adapter", "higher", "abstained on general: IDK fine-tuned - Q&A fine-tuned"),
        ),
    ),
    _Spec(
        key="transparency", label="5 · Transparency", results="05_transparency", notebook=_NB["05"],
        claim="RAG can show where an answer came from, stage by stage; a fine-tuned model is a black box.",
        measure="share of answers whose source, as the system gives it, is the document that holds the fact "
                "(RAG: the passage it recorded; the fine-tuned model: its reply when asked, the only account it has)",
        measure_short="gives the right source",
        check=_Check("RAG's recorded source minus the fine-tuned model, asked", "higher",
                     ("recorded_minus_fine_tuned",),
                     holm_p=("holm_p", "names the document: RAG's recorded source minus fine-tuned, asked")),
        favours=RAG, if_supported=RAG, if_contradicted=FINE_TUNING,
        rag=("source_named", "RAG, recorded source"), fine_tuning=("source_named", "fine-tuned, asked"),
        others=(("RAG's reader, asked", ("source_named", "RAG reader, asked")),),
        also=(
            _Check("Asked for its source, the RAG reader names the document more often than the fine-tuned model",
                   "higher", ("source_named_difference",),
                   holm_p=("holm_p", "names the document, asked: RAG reader minus fine-tuned")),
            _Check("RAG's recorded source names the document more often than its reader does when asked", "higher",
                   ("recorded_minus_asked",),
                   holm_p=("holm_p", "names the document: RAG's recorded source minus RAG reader, asked")),
            _Check("The retrieved passage holds the answer more often than the answer is right (the reader is the "
                   "weak half)", "higher", ("holds_minus_correct",),
                   holm_p=("holm_p", "source holds the answer minus answer correct")),
        ),
    ),
    _Spec(
        key="cost", label="6 · Cost of smaller models", results="06_cost", notebook=_NB["06"],
        claim="Fine-tuning lets a smaller model do the task, so each query costs less than with RAG, which does "
              "not allow a smaller model.",
        measure="median seconds per query, one query at a time, on this machine's CPU",
        measure_short="median seconds per query", better="lower", unit="seconds",
        check=_Check("measured instead, at one model size: the fine-tuned model (merged) minus RAG, seconds per "
                     "query, same queries timed alternately",
                     "lower", ("paired_latency", "fine-tuned, merged - base + RAG"),
                     holm_p=("holm_p", "latency", "fine-tuned, merged - base + RAG, seconds (run 1)"),
                     real=("real_after_correction", "fine-tuned, merged - base + RAG, seconds (run 1)"), unit="seconds"),
        favours=FINE_TUNING, if_supported=FINE_TUNING, if_contradicted=RAG,
        rag=("latency", "base + RAG"), fine_tuning=("latency", "fine-tuned, merged"),
        others=(("RAG, int8 weights", ("latency", "int8 base + RAG")),
                ("fine-tuned, int8 weights", ("latency", "fine-tuned, int8"))),
        testable=False,
        also=(
            _Check("Latency at equal size, mostly from shorter replies: the fine-tuned model answers faster than RAG",
                   "lower", ("paired_latency", "fine-tuned, merged - base + RAG"),
                   holm_p=("holm_p", "latency", "fine-tuned, merged - base + RAG, seconds (run 1)"),
                   real=("real_after_correction", "fine-tuned, merged - base + RAG, seconds (run 1)"), unit="seconds"),
            _Check("Outside its training set, RAG answers more questions right than the fine-tuned model", "higher",
                   ("paired_accuracy", "base + RAG - fine-tuned, merged | outside"),
                   holm_p=("holm_p", "accuracy", "base + RAG - fine-tuned, merged, outside"),
                   real=("real_after_correction", "base + RAG - fine-tuned, merged, outside")),
            _Check("Inside its training set, the fine-tuned model and RAG answer alike", "no difference",
                   ("paired_accuracy", "fine-tuned, merged - base + RAG | inside"),
                   holm_p=("holm_p", "accuracy", "fine-tuned, merged - base + RAG, inside"),
                   real=("real_after_correction", "fine-tuned, merged - base + RAG, inside")),
        ),
    ),
    _Spec(
        key="expertise", label="7 · Technical expertise", results="07_expertise", notebook=_NB["07"],
        claim="Fine-tuning asks for more expertise than RAG: data to prepare, more settings to choose, training "
              "to run and to check.",
        measure="share correct on facts inside the fine-tuning set across a grid of reasonable settings "
                "(worst to best)",
        measure_short="accuracy across reasonable settings", unit="range",
        check=_c07("fine-tuning at a learning rate ten times lower (3e-4) than the series' (3e-3) minus the "
                   "series' setting", "lower", "FT lr=0.0003 epoch=6", "FT lr 0.0003, epoch 6 - series' setting"),
        favours=RAG, if_supported=RAG, if_contradicted=None,
        rag=("spread", "RAG"), fine_tuning=("spread", "fine-tuning"),
        also=(
            _c07("Fine-tuning at the series' own learning rate cost general knowledge", "lower", "lr=0.003",
                 "general knowledge: FT lr 0.003, epoch 6 - base model", where="general_vs_base"),
        ),
        rules=("rag_largest_drop",),
    ),
    _Spec(
        key="both", label="RAG and fine-tuning together", results="08_both", notebook=_NB["08"],
        claim="Handing a Q&A-tuned model retrieved passages beats RAG alone (the naive form of the guide's "
              "\"together they can beat either alone\"; a reader trained with passages is a further statement).",
        measure="share correct (lenient) on questions about facts outside the fine-tuning set",
        measure_short="right on facts outside the fine-tuning set",
        check=_c08("a Q&A-fine-tuned model handed the passages minus plain RAG, facts outside the fine-tuning set",
                   "higher", "two_by_two_paired", "fine-tuned + RAG - base + RAG | outside",
                   "Outside the fine-tuning set, the adapter + RAG scores below RAG alone (lenient)",
                   _h08("outside", "lenient")),
        favours=BOTH, if_supported=BOTH, if_contradicted=RAG,
        rag=("two_by_two", "base + RAG | outside", "contains"),
        fine_tuning=("two_by_two", "fine-tuned | outside", "contains"),
        both=("two_by_two", "fine-tuned + RAG | outside", "contains"),
        more_results=(_R09,),
        others=(("style adapter + RAG, right and in style", (_R09, "style_both", "style LoRA + RAG")),
                ("three examples + RAG, right and in style", (_R09, "style_both", "few-shot + RAG")),
                ("RAG, right and in style", (_R09, "style_both", "RAG")),
                ("reader trained with passages, held-out documents",
                 ("reader", "2 distractors | held-out documents", "lenient")),
                ("RAG, held-out documents", ("reader", "base + RAG | held-out documents", "lenient")),
                ("trained on corrected errors, reading errors on new questions",
                 (_R09, "error_corrected", "shares", "corrected errors | reading error")),
                ("trained on as many right answers, reading errors on new questions",
                 (_R09, "error_corrected", "shares", "right answers | reading error"))),
        also=(
            _c08("A reader trained with passages (2 distractors) answers as accurately as RAG "
                 "(lenient, held-out documents)", "no difference", "reader_vs_base",
                 "2 distractors | held-out documents | contains",
                 "2 distractors: no detectable difference in lenient accuracy from base + RAG, held-out documents",
                 ("reader_vs_base_holm_p", "2 distractors | held-out documents | contains")),
            _c09("The style adapter + RAG gives more replies right and in style than RAG alone (notebook 09)", "higher",
                 "style_both_paired", "RAG", "The style adapter + RAG: more replies right and in style than RAG alone",
                 ("style_both_holm_p", "RAG")),
            _c09("The style adapter + RAG and three examples + RAG give replies right and in style alike (notebook 09)",
                 "no difference", "style_both_paired", "few-shot + RAG",
                 "The style adapter + RAG vs three examples in the prompt: no detectable difference",
                 ("style_both_holm_p", "few-shot + RAG")),
            _c08("Inside the fine-tuning set, adding the adapter to RAG gives more bare answers (exact match)",
                 "higher", "two_by_two_exact_paired", "fine-tuned + RAG - base + RAG | inside",
                 "Inside, adding the adapter raises RAG's exact match (its short format)", _h08("inside", "exact match")),
            _c08("Inside, adding the adapter raises RAG's lenient accuracy", "higher", "two_by_two_paired",
                 "fine-tuned + RAG - base + RAG | inside",
                 "Inside the fine-tuning set, adding the adapter to RAG leaves lenient accuracy unchanged",
                 _h08("inside", "lenient")),
            _c08("A reader trained with passages (2 distractors) gives more bare answers than RAG "
                 "on a corpus no training touched", "higher", "reader_vs_base",
                 "2 distractors | second corpus | exact",
                 "2 distractors: more bare answers (exact match) than base + RAG, second corpus",
                 ("reader_vs_base_holm_p", "2 distractors | second corpus | exact")),
            _Check("Fine-tuning on RAG's corrected errors leaves fewer reading errors on new questions than "
                   "training on as many right answers (notebook 09)", "lower",
                   (_R09, "error_corrected", "paired", "corrected errors - right answers | reading errors"),
                   holm_p=(_R09, "error_corrected", "holm_p", "corrected errors - right answers | reading errors"),
                   claim=((_R09, "claims"), "On other facts it makes fewer reading errors than the control")),
        ),
    ),
)

ROWS: tuple[str, ...] = ("dynamic", "external", "customization", "hallucination", "transparency", "cost",
                         "expertise", "both", "kinds")        # the scorecard's order
FACTORS: tuple[str, ...] = ROWS[:7]                           # the guide's seven factors: what use cases weigh
SHORT = {"dynamic": "dynamic data", "external": "external knowledge", "customization": "customization",
         "hallucination": "hallucinations", "transparency": "transparency", "cost": "cost", "expertise": "expertise",
         "both": "together", "kinds": "two kinds"}
assert sorted(s.key for s in _SPECS) == sorted(ROWS)


# ----------------------------------------------------------------------------------------------------
# reading results/

def _read(folder: Path, stem: str, notebook: str) -> tuple[dict[str, Any], str]:
    path = folder / f"{stem}.json"
    where = str(path)
    if not path.is_file():
        raise ResultsError(f"{where}: no such file; execute notebooks/{notebook} to write it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(f"{where}: not readable JSON ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("numbers"), dict):
        raise ResultsError(f"{where}: missing key 'numbers' (not a results file written by helpers.results.save)")
    return data["numbers"], where


def _key_text(path: Sequence[Any]) -> str:
    return "numbers" + "".join(f"[{k!r}]" for k in path)


class _Where(str):
    """The file a row reads (its text), and the further files read in under their stems (``parts``)."""

    parts: dict[str, str]


def _at(where: str, path: Sequence[Any]) -> str:
    """``"<file>: numbers[...]"``: the file that holds ``path`` (a further file when ``path`` starts
    with its stem, the path then given inside that file) and the key in it."""
    parts = getattr(where, "parts", {})
    if path and path[0] in parts:
        return f"{parts[path[0]]}: {_key_text(path[1:])}"
    return f"{where}: {_key_text(path)}"


def _get(numbers: Mapping[str, Any], path: Path_, where: str) -> Any:
    node: Any = numbers
    for i, k in enumerate(path):
        if not isinstance(node, Mapping) or k not in node:
            raise ResultsError(f"{_at(where, path[:i + 1]).replace(': numbers', ': missing key numbers', 1)} (the notebook's save cell writes it; "
                               "were the results saved by an older version of the notebook?)")
        node = node[k]
    return node


def _number(node: Mapping[str, Any], name: str, path: Path_, where: str, allow_none: bool = False) -> Any:
    if not isinstance(node, Mapping) or name not in node:
        raise ResultsError(_at(where, (*path, name)).replace(": numbers", ": missing key numbers", 1))
    value = node[name]
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ResultsError(f"{_at(where, (*path, name))} is {value!r}, not a number")
    return value


def _measure(numbers: Mapping[str, Any], path: Path_, unit: Unit, where: str) -> Measure:
    node = _get(numbers, path, where)
    if unit == "seconds":
        return Measure(float(_number(node, "median", path, where)), None, None, int(_number(node, "n", path, where)),
                       "seconds")
    if unit == "range":
        low, high = (float(_number(node, k, path, where)) for k in ("minimum", "maximum"))
        return Measure(high - low, low, high, int(_number(node, "n", path, where)), "range")
    return Measure(*(float(_number(node, k, path, where)) for k in ("mean", "low", "high")),
                   int(_number(node, "n", path, where)), "share")


def _claim_status(numbers: Mapping[str, Any], path: Path_, text: str, where: str) -> str:
    table = _get(numbers, path, where)
    if isinstance(table, Mapping):
        if text not in table:
            raise ResultsError(_at(where, (*path, text)).replace(": numbers", ": missing key numbers", 1))
        status = table[text]
    else:               # a claims table saved as records: {"claim": ..., "status": ...}
        found = [r for r in table if isinstance(r, Mapping) and r.get("claim") == text]
        if not found:
            raise ResultsError(f"{_at(where, path)} has no claim {text!r}")
        status = found[0].get("status")
    if status not in claims.STATUSES:
        raise ResultsError(f"{_at(where, path)}: claim {text!r} has status {status!r}, not one of {claims.STATUSES}")
    return status


def _status(direction: Direction, detected: bool, mean: float) -> str:
    """A claim's status from what it expects of A minus B and what was detected (as helpers.claims)."""
    if not detected:
        return claims.NO_DIFFERENCE
    if direction == "no difference":
        return claims.CONTRADICTED
    return claims.SUPPORTED if (mean > 0) == (direction == "higher") else claims.CONTRADICTED


def _comparison(numbers: Mapping[str, Any], check: _Check, where: str) -> Comparison:
    node = _get(numbers, check.difference, where)
    mean, low, high, p_value = (float(_number(node, k, check.difference, where)) for k in ("mean", "low", "high", "p_value"))
    n = int(_number(node, "n", check.difference, where))
    holm_p = None
    if check.holm_p is not None:
        parent, last = check.holm_p[:-1], check.holm_p[-1]
        holm_p = _number(_get(numbers, parent, where), last, parent, where, allow_none=True)
    exploratory = False
    if check.claim is not None:        # the notebook's own claims table decides
        notebook_status = _claim_status(numbers, *check.claim, where)
        exploratory = notebook_status == claims.EXPLORATORY
        detected = notebook_status in (claims.SUPPORTED, claims.CONTRADICTED)
    elif check.real is not None:       # its saved "real after correction" flag
        flag = _get(numbers, check.real, where)
        if not isinstance(flag, bool):
            raise ResultsError(f"{_at(where, check.real)} is {flag!r}, not true or false")
        detected = flag
    elif check.holm_p is not None:     # its Holm p, with the series' rule (helpers.statistics.Difference.real)
        exploratory = holm_p is None
        detected = (not exploratory and holm_p < claims.ALPHA and (low > 0 or high < 0)
                    and p_value < claims.ALPHA)
    else:                              # pragma: no cover - every spec names one
        raise ValueError(f"{check.text!r}: no verdict to read")
    status = claims.EXPLORATORY if exploratory else _status(check.direction, detected, mean)
    return Comparison(check.text, check.direction, mean, low, high, n, None if holm_p is None else float(holm_p),
                      detected and not exploratory, status, check.unit)


def _rag_largest_drop(numbers: Mapping[str, Any], where: str) -> _Check:
    """Notebook 07's RAG setting with the largest drop from the series' setting (a rule fixed before
    reading which setting it is): its paired difference and its Holm-corrected verdict."""
    saved = _get(numbers, ("paired_vs_series",), where)
    rag = {k: v for k, v in saved.items() if k.startswith("RAG ")}
    if not rag:
        raise ResultsError(f"{where}: numbers['paired_vs_series'] has no RAG setting")
    worst = min(rag, key=lambda k: _number(rag[k], "mean", ("paired_vs_series", k), where))
    family = worst.replace(" k=", ", k=") + " - series' setting"
    return _c07(f"RAG's largest drop from the series' setting ({worst.removeprefix('RAG ')}) is a real loss",
                "lower", worst, family)


_RULES = {"rag_largest_drop": _rag_largest_drop}


def _idk_exposure(numbers: Mapping[str, Any], where: str) -> dict[str, float]:
    """Notebook 04: the two adapters' training exposure, and its steps-matched control (how many seeds
    detected a loss of general accuracy for the "I don't know" model against a Q&A adapter trained for
    as many steps)."""
    out: dict[str, float] = {}
    for arm, short in (("IDK fine-tuned", "IDK"), ("Q&A fine-tuned", "Q&A")):
        node = _get(numbers, ("adapters", arm), where)
        for k in ("examples", "steps", "epochs"):
            out[f"{short} {k}"] = float(_number(node, k, ("adapters", arm), where))
    seeds = {k: v for k, v in _get(numbers, ("seed_tests",), where).items()
             if k.startswith("correct on general: IDK fine-tuned - Q&A fine-tuned, matched steps")}
    if not seeds:
        raise ResultsError(f"{where}: numbers['seed_tests'] has no steps-matched control")
    out["matched seeds"] = float(len(seeds))
    out["matched seeds detected"] = float(sum(bool(v.get("real_after_correction")) for v in seeds.values()))
    return out


_COUNTS = {"hallucination": _idk_exposure}


def _row(spec: _Spec, numbers: Mapping[str, Any], where: str) -> Row:
    measure = {name: None if path is None else _measure(numbers, path, spec.unit, where)
               for name, path in (("rag", spec.rag), ("fine_tuning", spec.fine_tuning), ("both", spec.both))}
    comparison = _comparison(numbers, spec.check, where)
    if not spec.testable:      # the row's comparison is what was measured instead of the guide's claim
        comparison = Comparison(**{**comparison.__dict__, "status": NOT_TESTABLE})
    leader = {claims.SUPPORTED: spec.if_supported, claims.CONTRADICTED: spec.if_contradicted}.get(comparison.status)
    checks = (*spec.also, *(_RULES[r](numbers, where) for r in spec.rules))
    also = tuple(SubClaim(c.text, (cmp := _comparison(numbers, c, where)).status, cmp) for c in checks)
    also += tuple(SubClaim(text, NOT_TESTABLE, None) for text in spec.untested)
    others = tuple((label, _measure(numbers, path, spec.unit, where)) for label, path in spec.others)
    notes = tuple((label, _measure(numbers, path, "share", where)) for label, path in spec.notes)
    return Row(key=spec.key, label=spec.label, claim=spec.claim, measure=spec.measure, measure_short=spec.measure_short,
               better=spec.better, **measure,
               others=others,
               comparison=comparison, status=comparison.status, favours=spec.favours, leader=leader, also=also,
               notebook=spec.notebook, results_file=f"{spec.results}.json",
               featured=None if spec.featured is None else (spec.featured[0], dict(others)[spec.featured[1]]),
               notes=notes, counts=_COUNTS[spec.key](numbers, where) if spec.key in _COUNTS else {})


def load(results_dir: Path | str | None = None) -> list[Row]:
    """One :class:`Row` per factor, in the order of :data:`ROWS`, from the JSON files notebooks 01-09 saved.

    ``results_dir``: default :data:`COMMITTED` (the repository's ``results/``, the numbers the README
    quotes); pass :func:`helpers.config.results_dir` to read your own run. Raises :class:`ResultsError`
    naming the file and the key when a file is missing or lacks a key, or a value is not a number.
    """
    folder = Path(results_dir) if results_dir is not None else COMMITTED
    cache: dict[str, tuple[dict[str, Any], str]] = {}
    notebook_of = {s.results: s.notebook for s in _SPECS} | {_R09: _NB["09"]}
    rows = []
    for key in ROWS:
        spec = next(s for s in _SPECS if s.key == key)
        for stem in (spec.results, *spec.more_results):
            if stem not in cache:
                cache[stem] = _read(folder, stem, notebook_of[stem])
        numbers, where = cache[spec.results]
        if spec.more_results:      # the other files' numbers under their stems; an error names the file that lacks a key
            numbers = {**numbers, **{stem: cache[stem][0] for stem in spec.more_results}}
            where = _Where(where)
            where.parts = {stem: cache[stem][1] for stem in spec.more_results}
        rows.append(_row(spec, numbers, where))
    return rows


def by_key(scorecard: Sequence[Row]) -> dict[str, Row]:
    """``{row.key: row}``."""
    return {row.key: row for row in scorecard}


def table(scorecard: Sequence[Row]) -> "pd.DataFrame":
    """The scorecard, compact: factor | RAG | fine-tuning | both | status | numbers favour | notebook.
    What each row measures and the comparison behind its status are in :func:`details`."""
    def show(m: Measure | None) -> str:
        return "not measured" if m is None else str(m)

    records = [{
        "factor": r.label, "RAG": show(r.rag), "fine-tuning": show(r.fine_tuning), "both": show(r.both),
        "status": r.status, "numbers favour": r.leader or "neither", "notebook": r.notebook.removesuffix(".ipynb"),
    } for r in scorecard]
    return claims.ClaimsTable(records, columns=list(records[0]), index=range(1, len(records) + 1))


def details(scorecard: Sequence[Row]) -> "pd.DataFrame":
    """The scorecard's rows in words, numbered as :func:`table`: factor | the guide says | measured on |
    deciding comparison (A minus B) [95% CI] | n | Holm p."""
    records = [{
        "factor": r.label, "the guide says": r.claim, "measured on": r.measure,
        "deciding comparison (A minus B) [95% CI]": f"{r.comparison.text}: {r.comparison.estimate()}",
        "n": r.comparison.n,
        "Holm p": claims.NOT_APPLICABLE if r.comparison.holm_p is None else claims.format_p(r.comparison.holm_p),
    } for r in scorecard]
    return claims.ClaimsTable(records, columns=list(records[0]), index=range(1, len(records) + 1))


def sub_claims(scorecard: Sequence[Row]) -> "pd.DataFrame":
    """Every further statement of every row: factor | claim | estimate [95% CI] | n | Holm p | status."""
    records = []
    for r in scorecard:
        for s in r.also:
            c = s.comparison
            records.append({"factor": r.label, "claim": s.text,
                            "estimate [95% CI]": claims.NOT_APPLICABLE if c is None else c.estimate(),
                            "n": claims.NOT_APPLICABLE if c is None else c.n,
                            "Holm p": claims.NOT_APPLICABLE if c is None or c.holm_p is None else claims.format_p(c.holm_p),
                            "status": s.status})
    return claims.ClaimsTable(records, columns=list(records[0]), index=range(1, len(records) + 1))


def by_status(scorecard: Sequence[Row]) -> dict[str, list[str]]:
    """The guide's claims sorted by what the numbers did to them: status -> "factor: claim" lines
    (the rows' deciding comparisons and every further statement, untestable ones included)."""
    out: dict[str, list[str]] = {s: [] for s in STATUSES}
    for r in scorecard:
        out[r.status].append(f"{r.label}: {r.claim}")
        for s in r.also:
            out[s.status].append(f"{r.label}: {s.text}")
    return out


# ----------------------------------------------------------------------------------------------------
# use cases

@dataclass(frozen=True)
class UseCase:
    """An application, described by how much each of the seven factors matters to it.

    ``weights``: factor key (:data:`FACTORS`: ``dynamic``, ``external``, ``customization``, ``hallucination``,
    ``transparency``, ``cost``, ``expertise``) -> weight, 0 (irrelevant) to 3 (decisive), fractions allowed;
    a factor left out weighs 0. ``why``: one line saying what the weights assume.
    """

    name: str
    weights: Mapping[str, float]
    why: str = ""

    def __post_init__(self) -> None:
        check_weights(self.weights, self.name)
        object.__setattr__(self, "weights", {f: float(self.weights.get(f, 0.0)) for f in FACTORS})


def check_weights(weights: Mapping[str, float], name: str = "weights") -> None:
    """Raise ``ValueError`` for an unknown factor or a weight that is negative or not a number."""
    unknown = sorted(set(weights) - set(FACTORS))
    if unknown:
        hints = [f"{u!r}: did you mean {close[0]!r}?" for u in unknown
                 if (close := difflib.get_close_matches(str(u), FACTORS, n=1))]
        raise ValueError(f"{name}: unknown factor(s) {unknown}; the factors are {list(FACTORS)}"
                         + (f" ({'; '.join(hints)})" if hints else ""))
    bad = {f: w for f, w in weights.items()
           if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0}
    if bad:
        raise ValueError(f"{name}: weights must be numbers >= 0, got {bad}")


USE_CASES: tuple[UseCase, ...] = (
    UseCase("Support assistant over a catalogue that changes weekly",
            {"dynamic": 3, "external": 3, "customization": 1, "hallucination": 2, "transparency": 1, "cost": 1,
             "expertise": 1},
            "prices and products change every week; customers ask about any of them"),
    UseCase("Answers in a regulated house style",
            {"external": 2, "customization": 3, "hallucination": 2, "transparency": 2},
            "a fixed format every reply must keep, facts from a policy handbook, answers that can be audited"),
    UseCase("Internal Q&A that must cite its sources",
            {"dynamic": 1, "external": 3, "hallucination": 2, "transparency": 3, "expertise": 1},
            "staff must be able to check every answer against the document it came from"),
    UseCase("Assistant on a small device",
            {"customization": 1, "hallucination": 1, "cost": 3, "expertise": 1},
            "offline, slow hardware, a fixed manual whose facts can all be written as Q&A pairs"),
    UseCase("Questions about daily news",
            {"dynamic": 3, "external": 3, "hallucination": 2, "transparency": 2, "cost": 1},
            "new facts every day, none of them in any training set"),
    UseCase("A model that must refuse what it does not know",
            {"dynamic": 1, "external": 2, "hallucination": 3, "transparency": 1, "expertise": 1},
            "a confident wrong answer costs more than no answer"),
    UseCase("High-volume FAQ bot with a brand voice",
            {"external": 1, "customization": 3, "hallucination": 1, "cost": 3, "expertise": 1},
            "a few hundred stable answers, millions of queries, one tone of voice"),
)


@dataclass(frozen=True)
class Remedy:
    """What a notebook tried against a factor's problem, for a use case whose heaviest factor is undecided.

    ``options``: (name, the text of the row's sub-claim that it works); ``prices``: (what it cost, the
    sub-claim that says so). Their statuses are read from the row, so the caveat follows the results.
    """

    advice: str
    effect: str
    options: tuple[tuple[str, str], ...]
    prices: tuple[tuple[str, str], ...] = ()
    # prices read from the row's numbers rather than a statement: ``(row) -> list of phrases``
    measured: Any = None


REMEDIES: dict[str, Remedy] = {
    "hallucination": Remedy(
        "add a refusal mechanism", "cut invention",
        (("a retrieval-score threshold", "A retrieval-score threshold cuts invention"),
         ("\"I don't know\" training", "Training a model to say \"I don't know\" cuts invention (against the Q&A adapter)")),
        (("the threshold also cost correct answers", "The retrieval-score threshold also costs correct answers"),
         ("the \"I don't know\" model also declined answerable general questions",
          "The \"I don't know\" model also declines answerable general questions more often than the Q&A adapter")),
        measured=lambda row: _refusal_prices(row)),
}


def _refusal_prices(row: Row) -> list[str]:
    """Notebook 04's prices that are numbers, not statements: the threshold's AUC on the evaluated
    questions, and the "I don't know" adapter's larger training exposure with its steps-matched control."""
    out = []
    auc = dict(row.notes).get("threshold AUC, evaluation")
    if auc is not None:
        chance = auc.low <= 0.5 <= auc.high
        out.append(f"the threshold's evaluation AUC was {auc.mean:.2f} [{auc.low:.2f}, {auc.high:.2f}]"
                   + (", its interval including chance (0.5)" if chance else ""))
    c = row.counts
    if c:
        control = (f"against a Q&A adapter given as many steps, no detectable loss of general accuracy in "
                   f"{c['matched seeds'] - c['matched seeds detected']:g} of {c['matched seeds']:g} seeds"
                   if c["matched seeds detected"] < c["matched seeds"] else "")
        out.append(f"the \"I don't know\" adapter had more training ({c['IDK examples']:g} examples, "
                   f"{c['IDK steps']:g} steps, against {c['Q&A examples']:g} and {c['Q&A steps']:g})"
                   + (f"; {control}" if control else ""))
    return out


def _remedy_text(row: Row, remedy: Remedy) -> str:
    """``"add a refusal mechanism (04: a retrieval-score threshold or "I don't know" training both cut
    invention; the threshold also cost correct answers)"``, worded by the sub-claims' statuses."""
    also = {s.text: s for s in row.also}
    missing = [t for _, t in (*remedy.options, *remedy.prices) if t not in also]
    if missing:        # pragma: no cover - a mismatch between REMEDIES and the specs
        raise ValueError(f"REMEDIES[{row.key!r}] names statements row {row.key!r} does not have: {missing}")
    worked = [name for name, t in remedy.options if also[t].status == claims.SUPPORTED]
    failed = [f"{name}: {also[t].comparison.where() if also[t].comparison else also[t].status}"
              for name, t in remedy.options if also[t].status != claims.SUPPORTED]
    paid = [name for name, t in remedy.prices if also[t].status == claims.SUPPORTED]
    paid += remedy.measured(row) if remedy.measured is not None else []
    if not worked:
        return f"nothing tried in notebook {row.number} detectably {remedy.effect} ({'; '.join(failed)})"
    did = (f"{' or '.join(worked)} {'both ' if len(worked) == 2 else 'each ' if len(worked) > 2 else ''}"
           f"{remedy.effect}")
    return f"{remedy.advice} ({row.number}: " + "; ".join([did, *failed, *paid]) + ")"


@dataclass(frozen=True)
class Recommendation:
    """What :func:`recommend` decided, and why."""

    choice: str                               # "RAG", "fine-tuning" or "both"
    scores: dict[str, float]                  # {"RAG": ..., "fine-tuning": ...}
    deciding: tuple[str, ...]                 # the 2-3 measured numbers it rests on, one line each
    undecided: tuple[str, ...] = field(default=())   # weighted factors whose numbers favour neither, one line each
    deciding_rows: tuple[str, ...] = field(default=())    # the row keys behind ``deciding``, in order
    undecided_rows: tuple[str, ...] = field(default=())   # the row keys behind ``undecided``
    # when a heaviest-weighted factor has no leader: says so, and what its notebook tried against it; else ""
    caveat: str = ""
    caveat_rows: tuple[str, ...] = field(default=())      # those heaviest factors with no leader

    @property
    def label(self) -> str:
        """The choice with its caveat: ``"RAG — top factor (hallucinations) undecided; add a ..."``."""
        return f"{self.choice} — {self.caveat}" if self.caveat else self.choice

    def __str__(self) -> str:
        return f"{self.label} (RAG {self.scores[RAG]:g}, fine-tuning {self.scores[FINE_TUNING]:g})"


def _weights_of(weights: UseCase | Mapping[str, float]) -> dict[str, float]:
    if isinstance(weights, UseCase):
        return dict(weights.weights)
    check_weights(weights)
    return {f: float(weights.get(f, 0.0)) for f in FACTORS}


def _leaders(scorecard: Sequence[Row]) -> dict[str, str | None]:
    rows = by_key(scorecard)
    missing = [f for f in FACTORS if f not in rows]
    if missing:
        raise ValueError(f"the scorecard has no row for {missing}")
    return {f: rows[f].leader for f in FACTORS}


def _scores(weights: Mapping[str, float], leaders: Mapping[str, str | None]) -> dict[str, float]:
    scores = {RAG: 0.0, FINE_TUNING: 0.0}
    for f, w in weights.items():
        for side in ((RAG, FINE_TUNING) if leaders[f] == BOTH else (leaders[f],)):
            if side in scores:
                scores[side] += w
    return scores


def choose(rag: float, fine_tuning: float) -> str:
    """The rule on two scores: "both" when each is above zero and the smaller is at least
    :data:`BOTH_RATIO` of the larger; else the larger; :data:`DEFAULT` when both are zero."""
    if rag <= 0 and fine_tuning <= 0:
        return DEFAULT
    low, high = min(rag, fine_tuning), max(rag, fine_tuning)
    if low > 0 and low >= BOTH_RATIO * high:
        return BOTH
    return RAG if rag > fine_tuning else FINE_TUNING


def _line(row: Row) -> str:
    return f"{SHORT[row.key]}: {row.headline(source=True)}"


def _caveat(rows: Mapping[str, Row], top: Sequence[str]) -> str:
    if not top:
        return ""
    names = ", ".join(SHORT[f] for f in top)
    head = f"top factor{'s' if len(top) > 1 else ''} ({names}) undecided"
    advice = [_remedy_text(rows[f], REMEDIES[f]) for f in top if f in REMEDIES]
    plain = [f"{SHORT[f]}: {rows[f].comparison.where()}, notebook {rows[f].number}" for f in top if f not in REMEDIES]
    return "; ".join([head, *plain, *advice])


def recommend(weights: UseCase | Mapping[str, float], scorecard: Sequence[Row]) -> Recommendation:
    """RAG, fine-tuning or both for a use case, by the rule of the module docstring, with the measured
    numbers that decide it: the heaviest factors each chosen approach leads (two for a single
    approach; one per side for "both", plus notebook 08's cost of combining naively). When a factor of
    the largest weight has no leader, :attr:`Recommendation.caveat` says so (rule 4)."""
    w = _weights_of(weights)
    leaders = _leaders(scorecard)
    rows = by_key(scorecard)
    scores = _scores(w, leaders)
    choice = choose(scores[RAG], scores[FINE_TUNING])

    def heaviest(side: str, k: int) -> list[Row]:
        led = [f for f in FACTORS if w[f] > 0 and leaders[f] in (side, BOTH)]
        return [rows[f] for f in sorted(led, key=lambda f: (-w[f], FACTORS.index(f)))[:k]]

    if choice == BOTH:
        behind = heaviest(RAG, 1) + heaviest(FINE_TUNING, 1) + ([rows["both"]] if "both" in rows else [])
    elif scores[RAG] == scores[FINE_TUNING] == 0:
        behind = []
    else:
        behind = heaviest(choice, 2)
    deciding = [f"combining naively: {r.headline(source=True)}; {r.comparison.where()}" if r.key == "both"
                else _line(r) for r in behind] or ["no weighted factor has a measured leader; RAG needs no training run"]
    unled = [f for f in FACTORS if w[f] > 0 and leaders[f] is None]
    undecided = tuple(f"{SHORT[f]}: {rows[f].headline(source=True)}; {rows[f].comparison.where()}" for f in unled)
    top = [f for f in unled if w[f] == max(w.values())]
    return Recommendation(choice, scores, tuple(deciding), undecided, tuple(r.key for r in behind), tuple(unled),
                          _caveat(rows, top), tuple(top))


def reread(scorecard: Sequence[Row], key: str, leader: str | None, status: str | None = None) -> list[Row]:
    """The scorecard with row ``key`` read another defensible way: its leader (and, if given, its
    status) replaced. For sensitivity tables: which recommendations rest on one status reading."""
    import dataclasses

    return [dataclasses.replace(r, leader=leader, status=status or r.status) if r.key == key else r
            for r in scorecard]


def with_ratio(ratio: float, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with :data:`BOTH_RATIO` set to ``ratio``, restored afterwards."""
    global BOTH_RATIO
    old, BOTH_RATIO = BOTH_RATIO, ratio
    try:
        return fn(*args, **kwargs)
    finally:
        BOTH_RATIO = old


@dataclass(frozen=True)
class FlipPoint:
    """How far one factor's weight must move, the others fixed, before the recommendation changes.

    ``change``: the signed change of the weight that reaches the boundary (``+0.5``: raise it by half a
    point); a signed zero when the use case sits on a boundary (``-0.0``: any decrease flips it);
    ``None`` when no weight of this factor changes the recommendation (the factor has no leader, or
    the weight would have to go below zero). ``past``: the weight must move past the boundary, not
    just reach it. ``becomes``: the recommendation there. :attr:`beyond_scale`: the flip needs a weight
    above :data:`MAX_WEIGHT`, off the use cases' 0-3 scale.
    """

    factor: str
    weight: float
    leader: str | None
    change: float | None
    becomes: str | None
    past: bool = False        # True: the weight must move past the boundary, not just reach it

    @property
    def beyond_scale(self) -> bool:
        """True when the flip needs a weight above :data:`MAX_WEIGHT` (reaching it is not enough when
        :attr:`past`)."""
        if self.change is None:
            return False
        target = self.weight + self.change
        return target > MAX_WEIGHT + 1e-12 or (self.past and self.change > 0 and target >= MAX_WEIGHT - 1e-12)

    def __str__(self) -> str:
        name = f"{SHORT[self.factor]} (weight {self.weight:g})"
        if self.change is None:
            why = "its numbers favour neither approach" if self.leader is None else "no weight of it changes it"
            return f"{name}: {why}"
        verb = "raise" if math.copysign(1.0, self.change) > 0 else "lower"
        if self.change == 0:
            return f"{name}: on a boundary: {verb} it at all -> {self.becomes}"
        off = f" (a weight above {MAX_WEIGHT:g})" if self.beyond_scale else ""
        return f"{name}: {verb} it by {'more than ' if self.past else ''}{abs(self.change):g} -> {self.becomes}{off}"


def flip_points(weights: UseCase | Mapping[str, float], scorecard: Sequence[Row]) -> list[FlipPoint]:
    """For each of the seven factors: the smallest change of its weight alone (keeping it >= 0) that
    changes :func:`recommend`'s choice, and what it becomes. Exact: the rule is piecewise constant in
    each score, so only its boundaries (a score at zero, equal to the other, or at :data:`BOTH_RATIO`
    of it, or its inverse) need checking."""
    w = _weights_of(weights)
    leaders = _leaders(scorecard)
    now = choose(*_scores(w, leaders).values())
    out = []
    for f in FACTORS:
        leader = leaders[f]
        if leader not in (RAG, FINE_TUNING, BOTH):
            out.append(FlipPoint(f, w[f], leader, None, None))
            continue

        def at(d: float, f: str = f) -> str:
            return choose(*_scores({**w, f: w[f] + d}, leaders).values())

        s = _scores(w, leaders)
        r, ft = s[RAG], s[FINE_TUNING]
        if leader == RAG:
            candidates = [b - r for b in (0.0, ft * BOTH_RATIO, ft / BOTH_RATIO, ft)]
        elif leader == FINE_TUNING:
            candidates = [b - ft for b in (0.0, r * BOTH_RATIO, r / BOTH_RATIO, r)]
        else:       # both scores move together
            k = 1 - BOTH_RATIO
            candidates = [-r, -ft, (BOTH_RATIO * ft - r) / k, (BOTH_RATIO * r - ft) / k]
        best: tuple[float, str, bool] | None = None
        for d in sorted({round(c, 12) for c in candidates if w[f] + c >= -1e-12}, key=abs):
            eps = 1e-9 * max(1.0, abs(d))
            # the boundary itself, then just past it; on a boundary (d = 0), just past it either way
            for probe, past in (((d, False), (d + math.copysign(eps, d), True)) if d else ((eps, True), (-eps, True))):
                if w[f] + probe >= 0 and (becomes := at(probe)) != now:
                    best = (d + 0.0 if d else math.copysign(0.0, probe), becomes, past)
                    break
            if best is not None:
                break
        out.append(FlipPoint(f, w[f], leader, *(best or (None, None, False))))
    return out


# ----------------------------------------------------------------------------------------------------
# figures

WEIGHT_COLORMAP = ("#FFFFFF", OKABE_ITO["sky blue"], OKABE_ITO["blue"])      # 0 -> MAX_WEIGHT
_HERO_ARMS = (("closed-book", "no help", "grey"), ("LM fine-tuned", "fine-tuned\non raw text", "orange"),
              ("Q&A fine-tuned", "fine-tuned\non Q&A pairs", "vermillion"), ("RAG", "RAG", "blue"),
              ("Q&A fine-tuned + RAG", "Q&A fine-tuned\n+ RAG", "bluish green"))


def hero_data(results_dir: Path | str | None = None) -> dict[str, dict[str, Measure]]:
    """Notebook 02's lenient shares, ``{"inside"|"outside": {arm: Measure}}``, for :func:`hero_figure`."""
    folder = Path(results_dir) if results_dir is not None else COMMITTED
    numbers, where = _read(folder, "02_external_knowledge", _NB["02"])
    return {part: {arm: _measure(numbers, ("arms", f"{arm} | {part}", "contains"), "share", where)
                   for arm, _, _ in _HERO_ARMS} for part in ("inside", "outside")}


def hero_figure(data: Mapping[str, Mapping[str, Measure]]) -> "Figure":
    """The README's figure: share correct for each arm of notebook 02, on facts inside and outside the
    fine-tuning set, with 95% intervals (Okabe-Ito colours)."""
    import matplotlib.pyplot as plt

    from . import plotting

    with plt.rc_context(plotting.STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharey=True)
        for ax, part in zip(axes, ("inside", "outside"), strict=True):
            arms = data[part]
            for i, (arm, _, colour) in enumerate(_HERO_ARMS):
                m = arms[arm]
                ax.bar(i, m.mean, yerr=[[m.mean - m.low], [m.high - m.mean]], capsize=4,
                       color=OKABE_ITO[colour], edgecolor="black", linewidth=0.4)
                ax.annotate(f"{m.mean:.0%}", (i, m.high), xytext=(0, 2), textcoords="offset points", ha="center",
                            va="bottom", fontsize=9)
            ax.set_xticks(range(len(_HERO_ARMS)), [label for _, label, _ in _HERO_ARMS], fontsize=8)
            n = arms["RAG"].n
            ax.set_title({"inside": f"Facts inside the fine-tuning set ({n} questions)",
                          "outside": f"Facts outside it: nobody wrote pairs ({n} questions)"}[part])
            ax.set_ylim(0, 1.05)
        axes[0].set_ylabel("share answered right (95% CI)")
        fig.tight_layout()
    return fig


def weights_heatmap(ax: "Axes", use_cases: Sequence[UseCase], scorecard: Sequence[Row]) -> "Axes":
    """Use cases (rows) x factors (columns): each weight, shaded from white (0) to blue (3); column
    labels name the approach each factor's numbers favour ("RAG leads", "neither leads"), row labels
    the recommendation and its two scores ("RAG 9 / FT 2"), flagged when it carries a caveat."""
    from matplotlib.colors import LinearSegmentedColormap

    leaders = _leaders(scorecard)
    grid = [[uc.weights[f] for f in FACTORS] for uc in use_cases]
    cmap = LinearSegmentedColormap.from_list("okabe_ito_blues", WEIGHT_COLORMAP)
    top = max([MAX_WEIGHT] + [w for row in grid for w in row])
    ax.imshow(grid, cmap=cmap, vmin=0, vmax=top, aspect="auto")
    for i, row in enumerate(grid):
        for j, w in enumerate(row):
            ax.text(j, i, f"{w:g}", ha="center", va="center", fontsize=10,
                    color="white" if w > 0.6 * top else "black")
    def leads(f: str) -> str:
        return {None: "neither leads", BOTH: "both lead"}.get(leaders[f], f"{leaders[f]} leads")

    def label(uc: UseCase) -> str:
        rec = recommend(uc, scorecard)
        flag = ", top factor undecided" if rec.caveat else ""
        return f"{uc.name} → {rec.choice}\nRAG {rec.scores[RAG]:g} / FT {rec.scores[FINE_TUNING]:g}{flag}"

    ax.set_xticks(range(len(FACTORS)), [SHORT[f].replace(" ", "\n") + f"\n({leads(f)})" for f in FACTORS],
                  fontsize=7.5)
    ax.set_yticks(range(len(use_cases)), [label(uc) for uc in use_cases], fontsize=8.5)
    ax.set_xticks([x - 0.5 for x in range(1, len(FACTORS))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(use_cases))], minor=True)
    ax.grid(False)
    ax.grid(True, which="minor", color="white", linewidth=2, alpha=1.0)
    ax.tick_params(which="both", length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    return ax


def save_figure(fig: "Figure", path: Path | str, dpi: int = 200) -> Path:
    """Save ``fig`` as a PNG at ``dpi`` (at least 150) with no software or date stamp, so the same
    numbers give the same bytes and a re-run leaves a committed image unchanged."""
    if dpi < 150:
        raise ValueError(f"dpi {dpi}: figures are saved at 150 dpi or more")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, metadata={"Software": None}, bbox_inches="tight", facecolor="white")
    return path
