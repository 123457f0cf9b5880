import pytest

from helpers import evaluate, finetune, generation, reader
from helpers.data import Document, Question
from helpers.retrieval import VectorIndex, chunk_documents


@pytest.fixture()
def kb(embedder):
    docs = [Document(f"d{i}", f"Doc {i}", f"# Doc {i}\n\nThe gate number {i} is painted blue. It opened in {1990 + i}.\n\n"
                                          f"Visitors to gate {i} pay {i} euros.") for i in range(6)]
    chunks = chunk_documents(docs)
    return docs, chunks, VectorIndex.build(embedder, chunks)


def _questions(n):
    return [Question(qid=f"q{i}/train", text=f"When did gate {i} open?", answers=(str(1990 + i),), fact_id=f"q{i}",
                     doc_ids=(f"d{i}",), kind="train") for i in range(n)]


def test_items_hold_gold_and_distractors_from_other_documents(kb):
    docs, chunks, index = kb
    items = reader.reader_items(_questions(5), chunks, index, n_distractors=2, keep_gold=0.8, seed=0)
    assert sum(i.has_gold for i in items) == 4
    for item, q in zip(items, _questions(5), strict=True):
        assert len(item.passages) == 3 and item.answer == q.answers[0]
        golds = [p for p in item.passages if p.doc_id in q.doc_ids]
        assert len(golds) == (1 if item.has_gold else 0)
        if item.has_gold:
            assert q.answers[0] in golds[0].text
        assert item.messages == generation.rag_messages(q.text, item.passages)


def test_items_refuse_passages_outside_the_allowed_documents(kb):
    docs, chunks, index = kb
    with pytest.raises(ValueError, match="outside allowed_docs"):
        reader.reader_items(_questions(2), chunks, index, n_distractors=2, allowed_docs=["d0", "d1"])


def test_item_arguments_are_checked(kb):
    _, chunks, index = kb
    with pytest.raises(ValueError, match="leaves no passage"):
        reader.reader_items(_questions(2), chunks, index, n_distractors=0, keep_gold=0.5)
    with pytest.raises(ValueError, match="too small"):
        reader.reader_items(_questions(2), chunks, index, n_distractors=20)
    with pytest.raises(ValueError, match="target"):
        reader.reader_items(_questions(2), chunks, index, n_distractors=1, target="essay")


def test_sentence_targets_and_tokenized_examples(kb, tokenizer):
    _, chunks, index = kb
    items = reader.reader_items(_questions(2), chunks, index, n_distractors=1, keep_gold=1.0, target="sentence")
    assert items[0].answer == "It opened in 1990."
    examples = reader.reader_examples(items, tokenizer)
    prompt = generation.render(tokenizer, items[0].messages)
    n_prompt = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert examples[0]["labels"][:n_prompt] == [finetune.IGNORE_INDEX] * n_prompt
    assert tokenizer.decode(examples[0]["input_ids"][n_prompt:]).startswith("It opened in 1990.")
    with pytest.raises(ValueError, match="example longer than max_length=20"):
        reader.reader_examples(items, tokenizer, max_length=20)
    with pytest.raises(ValueError, match="no sentence"):
        reader.answer_sentence("Title\nNothing here.", ["1990"])


def test_chat_examples_match_qa_examples(tokenizer):
    pairs = [("How tall is the mast?", "three metres")]
    assert finetune.qa_examples(pairs, tokenizer) == finetune.chat_examples(
        [generation.closed_book_messages(pairs[0][0])], [pairs[0][1]], tokenizer)
    with pytest.raises(ValueError, match="1 prompts but 2 answers"):
        finetune.chat_examples([generation.closed_book_messages("q")], ["a", "b"], tokenizer)


def test_distractors_never_hold_an_accepted_answer(embedder):
    docs = [Document("a", "A", "# A\n\nThe gate opened in 1990."), Document("b", "B", "# B\n\nThe gate, open since 1990, is blue."),
            Document("c", "C", "# C\n\nThe gate is green."), Document("d", "D", "# D\n\nThe gate is red.")]
    chunks = chunk_documents(docs)
    q = Question(qid="q/train", text="When did the gate open?", answers=("1990",), fact_id="q", doc_ids=("a",), kind="train")
    items = reader.reader_items([q], chunks, VectorIndex.build(embedder, chunks), n_distractors=2, keep_gold=1.0)
    assert {p.doc_id for p in items[0].passages} == {"a", "c", "d"}


def test_series_reader_is_notebook_08s_two_distractor_arm(embedder, tokenizer):
    """The examples --reader trained trains on: notebook 08's section 2, built from the knowledge base."""
    from helpers import data, recipe

    items = reader.series_reader_items(embedder)
    facts, docs = data.load_facts(1), data.load_corpus(1)
    split = recipe.document_split(facts, docs)
    assert [i.question for i in items] == [f.question for f in split.inside]
    assert sum(i.has_gold for i in items) == round(0.8 * len(items))
    assert all(len(i.passages) == 3 for i in items)
    assert {p.doc_id for i in items for p in i.passages} <= set(split.train_docs)
    assert reader.series_reader_examples(embedder, tokenizer) == reader.reader_examples(items, tokenizer)
    settings = reader.series_reader_settings()
    assert (settings.epochs, settings.micro_batch_size, settings.top_layers) == (2, 2, recipe.QA_SETTINGS.top_layers)
    assert reader.series_reader_settings(n_layers=2).top_layers == 2
    assert reader.series_reader_settings(n_layers=30) == settings


