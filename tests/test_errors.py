"""Bad input gives a clear error that names the file, the line and the problem."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import config, data, models, retrieval

FACT = {"id": "X1", "doc": "a", "answer": "42", "question": "q?", "heldout": ["h1?", "h2?"]}


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    (tmp_path / "kb_v1" / "docs").mkdir(parents=True)
    (tmp_path / "kb_v1" / "docs" / "a.md").write_text("# A\n\nThe answer is 42.\n")
    (tmp_path / "facts.jsonl").write_text(json.dumps(FACT) + "\n")
    return tmp_path


def test_missing_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGFT_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(data.DataError, match="nowhere.*folder not found"):
        data.load_corpus(1)
    with pytest.raises(data.DataError, match="folder not found"):
        data.load_facts(1)


def test_good_minimal_root_loads(root: Path):
    assert [d.doc_id for d in data.load_corpus(1, root)] == ["a"]
    assert data.load_facts(1, root)[0].answers == ("42",)


def test_malformed_jsonl_names_file_and_line(root: Path):
    with (root / "facts.jsonl").open("a") as f:
        f.write('{"id": "X2", "doc": "a",\n')
    with pytest.raises(data.DataError, match=r"facts\.jsonl:2: not valid JSON"):
        data.load_facts(1, root)


def test_fact_without_answer(root: Path):
    bad = {k: v for k, v in FACT.items() if k != "answer"}
    (root / "facts.jsonl").write_text(json.dumps(FACT) + "\n" + json.dumps(bad | {"id": "X2"}) + "\n")
    with pytest.raises(data.DataError, match=r"facts\.jsonl:2: missing field 'answer'"):
        data.load_facts(1, root)


def test_fact_with_empty_answer(root: Path):
    (root / "facts.jsonl").write_text(json.dumps(FACT | {"answer": " "}) + "\n")
    with pytest.raises(data.DataError, match=r"facts\.jsonl:1: field 'answer' must be a non-empty string"):
        data.load_facts(1, root)


def test_duplicate_fact_id(root: Path):
    (root / "facts.jsonl").write_text((json.dumps(FACT) + "\n") * 2)
    with pytest.raises(data.DataError, match=r"facts\.jsonl:2: fact id X1 repeats the one on line 1"):
        data.load_facts(1, root)


def test_fact_needs_two_heldout_questions(root: Path):
    (root / "facts.jsonl").write_text(json.dumps(FACT | {"heldout": ["only one?"]}) + "\n")
    with pytest.raises(data.DataError, match="at least two held-out"):
        data.load_facts(1, root)


def test_empty_corpus(root: Path):
    shutil.rmtree(root / "kb_v1" / "docs")
    (root / "kb_v1" / "docs").mkdir()
    with pytest.raises(data.DataError, match="empty corpus"):
        data.load_corpus(1, root)
    with pytest.raises(ValueError, match="empty corpus"):
        retrieval.chunk_documents([])


def test_document_without_title(root: Path):
    (root / "kb_v1" / "docs" / "b.md").write_text("no heading here\n")
    with pytest.raises(data.DataError, match=r"b\.md:1: document must start with a '# Title' heading"):
        data.load_corpus(1, root)


def test_unknown_version(root: Path):
    with pytest.raises(ValueError, match="unknown knowledge-base version 3"):
        data.load_facts(3, root)  # type: ignore[arg-type]


def test_unknown_model_name(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(models.UnknownModelError, match="unknown generator 'gpt-nine'"):
        models.generator_path("gpt-nine")
    monkeypatch.setenv("RAGFT_EMBEDDER", "not a model")
    with pytest.raises(models.UnknownModelError, match="unknown embedder 'not a model'"):
        models.embedder_path()


def test_model_override_forms(tmp_path: Path):
    assert models.generator_path(str(tmp_path)) == str(tmp_path)            # local folder
    assert models.generator_path("HuggingFaceTB/SmolLM2-360M-Instruct") == "HuggingFaceTB/SmolLM2-360M-Instruct"


def test_bad_device_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGFT_DEVICE", "tpu")
    with pytest.raises(ValueError, match="RAGFT_DEVICE='tpu'"):
        config.device_setting()


@pytest.fixture()
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the check independent of the machine the tests run on: no CUDA, no MPS."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_absent_device_is_a_clear_error(device: str, no_gpu: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAGFT_DEVICE", device)
    with pytest.raises(models.DeviceUnavailableError,
                       match=rf"RAGFT_DEVICE asks for '{device}', but .*; available here: cpu\. Set RAGFT_DEVICE"):
        models.pick_device()
    monkeypatch.setenv("RAGFT_DEVICE", "auto")
    with pytest.raises(models.DeviceUnavailableError, match=rf"device argument asks for '{device}'"):
        models.pick_device(device)
    assert models.pick_device() == "cpu" and models.pick_device("cpu") == "cpu"
    assert models.available_devices() == ["cpu"]


def test_unknown_key_in_a_data_file_names_file_and_line(root: Path):
    facts = root / "facts.jsonl"
    lines = facts.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["aliasses"] = record.pop("aliases", [])
    lines[0] = json.dumps(record)
    facts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(data.DataError, match=r"facts\.jsonl:1: unknown key\(s\) \['aliasses'\]"):
        data.load_facts(1, root=root)


def test_paraphrase_index_out_of_range_is_an_error():
    facts = data.load_facts(1)[:2]
    with pytest.raises(ValueError, match="h0"):
        data.fact_questions(facts, "h0")
    with pytest.raises(ValueError, match="h3"):
        data.fact_questions(facts, "h3")
    assert [q.qid for q in data.fact_questions(facts, "h2")] == [f"{f.id}/h2" for f in facts]
