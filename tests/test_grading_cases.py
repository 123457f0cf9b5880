"""Regression tests for the grader's hard cases (the grading issue): each case below failed before
the grader handled it.

Unicode text copied from documents, ranges, hedges written in words, rivals' aliases and finer answer
kinds, negated answers, unrelated extra numbers, glued units and trailing zeros, and the hedge rule in
``value_outcome``.
"""
from __future__ import annotations

import pytest

from helpers import data, evaluate, grading
from helpers.data import Fact, Question


def _graded(question: Question, reply: str) -> grading.Graded:
    return evaluate.grade([question], [reply])[0]


# --------------------------------------------------------------------------------------------
# Unicode: NFKC, and every Unicode punctuation character is punctuation


def test_unicode_punctuation_and_compatibility_forms_match_their_ascii_forms():
    assert evaluate.exact_match("Oddie\u2019s Farm", ["Oddie's Farm"])            # curly apostrophe
    assert evaluate.exact_match("\u201cMeasure twice, plant once\u201d", ["Measure twice, plant once"])
    assert evaluate.exact_match("\u00abSeedling\u00bb\u2026", ["Seedling"])        # guillemets, ellipsis
    assert evaluate.contains_answer("The \ufb01re alarm", ["fire alarm"])           # ligature fi
    assert evaluate.exact_match("\uff14\uff10 devices", ["40 devices"])             # full-width digits
    assert evaluate.normalize_answer("co\u2010operative") == evaluate.normalize_answer("co-operative")


def test_an_en_dash_range_matches_a_hyphen_range():
    assert evaluate.exact_match("10\u201312 days", ["10-12 days"])
    assert evaluate.exact_match("10\u201412 days", ["10-12 days"])                  # em dash
    assert evaluate.contains_answer("It takes 10\u201312 days.", ["10-12 days"])


def test_protected_characters_survive_unicode_normalization():
    assert evaluate.normalize_answer("\u22123 \u00b0C") == "-3 \u00b0c"             # U+2212 minus: a sign
    assert evaluate.normalize_answer("\u22123 \u00b0C") != evaluate.normalize_answer("3 \u00b0C")
    assert evaluate.normalize_answer("4.9") == "4.9" and evaluate.normalize_answer("13:00.") == "13:00"
    assert evaluate.normalize_answer("The Price: \u20ac389!") == "price \u20ac389"
    assert evaluate.normalize_answer("\u2103") == "\u00b0c"                         # degree Celsius sign


# --------------------------------------------------------------------------------------------
# ranges are two numbers


def test_a_range_is_two_numbers_not_one():
    assert not evaluate.exact_match("35 days", ["3-5 days"])
    assert not evaluate.exact_match("3-5 days", ["35 days"])
    assert evaluate.numbers_in("3-5 days") == {"3", "5"}
    assert evaluate.numbers_in("3\u20135 days") == {"3", "5"}
    assert evaluate.normalize_answer("\u20ac3-89") != evaluate.normalize_answer("\u20ac389")
    assert not evaluate.contains_answer("\u20ac3-89", ["\u20ac389"])
    assert evaluate.exact_match("3 - 5 days", ["3-5 days"])
    # a minus sign is still a sign, also right after a range
    assert evaluate.normalize_answer("-3 \u00b0C") == "-3 \u00b0c"
    assert evaluate.numbers_in("from -5 to -3 \u00b0C") == {"-5", "-3"}
    assert evaluate.numbers_in("13:00-14:00") == {"13:00", "14:00"}


# --------------------------------------------------------------------------------------------
# hedges written in words


_SUPPORT = Question("F022/h1", "How many people work in Marrowby's support team?", ("eleven", "11"))


@pytest.mark.parametrize("reply", ["eleven or twelve people", "11 or twelve people", "eleven or 12 people",
                                   "Eleven, maybe twelve."])
def test_a_hedge_in_number_words_gets_no_lenient_credit(reply):
    row = _graded(_SUPPORT, reply)
    assert row.hedged and not row.contains and row.invented


@pytest.mark.parametrize("reply", ["11 (eleven)", "Eleven people.", "eleven", "The support team has 11 people, "
                                   "one of whom moderates the forum."])
def test_the_same_value_restated_in_words_is_not_a_hedge(reply):
    row = _graded(_SUPPORT, reply)
    assert row.contains and not row.hedged


