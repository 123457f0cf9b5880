"""``python -m helpers.compare``: every bad input is a clear error with a non-zero exit and nothing
written; the shipped sample runs end to end with the real models."""
from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from helpers import compare, config, corpus, retrieval
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
    assert code == 2 and "no .md, .markdown, .txt, .rst, .html, .htm, .pdf files" in err
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
    (['{"question": "Q?", "answers": ["!!"]}'], r"q\.jsonl:1: answer '!!' has no letter or digit .*give the answer itself"),
    (['{"question": "Q?", "answers": ["alpha"]}', '{"question": "R?", "answers": ["beta"]}',
      '{"question": "S?", "answers": ["gamma", "the"]}'],
     r"q\.jsonl:3: answer 'the' has no content word left after normalization \(articles and punctuation are "
     r"ignored in grading\); give the answer itself"),
    (['{"question": "Q?", "answers": [42]}'], r"q\.jsonl:1: answer 42 is a int; write every answer as a string"),
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
    r = results["retrieval"]
    assert set(r["passage_level"]) == {"dense", "bm25", "hybrid"} and r["retriever"] == compare.DEFAULT_RETRIEVER
    for scores in r["passage_level"].values():
        assert set(scores) == {"answer_in_passages", "recall@1", "recall@k", "mrr"}
    assert r["answer_in_passages"] == r["passage_level"][r["retriever"]]["answer_in_passages"]
    assert r["answer_in_passages"] == results["systems"]["rag"]["ceiling"], "the reader saw the ranked passages"
    assert r["document_level"]["recall@1"] >= 0.7, "the sample's questions are easy to retrieve for"
    assert sum(results["chunks"]["per_document"].values()) == results["n_chunks"]
    assert results["failing_stage"] in printed
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
    """The command applies the series' one rule for "real" after Holm's correction
    (``claims.Family.real``) and no rule of its own: with the rule swapped for one that calls every
    comparison real, so does the report."""
    from helpers import claims

    monkeypatch.setattr(claims.Family, "real", lambda self, key: True)
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


# ---- options checked before any model loads -----------------------------------------------------------------

