"""Claims tables: a notebook's verdicts, each checked on this run's numbers, in one table and one call.

A notebook collects its paired comparisons in a :class:`Family`, which corrects them with Holm's
method (:func:`helpers.statistics.holm`). Each sentence of its verdict is a :class:`Claim` resting on
one comparison of the family (or, for a single share checked against a bound, on an
:class:`~helpers.statistics.Estimate`), with the status the text expects. Then one line,
``family.check(claims)``, fails the cell (and so nbval) when a rerun changes any verdict, and shows
the table: claim | estimate [95% CI] | n | Holm p | seeds agreeing | status.

Statuses, in the exact words the tables use:

* ``supported``: the comparison is *real after correction* (its paired interval excludes zero and its
  exact McNemar test says so, ``Difference.real``, and its Holm-adjusted p is below 0.05) in the
  claimed direction;
* ``contradicted``: real after correction, against the claimed direction (for a "no difference"
  claim: real in either direction);
* ``no detectable difference``: not real after correction. A "no difference" claim can never be
  ``supported``: the series never claims two systems are equal, only that no difference was found;
* ``exploratory``: the comparison was added to the family as exploratory (looked at after seeing the
  data, or a seed-level check kept out of the correction): it gets no Holm p and is never evidence.

A claim about one share against a bound ("RAG invents on at least 90% of unanswerable questions")
uses its 95% interval alone: ``supported`` when the whole interval is on the claimed side of the
bound, ``contradicted`` when the whole interval is on the other side, else ``no detectable
difference``. Such a claim is not a paired comparison and is not part of the Holm family.

Above each verdict, :func:`plain_words` renders a boxed paragraph of at most 60 words for readers
who skip the statistics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence, Union

import pandas as pd

from .statistics import Difference, Estimate, holm

SUPPORTED = "supported"
NO_DIFFERENCE = "no detectable difference"
CONTRADICTED = "contradicted"
EXPLORATORY = "exploratory"
STATUSES = (SUPPORTED, NO_DIFFERENCE, CONTRADICTED, EXPLORATORY)
# The expected status of a claim in a student copy (notebooks/clean/): the student predicts it, so
# Family.check shows the status found and asserts nothing about it.
PREDICT = "your prediction"
DIRECTIONS = ("higher", "lower", "no difference")
ALPHA = 0.05                 # an adjusted p-value below this survives Holm's correction
PLAIN_WORDS_LIMIT = 60       # words in a plain-words box
COLUMNS = ["claim", "estimate [95% CI]", "n", "Holm p", "seeds agreeing", "status"]
NOT_APPLICABLE = "—"

Direction = Literal["higher", "lower", "no difference"]
Seeds = Union[tuple[int, int], Sequence[Union[Difference, str]]]


def format_p(p: float) -> str:
    """``"0.007"``, or ``"<0.001"`` below one in a thousand."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_difference(d: Difference) -> str:
    """``"+0.33 [+0.20, +0.47]"``: mean difference and its 95% paired interval, signed."""
    return f"{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}]"


def format_estimate(e: Estimate) -> str:
    """``"0.93 [0.85, 0.97]"``: a share (or mean) and its 95% interval."""
    return f"{e.mean:.2f} [{e.low:.2f}, {e.high:.2f}]"


def _sign(real: bool, mean: float) -> int:
    """+1 (real, A above B), -1 (real, A below B), 0 (not real)."""
    return (1 if mean > 0 else -1) if real else 0


def _status(direction: str, sign: int) -> str:
    """A claim's status from the direction it claims and the direction found (0: nothing found)."""
    if sign == 0:
        return NO_DIFFERENCE
    if direction == "no difference":
        return CONTRADICTED
    return SUPPORTED if sign == (1 if direction == "higher" else -1) else CONTRADICTED


def _agrees(direction: str, sign: int) -> bool:
    """Does one seed's result (its sign, as in :func:`_sign`) agree with the claimed direction?"""
    return {"higher": sign > 0, "lower": sign < 0, "no difference": sign == 0}[direction]


