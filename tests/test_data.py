"""Checks of the knowledge base itself: the promises data/README.md makes."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

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


def _forms(value: str) -> set[str]:
    """The forms under which two accepted answers count as the same value: SQuAD-normalized (what
    grading compares) and merely lower-cased (normalization strips decimal points and signs)."""
    return {normalize_answer(value), " ".join(value.lower().split())} - {""}


def _token_run(needle: str, haystack: str) -> bool:
    """Whether normalized ``needle`` occurs as a run of whole tokens in normalized ``haystack``
    (the test lenient grading applies)."""
    n, h = normalize_answer(needle).split(), normalize_answer(haystack).split()
    return bool(n) and any(h[i:i + len(n)] == n for i in range(len(h) - len(n) + 1))


def _occurrences(value: str, text: str) -> int:
    """Occurrences of ``value`` in ``text`` (lower case, whitespace collapsed) as a whole number or
    word: not inside a longer word or number ("900" is not in "2,900", "3 °C" is not in "0.3 °C"),
    but a leading minus sign does not protect ("3 °C" is in "-3 °C": normalization drops the sign)."""
    pattern = (r"(?<!\w)(?<!\d[.,])" + re.escape(" ".join(value.lower().split())) + r"(?!\w)(?![.,]\d)")
    return len(re.findall(pattern, " ".join(text.lower().split())))


def _raw_facts() -> dict[str, dict]:
    """Every fact record as written (version 1 and the facts of added documents), by id."""
    root = data.config.data_dir()
    return {r["id"]: r for path in (root / "facts.jsonl", root / "kb_v2" / "new_facts.jsonl")
            for _, r in data.read_jsonl(path)}


def test_sizes(v1, v2):
    assert len(v1) >= 30
    assert len(data.load_facts(1)) >= 150
    assert len(data.changed_facts()) >= 30
    assert len(data.load_unanswerable()) >= 40
    assert len(data.load_style()) >= 100
    assert sum(f.multi_hop for f in data.load_facts(1)) >= 5
    assert sum(f.multi_hop for f in data.load_facts(2)) >= 5


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


@pytest.mark.parametrize("split", ["test", "train"])
def test_unanswerable_questions_have_no_answer_in_the_corpus(v1, v2, split):
    corpus = list(v1.values()) + list(v2.values())
    facts = {normalize_answer(f.question) for f in data.load_facts(1) + data.load_facts(2)}
    items = data.load_unanswerable(split=split)
    assert len(items) >= 40 and len({u.id for u in items}) == len(items)
    for item in items:
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
                assert not _occurrences(change.was, edit.new), f"{change.id}: old answer still in the edited text"
            assert _in(change.answer, v2[v2_facts[change.id].doc]), f"{change.id}: new answer not in version 2"


def _fact_record(fid: str, doc: str, answer: str, **extra: Any) -> dict[str, Any]:
    """A valid facts.jsonl record (two held-out wordings), with ``extra`` keys."""
    return {"id": fid, "doc": doc, "answer": answer, "question": f"What is {fid}?",
            "heldout": [f"Tell me {fid}.", f"Which value does {fid} have?"], **extra}


def _write_knowledge_base(root: Path, facts: Sequence[dict[str, Any]], edits: Sequence[dict[str, Any]] = (),
                          retired: Sequence[str] = (), new_facts: Sequence[dict[str, Any]] = ()) -> None:
    """A minimal data folder for the loaders: facts.jsonl and kb_v2/ (edits, manifest, and new facts
    when there are any)."""
    (root / "kb_v2").mkdir(parents=True, exist_ok=True)
    (root / "facts.jsonl").write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    (root / "kb_v2" / "edits.jsonl").write_text("".join(json.dumps(e) + "\n" for e in edits), encoding="utf-8")
    if new_facts:
        (root / "kb_v2" / "new_facts.jsonl").write_text("".join(json.dumps(f) + "\n" for f in new_facts),
                                                        encoding="utf-8")
    (root / "kb_v2" / "manifest.json").write_text(json.dumps({"retired_docs": list(retired), "added_docs": []}),
                                                  encoding="utf-8")


def test_version2_facts_are_version1_with_changes_retirements_and_additions(tmp_path):
    """load_facts(2): a changed fact takes its new answer and aliases, a fact any of whose documents is
    retired (the second document of a two-document fact too) is dropped, the rest are untouched, and the
    facts of added documents come last."""
    _write_knowledge_base(
        tmp_path,
        facts=[_fact_record("A1", "price", "€10", aliases=["10 euros"]),
               _fact_record("A2", "price", "Monday"),
               _fact_record("A3", "old-page", "blue"),
               _fact_record("A4", "price", "Tuesday", docs=["old-page", "price"], bridge="b", rivals=["r"])],
        edits=[{"doc": "price", "old": "€10", "new": "€12",
                "facts": [{"id": "A1", "answer": "€12", "aliases": ["12 euros"], "was": "€10"}]}],
        retired=["old-page"], new_facts=[_fact_record("N1", "new-page", "green")])
    v1 = {f.id: f for f in data.load_facts(1, root=tmp_path)}
    v2 = data.load_facts(2, root=tmp_path)
    assert [f.id for f in v2] == ["A1", "A2", "N1"]
    assert (v2[0].answer, v2[0].aliases) == ("€12", ("12 euros",)) and v2[0].question == v1["A1"].question
    assert v2[1] == v1["A2"]


def test_style_set_follows_the_house_rules():
    pairs = data.load_style()
    assert {p.split for p in pairs} == {"train", "test"}
    for p in pairs:
        assert p.answer.startswith(STYLE_PREFIX) and p.answer.endswith(STYLE_SUFFIX), p.id
        body = p.answer[len(STYLE_PREFIX):-len(STYLE_SUFFIX)]
        assert 8 <= len(body.split()) <= 40 and "!" not in p.answer, p.id
    assert len({p.question for p in pairs}) == len(pairs)


def test_held_out_style_questions_are_no_near_copies_of_training_pairs():
    """Notebook 03 scores the style adapter (and few-shot, whose three examples are training pairs) on the
    held-out style questions: none may be a near-copy of a training question (token Jaccard)."""
    from helpers import finetune

    train, test = data.load_style("train"), data.load_style("test")
    flagged = {(t.id, p.id) for t in test for p in train if finetune.jaccard(t.question, p.question) >= finetune.NEAR_COPY_JACCARD}
    # the one pair at the threshold (0.6) shares only "what is ... rain": "What is rain intensity?" and
    # "What is a rain shadow?" ask about different things; any other pair is a near-copy to fix in the data
    assert flagged == {("S060", "S096")}, flagged
    assert len(test) >= 40          # the issue's floor for notebook 03's per-set result


def test_style_set_teaches_no_facts_of_the_knowledge_base():
    text = " ".join(p.answer + " " + p.question for p in data.load_style()).lower()
    for word in ("marrowby", "skylark", "rootwise", "hearth", "canopy cloud", "frostguard", "stennick"):
        assert word not in text


def test_jsonl_problems_name_file_and_line(tmp_path):
    """read_jsonl, under every loader: blank lines and a byte-order mark are allowed; bad JSON, a
    value that is not an object, and bytes that are not UTF-8 are errors naming file and line."""
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n  \n{"b": 2}\n')
    assert list(data.read_jsonl(path)) == [(1, {"a": 1}), (4, {"b": 2})]
    for payload, message in [(b'{"a": 1}\n{"b": \n', r"x\.jsonl:2: not valid JSON"),
                             (b'{"a": 1}\n[1, 2]\n', r"x\.jsonl:2: expected a JSON object, got list"),
                             (b'{"a": "caf\xe9"}\n', r"x\.jsonl:1: not UTF-8 text \(byte 0xe9\)")]:
        path.write_bytes(payload)
        with pytest.raises(data.DataError, match=message):
            list(data.read_jsonl(path))


_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORD = re.compile(r"(?<![\w-])(?:(" + "|".join(_TENS) + r")(?:[- ](" + "|".join(_UNITS[1:10]) + r"))?|("
                          + "|".join(_UNITS) + r"))(?![\w-])")


def _as_digits(value: str) -> str:
    """``value`` with its number words written as digits ("seven days" -> "7 days", "thirty-two" ->
    "32"), so that two values compare by what they say. Compounds with "hundred" or "thousand" are
    left as written (no accepted answer needs them converted)."""
    text = value.lower()
    if re.search(r"\b(hundred|thousand)\b", text):
        return text
    return _NUMBER_WORD.sub(lambda m: str(_TENS[m[1]] + (_UNITS.index(m[2]) if m[2] else 0)) if m[1]
                            else str(_UNITS.index(m[3])), text)


def _found_in(value: str, other: str) -> bool:
    """Whether lenient grading, given ``value`` as an accepted answer, would credit a reply that
    states ``other``: ``value`` occurs in ``other`` as a run of whole tokens (after normalization, and
    with number words read as digits)."""
    return _token_run(_as_digits(value), _as_digits(other))


def test_as_digits_reads_number_words() -> None:
    assert _as_digits("Seven days") == "7 days" and _as_digits("thirty-two days") == "32 days"
    assert _as_digits("one week") == "1 week" and _as_digits("twelve") == "12"
    assert _as_digits("two hundred and twelve") == "two hundred and twelve"
    assert _as_digits("someone") == "someone" and _as_digits("one-off fee") == "one-off fee"
    assert _found_in("seven days", "7 days") and _found_in("12", "12 hours") and not _found_in("12", "€129")


def test_new_values_are_not_other_facts_values():
    """No accepted answer (answer or alias) of a changed fact's version-2 value, or of a fact of an
    added document, is found in an accepted answer of another fact, in either version, the way lenient
    grading finds it (whole tokens after normalization; number words count as digits). Otherwise a
    reply that gives a neighbour's value ("12 hours", "7 days") is graded as if the model had learnt
    the update: an alias "12" for €12 is found in F074's "12 hours", "seven days" is F083's "7 days".
    A fact and its ``same_as`` twin (the same value asked from the same sentence) share their values.
    Nor is a new value found in the fact's own version-1 value."""
    v1_facts = {f.id: f for f in data.load_facts(1)}
    v2_facts = {f.id: f for f in data.load_facts(2)}
    clusters = data.fact_clusters()
    changed = data.changed_facts()
    added = set(v2_facts) - set(v1_facts)
    assert len(changed) >= 30 and added

    others = [(f.id, value) for facts in (v1_facts, v2_facts) for f in facts.values() for value in f.answers]
    for fid in sorted(set(changed) | added):
        for value in v2_facts[fid].answers:
            clashes = sorted({(oid, other) for oid, other in others
                              if clusters[oid] != clusters[fid] and _found_in(value, other)})
            assert not clashes, f"{fid}: version-2 value {value!r} is found in other facts' values {clashes}"
            if fid in changed:
                stale = [old for old in v1_facts[fid].answers if _found_in(value, old)]
                assert not stale, f"{fid}: version-2 value {value!r} is found in its own version-1 value {stale}"