@pytest.fixture()
def no_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tripwire: loading any model (or the generator's tokenizer) fails the test."""
    from helpers import models

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded before the options were checked")

    for name in ("load_generator", "load_embedder", "load_tokenizer", "generator_path"):
        monkeypatch.setattr(models, name, refuse)


@pytest.mark.parametrize("options, message", [
    (["--generator", "no-such-model", "--train", "TRAIN"], r"--generator no-such-model: no such folder, not a built-in"),
    (["--generator", "./missing/folder"], r"--generator ./missing/folder: no such folder"),
    (["--embedder", "nope"], r"--embedder nope: no such folder"),
    (["--generator", "EMPTY"], r"--generator .*empty-model: the folder holds no config\.json"),
    (["--generator", "CONFIG_ONLY", "--train", "TRAIN"], r"--generator .*config-only: the folder holds no tokenizer"),
    (["--generator", "someorg/not-downloaded"], r"--generator someorg/not-downloaded: not in the local Hugging Face cache"),
    (["--chunk-overlap", "80", "--chunk-size", "80"], r"--chunk-overlap must be at least 0 and below --chunk-size, "
                                                      r"got --chunk-overlap 80 with --chunk-size 80"),
    (["--chunking", "words", "--chunk-overlap=-1"], r"--chunk-overlap must be at least 0"),
    (["--chunk-size", "0"], r"--chunk-size must be at least 1 word, got 0"),
    (["--epochs", "nan"], r"--epochs must be a finite number above 0, got nan"),
    (["--epochs", "inf"], r"--epochs must be a finite number above 0, got inf"),
    (["--epochs", "0"], r"--epochs must be a finite number above 0, got 0"),
    (["--learning-rate", "inf"], r"--learning-rate must be a finite number above 0, got inf"),
    (["--learning-rate", "nan"], r"--learning-rate must be a finite number above 0, got nan"),
    (["--learning-rate=-1e-4"], r"--learning-rate must be a finite number above 0"),
    (["--k", "0"], r"--k must be at least 1, got 0"),
    (["--seed=-1"], r"--seed must be between 0 and 2\*\*32 - 1, got -1"),
])
def test_bad_options_exit_2_with_one_line_before_any_model_loads(
        options: list[str], message: str, docs: Path, questions: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, no_model_loads: None, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))   # an empty Hugging Face cache
    (tmp_path / "empty-model").mkdir()
    (tmp_path / "config-only").mkdir()
    (tmp_path / "config-only" / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    train = write_jsonl(tmp_path / "t.jsonl", [{"question": "What is the fee per night?", "answer": "8 euros"}])
    named = {"TRAIN": str(train), "EMPTY": str(tmp_path / "empty-model"), "CONFIG_ONLY": str(tmp_path / "config-only")}
    options = [named.get(o, o) for o in options]
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", tmp_path / "o", *options)
    assert code == 2
    assert re.search(r"^error: " + message, err), err
    assert len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config-only", "docs", "empty-model", "q.jsonl", "t.jsonl"], \
        "nothing is written, no staging folder is left behind"


def test_unwritable_out_is_refused_before_any_model_loads(docs: Path, questions: Path, tmp_path: Path,
                                                          no_model_loads: None,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", blocker / "o")
    assert code == 2 and re.search(r"^error: --out .*a-file/o: cannot write there", err), err
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", blocker)
    assert code == 2 and "exists and is not a folder" in err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        import os

        if os.geteuid() != 0:   # root may write anywhere
            code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", locked / "o")
            assert code == 2 and "cannot write there" in err and "Permission denied" in err, err
    finally:
        locked.chmod(0o700)


def test_staging_folder_is_made_first_and_removed_on_bad_input(docs: Path, tmp_path: Path, no_model_loads: None,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_jsonl(tmp_path / "q.jsonl", ['{"question": "Q?", "answers": ["a"]}'])
    code, err = run_cli(capsys, "--docs", docs, "--questions", bad, "--out", tmp_path / "o")
    assert code == 2 and "q.jsonl:1: answer 'a' has no content word" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "q.jsonl"]


# ---- retrieval per passage, and the failing stage ---------------------------------------------------------

def passage(doc: str, n: int, text: str) -> retrieval.Passage:
    return retrieval.Passage(retrieval.Chunk(f"{doc}#{n}", doc, doc, text), 1.0, n + 1)


def test_passage_scores_count_what_the_reader_is_shown() -> None:
    from helpers.data import Question

    qs = [Question("a", "When is high tide?", ("07:12",), "a", ("tides.md",)),
          Question("b", "What is the fee?", ("8 euros",), "b", ()),
          Question("c", "Who runs it?", ("Kell Harbour Trust",), "c", ("trust.md",))]
    ranked = [[passage("notes.md", 0, "high tide at 07:12 too"), passage("tides.md", 1, "High tide is at 07:12.")],
              [passage("fees.md", 0, "No fee here."), passage("fees.md", 1, "The fee is 8 euros a night.")],
              [passage("trust.md", 0, "Founded in 1901."), passage("other.md", 1, "Nothing.")]]
    one = compare.passage_scores(qs, ranked, k=1)
    # a: the answer is shown (from another document) but the named doc's passage is second
    assert one["shown"] == [True, False, False] and one["answer_in_passages"] == pytest.approx(1 / 3)
    assert one["recall@1"] == 0 and one["recall@k"] == 0
    assert one["mrr"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    two = compare.passage_scores(qs, ranked, k=2)
    assert two["answer_in_passages"] == pytest.approx(2 / 3) and two["recall@k"] == pytest.approx(2 / 3)
    docs = compare.document_scores(qs, ranked, k=1)
    assert docs == {"questions_with_doc": 2, "recall@1": 0.5, "recall@k": 0.5}, "trust.md is found: document-level"


def stage_results(ceiling: float, used: float | None, chosen: str = "dense",
                  others: dict[str, float] | None = None) -> dict:
    per = {"dense": ceiling, "bm25": ceiling, "hybrid": ceiling, **(others or {})}
    return {"systems": {"rag": {"ceiling": ceiling, "used_when_shown": used}},
            "retrieval": {"retriever": chosen, "k": 1,
                          "passage_level": {n: {"answer_in_passages": v} for n, v in per.items()}}}


def test_failing_stage_names_the_stage_and_what_to_try() -> None:
    reader = compare.failing_stage(stage_results(0.8, 0.05))
    assert reader.startswith("The reader is the weaker stage: the answer was in the passages for 80% of questions; "
                             "the reader used it for 5% of those: try a larger generator (--generator)")
    retrieval_ = compare.failing_stage(stage_results(0.3, 0.9, others={"bm25": 0.6}))
    assert retrieval_ == ("Retrieval is the weaker stage: the answer was in the passages for 30% of questions (the "
                          "reader used it for 90% of those): --retriever bm25 puts it there for 60%.")
    assert "try a larger --k (now 1)" in compare.failing_stage(stage_results(0.3, 0.9))
    assert compare.failing_stage(stage_results(0.0, None)).startswith("Retrieval fails first")


def test_real_documents_end_to_end_with_every_retriever(tiny_model_dir: Path, cache: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Markdown with badges, reST and HTML through the whole command (tiny generator, real embedder):
    passage-level scores for every retriever, chunk statistics, the failing stage, in results and report."""
    from tests.test_documents import HTML, MARKDOWN, RST

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "guide.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "manual.rst").write_text(RST, encoding="utf-8")
    (folder / "page.html").write_text(HTML, encoding="utf-8")
    questions = write_jsonl(tmp_path / "q.jsonl", [
        {"question": "Which ferrylib version do I pip install?", "answers": ["2.4"], "doc": "guide.md"},
        {"question": "What is the default timeout?", "answers": ["30 seconds"], "doc": "manual.rst"},
        {"question": "Which port is set in the table?", "answers": ["8080"]}])
    out = tmp_path / "run"
    code = compare.main(["--docs", str(folder), "--questions", str(questions), "--generator", str(tiny_model_dir),
                         "--retriever", "bm25", "--k", "2", "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    r = results["retrieval"]
    assert r["retriever"] == "bm25" and r["k"] == 2 and set(r["passage_level"]) == {"dense", "bm25", "hybrid"}
    assert r["passage_level"]["bm25"]["answer_in_passages"] == 1.0
    assert results["settings"]["chunking"] == "section" and results["chunks"]["per_document"].keys() == {
        "guide.md", "manual.rst", "page.html"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Retrieval, per passage" in report and "Document-level" in report and "bm25 (used)" in report
    assert results["failing_stage"] in report and results["failing_stage"] in printed
    assert "ceiling" in report and "Chunks (section, --chunk-size" in report


# ---- --select-on-dev: settings chosen on a development split, accuracy on the rest --------------------------

def make_questions(n: int) -> list:
    from helpers.data import Question

    return [Question(f"q{i}", f"Question {i}?", (f"answer {i}",)) for i in range(n)]


def test_split_is_seeded_by_question_id_not_by_file_order() -> None:
    qs = make_questions(20)
    dev, held = compare.split_questions(qs, 0.3, seed=0)
    assert len(dev) == 6 and len(held) == 14 and {q.qid for q in dev}.isdisjoint({q.qid for q in held})
    assert [q.qid for q in dev + held] != [q.qid for q in qs], "not simply the first questions of the file"
    assert held == [q for q in qs if q in held], "both parts keep the file's order"
    again, _ = compare.split_questions(list(reversed(qs)), 0.3, seed=0)
    assert {q.qid for q in again} == {q.qid for q in dev}, "the same ids give the same split in any order"
    other, _ = compare.split_questions(qs, 0.3, seed=1)
    assert {q.qid for q in other} != {q.qid for q in dev}, "another seed, another split"
    with pytest.raises(ValueError, match="between 0 and 1"):
        compare.split_questions(qs, 1.0, seed=0)


def test_pick_on_dev_takes_the_shortest_input_within_one_standard_error() -> None:
    def row(k: int, retriever: str, share: float, words: float, mrr: float = 0.5) -> dict:
        return {"k": k, "retriever": retriever, "chunk_size": 120, "answer_in_passages": share, "mrr": mrr,
                "reader_words": words, "hits": round(share * 25)}

    rows = [row(1, "dense", 0.60, 80), row(1, "bm25", 0.80, 90), row(3, "bm25", 0.84, 270), row(5, "hybrid", 0.92, 450)]
    # n = 25: best 0.92, standard error sqrt(0.92 * 0.08 / 25) = 0.054: 0.84 and 0.80 are not within it
    assert compare.pick_on_dev(rows, 25)["k"] == 5
    # n = 4: standard error 0.136: 0.80 is within it, and shows the reader the fewest words
    assert compare.pick_on_dev(rows, 4)["retriever"] == "bm25" and compare.pick_on_dev(rows, 4)["k"] == 1
    # a perfect best leaves no margin; ties in words go to the higher share, then MRR
    tied = [row(1, "dense", 0.5, 80, mrr=0.9), row(1, "bm25", 0.5, 80, mrr=0.7), row(2, "bm25", 1.0, 160)]
    assert compare.pick_on_dev(tied, 10)["k"] == 2
    assert compare.pick_on_dev(tied[:2], 10)["retriever"] == "dense"
    with pytest.raises(ValueError):
        compare.pick_on_dev([], 10)


def test_selection_grid_keeps_options_given_on_the_command_line() -> None:
    args = compare.build_parser().parse_args(["--docs", "d", "--questions", "q", "--out", "o", "--select-on-dev", "0.5",
                                              "--retriever", "dense", "--chunk-overlap", "70"])
    args.fixed_options = compare.explicit_options(["--docs", "d", "--questions", "q", "--out", "o", "--retriever", "dense"])
    assert args.fixed_options == {"retriever"}
    grid = compare.selection_grid(args)
    assert grid == {"k": compare.SELECT_KS, "retriever": ("dense",), "chunk_size": (120, 200)}, "60 is not above the overlap"
    assert compare.explicit_options(["--docs", "d", "--questions", "q", "--out", "o", "--k=2", "--chunk-size", "90"]) == {
        "k", "chunk_size"}


@pytest.mark.parametrize("options, message", [
    (["--select-on-dev", "0"], r"--select-on-dev must be a share between 0 and 1 \(e\.g\. 0\.3\), got 0\.0"),
    (["--select-on-dev", "1"], r"--select-on-dev must be a share between 0 and 1"),
    (["--select-on-dev", "nan"], r"--select-on-dev must be a share between 0 and 1 \(e\.g\. 0\.3\), got nan"),
    (["--select-on-dev", "0.5", "--split-seed=-3"], r"--split-seed must be between 0 and 2\*\*32 - 1, got -3"),
    (["--select-on-dev", "0.1"], r"--select-on-dev 0\.1 splits the 2 questions into 0 for development and 2 for "
                                 r"evaluation; both need at least one"),
])
def test_bad_selection_options_exit_2_before_any_model_loads(options: list[str], message: str, docs: Path,
                                                              questions: Path, tmp_path: Path, no_model_loads: None,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "--docs", docs, "--questions", questions, "--out", tmp_path / "o", *options)
    assert code == 2 and re.search(r"^error: " + message, err), err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    assert not list(tmp_path.glob(".o.*")), "no staging folder is left behind"


def test_select_on_dev_end_to_end_reports_on_the_evaluation_part_only(tiny_model_dir: Path, cache: Path,
                                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The real code path (tiny generator, real embedder): settings chosen on the development part,
    every system evaluated on the other questions, and the report says which and on how many."""
    qs = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "a", "question": "When is high tide at Kell Point?", "answers": ["07:12"]},
        {"id": "b", "question": "How much is the harbour fee per night?", "answers": ["8 euros"]},
        {"id": "c", "question": "What is the harbour fee?", "answers": ["8 euros"]},
        {"id": "d", "question": "At what time is high tide?", "answers": ["07:12"]}])
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tides.md").write_text("# Tide tables\n\nHigh tide at Kell Point is at 07:12.\n\n## Low tide\n\n"
                                     "Low tide is at 13:30.\n", encoding="utf-8")
    (folder / "notes.txt").write_text("Harbour notes\n\nThe harbour fee is 8 euros a night.\n", encoding="utf-8")
    out = tmp_path / "run"
    code = compare.main(["--docs", str(folder), "--questions", str(qs), "--generator", str(tiny_model_dir),
                         "--select-on-dev", "0.5", "--retriever", "bm25", "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    sel = results["selection"]
    assert sel["n_dev"] == 2 and results["n_questions"] == 2 and sel["fraction"] == 0.5
    assert sel["searched"] == {"k": list(compare.SELECT_KS), "retriever": ["bm25"], "chunk_size": [60, 120, 200]}
    assert len(sel["rows"]) == 4 * 1 * 3 and sel["chosen"]["retriever"] == "bm25"
    assert all(r["eligible"] for r in sel["rows"]), "short chunks: every setting shows the reader under the cap"
    assert sel["chosen"] == compare.pick_on_dev(sel["rows"], 2)
    assert {key: results["settings"][key] for key in ("k", "retriever", "chunk_size")} == {
        key: sel["chosen"][key] for key in ("k", "retriever", "chunk_size")}, "the run used the chosen settings"
    assert results["retrieval"]["k"] == sel["chosen"]["k"]
    with (out / "answers.csv").open(encoding="utf-8-sig") as handle:
        evaluated = {row["id"] for row in csv.DictReader(handle)}
    assert len(evaluated) == 2 and evaluated.isdisjoint(sel["dev_ids"]), "no development question is evaluated"
    report = (out / "report.md").read_text(encoding="utf-8")
    sentence = compare.selection_sentence(results)
    assert sentence in report and sentence in printed
    assert "2 questions chose --k" in sentence and "given: --retriever bm25" in sentence
    assert "on the other 2 questions only" in sentence
    # a cap no setting meets: the one showing the reader the fewest words is taken, and --k given is never capped
    monkeypatch.setattr(compare, "SELECT_MAX_READER_WORDS", 1)
    assert compare.main(["--docs", str(folder), "--questions", str(qs), "--generator", str(tiny_model_dir),
                         "--select-on-dev", "0.5", "--out", str(out), "--overwrite", "--quiet"]) == 0
    sel = json.loads((out / "results.json").read_text(encoding="utf-8"))["selection"]
    assert not any(r["eligible"] for r in sel["rows"])
    assert sel["chosen"]["reader_words"] == min(r["reader_words"] for r in sel["rows"]) and sel["chosen"]["k"] == 1
    assert compare.main(["--docs", str(folder), "--questions", str(qs), "--generator", str(tiny_model_dir),
                         "--select-on-dev", "0.5", "--k", "3", "--out", str(out), "--overwrite", "--quiet"]) == 0
    sel = json.loads((out / "results.json").read_text(encoding="utf-8"))["selection"]
    assert all(r["eligible"] and r["k"] == 3 for r in sel["rows"]) and sel["chosen"]["k"] == 3


# ---- --reader trained: notebook 08's reader beside rag --------------------------------------------------------

def test_trained_reader_is_a_system_beside_rag_with_the_paired_test(tiny_model_dir: Path, cache: Path, tmp_path: Path,
                                                                    docs: Path, questions: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The real code path with the tiny generator: notebook 08's reader examples are built, the
    adapter is trained (fresh cache) and then loaded from the cache on a second run, and it answers
    from rag's passages; the report compares it with rag by the series' paired test."""
    out = tmp_path / "run"
    argv = ["--docs", str(docs), "--questions", str(questions), "--generator", str(tiny_model_dir),
            "--reader", "trained", "--out", str(out), "--quiet"]
    assert compare.main(argv) == 0, capsys.readouterr().err
    first = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results["systems"]) == ["closed-book", "rag", "trained reader"]
    t = results["trained_reader"]
    assert t["arm"] == "2 distractors" and t["examples"] == 41 and t["epochs"] == 2 and not t["cached"]
    assert "training_questions" not in t
    assert results["systems"]["trained reader"]["ceiling"] == results["systems"]["rag"]["ceiling"], "same passages"
    c = results["comparisons"]["trained reader - rag"]
    assert c["verdict"] in (out / "report.md").read_text(encoding="utf-8") and c["verdict"] in first
    assert "## Trained reader" in (out / "report.md").read_text(encoding="utf-8")
    assert "trained qa adapter on 41 examples" in first
    assert compare.main([*argv, "--overwrite"]) == 0
    assert "loaded cached adapter" in capsys.readouterr().out, "trained once, then reused"
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["trained_reader"]["cached"]


def test_reader_passages_body_drops_the_first_line_and_keeps_the_ranking() -> None:
    from helpers import lexical

    chunks = [retrieval.Chunk("a.md#0", "a.md", "A", "pkg > Install\npip install pkg==2.4"),
              retrieval.Chunk("a.md#1", "a.md", "A", "pkg > Usage\nCall pkg.run() to start."),
              retrieval.Chunk("b.md#0", "b.md", "B", "Only a heading line")]
    bm25 = lexical.BM25Index(chunks)
    view = compare.BodyOnly(bm25)
    assert len(view) == 3
    plain, shown = bm25.search_many(["install pkg", "heading line"], k=2), view.search_many(["install pkg", "heading line"], k=2)
    assert [[p.chunk.chunk_id for p in h] for h in plain] == [[p.chunk.chunk_id for p in h] for h in shown]
    assert shown[0][0].text == "pip install pkg==2.4" and shown[0][0].score == plain[0][0].score
    assert shown[1][0].text == "Only a heading line", "a chunk with no body is shown whole"
    args = compare.build_parser().parse_args(["--docs", "d", "--questions", "q", "--out", "o"])
    assert args.reader_passages == "chunk" and args.reader == "base"


def test_recorded_defaults_are_the_commands_defaults() -> None:
    """results/compare_defaults.json records what the defaults were chosen on; a change of default
    without re-running .ci/real_docs_devset.py (or the other way round) leaves a stale file."""
    from helpers import recipe

    recorded = json.loads((config.REPO_ROOT / "results" / "compare_defaults.json").read_text(encoding="utf-8"))
    chosen = recorded["chosen"]
    assert (chosen["chunking"], chosen["chunk_size"], chosen["retriever"], chosen["k"]) == (
        compare.DEFAULT_CHUNKING, compare.DEFAULT_CHUNK_SIZE, compare.DEFAULT_RETRIEVER, recipe.K)
    if "reader_grid" in recorded:   # the generation run's reference cell is the defaults' cell
        assert recorded["reader_grid"]["default"] == f"{compare.DEFAULT_CHUNK_SIZE} x {recipe.K}"