@dataclass(frozen=True)
class Claim:
    """One sentence of a verdict, what it rests on, and the status the text expects.

    ``text``: the sentence as the verdict states it. ``direction``: ``"higher"`` (A above B, or the
    share above ``bound``), ``"lower"``, or ``"no difference"``. ``expected``: one of
    :data:`STATUSES`, the status the prose was written for, or :data:`PREDICT` (a student copy: shown, not checked).

    Exactly one of:

    * ``key``: the family comparison (A minus B) the claim rests on;
    * ``estimate`` with ``bound``: a single share (e.g. a Wilson interval) checked against a number.

    ``seeds`` (optional, shown as "k/n" in the seeds column): ``(agreeing, total)`` counted by the
    notebook; or one paired :class:`Difference` per seed, judged on its own (``Difference.real``,
    uncorrected: descriptive); or one family key per seed, judged after Holm's correction (seed-level
    comparisons inside the family). A seed agrees when its difference is real in the claimed
    direction, or, for ``"no difference"``, is not real. ``expected_seeds``: when given,
    :meth:`Family.check` also fails unless exactly that many seeds agree.
    """

    text: str
    direction: Direction
    expected: str
    key: str | None = None
    estimate: Estimate | None = None
    bound: float | None = None
    seeds: Seeds | None = None
    expected_seeds: int | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"{self.text!r}: direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if self.expected not in (*STATUSES, PREDICT):
            raise ValueError(f"{self.text!r}: expected status must be one of {STATUSES} (or PREDICT), "
                             f"got {self.expected!r}")
        if (self.key is None) == (self.estimate is None):
            raise ValueError(f"{self.text!r}: give either a family key or an estimate with a bound")
        if (self.estimate is None) != (self.bound is None):
            raise ValueError(f"{self.text!r}: an estimate needs a bound, and a bound needs an estimate")
        if self.expected_seeds is not None and self.seeds is None:
            raise ValueError(f"{self.text!r}: expected_seeds needs seeds")
        if isinstance(self.seeds, tuple) and len(self.seeds) == 2 and all(isinstance(s, int) for s in self.seeds):
            agreeing, total = self.seeds
            if not 0 <= agreeing <= total or total == 0:
                raise ValueError(f"{self.text!r}: seeds must be (agreeing, total) with 0 <= agreeing <= total > 0")


class Family:
    """A notebook's family of paired comparisons, corrected together with Holm's method.

    ``family.add(key, difference)`` puts a comparison in the family; ``exploratory=True`` keeps it
    out of the correction (it gets no Holm p and never counts as evidence). Holm's correction is
    recomputed over the current members whenever it is asked for, so adding a comparison changes
    the adjusted p of the others, as it should.
    """

    def __init__(self) -> None:
        self._members: dict[str, tuple[Difference, bool]] = {}

    def add(self, key: str, difference: Difference, exploratory: bool = False) -> Difference:
        """Add ``difference`` (A minus B) under ``key``, a short readable label; returns it."""
        if key in self._members:
            raise ValueError(f"{key!r} is already in the family")
        self._members[key] = (difference, bool(exploratory))
        return difference

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, key: object) -> bool:
        return key in self._members

    def __getitem__(self, key: str) -> Difference:
        return self._member(key)[0]

    def _member(self, key: str) -> tuple[Difference, bool]:
        if key not in self._members:
            raise KeyError(f"{key!r} is not in the family; its keys: {list(self._members)}")
        return self._members[key]

    def is_exploratory(self, key: str) -> bool:
        return self._member(key)[1]

    def holm_ps(self) -> dict[str, float]:
        """Holm-adjusted p-values of the non-exploratory members, by key."""
        confirmatory = {k: d for k, (d, exploratory) in self._members.items() if not exploratory}
        return dict(zip(confirmatory, holm([d.p_value for d in confirmatory.values()]), strict=True))

    def holm_p(self, key: str) -> float | None:
        """The Holm-adjusted p-value of ``key`` (``None`` for an exploratory member)."""
        return None if self.is_exploratory(key) else self.holm_ps()[key]

    def real(self, key: str) -> bool:
        """Real after correction: ``Difference.real`` and Holm-adjusted p < 0.05 (never for exploratory)."""
        p = self.holm_p(key)
        return p is not None and p < ALPHA and self[key].real

    def _sign(self, key: str) -> int:
        return _sign(self.real(key), self[key].mean)

    def status(self, claim: Claim) -> str:
        """The status this run's numbers give ``claim`` (see the module docstring for the rules)."""
        if claim.estimate is not None:
            e, bound = claim.estimate, float(claim.bound)  # type: ignore[arg-type]
            return _status(claim.direction, 1 if e.low > bound else -1 if e.high < bound else 0)
        if self.is_exploratory(claim.key):  # type: ignore[arg-type]
            return EXPLORATORY
        return _status(claim.direction, self._sign(claim.key))  # type: ignore[arg-type]

    def seeds_agreeing(self, claim: Claim) -> tuple[int, int] | None:
        """``(agreeing, total)`` for the claim's seeds, or ``None`` when it has none."""
        seeds = claim.seeds
        if seeds is None:
            return None
        if isinstance(seeds, tuple) and len(seeds) == 2 and all(isinstance(s, int) for s in seeds):
            return int(seeds[0]), int(seeds[1])
        signs = []
        for s in seeds:
            if isinstance(s, str):
                if self.is_exploratory(s):
                    raise ValueError(f"{claim.text!r}: seed {s!r} is exploratory; pass its Difference instead")
                signs.append(self._sign(s))
            else:
                signs.append(_sign(s.real, s.mean))
        if not signs:
            raise ValueError(f"{claim.text!r}: seeds is empty")
        return sum(_agrees(claim.direction, sign) for sign in signs), len(signs)

    def _row(self, claim: Claim) -> dict[str, object]:
        if claim.estimate is not None:
            estimate, n, p = format_estimate(claim.estimate), claim.estimate.n, None
        else:
            d = self[claim.key]  # type: ignore[index]
            estimate, n, p = format_difference(d), d.n, self.holm_p(claim.key)  # type: ignore[arg-type]
        seeds = self.seeds_agreeing(claim)
        return {"claim": claim.text, "estimate [95% CI]": estimate, "n": n,
                "Holm p": NOT_APPLICABLE if p is None else format_p(p),
                "seeds agreeing": NOT_APPLICABLE if seeds is None else f"{seeds[0]}/{seeds[1]}",
                "status": self.status(claim)}

    def table(self, claims: Sequence[Claim]) -> ClaimsTable:
        """One row per claim: claim | estimate [95% CI] | n | Holm p | seeds agreeing | status.

        Numbered from 1, like the verdict's points; shown without cutting the claims short.
        """
        return ClaimsTable([self._row(c) for c in claims], columns=COLUMNS, index=range(1, len(claims) + 1))

    def check(self, claims: Sequence[Claim]) -> ClaimsTable:
        """:meth:`table`, after asserting every claim's status (and seeds, where expected).

        Raises ``AssertionError`` naming every claim whose status (or number of agreeing seeds)
        differs from the expected one, so a rerun that changes a verdict fails the notebook.
        Returns the table, so a cell can end with ``family.check(claims)`` and show it.
        """
        table = self.table(claims)
        wrong = []
        for claim, (_, row) in zip(claims, table.iterrows(), strict=True):
            where = f"{row['estimate [95% CI]']}, Holm p {row['Holm p']}, n = {row['n']}"
            if claim.expected == PREDICT:           # a student's prediction: nothing to assert
                continue
            if row["status"] != claim.expected:
                wrong.append(f"{claim.text!r}: expected {claim.expected!r}, found {row['status']!r} ({where})")
            if claim.expected_seeds is not None:
                agreeing, total = self.seeds_agreeing(claim)  # type: ignore[misc]
                if agreeing != claim.expected_seeds:
                    wrong.append(f"{claim.text!r}: expected {claim.expected_seeds}/{total} seeds agreeing, "
                                 f"found {agreeing}/{total}")
        if wrong:
            raise AssertionError(f"{len(wrong)} claim(s) no longer hold on this run:\n  " + "\n  ".join(wrong))
        return table

    def before_correction(self, keys: Sequence[str]) -> pd.DataFrame:
        """The members ``keys``, before Holm's correction: A − B | difference [95% CI] | only A-only B
        (questions only the first / only the second got right) | McNemar p. Shown where comparisons join
        the family; :meth:`comparisons` shows them all after the correction."""
        return pd.DataFrame([(k, str(self[k]), f"{self[k].a_only}-{self[k].b_only}", format_p(self[k].p_value))
                             for k in keys], columns=["A − B", "difference [95% CI]", "only A-only B", "McNemar p"])

    def comparisons(self) -> pd.DataFrame:
        """Every member: comparison | estimate [95% CI] | n | McNemar p | Holm p | after correction
        (``real``, ``no detectable difference`` or ``exploratory``), in the order added."""
        rows = []
        for key, (d, exploratory) in self._members.items():
            p = self.holm_p(key)
            verdict = EXPLORATORY if exploratory else "real" if self.real(key) else NO_DIFFERENCE
            rows.append({"comparison": key, "estimate [95% CI]": format_difference(d), "n": d.n,
                         "McNemar p": format_p(d.p_value), "Holm p": NOT_APPLICABLE if p is None else format_p(p),
                         "after correction": verdict})
        return ClaimsTable(rows, columns=["comparison", "estimate [95% CI]", "n", "McNemar p", "Holm p",
                                          "after correction"])


