"""notebook 05's helpers: support and failure tracing on tiny inputs, LoRA update norms on a real
(tiny) peft model, and the planted documents."""
from __future__ import annotations

import json

import pytest

from helpers import data, evaluate, finetune, generation, transparency
from helpers.data import Document, Question


def test_claim_tokens_are_what_the_reply_adds_to_the_question():
    assert transparency.claim_tokens("The price of the S2 is €389.", "What is the price of the S2?") == {"€389"}
    assert transparency.claim_tokens("What is the price of the S2?", "What is the price of the S2?") == set()


def test_supported_needs_every_added_word_in_a_passage():
    q = "What is the price of the S2?"
    assert transparency.supported("The S2 costs €389.", ["Price: €389, bracket included. The S2 costs less."], q)
    assert not transparency.supported("The S2 costs €349.", ["Price: €389."], q)
    assert not transparency.supported("What is the price of the S2?", ["Price: €389."], q)   # adds nothing


def _row(prediction, answers=("€389",), question="What is the price of the S2?"):
    return evaluate.grade([Question("F1/h1", question, answers)], [prediction])[0]


@pytest.mark.parametrize("prediction, passages, stage", [
    ("It costs €389.", ["Price: €389."], "correct"),
    ("It costs €349.", ["Opening hours: 9 to 5."], "retrieval miss"),
    ("It costs €9.50.", ["The S2 costs €389. Shipping costs €9.50."], "reading error"),
    ("I don't know", ["Price: €389."], "reading error"),
    ("It costs €349.", ["Price: €389."], "unsupported claim"),
])
def test_trace_failure_names_the_first_broken_stage(prediction, passages, stage):
    assert transparency.trace_failure(_row(prediction), passages, ["€389"]) == stage
    assert stage in transparency.TRACE_STAGES


def test_names_document_by_id_or_title():
    doc = Document("policy-warranty", "Warranty", "# Warranty\n...")
    assert transparency.names_document("See the policy warranty page.", doc)
    assert transparency.names_document("The Warranty document says so.", doc)
    assert not transparency.names_document("Warranties are common.", doc)


def test_lora_update_norms_on_a_real_adapter(tokenizer, tiny_model_dir, cache):
    from tests.test_generation_and_finetune import SETTINGS

    ex = finetune.qa_examples([("How tall is the mast?", "three metres")] * 4, tokenizer)
    run = finetune.train_lora("qa", ex, SETTINGS, generator=str(tiny_model_dir), verbose=False)
    norms = transparency.lora_update_norms(run.model)
    assert set(norms) == {(layer, module) for layer in (0, 1) for module in SETTINGS.target_modules}
    assert all(v > 0 for v in norms.values())
    with pytest.raises(ValueError, match="no LoRA modules"):
        transparency.lora_update_norms(run.model, adapter="other")


def test_planted_documents_target_real_facts_with_values_no_fact_has():
    planted = transparency.load_planted()
    facts = {f.id: f for f in data.load_facts(1)}
    corpus = " ".join(d.text for d in data.load_corpus(1))
    assert {p.kind for p in planted} == {"false facts", "instruction"}
    assert all(len(p.targets) >= 20 for p in planted), "notebook 05 asks both held-out wordings of >= 20 facts per file"
    assert not set(planted[0].targets) & set(planted[1].targets), "no fact targeted by both files"
    for p in planted:
        assert p.doc.doc_id not in {d.doc_id for d in data.load_corpus(1)}
        for fact_id, value in p.targets.items():
            assert fact_id in facts and value in p.doc.text
            assert not evaluate.contains_answer(value, [facts[fact_id].answer, *facts[fact_id].aliases])
            assert not evaluate.contains_answer(corpus, [value]), f"{value!r} already occurs in the knowledge base"


def test_bad_planted_manifest_names_the_file(tmp_path):
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "manifest.json").write_text(json.dumps(
        {"documents": [{"doc": "missing", "kind": "false facts", "targets": {}}]}), encoding="utf-8")
    with pytest.raises(data.DataError, match="manifest.json.*missing.md does not exist"):
        transparency.load_planted(tmp_path)


