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


def _pilot_files(folder, lm_rates):
    import json

    (folder / "reader_format_ablation.json").write_text(json.dumps({"numbers": {
        "qids": ["F1/h1", "F2/h1", "F3/h1", "F4/h1", "F5/h1", "F6/h1"],
        "variants": {"a": {"correct": [1, 1, 1, 1, 1, 1]}, "b": {"correct": [1, 1, 1, 1, 1, 0]},
                     "c": {"correct": [0, 0, 0, 0, 0, 0]}}}}))
    (folder / "lm_learning_rate.json").write_text(json.dumps({"numbers": {
        "qids": ["F1/t", "F2/t", "F3/t"], "rates": {r: {"outcomes": o} for r, o in lm_rates.items()}}}))


def test_pilots_are_read_from_results_files_and_summarised(tmp_path):
    """The real readers and the paired test on tiny files: a setting one question below the best worked,
    one six questions below did not."""
    _pilot_files(tmp_path, {"0.01": [True, True, False], "0.1": [False, False, False]})
    rag, ft = expertise.load_pilots(tmp_path)
    assert (rag.pipeline, ft.pipeline) == ("RAG", "fine-tuning") and ft.outcomes["0.01"] == [1.0, 1.0, 0.0]
    s = expertise.pilot_summary(rag)
    assert (s.best, s.tried, s.best_score) == ("a", 3, 1.0)
    assert (s.worked.mean, s.worked.n) == (0.5, 2)


def test_a_broken_pilot_file_names_itself(tmp_path):
    _pilot_files(tmp_path, {"0.01": [True, True]})                    # one outcome short
    with pytest.raises(ValueError, match="lm_learning_rate.json"):
        expertise.load_pilots(tmp_path)
    (tmp_path / "lm_learning_rate.json").unlink()
    with pytest.raises(ValueError, match="lm_learning_rate.json"):
        expertise.load_pilots(tmp_path)
