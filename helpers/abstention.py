"""Does a reply decline to answer? The series' abstention detector.

A reply abstains when it gives no answer: it is empty or only a preamble, it says the speaker does
not know or the sources do not say, or it corrects a false premise ("there is no such product").
The detector judges by form, with regular expressions written on the development half of
``data/abstention_labelled.jsonl`` (real replies, labelled by meaning); ``tests/test_abstention.py``
and notebook 04 measure its precision and recall on the held-out half (:func:`measured`, computed
with :func:`helpers.statistics.detector_scores`).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:   # statistics imports grading, which imports this module
    from pathlib import Path

    from .data import LabelledReply
    from .statistics import DetectorScores


# What an abstaining reply says: three kinds, each its own pattern (see is_abstention), so that one
# kind's match never hides another's ("There is no information" is a denial *and* a refusal). Written
# on the dev half of data/abstention_labelled.jsonl (real replies, labelled by hand);
# tests/test_abstention.py and notebook 04 measure precision and recall on the other half (measured()).
_EMPTY = re.compile(r"""        # nothing to read, or only a preamble: "The answer to this question is:"
    \A\W*(?:(?:the\s+)?(?:answer|reply)(?:\s+to\s+(?:this|the|your)\s+question)?(?:\s+is)?)?\W*\Z
    """, re.IGNORECASE | re.VERBOSE)

_REFUSAL = re.compile(r"""      # the speaker cannot answer, or the sources do not give it
    \b(?:
        i\s+(?:do\s*n[o']?t|cannot|can't|am\s+not\s+(?:sure|able))\s+(?:know|say|answer|find|have|tell)
      | i'?m\s+not\s+sure
      | i(?:'m|\s+am)\s+(?:unable|not\s+able)\s+to                 # "I'm unable to provide ..."
      | i\s+(?:cannot|can't|can\s+not)\s+(?:provide|give|help)
      | (?:cannot|can't|unable\s+to)\s+(?:answer|determine|find|tell|say)
      | (?:do|does|did)(?:\s+not|n't)\s+(?:say|mention|provide|give|specify|state|contain|include|list)
      | not\s+(?:mentioned|stated|given|provided|specified|listed|sure)
      # "not available" only of information or in the sources ("a value not available in the
      # factory settings" describes the value)
      | (?:information|answer|data|details)\s+(?:is|are|was|were)\s+not\s+available
      | not\s+available\s+(?:in|from)\s+(?:the|these|any)\s+(?:documents?|passages?|texts?|context|sources?)
      | no\s+(?:information|mention|answer|data|details)
      | unknown\s+(?:to\s+me|from\s+the|in\s+the)
      | (?:is|are)(?:\s+not|n't)\s+(?:in|found\s+in|given\s+in)\s+(?:the|these|any)\s+   # "the answer is
            (?:documents?|passages?|texts?|context|sources?)                               #  not in the documents"
      | (?:says?|said|mentions?|tells?)\s+nothing\s+(?:about|on|of)                      # "the documents
    )\b                                                                                  #  say nothing about it"
    """, re.IGNORECASE | re.VERBOSE)

_DENIAL = re.compile(r"""       # a false premise corrected: the thing asked about does not exist
    \b(?:
        (?:(?:has|have|had)\s+no
          | there(?:'s|\s+(?:is|are|was|were))\s+no
          | (?:do|does|did)(?:\s+not|n't)\s+(?:have|offer|sell|make|own)
        )\s+\w                                      # ... and says what ("It does not have" cut off says nothing)
      | no\s+such\s+\w                              # "there's no such product"
      | (?:do|does|did)(?:\s+not|n't)\s+exist\b     # "that product doesn't exist"
    )
    """, re.IGNORECASE | re.VERBOSE)

# Only a lead-in, the answer slot left empty: one clause ending in a colon ("The chief executive of
# Marrowby Instruments is:", "you can use the following formula:"). It abstains unless the lead-in
# itself names something (see _names_something).
_LEAD_IN = re.compile(r"\A[^.!?\n]*:\s*\Z")

# A denial inside a condition states the condition: "The light turns red when it has no internet"
# answers "When does the light turn red?". Matched against the text before a denial.
_CONDITION = re.compile(r"\b(?:when|whenever|if|unless|because|while|until|once)\s+(?:[\w'-]+\s+){0,3}\Z",
                        re.IGNORECASE)

# A value in a reply: a number standing alone ("10 years", "45 days", "€389"; not the 2 of "S2" or
# "CO2"). A denial beside one answers the question (rule 7 of tests/test_abstention.py).
_VALUE = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")

# A question that asks yes or no: it opens with an auxiliary verb ("Does the S2 ...?", "Is there ...?").
_YES_NO_QUESTION = re.compile(r"""\s*(?:is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|
                                  shall|should|may|might|must)(?:n't)?\b""", re.IGNORECASE | re.VERBOSE)


def _names_something(text: str, question: str | None) -> bool:
    """Whether ``text`` gives a value or a name that the question does not already contain: a number
    standing alone, or a capitalised word other than the first and "I" ("at the University of
    California, Berkeley")."""
    asked = set(_VALUE.findall(question or "")) | {w.lower() for w in re.findall(r"[\w'-]+", question or "")}
    if any(v not in asked for v in _VALUE.findall(text)):
        return True
    words = re.findall(r"[\w'-]+", text)[1:]
    return any(w[0].isupper() and w != "I" and w.lower() not in asked for w in words)


def is_yes_no_question(question: str) -> bool:
    """Whether a question asks yes or no: it opens with an auxiliary verb ("Does the S2 measure CO2?")."""
    return bool(_YES_NO_QUESTION.match(question))


def is_abstention(prediction: str, question: str | None = None) -> bool:
    """Whether the reply declines to give an answer, or refuses to invent one.

    Three kinds of reply count (the labelling rules are in ``tests/test_abstention.py``):

    * nothing to read: an empty reply, or only a preamble, one lead-in ending in a colon with the
      answer slot left empty ("The answer to this question is:", "The chief executive of Marrowby
      Instruments is:"), unless the lead-in itself gives a value or a name the question does not
      contain ("The three founders at the University of California, Berkeley, are:");
    * a refusal: the speaker does not know or cannot answer ("I don't know", "I'm unable to provide
      ..."), or the sources do not give the answer ("The passage does not mention the year", "not
      specified", "no information", "The answer is not in the documents", "The documents say nothing
      about this");
    * a corrected premise: the thing asked about does not exist ("The S2 has no CO2 sensor",
      "There is no Tokyo office", "That product doesn't exist", "Marrowby does not offer a Black
      Friday discount").

    A denial is not a corrected premise, but an answer:

    * when it says what an existing thing does not do or use, not that the thing asked about does not
      exist: "The S2 does not use AA batteries" (only "have", "offer", "sell", "make", "own" and
      "exist" deny a thing);
    * when it sits in a condition: "The light turns red when it has no internet";
    * when the reply also gives a value, a number not in the question: "There are no fees for
      returns within 45 days", "It has no moving parts and lasts 10 years";
    * after a leading "Yes," or "No," to a yes/no question ("No, Canopy Cloud does not offer a
      student discount").

    ``question``, the question the reply answers, is optional. Given, a leading "No," counts as an
    answer only when the question is a yes/no question (:func:`is_yes_no_question`), so "No, the S2
    has no CO2 sensor." to "What is the CO2 range of the S2?" corrects its premise; and the names and
    numbers the question contains do not count as given by the reply ("The chief executive of
    Marrowby Instruments is:", "Marrowby has no 2027 goal"). Not given (the behaviour before the
    argument existed), every leading "Yes,"/"No," counts as an answer and every capitalised word or
    number as a name or value given. :func:`helpers.grading.grade` passes it; the measured precision
    and recall (:func:`measured`) are with it.

    A bare "unknown" ("the cause is unknown", "the price is unknown") is a claim about the world, not
    a refusal; only "unknown to me" or "unknown from the passages" count. Whether a corrected premise
    is really false is not checked: the form decides. A reply that declines and then gives a value
    anyway ("I don't know, maybe 10 days") is still counted as abstaining (a known miss).
    """
    if _EMPTY.match(prediction) or _REFUSAL.search(prediction):
        return True
    if _LEAD_IN.match(prediction) and not _names_something(prediction, question):
        return True
    denials = [m for m in _DENIAL.finditer(prediction) if not _CONDITION.search(prediction[:m.start()])]
    if not denials:
        return False
    # only a denial: it answers after "Yes,"/"No," to a yes/no question, or beside a value
    if re.match(r"\s*(?:yes|no)\s*[,.!]", prediction, re.IGNORECASE) and (question is None or is_yes_no_question(question)):
        return False
    echoed = set(_VALUE.findall(question or ""))
    return not any(v not in echoed for v in _VALUE.findall(prediction))


def measured(split: str = "test") -> "DetectorScores":
    """The detector's precision and recall on one split of ``data/abstention_labelled.jsonl``.

    ``split`` is ``"test"`` (the held-out half, the numbers to quote beside a rate that depends on
    the detector), ``"dev"`` (the half the patterns were written on) or ``"all"``. Each reply is
    judged with its question, as :func:`helpers.grading.grade` judges it.
    """
    from .data import load_abstention_labelled
    from .statistics import detector_scores

    if split not in ("dev", "test", "all"):
        raise ValueError(f"split must be 'dev', 'test' or 'all', not {split!r}")
    records = [r for r in load_abstention_labelled() if split in ("all", r.split)]
    return detector_scores([r.abstains for r in records], [is_abstention(r.reply, r.question) for r in records])


def _label_tables(labelled: "Sequence[LabelledReply]") -> "tuple[dict[tuple[str, str], bool], dict[str, set[bool]]]":
    """The labelled set as lookups: (question, reply) -> label, and reply text -> the labels its copies have."""
    from collections import defaultdict

    by_text: dict[str, set[bool]] = defaultdict(set)
    for r in labelled:
        by_text[r.reply.strip()].add(r.abstains)
    return {(r.question, r.reply.strip()): r.abstains for r in labelled}, by_text


def _hand_label(question: str, reply: str, by_pair: "dict[tuple[str, str], bool]",
                by_text: "dict[str, set[bool]]") -> bool | None:
    """The hand label of a reply: its (question, reply) pair's, else that of identical labelled reply
    texts when they all agree; ``None`` when neither gives one (:func:`series_labels`, :func:`hand_labels`)."""
    key = (question, reply.strip())
    if key in by_pair:
        return by_pair[key]
    if len(by_text.get(key[1], ())) == 1:
        return next(iter(by_text[key[1]]))
    return None


def series_labels(replies_dir: "Path | None" = None) -> list[tuple[str, bool, bool]]:
    """Every reply the series stored (``results/replies/*.jsonl``), with its hand label and split.

    Returns ``(split, label, detector says abstains)`` per stored reply, duplicates included: these
    are the replies the detector actually judges, in the proportions it judges them (the labelled
    file caps exact copies at five, so "I don't know", the series' usual way of declining, is rare
    there but common here). A reply's label is the one its (question, reply) pair has in
    ``data/abstention_labelled.jsonl``; failing that, the label of the same reply text, when every
    labelled copy of that text agrees (the text says the same thing whatever was asked). Its split
    is its question's split in the labelled file. Reads the committed files under the repository's
    ``results/replies`` unless ``replies_dir`` is given; a reply or question with no label is an
    error naming the file and line, so a new run's replies must be labelled before they are measured.
    """
    import json
    from pathlib import Path

    from .config import REPO_ROOT
    from .data import DataError, load_abstention_labelled

    folder = Path(replies_dir) if replies_dir is not None else REPO_ROOT / "results" / "replies"
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"{folder}: no stored replies (*.jsonl); execute notebooks 00 and 04 first")
    labelled = load_abstention_labelled()
    by_pair, by_text = _label_tables(labelled)
    split_of: dict[str, str] = {}
    for r in labelled:
        split_of.setdefault(r.question, r.split)
    out = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            row = json.loads(line)
            question, reply = row["question"], row["reply"].strip()
            label = _hand_label(question, reply, by_pair, by_text)
            if label is None:
                why = "its labelled copies disagree" if reply in by_text else "it has no label"
                raise DataError(path, f"reply {reply[:60]!r} to {question[:60]!r}: {why}; label it "
                                      "(.ci/sample_series_replies.py)", n)
            if question not in split_of:
                raise DataError(path, f"question {question[:60]!r} has no split in the labelled file", n)
            out.append((split_of[question], label, is_abstention(row["reply"], question)))
    return out


def hand_labels(questions: "Sequence[str]", replies: "Sequence[str]") -> list[bool]:
    """The hand label (declines or not) of each reply to its question, from
    ``data/abstention_labelled.jsonl``: the label of the (question, reply) pair, or else of identical
    reply texts whose labels agree (as :func:`series_labels` reads them). A reply without one raises
    :class:`helpers.data.DataError` naming the labelled file."""

    from .config import data_dir
    from .data import DataError, load_abstention_labelled

    by_pair, by_text = _label_tables(load_abstention_labelled())
    out = []
    for question, reply in zip(questions, replies, strict=True):
        label = _hand_label(question, reply, by_pair, by_text)
        if label is None:
            raise DataError(data_dir() / "abstention_labelled.jsonl",
                            f"no label for the reply {reply[:60]!r} to {question[:60]!r}; label it "
                            "(.ci/sample_series_replies.py)")
        out.append(label)
    return out


def measured_on_series(split: str = "test", replies_dir: "Path | None" = None) -> "DetectorScores":
    """Precision and recall over every reply the series stored (:func:`series_labels`), one split.

    :func:`measured` counts each distinct labelled reply once; this counts them as often as the
    series' systems produced them, so it describes the rates the notebooks report. Quote both.
    """
    from .statistics import detector_scores

    if split not in ("dev", "test", "all"):
        raise ValueError(f"split must be 'dev', 'test' or 'all', not {split!r}")
    rows = [(y, p) for s, y, p in series_labels(replies_dir) if split in ("all", s)]
    return detector_scores([y for y, _ in rows], [p for _, p in rows])


def note() -> str:
    """One line for under every table whose abstained or invented rates rest on the detector: its
    held-out precision and recall on distinct labelled replies (:func:`measured`) and over every
    held-out reply the series stored, as often as produced (:func:`measured_on_series`)."""
    distinct, census = measured("test"), measured_on_series("test")
    return (f"Abstained and invented rates rest on the abstention detector. Held out: precision {distinct.precision}, "
            f"recall {distinct.recall} on {distinct.n} distinct labelled replies ({distinct.tp + distinct.fn} abstaining); "
            f"precision {census.precision}, recall {census.recall} on the {census.n} replies of the series' "
            f"own systems, counted as often as produced ({census.tp + census.fn} abstaining).")
