from __future__ import annotations

import pytest

from helpers import evaluate
from helpers.data import Question


def test_squad_normalization():
    assert evaluate.normalize_answer("The  Price: €389!") == "price €389"
    assert evaluate.normalize_answer("1,200") == "1200"
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


def test_bootstrap_interval_contains_mean_and_is_deterministic():  # for non-0/1 scores
    values = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1] * 4
    est = evaluate.bootstrap_ci(values)
    assert est.mean == pytest.approx(0.7) and est.low < est.mean < est.high
    assert est == evaluate.bootstrap_ci(values)
    assert evaluate.bootstrap_ci([0.5, 0.5]) == evaluate.Estimate(0.5, 0.5, 0.5, 2)
    with pytest.raises(ValueError):
        evaluate.bootstrap_ci([])


def test_value_outcome_after_a_change():
    assert evaluate.value_outcome("It costs €419 now.", ["€419"], ["€389"]) == "new value"
    assert evaluate.value_outcome("€389", ["€419"], ["€389"]) == "stale value"
    assert evaluate.value_outcome("€389 or €419", ["€419"], ["€389"]) == "neither"
    assert evaluate.value_outcome("I don't know", ["€419"], ["€389"]) == "neither"


def test_paired_difference():
    qs = [Question(f"F{i}/h1", "q", ("yes",)) for i in range(30)]
    a = evaluate.grade(qs, ["yes"] * 20 + ["no"] * 10)
    b = evaluate.grade(qs, ["yes"] * 5 + ["no"] * 25)
    diff = evaluate.paired_difference(a, b)
    assert diff.mean == pytest.approx(0.5) and diff.low > 0 and diff.real
    assert (diff.a_only, diff.b_only, diff.facts) == (15, 0, 30) and diff.p_value < 0.001
    same = evaluate.paired_difference(a, a)
    assert (same.mean, same.low, same.high, same.real, same.p_value) == (0.0, 0.0, 0.0, False, 1.0)
    assert "no detectable difference at n = 30 questions (30 facts)" in same.verdict()
    assert same.verdict(groups=None).endswith("no detectable difference at n = 30 questions")
    with pytest.raises(ValueError, match="same questions"):
        evaluate.paired_difference(a, b[::-1])


def test_paired_values_resample_facts_not_questions():
    # two paraphrases per fact: 10 facts, 20 questions; the interval is computed over facts
    qids = [f"F{i}/h{j}" for i in range(10) for j in (1, 2)]
    d = evaluate.paired_values(qids, [1.0] * 12 + [0.0] * 8, [0.0] * 20)
    assert d.n == 20 and d.facts == 10 and d.mean == pytest.approx(0.6)
    assert d.low >= 0.2 and d.high <= 1.0


def test_normalization_keeps_signs_decimals_and_clock_times():
    assert evaluate.normalize_answer("-3 °C") != evaluate.normalize_answer("3 °C")
    assert evaluate.normalize_answer("4.9") != evaluate.normalize_answer("49")
    assert evaluate.normalize_answer("1.2") == "1.2" and evaluate.normalize_answer("13:00.") == "13:00"
    assert evaluate.normalize_answer("The end.") == "end"          # a full stop is still punctuation
    assert not evaluate.contains_answer("It drops to -3 °C.", ["3 °C"])
    assert not evaluate.contains_answer("The fee is 49 euros", ["4.9"])
    assert evaluate.contains_answer("Version 4.9 is current.", ["4.9"])


def test_an_alias_never_shrinks_to_a_generic_word():
    assert not evaluate.contains_answer("It lasts a month or so, about one year", ["a week"])
    assert evaluate.contains_answer("It lasts a week.", ["a week"])
    assert not evaluate.exact_match("week", ["a week"])


def test_hedged_answers_get_no_lenient_credit():
    q = Question("F1/h1", "How long is the return window?", ("30 days",))
    named = Question("F2/h1", "Who heads support?", ("Rufus Hallam",), rivals=("Ilse Marchetti",))
    rows = evaluate.grade([q, q, q, named, named],
                          ["30 days", "14 or 30 days", "30 days, or 60 for members", "Rufus Hallam",
                           "Rufus Hallam or Ilse Marchetti"])
    assert [r.contains for r in rows] == [True, False, False, True, False]
    assert [r.hedged for r in rows] == [False, True, True, False, True]
    assert all(r.invented for r in rows if r.hedged)
    # a number that is part of the question is not a competing value
    q2 = Question("F3/h1", "What does the Skylark S2 cost with 2 probes?", ("€389",))
    assert evaluate.grade([q2], ["With 2 probes it costs €389"])[0].contains


def test_wilson_interval_never_collapses():
    est = evaluate.wilson(0, 60)
    assert est.low == 0.0 and 0.05 < est.high < 0.07
    full = evaluate.proportion([True] * 40)
    assert full.mean == 1.0 and full.low < 0.95
    with pytest.raises(ValueError):
        evaluate.proportion([0.5, 1.0])


