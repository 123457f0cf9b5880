"""Grade replies: exact match, token F1, containment (lenient), hedges, outcomes, retrieval scores.

Exact match and F1 follow the SQuAD v1.1 evaluation script (lower-case, strip punctuation and
English articles, collapse whitespace), made safe for numbers and Unicode text: signs, decimal points
and clock colons inside numbers are kept, a range is two numbers, "4.90" is "4.9", "-3°C" is "-3 °C",
and Unicode text reads like its ASCII form (``helpers.data.normalize_text``). They are written out here
because the maintained implementation (the ``evaluate`` library's ``squad`` metric) downloads its code
from the Hugging Face hub at run time, which these notebooks must never do.

Lenient grading (``Graded.contains``) asks more than containment: the reply must *state* an accepted
answer (:func:`states_answer`: not only negated, as in "not to the reseller") and state no competing
value beside it (:func:`competing_value`: another number of the same unit, or a rival fact's value).
"""
from __future__ import annotations

import re
import unicodedata
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
    """Some accepted answer occurs in the text as a run of whole tokens.

    Token runs rather than substrings, so that "2" is not found inside "12". This is plain
    containment, for passages and documents ("does this text hold the answer?"); grading a *reply*
    uses :func:`states_answer`, which also refuses an answer that the reply negates.
    """
    for answer in answers:
        gold, keep = _gold_forms(answer)
        if _has_run(normalize_text(prediction, articles=keep).split(), gold.split()):
            return True
    return False


# --------------------------------------------------------------------------------------------
# clauses and negation

# A clause ends at punctuation followed by white space (", ", "; ", ". ", ") "), before an opening
# bracket or quote, and at a dash standing between spaces (" - ", " – "). Splitting only at white
# space leaves every token as normalize_text makes it (tests/test_grading_cases.py checks this).
_CLAUSE_BREAK = re.compile(r"(?<=[,;:.!?)\]}\"\u201d\u2019\u00bb])\s+|\s+(?=[(\[{\"\u201c\u2018\u00ab])"
                           r"|\s+[-\u2010-\u2015\u2212]+(?=\s)")
# words that negate what follows them in the same clause ("not", "never", "no", and n't forms as
# normalization writes them: "isn't" -> "isnt")
_NEGATORS = frozenset({"not", "never", "no", "neither", "nor", "isnt", "arent", "wasnt", "werent", "dont",
                       "doesnt", "didnt", "cannot", "cant", "wont"})
# words that may stand between a negation and what it negates: "not *to the* reseller"
_FILLERS = frozenset({"to", "at", "in", "on", "from", "by", "for", "with", "via", "a", "an", "the", "that", "this"})


def _clause_tokens(text: str, articles: bool = False) -> list[tuple[str, int]]:
    """The tokens of ``normalize_text(text, articles)``, each with the number of its clause."""
    clauses = _CLAUSE_BREAK.split(unicodedata.normalize("NFKC", text))
    return [(token, n) for n, clause in enumerate(clauses) for token in normalize_text(clause, articles).split()]


def _negated(tokens: Sequence[tuple[str, int]], start: int) -> bool:
    """Whether the token at ``start`` comes right after a negation in its own clause.

    "Right after": the word before it is one of :data:`_NEGATORS`, or only up to three short words
    of :data:`_FILLERS` stand between ("not to the reseller"). Any other word in between ends the
    negation, so "not only the reseller", "no later than 30 days" and "not Marrowby but the reseller"
    are not negated; nor is "No, 30 days", whose "No" closes its own clause.
    """
    clause = tokens[start][1]
    j, skipped = start - 1, 0
    while j >= 0 and tokens[j][1] == clause and tokens[j][0] in _FILLERS and skipped < 3:
        j, skipped = j - 1, skipped + 1
    return j >= 0 and tokens[j][1] == clause and tokens[j][0] in _NEGATORS


_ARTICLE_WORDS = frozenset({"a", "an", "the"})

