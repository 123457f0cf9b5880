"""Checks of the knowledge base itself: the promises data/README.md makes."""
from __future__ import annotations

import json
import re

import pytest

from helpers import data
from helpers.evaluate import normalize_answer

STYLE_PREFIX, STYLE_SUFFIX = "Grower's note: ", " Happy growing."


@pytest.fixture(scope="module")
def v1():
    return {d.doc_id: d.text for d in data.load_corpus(1)}


@pytest.fixture(scope="module")
def v2():
    return {d.doc_id: d.text for d in data.load_corpus(2)}


def _in(answer: str, text: str) -> bool:
    return " ".join(answer.lower().split()) in " ".join(text.lower().split())


def test_sizes(v1, v2):
    assert len(v1) >= 30
    assert len(data.load_facts(1)) >= 150
    assert len(data.changed_facts()) >= 30
    assert len(data.load_unanswerable()) >= 40
    assert len(data.load_style()) >= 100
    assert sum(f.multi_hop for f in data.load_facts(1)) >= 5


@pytest.mark.parametrize("version", [1, 2])
def test_every_answer_occurs_in_its_source_document(version, v1, v2):
    corpus = v1 if version == 1 else v2
    for fact in data.load_facts(version):
        assert fact.doc in corpus, f"{fact.id}: unknown document {fact.doc}"
        assert set(fact.docs) <= set(corpus), f"{fact.id}: unknown document in {fact.docs}"
        assert _in(fact.answer, corpus[fact.doc]), f"{fact.id}: {fact.answer!r} not in {fact.doc} (v{version})"


def test_fact_ids_unique_across_versions():
    ids = [f.id for f in data.load_facts(1)] + [f.id for f in data._read_facts(data.config.data_dir() / "kb_v2" / "new_facts.jsonl")]
    assert len(ids) == len(set(ids))


def _jaccard(a: str, b: str) -> float:
    x, y = set(normalize_answer(a).split()), set(normalize_answer(b).split())
    return len(x & y) / len(x | y)


def test_heldout_paraphrases_are_worded_differently():
    for fact in data.load_facts(1) + data.load_facts(2):
        for h in fact.heldout:
            assert normalize_answer(h) != normalize_answer(fact.question), fact.id
            assert _jaccard(h, fact.question) < 0.75, f"{fact.id}: {h!r} too close to {fact.question!r}"
        assert normalize_answer(fact.heldout[0]) != normalize_answer(fact.heldout[1]), fact.id


def test_heldout_questions_never_appear_in_training_material(v1, v2):
    facts = data.load_facts(1) + data.load_facts(2)
    training = {normalize_answer(f.question) for f in facts}
    training |= {normalize_answer(p.question) for p in data.load_style()}
    training |= {normalize_answer(p.answer) for p in data.load_style()}
    documents = normalize_answer(" ".join(list(v1.values()) + list(v2.values())))
    for fact in facts:
        for h in fact.heldout:
            n = normalize_answer(h)
            assert n not in training, f"{fact.id}: held-out question is a training question: {h!r}"
            assert n not in documents, f"{fact.id}: held-out question is copied from a document: {h!r}"


def test_unanswerable_questions_have_no_answer_in_the_corpus(v1, v2):
    corpus = list(v1.values()) + list(v2.values())
    facts = {normalize_answer(f.question) for f in data.load_facts(1) + data.load_facts(2)}
    for item in data.load_unanswerable():
        assert normalize_answer(item.question) not in facts
        for term in item.absent:
            pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)
            hits = [t[:40] for t in corpus if pattern.search(t)]
            assert not hits, f"{item.id}: {term!r} occurs in the corpus"


def test_version2_differs_from_version1_exactly_where_listed(v1, v2):
    manifest = data.load_manifest()
    edits = data.load_edits()
    kept = {k: v for k, v in v1.items() if k not in manifest["retired_docs"]}
    expected = data.apply_edits(kept, edits)
    assert set(v2) == set(expected) | set(manifest["added_docs"])
    assert not set(manifest["added_docs"]) & set(v1)
    assert set(manifest["retired_docs"]) <= set(v1)
    for doc_id, text in expected.items():
        assert v2[doc_id] == text, f"{doc_id}: version 2 differs from version 1 + listed edits"


def test_fact_changes_match_the_edits(v2):
    v1_facts = {f.id: f for f in data.load_facts(1)}
    v2_facts = {f.id: f for f in data.load_facts(2)}
    for edit in data.load_edits():
        for change in edit.facts:
            assert v1_facts[change.id].answer == change.was, change.id
            assert change.answer != change.was, change.id
            assert _in(change.answer, edit.new), f"{change.id}: new answer not in the edited text"
            # a new person's text may name the predecessor ("took over from ..."), as real
            # updates do; any other old value must be gone from the edited text
            if "took over" not in edit.new:
                assert not _in(change.was, edit.new), f"{change.id}: old answer still in the edited text"
            assert v2_facts[change.id].answer == change.answer
            assert _in(change.answer, v2[v2_facts[change.id].doc])
    unchanged = set(v1_facts) & set(v2_facts) - set(data.changed_facts())
    assert all(v1_facts[i] == v2_facts[i] for i in unchanged)


def test_retired_documents_take_their_facts_with_them():
    retired = set(data.load_manifest()["retired_docs"])
    gone = {f.id for f in data.load_facts(1)} - {f.id for f in data.load_facts(2)}
    assert gone and all(retired & set(f.docs) for f in data.load_facts(1) if f.id in gone)


def test_style_set_follows_the_house_rules():
    pairs = data.load_style()
    assert {p.split for p in pairs} == {"train", "test"}
    for p in pairs:
        assert p.answer.startswith(STYLE_PREFIX) and p.answer.endswith(STYLE_SUFFIX), p.id
        body = p.answer[len(STYLE_PREFIX):-len(STYLE_SUFFIX)]
        assert 8 <= len(body.split()) <= 40 and "!" not in p.answer, p.id
    assert len({p.question for p in pairs}) == len(pairs)


def test_style_set_teaches_no_facts_of_the_knowledge_base():
    text = " ".join(p.answer + " " + p.question for p in data.load_style()).lower()
    for word in ("marrowby", "skylark", "rootwise", "hearth", "canopy cloud", "frostguard", "stennick"):
        assert word not in text


def test_files_are_valid_jsonl():
    root = data.config.data_dir()
    for path in [root / "facts.jsonl", root / "unanswerable.jsonl", root / "style.jsonl",
                 root / "kb_v2" / "edits.jsonl", root / "kb_v2" / "new_facts.jsonl"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line)