def test_same_as_is_read_and_must_name_the_same_fact(tmp_path):
    """``same_as`` marks a fact that asks for another fact's value from the same document: it is read
    into ``Fact.same_as``, and it must name an existing fact of the file (not itself, not a fact that
    is itself a twin) with the same ``doc`` and ``answer``; otherwise loading names file and line."""
    base = [_fact_record("A1", "price", "€10"), _fact_record("A2", "price", "Monday")]
    _write_knowledge_base(tmp_path, base + [_fact_record("A3", "price", "€10", same_as="A1")])
    facts = {f.id: f for f in data.load_facts(1, root=tmp_path)}
    assert facts["A3"].same_as == "A1" and facts["A1"].same_as is None
    assert data.fact_clusters(tmp_path) == {"A1": "A1", "A2": "A2", "A3": "A1"}
    for twin, message in [(_fact_record("A3", "price", "€10", same_as="A9"), r"same_as 'A9' names no fact"),
                          (_fact_record("A3", "price", "€10", same_as="A3"), r"same_as names the fact itself"),
                          (_fact_record("A3", "price", "€11", same_as="A1"), r"same_as 'A1' asks for another value"),
                          (_fact_record("A3", "other", "€10", same_as="A1"), r"same_as 'A1' asks for another value")]:
        _write_knowledge_base(tmp_path, base + [twin])
        with pytest.raises(data.DataError, match=r"facts\.jsonl:3: fact A3: " + message):
            data.load_facts(1, root=tmp_path)
    _write_knowledge_base(tmp_path, base + [_fact_record("A3", "price", "€10", same_as="A1"),
                                            _fact_record("A4", "price", "€10", same_as="A3")])
    with pytest.raises(data.DataError, match=r"facts\.jsonl:4: fact A4: same_as 'A3' is itself a twin"):
        data.load_facts(1, root=tmp_path)