# A value the reply names and then disowns: "Mount Everest, but that's not the answer ...", "14 is
# wrong". After the value may come a connector, then a subject ("that", "it", ...), then a copula with a
# negation and what is denied ("not the answer", "isn't correct"), or a copula and "wrong". Only these
# objects count, so "Paris is not in Germany" still states Paris.
_DISOWN_CONNECTORS = frozenset({"but", "however", "though", "although", "yet", "and"})
_DISOWN_SUBJECTS = frozenset({"that", "this", "it", "which"})
_DISOWN_CONTRACTED = frozenset({"thats", "its"})            # "that's", "it's" as normalize_text writes them
_DISOWN_COPULAS = frozenset({"is", "was"})
_DISOWN_NEGATED_COPULAS = frozenset({"isnt", "wasnt"})
_DISOWN_OBJECTS = frozenset({"answer", "correct", "right", "true", "it"})
_DISOWN_WRONG = frozenset({"wrong", "incorrect", "false"})


def _disowned(tokens: Sequence[tuple[str, int]], end: int) -> bool:
    """Whether the words right after a value (``tokens[end:]``) disown it: [connector] [subject]
    copula + negation + [article] + one of "answer", "correct", "right", "true", "it"; or copula +
    "wrong" / "incorrect" / "false". "Mount Everest, but that's not the answer" and "30 days is
    incorrect" disown their value; "Paris is not in Germany" and "Everest, not K2" do not."""
    words = [t for t, _ in tokens[end:end + 8]]
    i = 0
    if i < len(words) and words[i] in _DISOWN_CONNECTORS:
        i += 1
    copula = False
    if i < len(words) and words[i] in _DISOWN_CONTRACTED:
        i, copula = i + 1, True
    elif i < len(words) and words[i] in _DISOWN_SUBJECTS:
        i += 1
    if not copula and i < len(words) and words[i] in _DISOWN_COPULAS:
        i, copula = i + 1, True
    if i < len(words) and words[i] in _DISOWN_NEGATED_COPULAS:
        i, negated = i + 1, True
    elif copula and i < len(words) and words[i] in ("not", "never"):
        i, negated = i + 1, True
    elif copula and i < len(words) and words[i] in _DISOWN_WRONG:
        return True
    else:
        return False
    if i < len(words) and words[i] in _ARTICLE_WORDS:
        i += 1
    return negated and i < len(words) and words[i] in _DISOWN_OBJECTS


def _stated(reply: str, values: Sequence[str]) -> list[str]:
    """Those of ``values`` that ``reply`` states: found as a run of whole tokens (as in
    :func:`contains_answer`, articles dropped unless the value keeps them) at least once neither
    negated (:func:`_negated`), nor disowned by the words after it (:func:`_disowned`), nor inside a
    negated occurrence of a longer value of ``values`` ("not Tobias Ferrand" negates the alias
    "Ferrand" too)."""
    tokens = _clause_tokens(reply, articles=True)
    spans: list[tuple[int, int, bool, str]] = []
    for value in values:
        gold, keep = _gold_forms(value)
        gold_tokens, n = gold.split(), len(gold.split())
        if not gold_tokens:
            continue
        view = [i for i, (t, _) in enumerate(tokens) if keep or t not in _ARTICLE_WORDS]
        words = [tokens[i][0] for i in view]
        spans += [(view[k], view[k + n - 1] + 1,
                   _negated(tokens, view[k]) or _disowned(tokens, view[k + n - 1] + 1), value)
                  for k in range(len(view) - n + 1) if words[k:k + n] == gold_tokens]
    negated = [(start, end) for start, end, neg, _ in spans if neg]
    return list(dict.fromkeys(value for start, end, neg, value in spans
                              if not neg and not any(a <= start and end <= b for a, b in negated)))


def states_answer(reply: str, answers: Sequence[str]) -> bool:
    """A reply states an accepted answer: it occurs as a run of whole tokens (as in
    :func:`contains_answer`) at least once *not* negated (see :func:`_negated` and :func:`_stated`).

    "To Marrowby, not to the reseller" does not state "reseller"; "to the reseller, not to Marrowby"
    and "not only to the reseller" do. "Mount Everest, but that's not the answer" does not state
    "Mount Everest" (disowned after it).
    """
    return bool(_stated(reply, answers))