def test_one_as_a_pronoun_is_no_competing_number():
    screws = Question("F123/h1", "How many screws hold the S2 battery cover?", ("four", "4", "four screws"))
    row = _graded(screws, "Undo the four Torx T10 screws, unplug the old pack and plug in the new one.")
    assert row.contains and not row.hedged
    assert _graded(screws, "four screws, or one screw on older units").hedged


def test_number_words_are_read_as_values():
    def values(text: str) -> set[str]:
        return {q.value for q in grading.quantities(text)}

    assert values("twenty-four or two hundred and twelve") == {"24", "212"}
    assert values("one hundred and fifty SMS") == {"150"} and values("a thousand") == {"1000"}
    assert values("forty-eight hours, thirty days, nineteen, ninety") == {"48", "30", "19", "90"}
    assert values("eleven or 12") == {"11", "12"} and values("1,200 and 4.90") == {"1200", "4.9"}
    # "one" as a pronoun is not a number; words merely containing number words are not numbers
    assert values("the one you bought, one of the team") == set()
    assert values("unplug the old pack and plug in the new one.") == set()
    assert values("one week, or one or two days") == {"1", "2"}
    assert values("someone, often, tenant, fiftyish") == set()


# --------------------------------------------------------------------------------------------
# rivals: aliases count, and only values of the same finer kind


def _fact(fid: str, answer: str, question: str, aliases: tuple[str, ...] = (), doc: str = "people") -> Fact:
    return Fact(id=fid, doc=doc, docs=(doc,), answer=answer, aliases=aliases, question=question,
                heldout=(question + " (1)", question + " (2)"))


_PEOPLE = [_fact("P1", "Tobias Ferrand", "Who is the chief technology officer?", ("Ferrand",)),
           _fact("P2", "Ilse Marchetti", "Who is the chief executive?", ("Marchetti",)),
           _fact("P3", "November", "In which month is the general meeting?"),
           _fact("P4", "Wendle Cross", "Where is the chair's dairy farm?"),
           _fact("P5", "Fenmore", "In which town is the school?")]


def test_rivals_include_the_aliases_of_rival_facts():
    assert "Marchetti" in data.rival_answers(_PEOPLE[0], _PEOPLE)
    (question, _) = data.fact_questions(_PEOPLE[:1], pool=_PEOPLE)
    assert _graded(question, "Ferrand (or Marchetti)").hedged
    assert _graded(question, "Tobias Ferrand").contains


def test_a_person_fact_has_only_people_as_rivals():
    assert data.rival_answers(_PEOPLE[0], _PEOPLE) == ("Ilse Marchetti", "Marchetti")
    assert data.rival_answers(_PEOPLE[2], _PEOPLE) == ()                   # the only date
    assert data.rival_answers(_PEOPLE[3], _PEOPLE) == ("Fenmore",)          # places compete with places
    (question, _) = data.fact_questions(_PEOPLE[:1], pool=_PEOPLE)
    assert _graded(question, "Tobias Ferrand; the board meets in November").contains


def test_answer_kinds_are_read_from_the_answer_and_its_questions():
    assert data.answer_kind("November") == "date"
    assert data.answer_kind("second Saturday of June") == "date" and data.answer_kind("October to April") == "date"
    assert data.answer_kind("Ilse Marchetti", ["Who is the CEO?"]) == "person"
    assert data.answer_kind("Wendle Cross", ["Where is the farm?"]) == "place"
    assert data.answer_kind("Leiden", ["In which city is the team based?"]) == "place"
    assert data.answer_kind("Hoarfrost", ["What is the model called?"]) == "name"
    assert data.answer_kind("Ilse Marchetti") == "name"              # no question: a capitalised name
    assert data.answer_kind("21 days") == "number" and data.answer_kind("eleven") == "number"
    assert data.answer_kind("bees", ["What does he do now?"]) == "text"
    assert data.answer_kind("may not") == "text"                     # a lower-case "may" is no month


def test_real_person_facts_get_no_month_or_place_rivals():
    facts = data.load_facts(1)
    kinds = {f.answer: data.answer_kind(f.answer, (f.question, *f.heldout)) for f in facts}
    for fact in facts:
        if kinds[fact.answer] != "person":
            continue
        for rival in data.rival_answers(fact, facts):
            if rival in fact.rivals:
                continue                                              # listed by hand in the data
            assert kinds.get(rival, "person") == "person", f"{fact.id}: rival {rival!r} is a {kinds[rival]}"
            assert rival not in {"November", "May", "Wendle Cross", "Leiden", "Frankfurt"}, fact.id


