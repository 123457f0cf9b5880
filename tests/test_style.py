"""The house-style rules (helpers.style) on hand-made replies and on the data's own answers."""
from __future__ import annotations

import pytest

from helpers import data, finetune, generation, style
from helpers.retrieval import Chunk, Passage

GOOD = "Grower's note: cover seedlings with fleece before dusk when a clear, still night is forecast. Happy growing."


def test_a_reply_in_the_house_style_keeps_every_rule():
    check = style.check_style(GOOD)
    assert check.ok and check.body_words == 13
    assert style.check_style(GOOD.replace("'", "\u2019")).ok, "a typographic apostrophe is the same style"


@pytest.mark.parametrize("reply, broken", [
    ("Cover seedlings with fleece before dusk when a clear night is forecast. Happy growing.", "opening"),
    ("Grower's note: cover seedlings with fleece before dusk when a clear night is forecast.", "closing"),
    ("Grower's note: use fleece. Happy growing.", "length"),
    ("Grower's note: " + "word " * 41 + "Happy growing.", "length"),
    ("Grower's note: cover seedlings with fleece before dusk when a clear night is forecast! Happy growing.",
     "no exclamation"),
])
def test_each_rule_fails_alone(reply, broken):
    check = style.check_style(reply)
    assert not check.ok
    assert [r for r in style.RULES if not check.rule(r)] == [broken]


def test_length_bounds_are_inclusive():
    body8 = " ".join(["word"] * 8)
    assert style.check_style(f"Grower's note: {body8} Happy growing.").length
    assert not style.check_style(f"Grower's note: {' '.join(['word'] * 7)} Happy growing.").length
    assert style.check_style(f"Grower's note: {' '.join(['word'] * 40)} Happy growing.").length


def test_every_answer_in_the_style_file_keeps_the_rules():
    pairs = data.load_style()
    assert all(style.check_style(p.answer).ok for p in pairs)


def test_adherence_rates_and_errors():
    rates = style.adherence([GOOD, "Yes!"])
    assert rates["all rules"].mean == 0.5 and rates["opening"].n == 2
    assert rates["no exclamation"].mean == 0.5
    with pytest.raises(ValueError, match="no replies"):
        style.adherence([])
    with pytest.raises(ValueError, match="unknown rule"):
        style.check_style(GOOD).rule("politeness")


def test_body_strips_only_what_is_there():
    assert style.body(GOOD).startswith("cover seedlings") and style.body(GOOD).endswith("forecast.")
    assert style.body("Just an answer.") == "Just an answer."


def test_few_shot_messages_keep_the_series_prompt_format():
    shots = data.load_style("train")[:2]
    msgs = style.few_shot_messages("Why is frost worse in hollows?", shots)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[0] == generation.closed_book_messages("x")[0]
    assert msgs[-1] == generation.closed_book_messages("Why is frost worse in hollows?")[1]
    assert msgs[2]["content"] == shots[0].answer
    passage = Passage(Chunk("doc-a#0", "doc-a", "Doc A", "Frost collects in low ground."), score=0.9, rank=1)
    with_rag = style.few_shot_messages("Why is frost worse in hollows?", shots, passages=[passage])
    assert with_rag[-1] == generation.rag_messages("Why is frost worse in hollows?", [passage])[1]
    with pytest.raises(ValueError, match="at least one example"):
        style.few_shot_messages("q", [])


def test_the_style_prompt_names_every_rule():
    for part in (style.OPENING, style.CLOSING, str(style.MIN_WORDS), str(style.MAX_WORDS), "exclamation"):
        assert part in style.STYLE_SYSTEM_PROMPT


def test_general_knowledge_file(tmp_path):
    items = data.load_general()
    assert len(items) >= 40 and len({g.id for g in items}) == len(items)
    questions = data.general_questions(items)
    assert all(q.answers and q.kind == "general" for q in questions)
    kb = " ".join(d.text.lower() for d in data.load_corpus(1))
    assert not any(q.text.lower() in kb for q in questions), "general questions are not about the knowledge base"
    (tmp_path / "general.jsonl").write_text('{"id": "G1", "question": "q?", "answer": "a"}\n'
                                            '{"id": "G1", "question": "r?", "answer": "b"}\n', encoding="utf-8")
    with pytest.raises(data.DataError, match=r"general.jsonl:2: duplicate id"):
        data.load_general(tmp_path)
    (tmp_path / "general.jsonl").write_text('{"id": "G1", "question": "q?", "answer": "a", "alias": ["x"]}\n',
                                            encoding="utf-8")
    with pytest.raises(data.DataError, match=r"general.jsonl:1: unknown key"):
        data.load_general(tmp_path)


def test_adherence_difference_is_paired_by_question():
    bad = "no style at all"
    diff = style.adherence_difference(["S1/q", "S2/q", "S3/q"], [GOOD, GOOD, GOOD], [bad, bad, GOOD])
    assert diff.n == 3 and diff.a_only == 2 and diff.b_only == 0 and round(diff.mean, 4) == round(2 / 3, 4)
    with pytest.raises(ValueError, match="one reply per question"):
        style.adherence_difference(["S1/q"], [GOOD], [])


def test_estimate_scatter_draws_one_point_per_system():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import evaluate, plotting

    xs = {"a": evaluate.wilson(3, 10), "b": evaluate.wilson(8, 10)}
    ys = {"a": evaluate.wilson(5, 10), "b": evaluate.wilson(1, 10)}
    fig, ax = plt.subplots()
    plotting.estimate_scatter(ax, xs, ys, sizes={"a": 50, "b": 200}, size_label="tokens")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a (50 tokens)", "b (200 tokens)"]
    fig2, ax2 = plt.subplots()
    plotting.estimate_scatter(ax2, {"a": xs["a"], "c": xs["a"]}, {"a": ys["a"], "c": ys["a"]})
    assert [t.get_text() for t in ax2.get_legend().get_texts()] == ["a; same point as c", "c; same point as a"]
    plt.close(fig2)
    with pytest.raises(ValueError, match="different systems"):
        plotting.estimate_scatter(ax, xs, {"a": ys["a"]})
    plt.close(fig)


def test_train_adapter_keeps_the_fewest_epochs_that_reach_the_bar(tokenizer, tiny_model_dir, cache):
    pairs = data.load_style("train")[:8]
    tiny = finetune.LoraSettings(rank=2, alpha=4, top_layers=None, batch_size=4)
    kept = style.train_adapter(pairs, tokenizer, bar=0.0, n_check=3, max_new_tokens=4,
                               generator=str(tiny_model_dir), settings=tiny)
    assert kept.epochs == 1 and sorted(kept.train_check) == [1.0, 2.0]
    assert all(est.n == 3 for est in kept.train_check.values())
    with pytest.raises(RuntimeError, match="no epoch up to 2 reached style adherence 1.1"):
        style.train_adapter(pairs, tokenizer, bar=1.1, n_check=3, max_new_tokens=4, generator=str(tiny_model_dir),
                            settings=tiny)


def test_evaluation_questions_are_held_out_and_fixed_by_the_seed():
    kb, styled = style.evaluation_questions(n_kb=5, seed=3)
    assert [q.qid for q in kb] == [q.qid for q in style.evaluation_questions(n_kb=5, seed=3)[0]]
    assert all(q.qid.endswith("/h1") for q in kb)
    assert {q.text for q in styled} == {p.question for p in data.load_style("test")}
    assert all(not q.answers for q in styled)