# --------------------------------------------------------------------------------------------
# numbers: digits and number words, with their units

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.:]\d+)*(?![\w])")
_DIGITS = re.compile(r"([^\w\s-]*)(-?\d+(?:[.:]\d+)*)([^\w\s]*)")
_SMALL = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_COMPOUND = re.compile(rf"({'|'.join(_TENS)})({'|'.join(w for w in _SMALL if 0 < _SMALL[w] < 10)})")
_SCALES = {"thousand": 1000, "million": 1_000_000}
# "one" is a pronoun, not a number, after these words ("the one you bought", "each one")
_ONE_PRONOUN_BEFORE = frozenset({"the", "this", "that", "which", "each", "every", "any", "no", "another", "some"})
_CURRENCY_WORDS = frozenset({"euro", "euros", "eur", "€", "dollar", "dollars", "usd", "$", "pound", "pounds", "gbp",
                             "£", "cent", "cents"})
# between two numbers of a list or range, the unit is written once, after the last ("14 or 30 days")
_LIST_JOINS = frozenset({"or", "to", "and", "nor", "through", "until", "till"})
# function words: a number followed by one of these has no unit ("60 for members", "139 with ...")
_FUNCTION_WORDS = frozenset("""a an the or and nor but so if to for with in on at by of from than per as is are was
    were be been being it its this that these those which who whom whose what when where why how many much while
    after before since until till plus up down about around over under within during each every all any some more
    less most least only just also not no never into onto via then there here i you he she we they my your our
    their his her can could will would should may might must do does did has have had maybe perhaps either
    neither including like such instead both between per cent roughly approximately nearly almost exactly across
    along among against toward towards behind beyond near inside outside without throughout except despite below
    above beside besides upon off out""".split())
_YEAR = "<year>"
_MONEY = "<money>"


@dataclass(frozen=True)
class Quantity:
    """A number stated in a text, with what it counts.

    ``value``: canonical digits ("1,200" -> "1200", "4.90" -> "4.9", "eleven" -> "11", "09:00" ->
    "9:00"); ``text``: how it is written (normalized); ``units``: the words after it that say what it
    counts (up to two, plural "s" dropped: "days" -> "day"), ``<money>`` for a currency symbol or word
    before or after it, ``<year>`` for a bare four-digit year (1900-2099); ``negated``: it, or the
    list or range it belongs to, comes right after a negation ("not 14", "not 8:00 to 17:00").
    """

    value: str
    text: str
    units: frozenset[str]
    negated: bool = False


def _canonical(number: str) -> str:
    """Canonical digits: no leading zeros ("007" -> "7", "09:00" -> "9:00"), sign kept."""
    sign, digits = ("-", number[1:]) if number.startswith("-") else ("", number)
    head, sep, tail = re.match(r"(\d+)([.:]?)(.*)", digits).groups()
    return sign + (head.lstrip("0") or "0") + sep + tail


def _small_word(token: str) -> int | None:
    """0-99 written as one word: "eleven", "forty", "fortyeight" (normalized "forty-eight")."""
    if token in _SMALL:
        return _SMALL[token]
    if token in _TENS:
        return _TENS[token]
    m = _COMPOUND.fullmatch(token)
    return _TENS[m.group(1)] + _SMALL[m.group(2)] if m else None


def _word_number(words: Sequence[str], i: int) -> tuple[int, int] | None:
    """The number written in words from ``words[i]`` on, as ``(value, end)``, or ``None``.

    Reads one to nineteen, the tens, their compounds ("twenty-four", also "twenty four"), "hundred",
    "thousand" and "million", with "and" only after "hundred"/"thousand" ("two hundred and twelve" is
    212; "eleven and twelve" are two numbers). A lone "one" is a number only where it counts something:
    followed by a word that is no function word ("one week") or by another number ("one or two"), and
    not after a determiner; "the new one", "one of them", "the one you bought" are pronouns.
    """
    total, current, last, j = 0, 0, None, i
    while j < len(words):
        token, small = words[j], _small_word(words[j])
        if small is not None:
            tens_then_unit = last == "tens" and small < 10
            if last not in (None, "hundred", "scale", "and") and not tens_then_unit:
                break
            current += small
            last = "tens" if token in _TENS else "small"
        elif token == "hundred" and last != "hundred" and current < 100:
            current, last = (current or 1) * 100, "hundred"
        elif token in _SCALES and last not in ("scale", "and"):
            total, current, last = total + (current or 1) * _SCALES[token], 0, "scale"
        elif (token == "and" and last in ("hundred", "scale") and j + 1 < len(words)
              and _small_word(words[j + 1]) is not None):
            last = "and"
        else:
            break
        j += 1
    if last is None:
        return None
    if words[i] == "one" and j == i + 1:     # a lone "one": a number only before what it counts
        after = words[j] if j < len(words) else ""
        listed = after in _LIST_JOINS and j + 1 < len(words) and _small_word(words[j + 1]) is not None
        if (i > 0 and words[i - 1] in _ONE_PRONOUN_BEFORE) or not (listed or (after and after not in _FUNCTION_WORDS)):
            return None
    return total + current, j