# --------------------------------------------------------------------------------------------
# negation


_RESELLER = Question("F084/h1", "Where do you return a device bought from a reseller?",
                     ("that reseller", "to the reseller", "the reseller you bought it from", "reseller"))


@pytest.mark.parametrize("reply", ["To Marrowby, not to the reseller.", "Never to the reseller.",
                                   "It isn't the reseller; it goes back to Marrowby", "not the reseller"])
def test_a_negated_answer_gets_no_credit(reply):
    row = _graded(_RESELLER, reply)
    assert not row.contains and row.invented


@pytest.mark.parametrize("reply", ["To the reseller, not to Marrowby.", "Not only to the reseller but also online.",
                                   "No, to the reseller.", "Not Marrowby but the reseller.",
                                   "You do not send it to Marrowby; return it to the reseller."])
def test_an_answer_after_an_unrelated_negation_still_counts(reply):
    assert _graded(_RESELLER, reply).contains


_EVEREST = Question("G1/h1", "What is the tallest mountain in the world?", ("Mount Everest", "Everest"))


@pytest.mark.parametrize("reply", [
    "The tallest mountain in the world is Mount Everest, but that's not the answer you asked for. The answer is "
    '"Kathmandu" which is the capital city of Nepal.',          # a real reply of notebook 03's base model
    "Mount Everest is not the answer; it is K2.", "Everest isn't correct.", "Everest, which is wrong.",
    "Mount Everest? That is incorrect."])
def test_an_answer_the_reply_disowns_gets_no_credit(reply):
    assert not _graded(_EVEREST, reply).contains


@pytest.mark.parametrize("reply", ["Mount Everest is not in Europe; it is in the Himalayas.", "Mount Everest, not K2.",
                                   "Mount Everest, and it is not the only tall one.", "Everest. That is right.",
                                   "Mount Everest is the answer, and K2 is not."])
def test_an_answer_followed_by_an_unrelated_negation_still_counts(reply):
    assert _graded(_EVEREST, reply).contains


def test_a_negated_value_does_not_compete():
    days = Question("F1/h1", "How long is the return window?", ("30 days",))
    assert _graded(days, "30 days, not 14 days").contains
    assert not _graded(days, "not 30 days").contains
    named = Question("F2/h1", "Who heads support?", ("Rufus Hallam",), rivals=("Ilse Marchetti",))
    assert _graded(named, "Rufus Hallam, not Ilse Marchetti").contains


# --------------------------------------------------------------------------------------------
# an extra number competes only when it could be a second answer


_GATEWAY = Question("F056/h1", "How much does the Hearth gateway cost?", ("\u20ac129", "129 euros", "EUR 129", "129"))


@pytest.mark.parametrize("reply", ["It costs \u20ac129 and serves up to 40 devices",
                                   "\u20ac129; it draws 3 watts", "\u20ac129, the price since 2022"])
def test_an_unrelated_extra_number_is_no_hedge(reply):
    row = _graded(_GATEWAY, reply)
    assert row.contains and not row.hedged and not row.invented


@pytest.mark.parametrize("reply", ["\u20ac129 or \u20ac139", "\u20ac129, or 139 with the bracket",
                                   "129 or 139 euros", "EUR 129 or EUR 139"])
def test_an_extra_number_of_the_same_unit_or_none_is_a_hedge(reply):
    row = _graded(_GATEWAY, reply)
    assert row.hedged and not row.contains


def test_the_unit_rule_in_both_directions_for_durations_and_years():
    days = Question("F1/h1", "How long is the return window?", ("30 days",))
    assert _graded(days, "14 or 30 days").hedged
    assert _graded(days, "30 days, or 60 for members").hedged
    assert _graded(days, "30 days for 2 devices").contains          # "2 devices" is no duration
    founded = Question("F7/h1", "In what year was Marrowby founded?", ("2011",))
    assert _graded(founded, "2011 or 2012").hedged
    assert _graded(founded, "In 2011, with 3 founders").contains
    count = Question("F3/h1", "How many people work for Marrowby?", ("87", "87 people"))
    assert _graded(count, "87 people in 4 teams").contains
    assert _graded(count, "87 or 90 people").hedged


# --------------------------------------------------------------------------------------------
# glued units and trailing zeros