def test_facts_that_ask_for_the_same_value_from_the_same_document_are_declared_twins():
    """Two facts whose answer is the same value in the same document are one fact asked twice (a
    two-document question whose last step is a one-document fact, or a one-document question worded
    as two steps): they must be linked by ``same_as``, so that the paired bootstrap resamples them
    together, and they stay twins in version 2 (the same new value)."""
    raw = [f for path in ("facts.jsonl", "kb_v2/new_facts.jsonl")
           for f in data._read_facts(data.config.data_dir() / path)]
    clusters = data.fact_clusters()
    for i, a in enumerate(raw):
        for b in raw[i + 1:]:
            shared = {normalize_answer(x) for x in a.answers} & {normalize_answer(x) for x in b.answers}
            if a.doc == b.doc and normalize_answer(a.answer) in shared:
                assert clusters[a.id] == clusters[b.id], f"{a.id} and {b.id} ask for {a.answer!r} from {a.doc}: same_as"
    v2 = {f.id: f for f in data.load_facts(2)}
    twins = [f for f in raw if f.same_as]
    assert len(twins) >= 2
    for f in twins:
        if f.id in v2:
            assert v2[f.id].answers == v2[f.same_as].answers, f"{f.id} and its twin {f.same_as} differ in version 2"


def test_changed_answers_occur_in_version2_only_where_the_edits_put_them(v2):
    """The new value of a changed fact appears nowhere else in version 2 (no other document, no
    untouched sentence of its own document), so finding it means finding the update."""
    edits = data.load_edits()
    v2_facts = {f.id: f for f in data.load_facts(2)}
    for fid, change in data.changed_facts().items():
        docs = v2_facts[fid].docs
        placed = sum(_occurrences(change.answer, e.new) for e in edits if e.doc in docs)
        found = {d: n for d, text in v2.items() if (n := _occurrences(change.answer, text))}
        assert placed >= 1, f"{fid}: {change.answer!r} is in none of the edits of {docs}"
        assert sum(found.values()) == placed, f"{fid}: {change.answer!r} also occurs outside its edits: {found}"


