"""notebook 04's helpers: question sets, "I don't know" pairs, the threshold curve, borrowed answers."""
from __future__ import annotations

import pytest

from helpers import data, evaluate, finetune, generation, hallucination
from helpers.data import Question
from helpers.retrieval import Chunk, Passage


@pytest.fixture(scope="module")
def sets() -> hallucination.QuestionSets:
    return hallucination.question_sets()


def test_development_split_shares_no_fact_or_question_with_the_evaluation(sets):
    evaluated_facts = {q.fact_id for q in sets.inside + sets.outside}
    assert not evaluated_facts & {q.fact_id for q in sets.dev_answerable + sets.dev_heldout}
    assert not {q.text for q in sets.evaluated} & {q.text for q in sets.dev_answerable + sets.dev_unanswerable + sets.dev_heldout}
    clusters = data.fact_clusters()
    assert not {clusters.get(q.fact_id, q.fact_id) for q in sets.dev_heldout} & {clusters.get(f, f) for f in evaluated_facts}
    assert max(finetune.jaccard(d.text, e.text) for d in sets.dev_heldout for e in sets.evaluated) < finetune.NEAR_COPY_JACCARD
    assert len(sets.dev_heldout) >= 60
    assert all(q.qid.endswith("/" + hallucination.WORDING) for q in sets.dev_heldout + sets.inside + sets.outside)
    assert {q.fact_id for q in sets.inside} == {f.id for f in sets.inside_facts}
    assert not {q.fact_id for q in sets.inside} & {q.fact_id for q in sets.outside}
    kinds = {q.kind for q in sets.unanswerable}
    assert kinds == set(data.UNANSWERABLE_KINDS) and all(not q.answers for q in sets.unanswerable)
    assert min(len(sets.inside), len(sets.outside), len(sets.unanswerable), len(sets.general)) >= 40


def test_idk_pairs_add_one_refusal_per_training_question(sets):
    train = data.load_unanswerable(split="train")
    pairs = hallucination.idk_pairs(sets.inside_facts, train)
    assert pairs[:len(sets.inside_facts)] == [(f.question, f.answer) for f in sets.inside_facts]
    assert pairs[len(sets.inside_facts):] == [(u.question, generation.IDK_REPLY) for u in train]
    assert evaluate.is_abstention(generation.IDK_REPLY)


def _hit(score: float) -> list[Passage]:
    return [Passage(Chunk("d#0", "d", "D", "t"), score=score, rank=1)]


def _answer(text: str) -> generation.Answer:
    return generation.Answer(text, prompt_tokens=10, new_tokens=3, seconds=0.1)


def test_threshold_curve_equals_grading_abstain_below():
    answerable = [Question("a", "qa", ("42",)), Question("b", "qb", ("7",)), Question("c", "qc", ("9",))]
    unanswerable = [Question("u", "qu", (), kind="unanswerable"), Question("v", "qv", (), kind="unanswerable")]
    answers = [_answer("42"), _answer("7"), _answer("8"), _answer("5"), _answer("I don't know")]
    scores = [0.9, 0.4, 0.7, 0.8, 0.3]
    hits = [_hit(s) for s in scores]
    thresholds = [0.0, 0.5, 0.85, 1.0]
    curve = hallucination.threshold_curve(evaluate.grade(answerable, answers[:3]), scores[:3],
                                          evaluate.grade(unanswerable, answers[3:]), scores[3:], thresholds)
    for t, point in zip(thresholds, curve, strict=True):
        rows = evaluate.grade(answerable + unanswerable, generation.abstain_below(answers, hits, t))
        assert point.accuracy == pytest.approx(sum(r.contains for r in rows[:3]) / 3)
        assert point.invented == pytest.approx(sum(r.invented for r in rows[3:]) / 2)
        assert point.abstained == pytest.approx(sum(r.abstained for r in rows[:3]) / 3)
    assert [p.accuracy for p in curve] == pytest.approx([2 / 3, 1 / 3, 1 / 3, 0.0])
    assert [p.invented for p in curve] == pytest.approx([0.5, 0.5, 0.0, 0.0])
    with pytest.raises(ValueError, match="retrieval score"):
        hallucination.threshold_curve(evaluate.grade(answerable, answers[:3]), scores[:2], [], [], thresholds)


def test_abstain_below_keeps_strong_answers_and_checks_lengths():
    hits = [_hit(0.9), _hit(0.2)]
    out = generation.abstain_below([_answer("42"), _answer("8")], hits, 0.5)
    assert [a.text for a in out] == ["42", generation.IDK_REPLY] and out[1].new_tokens == 0
    with pytest.raises(ValueError, match="2 answers but 1 retrieval"):
        generation.abstain_below([_answer("42"), _answer("8")], hits[:1], 0.5)


def test_borrowed_counts_replies_stating_a_training_answer(sets):
    fact = sets.inside_facts[0]
    rows = evaluate.grade([Question("u", "q", (), kind="unanswerable")] * 2,
                          [f"It is {fact.answer}.", "Something else entirely"])
    assert hallucination.borrowed(rows, [fact]) == 1


def _general(i, question, answer):
    return data.GeneralItem(id=f"K{i}", question=question, answer=answer, aliases=())


def test_known_pairs_keep_known_facts_far_from_the_evaluated_ones():
    candidates = [_general(1, "Who wrote Hamlet?", "Shakespeare"), _general(2, "What is the capital of Peru?", "Lima"),
                  _general(3, "Which metal rusts?", "iron"), _general(4, "In which city is the Louvre?", "Paris"),
                  _general(5, "What colour is snow?", "white"), _general(6, "What do bees make?", "honey")]
    evaluated = data.general_questions([_general(90, "What is the capital of France?", "Paris"),
                                        _general(91, "What is the capital of Spain?", "Madrid")])
    replies = ["Shakespeare", "Lima", "copper", "Paris", "White.", "honey"]
    base = evaluate.grade(data.general_questions(candidates), replies)
    pairs, dropped = hallucination.known_pairs(candidates, base, evaluated, n=2)
    assert pairs == [("Who wrote Hamlet?", "Shakespeare"), ("What colour is snow?", "white")]
    assert dropped == {"unknown": 1, "near-copy": 1, "states an answer": 1}
    assert hallucination.known_pairs(candidates, base, evaluated, n=9)[0][-1] == ("What do bees make?", "honey")
    with pytest.raises(ValueError, match="same order"):
        hallucination.known_pairs(candidates[::-1], base, evaluated, n=2)


def test_declines_to_erase_counts_the_worst_case_recount():
    """A invents on all 40, the base model on 20: it takes 15 recounted declines (5 discordant questions
    left, McNemar p = 0.0625) before the difference stops being real; none when it never was."""
    qids = [f"K{i}" for i in range(40)]
    assert hallucination.declines_to_erase(qids, [1.0] * 40, [1.0] * 20 + [0.0] * 20) == 15
    assert hallucination.declines_to_erase(qids, [1.0] * 40, [1.0] * 40) == 0
    with pytest.raises(ValueError, match="equal lists"):
        hallucination.declines_to_erase(qids, [1.0], [1.0])
