"""Does a reply decline to answer? The series' abstention detector.

A reply abstains when it gives no answer: it is empty or only a preamble, it says the speaker does
not know or the sources do not say, or it corrects a false premise ("there is no such product").
The detector judges by form, with one regular expression written on the development half of
``data/abstention_labelled.jsonl`` (real replies, labelled by meaning); ``tests/test_abstention.py``
and notebook 04 measure its precision and recall on the held-out half
(:func:`helpers.statistics.detector_scores`).
"""
from __future__ import annotations

import re

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
