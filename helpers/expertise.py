"""What each approach asks of the person building it (notebook 07, technical expertise).

* :func:`settings_of`: the settings a step of a pipeline exposes, read from the code the series
  runs (a dataclass's fields, or a function's keyword defaults), so the count of decisions cannot
  drift from the code.
* :func:`spread`: the five-number summary of a set of accuracies (one per setting of a grid).
* :func:`finetuned_error_cause`: what a person can say about a wrong answer of a fine-tuned model
  by asking the fact's *training* wording too (the one check the weights allow).
* :func:`load_pilots` and :func:`pilot_summary`: the series' own pilot runs (the reader-format ablation,
  the language-modeling learning-rate sweep), read from their results files, as data on how many
  settings each pipeline tried and how many of them worked.
"""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .statistics import Estimate, paired_values, proportion


@dataclass(frozen=True)
class Setting:
    """One decision a pipeline needs: which step, the setting's name, and the value this series uses."""

    pipeline: str
    step: str
    name: str
    value: Any


def settings_of(source: Any, pipeline: str, step: str, skip: Iterable[str] = (),
                values: dict[str, Any] | None = None) -> list[Setting]:
    """The settings exposed by ``source``: the fields of a dataclass instance (with its values) or the
    keyword parameters with defaults of a function (with the defaults, or ``values`` where the series
    passes another value). ``skip`` names parameters that change how fast or how visibly something
    runs, not what it computes (batch sizes, progress bars). Raises ``TypeError`` for anything else.
    """
    skip, values = set(skip), dict(values or {})
    if dataclasses.is_dataclass(source) and not isinstance(source, type):
        found = {f.name: getattr(source, f.name) for f in dataclasses.fields(source)}
    elif callable(source):
        found = {name: p.default for name, p in inspect.signature(source).parameters.items()
                 if p.default is not inspect.Parameter.empty}
    else:
        raise TypeError(f"settings_of needs a dataclass instance or a function, got {type(source).__name__}")
    unknown = (set(values) | skip) - set(found)
    if unknown:
        raise KeyError(f"{getattr(source, '__name__', type(source).__name__)} has no setting(s) {sorted(unknown)}")
    return [Setting(pipeline, step, name, values.get(name, value)) for name, value in found.items() if name not in skip]


@dataclass(frozen=True)
class Spread:
    """Five-number summary of values (one per grid cell) and their range (max - min)."""

    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    n: int

    @property
    def range(self) -> float:
        return self.maximum - self.minimum

    @property
    def iqr(self) -> float:
        """Interquartile range: the middle half of the values spans this much."""
        return self.q3 - self.q1


def spread(values: Sequence[float]) -> Spread:
    """:class:`Spread` of ``values`` (quartiles by numpy's default linear interpolation)."""
    if len(values) == 0:
        raise ValueError("spread of no values")
    q = np.percentile(np.asarray(values, dtype=float), [0, 25, 50, 75, 100])
    return Spread(*(float(x) for x in q), n=len(values))


FT_CAUSES = ("correct", "not learned", "learned, not transferred")
"""``not learned``: the training wording is answered wrong too (training did not store the pair);
``learned, not transferred``: the training wording is right, the reworded question wrong (the pair is
stored, but the weights do not say why the rewording fails)."""


def finetuned_error_cause(heldout_correct: bool, training_wording_correct: bool) -> str:
    """Classify a fine-tuned model's answer to a held-out wording, given its answer to the fact's
    training wording: one of :data:`FT_CAUSES`."""
    if heldout_correct:
        return "correct"
    return "learned, not transferred" if training_wording_correct else "not learned"


def count_by(labels: Sequence[str], order: Sequence[str]) -> dict[str, int]:
    """How many of ``labels`` fall in each of ``order`` (every label must be one of them)."""
    unknown = set(labels) - set(order)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among {list(order)}")
    return {o: sum(label == o for label in labels) for o in order}


@dataclass(frozen=True)
class Pilot:
    """One of the series' pilot runs: the settings it tried, each with its per-question outcomes."""

    name: str
    pipeline: str                        # ``RAG`` or ``fine-tuning``
    source: str                          # the results file it was read from
    qids: list[str]
    outcomes: dict[str, list[float]]     # setting -> 1.0 (right) or 0.0 per question, in ``qids`` order


# (results file stem, pilot name, pipeline, the table of settings, the per-question outcome field)
PILOT_FILES = (
    ("reader_format_ablation", "reader format (notebook 00)", "RAG", "variants", "correct"),
    ("lm_learning_rate", "language-modeling learning rate (notebook 02)", "fine-tuning", "rates", "outcomes"),
)


def load_pilots(folder: Path) -> list[Pilot]:
    """The pilots of :data:`PILOT_FILES` from ``folder`` (the committed ``results/``). A missing file or
    field raises an error naming the file."""
    import json

    pilots = []
    for stem, name, pipeline, table, field in PILOT_FILES:
        path = Path(folder) / f"{stem}.json"
        try:
            numbers = json.loads(path.read_text(encoding="utf-8"))["numbers"]
            outcomes = {setting: [float(v) for v in row[field]] for setting, row in numbers[table].items()}
            qids = list(numbers["qids"])
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: cannot read the pilot's per-question outcomes ({err!r})") from err
        if not outcomes or any(len(v) != len(qids) for v in outcomes.values()):
            raise ValueError(f"{path}: every setting needs one outcome per question ({len(qids)})")
        pilots.append(Pilot(name, pipeline, path.name, qids, outcomes))
    return pilots


@dataclass(frozen=True)
class PilotSummary:
    """How a pilot went: settings tried, the best, and how many were not detectably worse than it."""

    pilot: Pilot
    best: str
    best_score: float
    worked: Estimate                     # share of the *other* settings not detectably below the best

    @property
    def tried(self) -> int:
        return len(self.pilot.outcomes)


def pilot_summary(pilot: Pilot) -> PilotSummary:
    """Each setting of ``pilot`` against its best one, paired on the same questions
    (:func:`helpers.statistics.paired_values`, uncorrected): a setting *worked* when the test cannot
    tell it from the best (:attr:`~helpers.statistics.Difference.real` false). The share is over
    the other settings, with a Wilson interval."""
    best = max(pilot.outcomes, key=lambda k: (sum(pilot.outcomes[k]), k))
    others = [k for k in pilot.outcomes if k != best]
    if not others:
        raise ValueError(f"{pilot.source}: a pilot needs at least two settings")
    worked = [not paired_values(pilot.qids, pilot.outcomes[k], pilot.outcomes[best]).real for k in others]
    return PilotSummary(pilot, best, sum(pilot.outcomes[best]) / len(pilot.qids), proportion(worked))