def _number_at(words: Sequence[str], i: int) -> tuple[str, int, bool] | None:
    """The number starting at ``words[i]``: ``(canonical value, end, has a currency symbol)``."""
    m = _DIGITS.fullmatch(words[i])
    if m:
        money = any(unicodedata.category(ch) == "Sc" for ch in m.group(1) + m.group(3))
        return _canonical(m.group(2)), i + 1, money
    found = _word_number(words, i)
    return (str(found[0]), found[1], False) if found else None


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def quantities(text: str) -> list[Quantity]:
    """The numbers stated in ``text``, in digits or in words, each with its units (:class:`Quantity`).

    The units of a number are the (at most two) words right after it, up to a function word or the
    end of its clause: "30 days" counts days, "40 devices" devices, "60 for members" nothing. In a
    list or range the unit is written once, after the last number, and belongs to all: in "14 or 30
    days" and "3-5 days" both numbers count days. "%" counts as the word "percent". A currency symbol
    or word before or after the number ("€129", "EUR 129", "129 euros") gives the unit ``<money>``;
    a bare four-digit number from 1900 to 2099 is a year (``<year>``).
    """
    prepared = re.sub(r"\bper\s+cent\b", "percent", text.replace("%", " percent "), flags=re.I)
    tokens = _clause_tokens(prepared, articles=True)
    words = [t for t, _ in tokens]
    out: list[Quantity] = []
    i, negated_to = 0, 0          # a negation covers a whole list or range: "not 8:00 to 17:00"
    while i < len(words):
        found = _number_at(words, i)
        if found is None:
            i += 1
            continue
        value, end, money = found
        clause = tokens[i][1]
        money = money or (i > 0 and tokens[i - 1][1] == clause and words[i - 1] in _CURRENCY_WORDS)
        # skip the rest of a list or range: "or 30", "to 4", "5" (a range after normalization)
        j = end
        while j < len(words) and tokens[j][1] == clause:
            if words[j] in _LIST_JOINS and j + 1 < len(words) and tokens[j + 1][1] == clause:
                nxt = _number_at(words, j + 1)
                if nxt is None:
                    break
                j = nxt[1]
            elif (nxt := _number_at(words, j)) is not None:
                j = nxt[1]
            else:
                break
        units: set[str] = set()
        k = j
        while (k < len(words) and len(units) < 2 and tokens[k][1] == clause and words[k] not in _FUNCTION_WORDS
               and _number_at(words, k) is None):
            units.add(_MONEY if words[k] in _CURRENCY_WORDS else _singular(words[k]))
            k += 1
        if money:
            units.add(_MONEY)
        if not units and re.fullmatch(r"(19|20)\d\d", words[i]):
            units.add(_YEAR)
        negated = i < negated_to or _negated(tokens, i)
        if negated:
            negated_to = max(negated_to, j)
        out.append(Quantity(value=value, text=" ".join(words[i:end]), units=frozenset(units), negated=negated))
        i = end
    return out


def numbers_in(text: str) -> set[str]:
    """Numbers written with digits in ``text``, canonical ("1,200" -> "1200", "€389" -> "389",
    "4.90" -> "4.9"); a range is two numbers ("3-5 days" -> {"3", "5"}). Number words are not read
    here; :func:`quantities` reads both."""
    return {_canonical(m) for m in _NUMBER.findall(normalize_text(text).replace("€", " ").replace("$", " "))}


