from __future__ import annotations

import pytest

from helpers import evaluate
from helpers.data import Question


def test_squad_normalization():
    assert evaluate.normalize_answer("The  Price: €389!") == "price €389"
    assert evaluate.exact_match("the Skylark S1.", ["Skylark S1"])
    assert not evaluate.exact_match("It is the Skylark S1", ["Skylark S1"])


def test_token_f1_matches_squad_definition():
    # pred tokens: price is 389 euros ; gold: 389 euros -> p = 2/4, r = 2/2, f1 = 2/3
    assert evaluate.token_f1("The price is 389 euros", ["389 euros"]) == pytest.approx(2 / 3)
    assert evaluate.token_f1("nothing", ["389"]) == 0.0
    assert evaluate.token_f1("389", ["x", "389"]) == 1.0


def test_containment_uses_whole_tokens():
    assert evaluate.contains_answer("It costs €389, bracket included.", ["€389"])
    assert not evaluate.contains_answer("It runs for 12 days", ["2"])
    assert evaluate.contains_answer("about 2 °C at night", ["2 °C"])
    assert not evaluate.contains_answer("anything", [])


@pytest.mark.parametrize("text", ["I don't know.", "I do not know", "The passage does not say; not mentioned.",
                                  "There is no information about that.", "I cannot answer that.", ""])
def test_abstentions(text):
    assert evaluate.is_abstention(text)


@pytest.mark.parametrize("text", ["€389", "The CEO is Ilse Marchetti.", "Knowledge is power"])
def test_non_abstentions(text):
    assert not evaluate.is_abstention(text)


def test_grade_and_outcomes():
    qs = [Question("a", "q1", ("42",)), Question("b", "q2", ("7",)), Question("c", "q3", ("x",)),
          Question("u", "q4", (), kind="unanswerable")]
    rows = evaluate.grade(qs, ["It is 42.", "I don't know", "It is 8", "It is 8"])
    assert [evaluate.outcome(r) for r in rows] == ["correct", "abstained", "invented", "invented"]
    assert evaluate.outcome_shares(rows) == {"correct": 0.25, "abstained": 0.25, "invented": 0.5}
    with pytest.raises(ValueError, match="2 questions but 1 predictions"):
        evaluate.grade(qs[:2], ["x"])


def test_recall_and_reciprocal_rank():
    ranked = ["a", "b", "c"]
    assert evaluate.recall_at_k(ranked, ["b"], 1) == 0.0
    assert evaluate.recall_at_k(ranked, ["b"], 2) == 1.0
    assert evaluate.recall_at_k(ranked, ["a", "c"], 2) == 0.5
    assert evaluate.reciprocal_rank(ranked, ["c"]) == pytest.approx(1 / 3)
    assert evaluate.reciprocal_rank(ranked, ["z"]) == 0.0
    assert evaluate.dedupe(["a", "a", "b", "a"]) == ["a", "b"]


def test_bootstrap_interval_contains_mean_and_is_deterministic():
    values = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1] * 4
    est = evaluate.bootstrap_ci(values)
    assert est.mean == pytest.approx(0.7) and est.low < est.mean < est.high
    assert est == evaluate.bootstrap_ci(values)
    assert evaluate.bootstrap_ci([0, 0, 0]) == evaluate.Estimate(0.0, 0.0, 0.0, 3)
    with pytest.raises(ValueError):
        evaluate.bootstrap_ci([])


def test_value_outcome_after_a_change():
    assert evaluate.value_outcome("It costs €419 now.", ["€419"], ["€389"]) == "new value"
    assert evaluate.value_outcome("€389", ["€419"], ["€389"]) == "stale value"
    assert evaluate.value_outcome("€389 or €419", ["€419"], ["€389"]) == "neither"
    assert evaluate.value_outcome("I don't know", ["€419"], ["€389"]) == "neither"


def test_paired_difference():
    qs = [Question(str(i), "q", ("yes",)) for i in range(30)]
    a = evaluate.grade(qs, ["yes"] * 20 + ["no"] * 10)
    b = evaluate.grade(qs, ["yes"] * 5 + ["no"] * 25)
    diff = evaluate.paired_difference(a, b)
    assert diff.mean == pytest.approx(0.5) and diff.low > 0
    assert evaluate.paired_difference(a, a) == evaluate.Estimate(0.0, 0.0, 0.0, 30)
    with pytest.raises(ValueError, match="same questions"):
        evaluate.paired_difference(a, b[::-1])