def test_summary_uses_wilson_for_shares_and_records_reply_length():
    from helpers.generation import Answer

    qs = [Question(f"F{i}/h1", "q", ("yes",)) for i in range(4)]
    rows = evaluate.grade(qs, [Answer("yes", 10, 2, 0.1), Answer("no", 10, 4, 0.1)] * 2)
    s = evaluate.summarize(rows)
    assert (s["contains"].mean, s["contains"].n, s["contains"].facts) == (0.5, 4, 4)
    assert s["contains"].low > 0 and s["answer_tokens"].mean == 3.0


def test_error_stage_and_oracle(tiny_docs):
    from helpers import retrieval

    chunks = retrieval.chunk_documents(tiny_docs)
    q = Question("F1/h1", "Where do bees make honey?", ("hives",), doc_ids=("bees",))
    (oracle,) = evaluate.oracle_passages(chunks, q)
    assert oracle.doc_id == "bees" and "hives" in oracle.text
    wrong = evaluate.grade([q], ["in trees"])[0]
    assert evaluate.error_stage(wrong, [oracle.text], q.answers) == "reading error"
    assert evaluate.error_stage(wrong, ["Rain is measured."], q.answers) == "retrieval miss"
    with pytest.raises(ValueError, match="no chunk"):
        evaluate.oracle_passages(chunks, Question("F2/h1", "?", ("zebra",), doc_ids=("bees",)))


def test_value_outcome_ignores_an_old_value_inside_the_new_one():
    assert evaluate.value_outcome("one hundred and fifty SMS", ["one hundred and fifty"], ["fifty"]) == "new value"
    assert evaluate.value_outcome("fifty a month", ["one hundred and fifty"], ["fifty"]) == "stale value"


def test_holm_adjustment_matches_the_step_down_rule():
    # m = 4: sorted p 0.01, 0.02, 0.03, 0.5 -> 0.04, max(0.04, 0.06), max(0.06, 0.06), max(.., 0.5)
    assert evaluate.holm([0.03, 0.01, 0.5, 0.02]) == pytest.approx([0.06, 0.04, 0.5, 0.06])
    assert evaluate.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    assert evaluate.holm([]) == []


def test_reply_outcomes_separate_wrong_from_invented():
    qs = [Question("a", "q1", ("42",)), Question("b", "q2", ("7",)), Question("c", "q3", ("x",)),
          Question("u", "q4", (), kind="unanswerable"), Question("p", "q5", (), kind="false premise"),
          Question("v", "q6", (), kind="unanswerable")]
    rows = evaluate.grade(qs, ["It is 42.", "I don't know", "It is 8", "It is 8", "There is no Berlin office.",
                               "I don't know"])
    assert [evaluate.reply_outcome(r) for r in rows] == ["correct", "abstained", "wrong", "invented", "abstained",
                                                          "abstained"]
    shares = evaluate.reply_outcome_shares(rows)
    assert list(shares) == list(evaluate.REPLY_OUTCOMES) and sum(shares.values()) == pytest.approx(1.0)
    assert shares["abstained"] == pytest.approx(3 / 6)
    with pytest.raises(ValueError, match="no graded rows"):
        evaluate.reply_outcome_shares([])


def test_detector_scores_count_and_interval():
    s = evaluate.detector_scores([True, True, False, False, True], [True, False, True, False, True])
    assert (s.n, s.tp, s.fp, s.fn) == (5, 2, 1, 1)
    assert s.precision.mean == pytest.approx(2 / 3) and s.precision.n == 3
    assert s.recall.mean == pytest.approx(2 / 3) and 0 < s.recall.low < s.recall.high < 1
    none = evaluate.detector_scores([False, False], [False, False])
    assert none.precision is None and none.recall is None
    with pytest.raises(ValueError, match="2 labels but 1 predictions"):
        evaluate.detector_scores([True, False], [True])


def test_separating_threshold_maximises_youden():
    # yes-scores 0.6-0.9, no-scores 0.1-0.5 and one 0.7: the best cut keeps all yes and 1 of 5 no
    assert evaluate.separating_threshold([0.6, 0.7, 0.8, 0.9], [0.1, 0.2, 0.3, 0.5, 0.7]) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="at least one score"):
        evaluate.separating_threshold([], [0.1])


def test_auc_and_its_interval():
    est = evaluate.auc([0.9, 0.8, 0.7, 0.3], [0.1, 0.2, 0.6, 0.75])
    assert est.mean == pytest.approx(13 / 16)            # 13 of the 16 yes/no pairs ordered right
    assert 0 <= est.low <= est.mean <= est.high <= 1 and est.n == 8
    assert evaluate.auc([1.0, 2.0], [1.0, 2.0]).mean == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least one score"):
        evaluate.auc([], [0.1])


def test_paired_difference_on_reply_outcomes_and_functions():
    qs = [Question("a/1", "q1", ("42",)), Question("b/1", "q2", ("7",))]
    a = evaluate.grade(qs, ["42", "8"])
    b = evaluate.grade(qs, ["I don't know", "I don't know"])
    assert evaluate.paired_difference(a, b, "wrong").mean == pytest.approx(0.5)
    assert evaluate.paired_difference(a, b, "correct").mean == pytest.approx(0.5)
    assert evaluate.paired_difference(a, b, "abstained").mean == pytest.approx(-1.0)
    assert evaluate.paired_difference(a, b, lambda r: len(r.prediction)).mean == pytest.approx(-10.5)
