from dataclasses import dataclass

import pytest

from helpers import expertise, finetune, retrieval


def test_settings_of_reads_dataclass_fields_and_function_defaults():
    lora = expertise.settings_of(finetune.LoraSettings(), "fine-tuning", "train")
    assert [s.name for s in lora][:3] == ["rank", "alpha", "dropout"] and lora[0].value == 16
    chunk = expertise.settings_of(retrieval.chunk_documents, "RAG", "chunk", values={"size": 40})
    assert {s.name: s.value for s in chunk} == {"strategy": "paragraph", "size": 40, "overlap": 20}
    assert all(s.pipeline == "RAG" and s.step == "chunk" for s in chunk)
    search = expertise.settings_of(retrieval.VectorIndex.search, "RAG", "retrieve")
    assert [s.name for s in search] == ["k"]


def test_settings_of_skips_and_rejects():
    @dataclass
    class Knobs:
        a: int = 1
        batch: int = 8

    assert [s.name for s in expertise.settings_of(Knobs(), "p", "s", skip=["batch"])] == ["a"]
    with pytest.raises(KeyError, match="no setting"):
        expertise.settings_of(Knobs(), "p", "s", skip=["missing"])
    with pytest.raises(TypeError, match="dataclass instance or a function"):
        expertise.settings_of(3, "p", "s")


def test_spread_summarizes_and_refuses_nothing():
    s = expertise.spread([0.1, 0.2, 0.3, 0.4, 0.5])
    assert (s.minimum, s.median, s.maximum, s.n) == (0.1, 0.3, 0.5, 5)
    assert s.range == pytest.approx(0.4) and s.iqr == pytest.approx(0.2)
    with pytest.raises(ValueError):
        expertise.spread([])


def test_finetuned_error_cause_and_counts():
    causes = [expertise.finetuned_error_cause(h, t) for h, t in [(True, False), (False, True), (False, False)]]
    assert causes == ["correct", "learned, not transferred", "not learned"]
    assert expertise.count_by(causes, expertise.FT_CAUSES) == {c: 1 for c in expertise.FT_CAUSES}
    with pytest.raises(ValueError, match="not among"):
        expertise.count_by(["odd"], expertise.FT_CAUSES)
