"""``python -m helpers.compare``: every bad input is a clear error with a non-zero exit and nothing
written; the shipped sample runs end to end with the real models."""
from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from helpers import compare, config, corpus
from helpers.data import DataError

SAMPLE = config.REPO_ROOT / "data" / "sample_corpus"


def make_pdf(path: Path, text: str | None) -> Path:
    """A one-page PDF whose page shows ``text`` (None: a page with no text, like a scan)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text is not None else b""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tides.md").write_text("# Tide tables\n\nHigh tide at Kell Point is at 07:12.\n", encoding="utf-8")
    (folder / "notes.txt").write_text("Harbour notes\n\nThe harbour fee is 8 euros a night.\n", encoding="utf-8")
    return folder


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture()
def questions(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "q.jsonl", [
        {"id": "a", "question": "When is high tide at Kell Point?", "answers": ["07:12"], "doc": "tides.md"},
        {"question": "How much is the harbour fee?", "answers": ["8 euros"], "doc": "notes"}])


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = compare.main([str(a) for a in args])
    return code, capsys.readouterr().err


# ---- documents -------------------------------------------------------------------------------------

def test_folder_reads_md_txt_pdf_with_titles_and_reports_other_files(docs: Path) -> None:
    make_pdf(docs / "ferry.pdf", "The ferry leaves at nine.")
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n")
    (docs / ".hidden.md").write_text("# secret", encoding="utf-8")
    read, skipped = corpus.read_folder(docs)
    by_id = {d.doc_id: d for d in read}
    assert sorted(by_id) == ["ferry.pdf", "notes.txt", "tides.md"]
    assert by_id["tides.md"].title == "Tide tables"            # first heading
    assert by_id["notes.txt"].title == "Harbour notes"         # short first line
    assert by_id["ferry.pdf"].title == "ferry"                 # file name (the line ends with a period)
    assert "ferry leaves at nine" in by_id["ferry.pdf"].text
    assert [s.path.name for s in skipped] == ["photo.png"] and ".png" in skipped[0].reason


def test_pdf_without_text_is_named(docs: Path) -> None:
    make_pdf(docs / "scan.pdf", None)
    with pytest.raises(DataError, match=r"scan\.pdf: the PDF has no extractable text"):
        corpus.read_folder(docs)


@pytest.mark.parametrize("name, payload, message", [
    ("latin.txt", "Caf\xe9 opens at 8".encode("latin-1"), r"latin\.txt: not UTF-8 text \(byte 0xe9 at offset 3\)"),
    ("binary.md", b"# x\x00\x01\x02", r"binary\.md: not a text file"),
    ("empty.md", b"  \n", r"empty\.md: the file is empty"),
])
def test_undecodable_or_empty_files_are_named(docs: Path, name: str, payload: bytes, message: str) -> None:
    (docs / name).write_bytes(payload)
    with pytest.raises(DataError, match=message):
        corpus.read_folder(docs)


def test_missing_or_empty_docs_folder(tmp_path: Path, questions: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "--docs", tmp_path / "nope", "--questions", questions, "--out", tmp_path / "o")
    assert code == 2 and "nope: documents folder not found" in err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "image.png").write_bytes(b"x")
    code, err = run_cli(capsys, "--docs", tmp_path / "empty", "--questions", questions, "--out", tmp_path / "o")
    assert code == 2 and "no .md, .txt, .pdf files" in err
    assert not (tmp_path / "o").exists()


# ---- questions and training pairs ---------------------------------------------------------------------

@pytest.mark.parametrize("lines, message", [
    (['{"question": "Q?", "answers": ["alpha"]}', '{"question": "R?", "answers": ["beta"'], r"q\.jsonl:2: not valid JSON"),
    (['{"question": "Q?", "answers": []}'], r"q\.jsonl:1: the question has no answers"),
    (['{"question": "Q?"}'], r"q\.jsonl:1: the question has no answers"),
    (['{"id": "x", "question": "Q?", "answers": ["alpha"]}', '{"id": "x", "question": "R?", "answers": ["beta"]}'],
     r"q\.jsonl:2: duplicate id 'x' \(first used on line 1\)"),
    (['{"question": "Q?", "answers": ["alpha"], "doc": "missing.md"}'], r"q\.jsonl:1: doc 'missing\.md' names no file"),
    (['{"question": "Q?", "answer": ["alpha"]}'], r"q\.jsonl:1: unknown key\(s\) \['answer'\]"),
    (['{"question": "Q?", "answers": ["!!"]}'], r"q\.jsonl:1: every answer must be a string with at least one letter"),
    ([], r"q\.jsonl: the questions file holds no questions"),
])
def test_bad_question_files_name_file_and_line(docs: Path, tmp_path: Path, lines: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", lines)
    code, err = run_cli(capsys, "--docs", docs, "--questions", path, "--out", tmp_path / "o")
    assert code == 2
    assert re.search(message, err), err
    assert not (tmp_path / "o").exists()


def test_training_pairs_that_repeat_an_evaluation_question_are_refused(docs: Path, questions: Path, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    train = write_jsonl(tmp_path / "t.jsonl", [{"question": "What is the harbour fee per night?", "answer": "8 euros"},
                                               {"question": "when is HIGH tide at Kell Point", "answer": "07:12"}])
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--train", train, "--out", tmp_path / "o")
    assert code == 2 and "t.jsonl:2: this training question repeats evaluation question 'a' word for word" in err
    bad = write_jsonl(tmp_path / "t2.jsonl", [{"question": "Q?", "answer": ""}])
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--train", bad, "--out", tmp_path / "o")
    assert code == 2 and "t2.jsonl:1: field 'answer' must be a non-empty string" in err


def test_doc_may_be_named_by_path_name_or_stem(docs: Path, questions: Path) -> None:
    read, _ = corpus.read_folder(docs)
    qs = corpus.read_questions(questions, read)
    assert [q.doc_ids for q in qs] == [("tides.md",), ("notes.txt",)]
    assert [q.qid for q in qs] == ["a", "q2"]


# ---- output folder ---------------------------------------------------------------------------------------

def test_non_empty_output_folder_needs_overwrite(docs: Path, questions: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", out)
    assert code == 2 and "folder exists and is not empty" in err and "--overwrite" in err
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", docs)
    assert code == 2


def test_nothing_is_half_written_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = {"n_questions": 1, "n_documents": 1, "n_chunks": 1, "seconds": 1.0, "systems": {}}

    def broken_chart(results: dict, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(compare, "write_chart", broken_chart)
    with pytest.raises(OSError, match="disk full"):
        compare.write_outputs(results, [{"id": "a"}], tmp_path / "o")
    assert not (tmp_path / "o").exists()
    assert not list(tmp_path.iterdir()), "the temporary folder is removed too"


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        compare.main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for action in compare.build_parser()._actions:
        for flag in action.option_strings:
            assert flag in text
        assert action.help, f"{action.option_strings} has no help text"


# ---- end to end on the shipped sample (real models) ---------------------------------------------------------

def test_sample_corpus_is_valid() -> None:
    docs, skipped = corpus.read_folder(SAMPLE / "docs")
    questions = corpus.read_questions(SAMPLE / "questions.jsonl", docs)
    pairs = corpus.read_training(SAMPLE / "train.jsonl", questions)
    assert len(docs) == 8 and not skipped and len(questions) == 20 and len(pairs) == 20
    for q in questions:
        doc = next(d for d in docs if d.doc_id == q.doc_ids[0])
        assert any(a.lower() in doc.text.lower() for a in q.answers), f"{q.qid}: no accepted answer in {doc.doc_id}"


def test_end_to_end_on_the_sample(cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped sample with the real models: closed-book and RAG, from an empty cache (``cache``:
    the generator is converted from its GGUF file and every answer is generated, as on a first run)."""
    out = tmp_path / "run"
    code = compare.main(["--docs", str(SAMPLE / "docs"), "--questions", str(SAMPLE / "questions.jsonl"),
                         "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["answers.csv", "chart.png", "report.md", "results.json"]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["n_questions"] == 20 and set(results["systems"]) == {"closed-book", "rag"}
    for s in results["systems"].values():
        assert {"lenient", "strict", "f1", "lenient_ci", "abstained", "seconds_per_query"} <= set(s)
        assert s["lenient_ci"][0] <= s["lenient"] <= s["lenient_ci"][1]
    assert {"recall@1", "recall@k", "answer_in_passages"} <= set(results["retrieval"])
    assert results["retrieval"]["recall@1"] >= 0.7, "the sample's questions are easy to retrieve for"
    assert results["systems"]["rag"]["lenient"] > results["systems"]["closed-book"]["lenient"]
    with (out / "answers.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20 and "rag: answer" in rows[0] and rows[0]["retrieved"]
    report = (out / "report.md").read_text(encoding="utf-8")
    for c in results["comparisons"].values():
        assert c["verdict"] in report and c["verdict"] in printed
        assert c["real"] == ("a real difference" in c["verdict"])
        if c["real"]:   # real: the interval excludes zero and the exact McNemar test agrees
            assert (c["ci"][0] > 0 or c["ci"][1] < 0) and c["mcnemar_p"] < 0.05
    assert results["comparisons"]["rag - closed-book"]["real"], "RAG's gain on the sample is large enough to be real"
    assert list((cache / "answers").glob("*.json")), "the answers went to the fresh cache"
    assert "lenient [95% CI]" in printed
    shutil.rmtree(cache / "models", ignore_errors=True)   # the converted weights (~0.5 GB) are not kept


def test_training_adds_two_systems(tiny_model_dir: Path, cache: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """--train on the real code path, with a tiny generator so the test takes seconds."""
    out = tmp_path / "run"
    code = compare.main(["--docs", str(SAMPLE / "docs"), "--questions", str(SAMPLE / "questions.jsonl"),
                         "--train", str(SAMPLE / "train.jsonl"), "--epochs", "1", "--generator", str(tiny_model_dir),
                         "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results["systems"]) == ["closed-book", "rag", "fine-tuned", "fine-tuned + rag"]
    assert results["training"]["pairs"] == 20 and results["training"]["epochs"] == 1
    assert set(results["comparisons"]) == {"rag - closed-book", "fine-tuned - closed-book", "rag - fine-tuned",
                                           "fine-tuned + rag - rag", "fine-tuned + rag - fine-tuned"}
    assert "## Fine-tuning" in (out / "report.md").read_text(encoding="utf-8")


def test_the_command_calls_real_what_difference_calls_real(tiny_model_dir: Path, cache: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The command applies the series' one rule for "real" (``Difference.real``) and no rule of its
    own: with the rule swapped for one that calls every comparison real, so does the report."""
    from helpers import statistics

    monkeypatch.setattr(statistics.Difference, "real", property(lambda d: True))
    out = tmp_path / "run"
    code = compare.main(["--docs", str(SAMPLE / "docs"), "--questions", str(SAMPLE / "questions.jsonl"),
                         "--generator", str(tiny_model_dir), "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    (comparison,) = json.loads((out / "results.json").read_text(encoding="utf-8"))["comparisons"].values()
    assert comparison["real"] and "a real difference" in comparison["verdict"]
    assert comparison["verdict"] in (out / "report.md").read_text(encoding="utf-8")


def test_question_files_with_a_bom_are_read_and_latin1_is_named(docs: Path, tmp_path: Path) -> None:
    read, _ = corpus.read_folder(docs)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"question": "Fee?", "answers": ["8 euros"]}).encode() + b"\n")
    assert [q.text for q in corpus.read_questions(bom, read)] == ["Fee?"]
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"question": "Fee?", "answers": ["8"]}\n{"question": "Caf\xe9?", "answers": ["x1"]}\n')
    with pytest.raises(DataError, match=r"latin\.jsonl:2: not UTF-8 text"):
        corpus.read_questions(latin, read)


def test_heading_only_file_is_an_error(docs: Path) -> None:
    (docs / "title.md").write_text("# Only a title", encoding="utf-8")
    with pytest.raises(DataError, match=r"title\.md: the file holds only headings"):
        corpus.read_folder(docs)


def test_output_inside_docs_and_overwriting_foreign_files_are_refused(docs: Path, questions: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", docs / "results")
    assert code == 2 and "is inside --docs" in err
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work", encoding="utf-8")
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", home, "--overwrite")
    assert code == 2 and "replaces only an earlier output folder" in err and "thesis.tex" in err
    assert (home / "thesis.tex").exists()


def test_training_pair_too_long_to_train_on_is_named_before_any_model_runs(docs: Path, questions: Path,
                                                                            tmp_path: Path, tokenizer) -> None:
    long = write_jsonl(tmp_path / "t.jsonl", [{"question": "Fee?", "answer": "8 euros"},
                                              {"question": "Tell me everything?", "answer": "word " * 200}])
    read, _ = corpus.read_folder(docs)
    from helpers import finetune

    with pytest.raises(DataError, match=r"t\.jsonl:2: example longer than max_length"):
        corpus.read_training(long, corpus.read_questions(questions, read),
                             check=lambda q, a: finetune.qa_examples([(q, a)], tokenizer))