def competing_value(prediction: str, question: Question) -> str | None:
    """A value the prediction states *beside* the right one, or ``None``.

    Lenient grading must not reward a reply that lists several candidates ("14 or 30 days"). Two
    rules.

    **Numbers.** When an accepted answer holds a number, another number in the reply competes if it
    could be a second answer to *this* question, that is, if it

    * is a different value (digits and number words alike: "eleven or twelve people" and "11 or
      twelve" hedge, "11 (eleven)" does not), not a number of the question, and not negated
      ("30 days, not 14" does not hedge); and
    * counts the same thing as the answer, or says nothing of what it counts: its units
      (:func:`quantities`: the words after it, a currency, a year) share one with the answer's, or it
      has none ("30 days, or 60 for members"). The answer's units are those of the accepted answers
      ("€129" and "129 euros": money) and of the answer as the reply writes it ("eleven people");
      when both are bare numbers, the words of the question stand in ("How many *people*...").

    So "€129 or €139", "€129, or 139" and "14 or 30 days" hedge, while "€129 and serves up to 40
    devices", "30 days for 2 devices" or "€129, the price since 2022" do not: an extra number with
    another unit (devices, watts, a year) answers another question.

    **Rivals.** Any rival value of the question (``Question.rivals``: values of other facts of the same
    kind, see :func:`helpers.data.rival_answers`) that the reply states (not negated) and the question
    does not mention competes.
    """
    gold = [q for answer in question.answers for q in quantities(answer)]
    if gold:
        values = {q.value for q in gold}
        asked = {q.value for q in quantities(question.text)}
        said = quantities(prediction)
        units = set().union(*(q.units for q in gold), *(q.units for q in said if q.value in values and not q.negated))
        if not units:
            units = {_singular(w) for w in normalize_text(question.text).split() if w not in _FUNCTION_WORDS}
        for q in said:
            if q.value in values or q.value in asked or q.negated:
                continue
            if not q.units or q.units & units:
                return q.text
    for rival in _stated(prediction, question.rivals):
        if not contains_answer(question.text, [rival]):
            return rival
    return None


def fact_of(qid: str) -> str:
    """The fact a question id belongs to: the part before the slash (``F034/h1`` -> ``F034``)."""
    return qid.split("/")[0]

@dataclass(frozen=True)
class Graded:
    """One graded answer.

    ``contains`` is lenient grading: the reply states an accepted answer (:func:`states_answer`: it
    occurs, not only negated) *and* no competing value (:func:`competing_value`); ``hedged`` marks
    replies that stated the answer but also a competitor. ``invented``: answered (no abstention) but
    not correct, or answered an unanswerable question.
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
        abstained = is_abstention(p, q.text)
        found = states_answer(p, q.answers) if q.answers else False
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


def _without(text: str, answers: Sequence[str]) -> str:
    """``text`` normalized, each occurrence of an answer replaced by a clause break (" ; "), clauses kept."""
    parts = []
    for clause in _CLAUSE_BREAK.split(unicodedata.normalize("NFKC", text)):
        rest = normalize_text(clause)
        for answer in sorted(answers, key=len, reverse=True):
            gold = normalize_text(answer)
            if gold:
                rest = re.sub(rf"(?<!\S){re.escape(gold)}(?!\S)", " ; ", rest)
        parts.append(rest)
    return " ; ".join(parts)


def value_outcome(prediction: str, new_answers: Sequence[str], old_answers: Sequence[str],
                  question: str = "") -> str:
    """After a fact changed: does the reply give the ``new value``, the ``stale value``, or ``neither``?

    The rules of lenient grading apply (:func:`states_answer`, :func:`competing_value`):

    * a value counts only where the reply states it, not negated: "€449, not €419" gives the new value;
    * a reply that states both values gives ``neither`` (hedging between the two is not an update);
      an old value written inside the new one ("fifty" in "one hundred and fifty") is not the old value;
    * a reply that states one of them beside a competing value (:func:`competing_value` with that
      value's answers as gold: another number of the same unit, or a bare one) gives ``neither`` too:
      "€449 or €499" is no update, "€419 or €399" no stale answer. An extra number of another unit
      ("€449 and serves 40 devices") does not compete.

    ``question``: the question's text, whose numbers never compete (optional).
    """
    new = states_answer(prediction, new_answers)
    old = states_answer(_without(prediction, new_answers), old_answers)
    if new and not old:
        return "neither" if competing_value(prediction, Question("", question, tuple(new_answers))) else "new value"
    if old and not new:
        return "neither" if competing_value(prediction, Question("", question, tuple(old_answers))) else "stale value"
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