def test_two_document_facts_really_need_both_documents(v1, v2):
    """A two-document fact names, in its training question, a bridge: a term found only in the
    other document, which tells which entity the question is about. Its rivals are the answers
    the corpus gives for other entities of the same kind, so the answer document alone (or a
    guess) is not enough. The answer itself is in no other document of the fact."""
    raw = _raw_facts()
    accepted: dict[str, list[str]] = {}
    for version in (1, 2):
        for fact in data.load_facts(version):
            accepted.setdefault(fact.id, []).extend(fact.answers)
    for version, corpus in ((1, v1), (2, v2)):
        for fact in data.load_facts(version):
            record = raw[fact.id]
            if not fact.multi_hop:
                assert "bridge" not in record and "rivals" not in record, f"{fact.id}: one-document fact with a bridge"
                continue
            bridge, rivals = record.get("bridge"), record.get("rivals")
            assert isinstance(bridge, str) and bridge.strip(), f"{fact.id}: two-document fact needs 'bridge'"
            assert isinstance(rivals, list) and rivals and all(isinstance(r, str) and r.strip() for r in rivals), \
                f"{fact.id}: two-document fact needs a non-empty list 'rivals'"
            others = [d for d in fact.docs if d != fact.doc]
            assert _token_run(bridge, fact.question), f"{fact.id}: bridge {bridge!r} not in the training question"
            assert not _token_run(bridge, corpus[fact.doc]), f"{fact.id}: bridge {bridge!r} is in {fact.doc} itself (v{version})"
            assert any(_token_run(bridge, corpus[d]) for d in others), f"{fact.id}: bridge {bridge!r} not in {others} (v{version})"
            for d in others:
                assert not any(_token_run(a, corpus[d]) for a in fact.answers), f"{fact.id}: answer also in {d} (v{version})"
            elsewhere = " ".join(text for d, text in corpus.items() if d not in others)
            for rival in rivals:
                assert _token_run(rival, elsewhere), \
                    f"{fact.id}: rival {rival!r} occurs in no document besides the bridge's (v{version})"
                assert not any(_forms(rival) & _forms(a) for a in accepted[fact.id]), \
                    f"{fact.id}: rival {rival!r} is an accepted answer"