class ClaimsTable(pd.DataFrame):
    """A ``pandas.DataFrame`` that displays every claim in full (pandas cuts cells at 50 characters)."""

    @property
    def _constructor(self) -> type[ClaimsTable]:
        return ClaimsTable

    def _repr_html_(self) -> str | None:
        with pd.option_context("display.max_colwidth", None):
            return super()._repr_html_()

    def __repr__(self) -> str:      # text/plain: every column, one line per row
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None,
                               "display.expand_frame_repr", False):
            return super().__repr__()


@dataclass(frozen=True)
class PlainWords:
    """A boxed paragraph for notebooks and the static site (``text/markdown``; myst-nb renders it)."""

    text: str

    def _repr_markdown_(self) -> str:
        return f"> **In plain words:** {self.text}"

    def __str__(self) -> str:
        return self._repr_markdown_()

    def __repr__(self) -> str:      # text/plain, what nbval compares: the same stable text
        return self._repr_markdown_()


def plain_words(text: str) -> PlainWords:
    """The verdict in plain words, shown as a box: at most 60 words, no statistics needed to follow.

    Whitespace (line breaks included) is collapsed, so the text may be written over several lines.
    Raises ``ValueError`` when the text is empty or longer than :data:`PLAIN_WORDS_LIMIT` words.
    """
    words = text.split()
    if not words:
        raise ValueError("plain_words needs some text")
    if len(words) > PLAIN_WORDS_LIMIT:
        raise ValueError(f"plain words: {len(words)} words, at most {PLAIN_WORDS_LIMIT}: {text[:60]!r}...")
    return PlainWords(" ".join(words))