def test_a_glued_degree_sign_grades_like_a_spaced_one():
    assert evaluate.exact_match("-3\u00b0C", ["-3 \u00b0C"]) and evaluate.exact_match("-3 \u00b0C", ["-3\u00b0C"])
    assert evaluate.contains_answer("It drops to -3\u00b0C at night.", ["-3 \u00b0C"])
    assert evaluate.contains_answer("It drops to -3 \u00b0C at night.", ["-3\u00b0C"])
    assert not evaluate.contains_answer("It drops to -3\u00b0C.", ["3 \u00b0C"])
    assert evaluate.normalize_answer("a 20\u00b0 slope, 20 \u00b0 could") == "20 \u00b0 slope 20 \u00b0 could"
    assert _graded(Question("F9/h1", "How cold?", ("-3 \u00b0C",)), "-3\u00b0C").contains


def test_trailing_decimal_zeros_do_not_change_a_number():
    assert evaluate.exact_match("4.90", ["4.9"]) and evaluate.exact_match("4.9", ["4.90"])
    assert evaluate.contains_answer("Version 4.90 is current.", ["4.9"])
    assert evaluate.contains_answer("It is 4.9.", ["4.90"])
    assert evaluate.exact_match("\u20ac9.5", ["\u20ac9.50"])
    assert not evaluate.exact_match("4.09", ["4.9"]) and not evaluate.contains_answer("4.09", ["4.9"])
    assert not evaluate.contains_answer("49", ["4.90"])
    assert _graded(Question("F10/h1", "Which firmware?", ("4.9",)), "4.90").contains


# --------------------------------------------------------------------------------------------
# value_outcome: the same hedge rule


def test_value_outcome_withholds_new_value_from_a_hedge():
    new, old = ["\u20ac449"], ["\u20ac419"]
    assert evaluate.value_outcome("\u20ac419 or \u20ac449", new, old) == "neither"
    assert evaluate.value_outcome("\u20ac449 or \u20ac499", new, old) == "neither"
    assert evaluate.value_outcome("\u20ac449", new, old) == "new value"
    assert evaluate.value_outcome("It costs \u20ac449 and serves 40 devices", new, old) == "new value"
    assert evaluate.value_outcome("\u20ac449, not \u20ac419", new, old) == "new value"
    assert evaluate.value_outcome("\u20ac419 or \u20ac399", new, old) == "neither"
    assert evaluate.value_outcome("It is \u20ac419.", new, old) == "stale value"


def test_a_negation_covers_a_whole_name_and_a_whole_range():
    new, old = ["Priya Ramaswamy-Holt", "Ramaswamy-Holt"], ["Tobias Ferrand", "Ferrand"]
    assert evaluate.value_outcome("Priya Ramaswamy-Holt, not Tobias Ferrand", new, old) == "new value"
    assert evaluate.value_outcome("Priya Ramaswamy-Holt or Tobias Ferrand", new, old) == "neither"
    hours_new, hours_old = ["8:00 to 18:00", "8 am to 6 pm"], ["8:00 to 17:00", "8 am to 5 pm"]
    assert evaluate.value_outcome("8:00 to 18:00, not 8:00 to 17:00", hours_new, hours_old) == "new value"
    assert evaluate.value_outcome("8:00 to 18:00 or 8:00 to 17:00", hours_new, hours_old) == "neither"
    named = Question("F2/h1", "Who heads support?", ("Rufus Hallam",), rivals=("Ilse Marchetti", "Marchetti"))
    assert _graded(named, "Rufus Hallam, not Ilse Marchetti").contains
    assert _graded(named, "Rufus Hallam or Marchetti").hedged


# --------------------------------------------------------------------------------------------
# invariants the notebooks rely on


def test_clause_tokens_are_the_normalized_tokens():
    """Negation is read per clause; splitting a text into clauses must not change its tokens."""
    texts = [d.text for version in (1, 2) for d in data.load_corpus(version)]
    texts += ["No, 30 days.", "1 p.m. or 2 p.m.", "-3 \u00b0C (at night) - or -5",
              "\u201cquoted,\u201d then (bracketed) text; 4.90 \u2013 5.10", "Oddie\u2019s farm \u2014 not there"]
    for text in texts:
        for articles in (False, True):
            tokens = [t for t, _ in grading._clause_tokens(text, articles)]
            assert tokens == data.normalize_text(text, articles).split()