@pytest.mark.parametrize("version", [1, 2])
def test_no_question_contains_its_own_answer(version):
    """No accepted answer of a fact occurs, as whole tokens, in its training or held-out questions:
    otherwise lenient grading credits a reply that merely repeats the question."""
    for fact in data.load_facts(version):
        for answer in fact.answers:
            for question in (fact.question, *fact.heldout):
                assert not _token_run(answer, question), f"{fact.id}: {answer!r} is in its question {question!r}"


_UNIT_WORDS = {w + s for w in ("year", "month", "week", "day", "night", "hour", "minute", "second", "season",
                               "metre", "meter", "kilometre", "kilometer", "centimetre", "centimeter",
                               "millimetre", "millimeter", "gram", "kilogram", "litre", "liter", "degree",
                               "watt", "unit", "time") for s in ("", "s")}
_UNIT_WORDS |= {"km", "cm", "mm", "m", "kg", "g", "l", "w", "c", "celsius", "percent", "mhz", "hz"}


@pytest.mark.parametrize("version", [1, 2])
def test_no_answer_is_a_bare_unit(version):
    """An alias such as 'a year' normalizes to 'year', which lenient grading finds in almost any
    reply about time. Accepted answers must say how many ('one year', '12 months')."""
    for fact in data.load_facts(version):
        for answer in fact.answers:
            norm = normalize_answer(answer)
            assert norm not in _UNIT_WORDS, f"{fact.id}: {answer!r} normalizes to the bare unit {norm!r}"


def test_document_split_keeps_outside_facts_out_of_the_training_documents() -> None:
    facts, docs = data.load_facts(1), data.load_corpus(1)
    split = data.document_split(facts, docs, min_inside=40, n_outside=40, seed=0)
    taken = set(split.train_docs)
    assert len(split.inside) >= 40 and len(split.outside) == 40
    assert all(set(f.docs) <= taken for f in split.inside)
    assert not any(set(f.docs) & taken for f in split.outside)
    assert split == data.document_split(facts, docs, min_inside=40, n_outside=40, seed=0), "deterministic"
    with pytest.raises(ValueError, match="fewer than min_inside"):
        data.document_split(facts, docs, min_inside=len(facts) + 1, n_outside=0)
    with pytest.raises(ValueError, match="outside the training documents"):
        data.document_split(facts, docs, min_inside=40, n_outside=len(facts))


def test_unanswerable_training_set_nearly_copies_no_evaluation_question():
    """The "I don't know" training questions (and the threshold's development split) must not be
    near-copies of any question notebook 04 evaluates: unanswerable, false-premise, or held-out."""
    from helpers.finetune import NEAR_COPY_JACCARD, jaccard

    train = data.load_unanswerable(split="train")
    evaluated = ([u.question for u in data.load_unanswerable()] + [p.question for p in data.load_false_premise()]
                 + [h for f in data.load_facts(1) + data.load_facts(2) for h in f.heldout])
    assert not {u.id for u in train} & {u.id for u in data.load_unanswerable()}
    for item in train:
        worst = max(evaluated, key=lambda q: jaccard(item.question, q))
        assert jaccard(item.question, worst) < NEAR_COPY_JACCARD, f"{item.id} nearly copies {worst!r}"


def test_false_premise_questions_name_the_document_that_contradicts_them(v1):
    items = data.load_false_premise()
    assert len(items) >= 10 and len({p.id for p in items}) == len(items)
    unanswerable = {normalize_answer(u.question) for u in data.load_unanswerable()}
    for item in items:
        assert item.doc in v1, f"{item.id}: no document {item.doc!r}"
        assert normalize_answer(item.question) not in unanswerable


def test_unknown_unanswerable_split_is_an_error():
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_unanswerable(split="dev")


def test_bad_labelled_reply_names_file_and_line(tmp_path):
    good = {"id": "a", "source": "s", "question": "q", "reply": "", "abstains": True, "why": "w", "split": "dev"}
    (tmp_path / "abstention_labelled.jsonl").write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "abstains": "yes"}) + "\n", encoding="utf-8")
    with pytest.raises(data.DataError, match=r"abstention_labelled.jsonl:2: field 'abstains' must be true or false"):
        data.load_abstention_labelled(tmp_path)


# ---- the unseen corpus (Tollervey Lantern Works): evaluation only, notebook 08 ---------------------------

UNSEEN = data.config.REPO_ROOT / "data" / "unseen_corpus"