def _passages(*docs_and_texts):
    from helpers.retrieval import Chunk, Passage

    return [Passage(Chunk(f"{doc}#{i}", doc, doc.title(), text), 0.5, i + 1) for i, (doc, text) in enumerate(docs_and_texts)]


@pytest.mark.parametrize("reply, cited", [
    ("[2]", (1,)), ("The answer is: [1]", (0,)), ("The answer is: 1.", (0,)), ("3", (2,)),
    ("passage 3 and [1]", (0, 2)), ("The second one.", (1,)),
    ("The warranty is 2 years.", ()), ("It costs €389.", ()), ("[4]", ()), ("I don't know", ()),
    ("Tobias Ferrand wrote the first firmware for the station.", ()),
    ("The number of stations sold in the first year of the company is 2", ()),
])
def test_cited_passages_reads_numbers_not_values(reply, cited):
    ps = _passages(("a", "x"), ("b", "y"), ("c", "z"))
    assert transparency.cited_passages(reply, ps) == cited


def test_cited_passages_by_document_id_and_bad_tags():
    ps = _passages(("policy-warranty", "x"), ("faq", "y"), ("policy-warranty", "z"))
    assert transparency.cited_passages("See [policy-warranty].", ps, tags="id") == (0, 2)
    with pytest.raises(ValueError, match="tags"):
        transparency.cited_passages("[1]", ps, tags="title")
    with pytest.raises(ValueError, match="tags"):
        generation.rag_messages("Q?", ps, tags="title")


def test_rag_messages_tag_passages_by_position_or_by_document():
    ps = _passages(("a", "First."), ("b", "Second."))
    assert generation.rag_messages("Where is it?", ps, tags="number")[1]["content"] == \
        "Passages:\n[1] First.\n\n[2] Second.\n\nQuestion: Where is it?"
    assert generation.rag_messages("Where is it?", ps)[1]["content"] == \
        "Passages:\n[a] First.\n\n[b] Second.\n\nQuestion: Where is it?"


def test_citation_holds_only_with_one_passage_that_holds_the_answer():
    from helpers.generation import Answer

    ps = _passages(("a", "Opening hours: 9 to 5."), ("b", "Price: €389."), ("c", "Price: €389 too."))
    a = Answer("€389", 10, 2, 0.1)

    def cit(cited):
        return transparency.Citation(a, a, ps, cited)

    assert cit((1,)).holds(["€389"]) and not cit((0,)).holds(["€389"])
    assert not cit((0, 1, 2)).holds(["€389"]), "naming every passage attributes nothing"
    assert not cit(()).holds(["€389"])
    out = transparency.citation_outcomes([cit((1,)), cit((0,)), cit((1, 2))], [["€389"]] * 3)
    assert out == {"some passage holds the answer": [True] * 3, "cites one passage": [True, True, False],
                   "cited passage holds the answer": [True, False, False],
                   "passage [1] holds the answer": [False] * 3, "answer correct": [True] * 3}
    with pytest.raises(ValueError, match="citations"):
        transparency.citation_outcomes([cit((1,))], [])


def test_cite_asks_after_the_answer_on_the_real_path(tiny_model_dir, tokenizer, cache):
    """The real path on the tiny random model: the answer turn, then the follow-up in the same chat."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ps = _passages(("a", "Price: €389."), ("b", "Hours: 9 to 5."))
    rows = transparency.cite(model, tokenizer, ["What is the price?", "When is it open?"], [ps, ps])
    assert len(rows) == 2 and all(r.passages == ps and set(r.cited) <= {0, 1} for r in rows)
    assert all(r.cited == transparency.cited_passages(r.reply.text, ps) for r in rows)
    with pytest.raises(ValueError, match="lists of passages"):
        transparency.cite(model, tokenizer, ["Q?"], [])