def test_error_kind_sorts_replies_by_where_the_answer_was(kb):
    docs, chunks, index = kb
    q = _questions(1)[0]
    hits = index.search(q.text, k=len(chunks))
    gold = [p for p in hits if "1990" in p.text][:1]
    other = [p for p in hits if p.doc_id != "d0"][:1]
    assert gold and other
    graded = lambda reply: evaluate.grade([q], [reply])[0]      # noqa: E731
    assert reader.error_kind(q, graded("It opened in 1990."), gold) == "correct"
    assert reader.error_kind(q, graded("It opened in 1995."), gold) == "reading error"
    assert reader.error_kind(q, graded("I don't know."), gold) == "reading error"
    assert reader.error_kind(q, graded("It opened in 1995."), other) == "answered on a retrieval miss"
    assert reader.error_kind(q, graded("I don't know."), other) == "declined on a retrieval miss"
    with pytest.raises(ValueError, match="does not belong"):
        reader.error_kind(_questions(2)[1], graded("1990"), gold)


def test_error_corrected_selection_is_equal_sized_and_disjoint():
    correct = [True, False, False, True, False, True, True, True]
    errors, control = reader.error_corrected_selection(correct, seed=0)
    assert errors == [1, 2, 4] and len(control) == 3
    assert all(correct[i] for i in control) and control == sorted(control)
    assert reader.error_corrected_selection(correct, seed=0) == (errors, control)
    many_errors = [False] * 5 + [True] * 2
    errors, control = reader.error_corrected_selection(many_errors, seed=1)
    assert len(errors) == len(control) == 2 and not any(many_errors[i] for i in errors)
    with pytest.raises(ValueError, match="0 errors"):
        reader.error_corrected_selection([True, True])


def test_corrected_items_keep_the_served_passages_and_the_right_answer(kb):
    docs, chunks, index = kb
    qs = _questions(3)
    hits = index.search_many([q.text for q in qs], k=1)
    items = reader.corrected_items(qs, hits, [0, 2])
    assert [i.question for i in items] == [qs[0].text, qs[2].text]
    assert [i.answer for i in items] == ["1990", "1992"]
    assert [i.passages for i in items] == [tuple(hits[0]), tuple(hits[2])]
    assert all(i.has_gold == ("199" in i.passages[0].text and i.answer in i.passages[0].text) for i in items)
    with pytest.raises(ValueError, match="2 lists of passages"):
        reader.corrected_items(qs, hits[:2], [0])
    other = [[p for p in index.search(q.text, k=len(chunks)) if q.answers[0] not in p.text][:1] for q in qs]
    missed = reader.corrected_items(qs, other, [0, 1], miss_target="I don't know")
    assert [i.answer for i in missed] == ["I don't know"] * 2 and not any(i.has_gold for i in missed)
    assert [i.answer for i in reader.corrected_items(qs, other, [0])] == ["1990"]


def test_answer_overlaps_find_a_training_text_that_answers_in_other_words():
    qs = [Question(qid="F1/h1", text="How high should the sensors be?", answers=("1.5 metres", "1.5 m"), fact_id="F1",
                   doc_ids=("d",), kind="heldout"),
          Question(qid="F2/h1", text="Who founded it?", answers=("Ada Lovelace",), fact_id="F2", doc_ids=("d",),
                   kind="heldout")]
    texts = [("S1", "Why are sensors mounted at 1.5 metres? Because weather services do."), ("S2", "Why is soil dark?")]
    assert finetune.answer_overlaps(texts, qs) == [("S1", "F1/h1", "1.5 metres")]
    assert finetune.answer_overlaps(texts[1:], qs) == []


def test_comparison_table_puts_each_difference_in_its_row_and_column():
    from helpers.statistics import Difference

    x = Difference(0.25, 0.05, 0.45, 40, 40, 12, 2, 0.0129)
    table = reader.comparison_table({("reader A", "set 1: lenient"): x, ("factor", "set 2"): x})
    assert list(table.index) == ["reader A", "factor"] and list(table.columns) == ["set 1: lenient", "set 2"]
    assert table.loc["reader A", "set 1: lenient"].startswith("+0.25 [+0.05, +0.45]  12-2, p=")
    assert table.loc["factor", "set 1: lenient"] == ""


def test_grade_tests_answers_and_grades_each_test_set(tiny_model_dir, tokenizer, cache):
    """The real path (generate, then grade) on the tiny random model: one graded row per question, per set."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    sets = {"a": [Question("F1/h1", "What is the price?", ("€129",))],
            "b": [Question("F2/h1", "Where is it?", ("Harlowe",)), Question("F3/h1", "When?", ("2011",))]}
    prompts = {t: [generation.closed_book_messages(q.text) for q in qs] for t, qs in sets.items()}
    graded = reader.grade_tests(model, tokenizer, sets, prompts, max_new_tokens=4)
    assert {t: [r.qid for r in rows] for t, rows in graded.items()} == {"a": ["F1/h1"], "b": ["F2/h1", "F3/h1"]}
    with pytest.raises(ValueError, match="different test sets"):
        reader.grade_tests(model, tokenizer, sets, {"a": prompts["a"]}, max_new_tokens=4)