@pytest.fixture(scope="module")
def unseen():
    from helpers import corpus

    docs, skipped = corpus.read_folder(UNSEEN / "docs")
    questions = corpus.read_questions(UNSEEN / "questions.jsonl", docs)
    return docs, skipped, questions


def test_unseen_corpus_loads_without_skipped_files(unseen):
    docs, skipped, questions = unseen
    assert len(docs) == 10 and not skipped, [s.path.name for s in skipped]
    assert all(d.text.startswith("# ") for d in docs)
    assert len(questions) == 40


def test_unseen_answers_occur_in_their_documents(unseen):
    """The main (first-listed) answer of every question is written in the document it names."""
    docs, _, questions = unseen
    text = {d.doc_id: d.text for d in docs}
    for q in questions:
        assert len(q.doc_ids) == 1, f"{q.qid}: names no document"
        assert _in(q.answers[0], text[q.doc_ids[0]]), f"{q.qid}: {q.answers[0]!r} is not in {q.doc_ids[0]}"


def test_unseen_questions_do_not_contain_their_answers(unseen):
    _, _, questions = unseen
    for q in questions:
        asked = data.normalize_text(q.text).split()
        for answer in q.answers:
            a = data.normalize_text(answer).split()
            assert a and not any(asked[i:i + len(a)] == a for i in range(len(asked) - len(a) + 1)), \
                f"{q.qid}: {answer!r} is in its question {q.text!r}"
            assert data.normalize_text(answer) not in _UNIT_WORDS, f"{q.qid}: {answer!r} is a bare unit"


def test_unseen_every_document_has_at_least_three_questions(unseen):
    docs, _, questions = unseen
    counts = {d.doc_id: 0 for d in docs}
    for q in questions:
        counts[q.doc_ids[0]] += 1
    assert min(counts.values()) >= 3, counts


def test_general_training_candidates_are_other_facts_than_the_evaluated_ones():
    train, evaluated = data.load_general_train(), data.load_general()
    assert len(train) >= 60 and len({g.id for g in train}) == len(train)
    assert not {g.question for g in train} & {g.question for g in evaluated}
    assert not {g.id for g in train} & {g.id for g in evaluated}


def test_unknowable_test_set_is_the_kind_the_pilot_chose_and_copies_nothing():
    """notebook 04's questions about the asker: 40 of one kind, four kinds in the pilot, and no test
    question a near-copy of a pilot question, an adapter's training question or another evaluated one."""
    from helpers.finetune import NEAR_COPY_JACCARD, jaccard

    pilot, test = data.load_unknowable(split="pilot"), data.load_unknowable()
    assert len(test) == 40 and {u.about for u in test} == {"the asker"}
    assert {u.about for u in pilot} == set(data.UNKNOWABLE_ABOUT)
    assert len({u.id for u in pilot + test}) == len(pilot + test)
    others = ([u.question for u in pilot] + [u.question for u in data.load_unanswerable(split="train")]
              + [f.question for f in data.load_facts(1)] + [u.question for u in data.load_unanswerable()])
    for item in test:
        worst = max(others, key=lambda q: jaccard(item.question, q))
        assert jaccard(item.question, worst) < NEAR_COPY_JACCARD, f"{item.id} nearly copies {worst!r}"
    assert all(q.kind == "unanswerable" and q.answers == () for q in data.unanswerable_questions(test))


@pytest.mark.parametrize("line, message", [
    ('{"id": "K1", "question": "Q?", "about": "the asker"}', "missing field 'split'"),
    ('{"id": "K1", "question": "Q?", "about": "the moon", "split": "test"}', "'about' must be one of"),
    ('{"id": "K1", "question": "Q?", "about": "the asker", "split": "dev"}', "'split' must be 'pilot' or 'test'"),
    ('{"id": "K1", "question": "Q?", "about": "the asker", "split": "test", "answer": "x"}', "answer"),
])
def test_bad_unknowable_line_names_file_and_line(tmp_path, line, message):
    (tmp_path / "unknowable.jsonl").write_text('{"id": "K0", "question": "Q?", "about": "the asker", "split": "pilot"}\n'
                                               + line + "\n", encoding="utf-8")
    with pytest.raises(data.DataError, match=message) as err:
        data.load_unknowable(tmp_path)
    assert "unknowable.jsonl:2:" in str(err.value)
    with pytest.raises(ValueError, match="split must be"):
        data.load_unknowable(tmp_path, split="train")
