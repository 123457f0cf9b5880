"""A development set of *real* documentation for ``python -m helpers.compare``, and the choice of
its retrieval defaults on it.

    .venv/bin/python .ci/real_docs_devset.py extract     # write data/real_docs_{dev,holdout}/docs/
    .venv/bin/python .ci/real_docs_devset.py choose      # results/compare_defaults.json
    .venv/bin/python .ci/real_docs_devset.py series      # the same grid on the series' corpora (added to it)
    .venv/bin/python .ci/real_docs_devset.py readers     # the readers compared on the development set
    .venv/bin/python .ci/real_docs_devset.py select      # --select-on-dev 0.5 checked, retrieval only
    .venv/bin/python .ci/real_docs_devset.py reader-grid # chunk size x k by the reader's accuracy (generation)
    .venv/bin/python .ci/real_docs_devset.py timing      # the command on 30 documents and 40 questions, timed

``extract``: the long descriptions (the PyPI project pages: READMEs in Markdown or
reStructuredText, with badges, code blocks, tables and changelogs) of installed packages under
permissive licenses (MIT, BSD, Apache-2.0), read from their ``*.dist-info/METADATA`` and written
unchanged as ``<package>.md`` / ``<package>.rst``, with ``SOURCES.json`` recording package,
version, license and file. Two disjoint sets of packages: ``real_docs_dev`` (used to choose the
defaults) and ``real_docs_holdout`` (never used for choosing; a final check only). The questions
(``questions.jsonl`` beside ``docs/``) were written by hand from reading the texts, before any model
ran on them; every accepted answer is written word for word in its document (``extract`` checks).

``choose``: every chunking x chunk size x retriever x k on the development questions, scored by
answer-in-passages (how often the top-k passages hold an accepted answer; retrieval only, no
generation), written to ``results/compare_defaults.json``. The holdout set is not read.

``series``: the same grid on the series' own corpora, to check that the defaults also hold there
(nothing is chosen on them): the knowledge base (``data/kb_v1``, every fact's first held-out
wording, as notebooks 02-08 ask it), ``data/sample_corpus`` and ``data/unseen_corpus`` (their
``questions.jsonl``). Each is read as the command reads a folder (:func:`helpers.documents.read_folder`).
Added to ``results/compare_defaults.json`` under ``series_corpora``.

``readers``: the command's readers on the development set, with the command's defaults otherwise:
the base reader and notebook 08's trained reader (``--reader trained``), each shown the passages as
indexed or without their heading-path line (``--reader-passages body``); accuracy beside the
ceiling, and paired differences by the series' rule (``Difference.real``). Added under ``readers``.
The holdout set is not read (``readers --set real_docs_holdout`` reads it: once, at the end).

``reader-grid``: the chunk size and k chosen on the *reader's* accuracy, not only the ceiling: the
command (base reader, defaults otherwise) on the development set for each cell of
:data:`READER_GRID`, every cell's RAG answers paired with the defaults' (section chunks of 120
words, k = 1) and Holm-corrected as one family; the answer cache is off, so every cell's seconds
per answer come from this run. Added under ``reader_grid``.

``timing``: the issue's budget (30 documents, 40 questions, no training, under 3 minutes on 2
cores), measured as a user meets it: the development set's 13 documents plus the long descriptions
of the 17 packages in :data:`TIMING_EXTRA` (among the longest installed, 22,000 words together),
written to a scratch folder, and the first 40 development questions; the command with its defaults
in a child process with the answer cache off, wall time and peak memory. Added under ``timing``.

``select``: what ``--select-on-dev 0.5`` chooses (retrieval only) on the development set and the
series' corpora, for split seeds 0, 1 and 2, and the evaluation half's answer-in-passages with the
chosen settings against the command's defaults (k = 1, section chunks of 120 words, BM25). Added
under ``select_on_dev``.
"""
from __future__ import annotations

import argparse
import dataclasses
import email.parser
import json
import re
import shutil
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import compare, corpus, cost, documents, evaluate, lexical, recipe, retrieval, storage  # noqa: E402
from helpers.data import DataError  # noqa: E402

# package -> license as its metadata states it (checked again on extraction)
DEV = {"tabulate": "MIT", "charset_normalizer": "MIT", "rich": "MIT", "typer": "MIT", "httpcore": "BSD-3-Clause",
       "threadpoolctl": "BSD-3-Clause", "attrs": "MIT", "pypdf": "BSD-3-Clause", "psutil": "BSD-3-Clause",
       "wcwidth": "MIT", "async_lru": "MIT", "jsonschema": "MIT", "python_dateutil": "BSD-3-Clause"}
HOLDOUT = {"bleach": "Apache", "markdown_it_py": "MIT", "executing": "MIT", "snowballstemmer": "BSD-3-Clause",
           "accelerate": "Apache", "pandas": "BSD-3-Clause"}
PERMISSIVE = re.compile(r"\b(MIT|BSD|Apache)", re.I)
SETS = {"real_docs_dev": DEV, "real_docs_holdout": HOLDOUT}


def metadata_file(package: str) -> Path:
    """The METADATA file of an installed distribution (its import name with ``_``)."""
    site = Path(sysconfig.get_paths()["purelib"])
    found = sorted(site.glob(f"{package}-*.dist-info/METADATA"))
    if len(found) != 1:
        raise SystemExit(f"{package}: expected one installed *.dist-info/METADATA, found {len(found)}")
    return found[0]


def long_description(path: Path) -> tuple[str, str, str, str]:
    """``(version, license, suffix, text)`` of one METADATA file. The description is the message
    body, or (older metadata) the ``Description`` field with its continuation indent removed."""
    message = email.parser.Parser().parsestr(path.read_text(encoding="utf-8"))
    text = message.get_payload()
    if not isinstance(text, str) or not text.strip():
        raw = message.get("Description", "")
        text = re.sub(r"\n {8}\|?", "\n", str(raw))
    license_ = message.get("License-Expression") or message.get("License") or ""
    classifiers = " ".join(message.get_all("Classifier") or [])
    if not PERMISSIVE.search(str(license_)) and not PERMISSIVE.search(classifiers):
        raise SystemExit(f"{path}: no permissive license (MIT, BSD, Apache) stated")
    kind = (message.get("Description-Content-Type") or "text/x-rst").lower()
    suffix = ".md" if "markdown" in kind else ".rst" if "rst" in kind else ".txt"
    if not license_:   # older metadata states the license only as a classifier
        license_ = next(c.split(" :: ")[-1] for c in message.get_all("Classifier") or [] if c.startswith("License ::"))
    return str(message["Version"]), str(license_).splitlines()[0], suffix, text


def extract() -> None:
    """Write both sets' documents and SOURCES.json; check every set's questions against them."""
    for name, packages in SETS.items():
        folder = ROOT / "data" / name / "docs"
        sources = []
        with storage.staged_dir(folder) as tmp:
            for package in sorted(packages):
                version, license_, suffix, text = long_description(metadata_file(package))
                (tmp / f"{package}{suffix}").write_text(text, encoding="utf-8")
                sources.append({"package": package, "version": version, "license": license_,
                                "file": f"{package}{suffix}", "source": f"{package}-{version}.dist-info/METADATA"})
        storage.atomic_write_text(ROOT / "data" / name / "SOURCES.json", json.dumps(sources, indent=2) + "\n")
        print(f"{name}: {len(sources)} documents in {folder}")
        check(name)


def check(name: str) -> None:
    """Every question of a set has an accepted answer written in its (cleaned) document."""
    questions_file = ROOT / "data" / name / "questions.jsonl"
    if not questions_file.exists():
        print(f"{name}: no questions.jsonl yet")
        return
    docs, _ = documents.read_folder(ROOT / "data" / name / "docs")
    questions = corpus.read_questions(questions_file, docs)
    by_id = {d.doc_id: d for d in docs}
    for q in questions:
        if not evaluate.contains_answer(by_id[q.doc_ids[0]].text, q.answers):
            raise DataError(questions_file, f"{q.qid}: no accepted answer {q.answers} in {q.doc_ids[0]}")
    print(f"{name}: {len(questions)} questions, every answer found in its document")


# chunkings tried: (strategy, sizes)
GRID = {"section": (60, 120, 200), "section-strict": (120,), "paragraph": (80,), "words": (60, 120)}
KS = (1, 2, 3, 5)


def chunk(docs: list, strategy: str, size: int) -> list[retrieval.Chunk]:
    """The chunks one grid cell indexes (``section-strict``: section chunks that never join sections)."""
    if strategy.startswith("section"):
        return documents.section_chunks(docs, size=size, overlap=20, merge_sections=strategy == "section")
    args = argparse.Namespace(chunking=strategy, chunk_size=size, chunk_overlap=20)
    return compare.make_chunks(docs, args, log=lambda *a: None)


def grid_rows(docs: list, questions: list, embedder: object, shown: dict | None = None) -> list[dict]:
    """Answer-in-passages (with passage recall@k and MRR) of every cell of :data:`GRID` x retriever
    x :data:`KS` on ``questions`` (retrieval only, no generation). ``shown``: if given, filled with
    each cell's per-question answer-in-passages, keyed ``(chunking, size, retriever, k)``."""
    texts = [q.text for q in questions]
    rows: list[dict] = []
    for strategy, sizes in GRID.items():
        for size in sizes:
            chunks = chunk(docs, strategy, size)
            dense = retrieval.VectorIndex.build(embedder, chunks)
            bm25 = lexical.BM25Index(chunks)
            retrievers = {"dense": dense, "bm25": bm25, "hybrid": lexical.HybridIndex(dense, bm25)}
            stats = documents.chunk_stats(chunks, compare.LONG_CHUNK_WORDS)
            for rname, r in retrievers.items():
                ranked = r.search_many(texts, k=max(KS))
                for k in KS:
                    sc = compare.passage_scores(questions, ranked, k)
                    if shown is not None:
                        shown[(strategy, size, rname, k)] = sc["shown"]
                    rows.append({"chunking": strategy, "chunk_size": size, "retriever": rname, "k": k,
                                 "n_chunks": len(chunks), "median_words": stats["words"]["median"],
                                 "answer_in_passages": sc["answer_in_passages"], "hits": sum(sc["shown"]),
                                 "passage_recall@k": sc["recall@k"], "mrr": sc["mrr"]})
            print(f"{strategy:>15} {size:>4}: {len(chunks):>5} chunks  " + "  ".join(
                f"{rw['retriever']}@{rw['k']}={rw['answer_in_passages']:.2f}" for rw in rows[-12:] if rw["k"] in (1, 3)))
    return rows


def choose(name: str = "real_docs_dev") -> dict:
    """Answer-in-passages of every grid cell on one set's questions; writes results/compare_defaults.json
    (keeping its ``series_corpora``, if any)."""
    from helpers import models

    began = time.perf_counter()
    docs, _ = documents.read_folder(ROOT / "data" / name / "docs")
    questions = corpus.read_questions(ROOT / "data" / name / "questions.jsonl", docs)
    rows = grid_rows(docs, questions, models.load_embedder())
    path = ROOT / "results" / "compare_defaults.json"
    earlier = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    out = {"set": name, "n_questions": len(questions), "n_documents": len(docs), "chosen": pick(rows),
           "measure": "answer_in_passages: share of questions whose top-k passages hold an accepted answer "
                      "(helpers.grading.contains_answer); retrieval only, no generation",
           "seconds": round(time.perf_counter() - began, 1), "rows": rows}
    if "series_corpora" in earlier:
        out["series_corpora"] = earlier["series_corpora"]
    storage.atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    return out


def series_sets() -> dict[str, tuple[list, list]]:
    """The series' corpora as the command reads them: ``name -> (documents, questions)``. The
    knowledge base's questions are every fact's first held-out wording (``helpers.hallucination.WORDING``),
    their ``doc`` renamed to the file the folder reader names (``about-x`` -> ``about-x.md``)."""
    from helpers import data, hallucination

    out = {}
    kb_docs, _ = documents.read_folder(data.docs_dir(1))
    ids = {d.doc_id for d in kb_docs}
    facts = data.load_facts(1)
    kb_questions = [dataclasses.replace(q, doc_ids=tuple(f"{d}.md" for d in q.doc_ids))
                    for q in data.fact_questions(facts, hallucination.WORDING, pool=facts)]
    missing = sorted({d for q in kb_questions for d in q.doc_ids} - ids)
    if missing:
        raise DataError(data.docs_dir(1), f"facts name documents the folder does not hold: {missing[:3]}")
    out["kb_v1"] = (kb_docs, kb_questions)
    for name in ("sample_corpus", "unseen_corpus"):
        docs, _ = documents.read_folder(ROOT / "data" / name / "docs")
        out[name] = (docs, corpus.read_questions(ROOT / "data" / name / "questions.jsonl", docs))
    return out


def at_k1(rows: list[dict], **cell: object) -> dict:
    """The row of one chunking/size/retriever at k = 1."""
    (row,) = [r for r in rows if r["k"] == 1 and all(r[key] == v for key, v in cell.items())]
    return row


def series() -> dict:
    """The grid on the series' corpora (:func:`series_sets`), added to results/compare_defaults.json
    under ``series_corpora``: per corpus, every row, and at k = 1 the command's defaults, the
    notebooks' settings (paragraph chunks, dense) and the best cell."""
    from helpers import models

    path = ROOT / "results" / "compare_defaults.json"
    out = json.loads(path.read_text(encoding="utf-8"))
    embedder = models.load_embedder()
    found = {}
    for name, (docs, questions) in series_sets().items():
        began = time.perf_counter()
        print(f"{name}: {len(docs)} documents, {len(questions)} questions")
        shown: dict = {}
        rows = grid_rows(docs, questions, embedder, shown)
        cells = {"default": (compare.DEFAULT_CHUNKING, compare.DEFAULT_CHUNK_SIZE, compare.DEFAULT_RETRIEVER),
                 "dense on the default chunks": (compare.DEFAULT_CHUNKING, compare.DEFAULT_CHUNK_SIZE, "dense"),
                 "hybrid on the default chunks": (compare.DEFAULT_CHUNKING, compare.DEFAULT_CHUNK_SIZE, "hybrid"),
                 "notebooks": ("paragraph", 80, "dense")}
        best = max((r for r in rows if r["k"] == 1), key=lambda r: (r["hits"], r["mrr"], -r["n_chunks"]))
        cells["best"] = (best["chunking"], best["chunk_size"], best["retriever"])
        qids = [q.qid for q in questions]
        paired = {}
        for label, cell in cells.items():
            if label == "default":
                continue
            d = evaluate.paired_values(qids, [float(x) for x in shown[(*cell, 1)]],
                                       [float(x) for x in shown[(*cells["default"], 1)]])
            paired[f"{label} - default"] = {"cell": list(cell), "difference": d.mean, "ci": [d.low, d.high],
                                            "a_only": d.a_only, "b_only": d.b_only, "mcnemar_p": d.p_value,
                                            "real": d.real}
        found[name] = {"n_questions": len(questions), "n_documents": len(docs),
                       "default_at_k1": at_k1(rows, chunking=cells["default"][0], chunk_size=cells["default"][1],
                                              retriever=cells["default"][2]),
                       "notebooks_at_k1": at_k1(rows, chunking="paragraph", chunk_size=80, retriever="dense"),
                       "best_at_k1": best, "paired_at_k1": paired,
                       "seconds": round(time.perf_counter() - began, 1), "rows": rows}
    out["series_corpora"] = found
    storage.atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    for name, f in found.items():
        d, nb, b = f["default_at_k1"], f["notebooks_at_k1"], f["best_at_k1"]
        print(f"{name:>14} (n={f['n_questions']}): default {d['hits']}, notebooks' {nb['hits']}, best {b['hits']} "
              f"({b['chunking']} {b['chunk_size']} {b['retriever']})")
        for label, c in f["paired_at_k1"].items():
            print(f"{'':>16}{label}: {c['difference']:+.2f} [{c['ci'][0]:+.2f}, {c['ci'][1]:+.2f}] "
                  f"{c['a_only']}-{c['b_only']}, McNemar p = {c['mcnemar_p']:.3f}{', real' if c['real'] else ''}")
    return found


def pick(rows: list[dict]) -> dict:
    """The defaults: at the reader's k (``helpers.recipe.K``: one passage, chosen for the
    135M reader by .ci/reader_format_ablation.py), the chunking, size and retriever with the highest
    answer-in-passages; ties go to the higher MRR, then to fewer chunks (less to embed)."""
    from helpers import recipe

    at_k = [r for r in rows if r["k"] == recipe.K]
    best = max(at_k, key=lambda r: (r["hits"], r["mrr"], -r["n_chunks"]))
    return {key: best[key] for key in ("chunking", "chunk_size", "retriever", "k", "answer_in_passages", "hits",
                                       "mrr", "n_chunks")}


def summarize() -> None:
    """Add the choice (:func:`pick`) to an existing results/compare_defaults.json and print it."""
    path = ROOT / "results" / "compare_defaults.json"
    out = json.loads(path.read_text(encoding="utf-8"))
    out["chosen"] = pick(out["rows"])
    storage.atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["chosen"]))


READER_VARIANTS = {"chunk": ["--reader-passages", "chunk"], "body": ["--reader-passages", "body"]}


def readers(name: str = "real_docs_dev") -> dict:
    """Run the command (base and trained reader) once per :data:`READER_VARIANTS` on one set and
    compare the readers question by question; added to results/compare_defaults.json under
    ``readers`` (or ``readers_holdout``)."""
    import csv
    import resource
    import tempfile

    found: dict = {"set": name, "runs": {}, "paired": {}}
    correct: dict[str, dict[str, bool]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for variant, options in READER_VARIANTS.items():
            out = Path(scratch) / variant
            began = time.perf_counter()
            code = compare.main(["--docs", str(ROOT / "data" / name / "docs"), "--questions",
                                 str(ROOT / "data" / name / "questions.jsonl"), "--reader", "trained", "--quiet",
                                 "--out", str(out), *options])
            if code:
                raise SystemExit(f"{variant}: the command exited {code}")
            results = json.loads((out / "results.json").read_text(encoding="utf-8"))
            with (out / "answers.csv").open(encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
            for system in (compare.RAG, compare.TRAINED):
                correct[f"{system}, {variant}"] = {r["id"]: r[f"{system}: grade"] == "correct" for r in rows}
            found["runs"][variant] = {
                "options": options, "n_questions": results["n_questions"], "wall_seconds": round(time.perf_counter() - began, 1),
                "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 2),
                "trained_reader": results["trained_reader"],
                "systems": {s: {key: v[key] for key in ("lenient", "lenient_ci", "strict", "ceiling", "used_when_shown",
                                                       "seconds_per_query", "prompt_tokens") if key in v}
                            for s, v in results["systems"].items()}}
    pairs = [(f"{compare.TRAINED}, chunk", f"{compare.RAG}, chunk"), (f"{compare.TRAINED}, body", f"{compare.RAG}, body"),
             (f"{compare.RAG}, body", f"{compare.RAG}, chunk"), (f"{compare.TRAINED}, body", f"{compare.TRAINED}, chunk")]
    for a, b in pairs:
        ids = list(correct[a])   # the file order, as the command pairs them
        d = evaluate.paired_values(ids, [float(correct[a][i]) for i in ids], [float(correct[b][i]) for i in ids],
                                   clusters={})
        found["paired"][f"{a} - {b}"] = {"difference": d.mean, "ci": [d.low, d.high], "a_only": d.a_only,
                                         "b_only": d.b_only, "mcnemar_p": d.p_value, "real": d.real, "n": d.n}
        print(f"{a} - {b}: {d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}] {d.a_only}-{d.b_only}, "
              f"McNemar p = {d.p_value:.3f}{', real' if d.real else ''}")
    for variant, r in found["runs"].items():
        for s, v in r["systems"].items():
            print(f"{variant:>6} {s:<16} lenient {v['lenient']:.2f} [{v['lenient_ci'][0]:.2f}, {v['lenient_ci'][1]:.2f}]"
                  + (f" ceiling {v['ceiling']:.2f}" if v.get("ceiling") is not None else "")
                  + f" {v['seconds_per_query']:.2f} s/q")
        print(f"{variant:>6} wall {r['wall_seconds']} s, peak {r['peak_rss_gb']} GB")
    path = ROOT / "results" / "compare_defaults.json"
    out = json.loads(path.read_text(encoding="utf-8"))
    out["readers" if name == "real_docs_dev" else f"readers_{name.removeprefix('real_docs_')}"] = found
    storage.atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    return found


# (chunk size, k): the 150-word cap's cells (60 x 1, 60 x 2, 120 x 1) and two beyond it (120 x 2, 200 x 1)
READER_GRID = ((60, 1), (60, 2), (120, 1), (120, 2), (200, 1))


def reader_grid(name: str = "real_docs_dev") -> dict:
    """The base reader's accuracy per chunk size and k (:data:`READER_GRID`) on one set, each cell
    paired with the defaults' cell and Holm-corrected; added to results/compare_defaults.json under
    ``reader_grid``."""
    import csv
    import os
    import tempfile

    # every answer generated now (answer cache off), so each cell's seconds come from this run, on this machine
    os.environ["RAGFT_ANSWER_CACHE"] = "0"
    default = (compare.DEFAULT_CHUNK_SIZE, recipe.K)
    cells: dict = {}
    correct: dict[tuple[int, int], dict[str, bool]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for size, k in READER_GRID:
            out = Path(scratch) / f"{size}-{k}"
            began = time.perf_counter()
            code = compare.main(["--docs", str(ROOT / "data" / name / "docs"), "--questions",
                                 str(ROOT / "data" / name / "questions.jsonl"), "--quiet", "--out", str(out),
                                 "--chunk-size", str(size), "--k", str(k)])
            if code:
                raise SystemExit(f"chunk size {size}, k {k}: the command exited {code}")
            results = json.loads((out / "results.json").read_text(encoding="utf-8"))
            with (out / "answers.csv").open(encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
            correct[(size, k)] = {r["id"]: r[f"{compare.RAG}: grade"] == "correct" for r in rows}
            rag = results["systems"][compare.RAG]
            cells[f"{size} x {k}"] = {"chunk_size": size, "k": k, "wall_seconds": round(time.perf_counter() - began, 1),
                                      **{key: rag[key] for key in ("lenient", "lenient_ci", "ceiling", "used_when_shown",
                                                                    "seconds_per_query", "prompt_tokens") if key in rag}}
            c = cells[f"{size} x {k}"]
            print(f"{size:>4} words x k {k}: RAG {c['lenient']:.2f} [{c['lenient_ci'][0]:.2f}, {c['lenient_ci'][1]:.2f}], "
                  f"ceiling {c['ceiling']:.2f}, {c['seconds_per_query']:.2f} s/answer, {c['prompt_tokens']:.0f} prompt tokens",
                  flush=True)
    others = [cell for cell in READER_GRID if cell != default]
    paired = {}
    for size, k in others:
        ids = list(correct[default])
        d = evaluate.paired_values(ids, [float(correct[(size, k)][i]) for i in ids],
                                   [float(correct[default][i]) for i in ids], clusters={})
        paired[f"{size} x {k} - {default[0]} x {default[1]}"] = d
    adjusted = evaluate.holm([d.p_value for d in paired.values()])
    found = {"set": name, "default": f"{default[0]} x {default[1]}", "answer_cache": "off",
             "threads": os.environ.get("OMP_NUM_THREADS"), "cells": cells, "paired": {}}
    for (key, d), p_holm in zip(paired.items(), adjusted, strict=True):
        real = d.real and p_holm < 0.05
        found["paired"][key] = {"difference": d.mean, "ci": [d.low, d.high], "a_only": d.a_only, "b_only": d.b_only,
                                "mcnemar_p": d.p_value, "holm_p": p_holm, "real": real, "n": d.n}
        print(f"{key}: {d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}] ({d.a_only} vs {d.b_only}), McNemar p {d.p_value:.3f}, "
              f"Holm p {p_holm:.3f}: {'real' if real else 'no detectable difference'} at n = {d.n}")
    path = ROOT / "results" / "compare_defaults.json"
    out = json.loads(path.read_text(encoding="utf-8"))
    out["reader_grid"] = found
    storage.atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    return found


TIMING_EXTRA = ("tqdm", "regex", "json5", "stack_data", "jedi", "sympy", "pycparser", "h11", "traitlets", "mpmath",
                "parso", "idna", "arrow", "overrides", "prompt_toolkit", "httpx", "joblib")
TIMING_QUESTIONS = 40


def timing() -> dict:
    """The command with its defaults on 30 real documents and 40 questions, answer cache off, in a
    child process: wall seconds and peak memory (added under ``timing``)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "docs"
        shutil.copytree(ROOT / "data" / "real_docs_dev" / "docs", folder)
        for package in TIMING_EXTRA:
            if package in DEV or package in HOLDOUT:
                raise SystemExit(f"{package}: already in a set; TIMING_EXTRA must add other documents")
            _, _, suffix, text = long_description(metadata_file(package))
            (folder / f"{package}{suffix}").write_text(text, encoding="utf-8")
        n_docs = len(list(folder.iterdir()))
        lines = (ROOT / "data" / "real_docs_dev" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        questions = Path(scratch) / "questions.jsonl"
        questions.write_text("\n".join(lines[:TIMING_QUESTIONS]) + "\n", encoding="utf-8")
        words = sum(len(p.read_text(encoding="utf-8").split()) for p in folder.iterdir())
        done = cost.run_module_in_child("helpers.compare", ["--docs", str(folder), "--questions", str(questions),
                                                            "--out", str(Path(scratch) / "out"), "--quiet"],
                                        env={**os.environ, "RAGFT_ANSWER_CACHE": "0"}, cwd=ROOT)
        if done.returncode:
            raise SystemExit(f"the command exited {done.returncode}:\n{done.stderr[-2000:]}")
        results = json.loads((Path(scratch) / "out" / "results.json").read_text(encoding="utf-8"))
    found = {"documents": n_docs, "words": words, "questions": results["n_questions"], "chunks": results.get("n_chunks"),
             "wall_seconds": round(done.seconds, 1), "peak_rss_gb": round(done.peak_bytes / 1024 ** 3, 2),
             "threads": os.environ.get("OMP_NUM_THREADS"), "answer_cache": "off",
             "systems": {s: {key: v[key] for key in ("lenient", "ceiling", "seconds_per_query") if key in v}
                         for s, v in results["systems"].items()}}
    print(f"{n_docs} documents ({words} words), {found['questions']} questions: {found['wall_seconds']} s wall, "
          f"peak {found['peak_rss_gb']} GB", flush=True)
    path = ROOT / "results" / "compare_defaults.json"
    out = json.loads(path.read_text(encoding="utf-8"))
    out["timing"] = found
    storage.atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    return found


def select_check(fraction: float = 0.5, seeds: tuple[int, ...] = (0, 1, 2)) -> dict:
    """:func:`helpers.compare.select_on_dev` on half of each corpus's questions; the other half's
    answer-in-passages with the chosen settings and with the defaults (no generation)."""
    from helpers import models

    embedder = models.load_embedder()
    docs, _ = documents.read_folder(ROOT / "data" / "real_docs_dev" / "docs")
    sets = {"real_docs_dev": (docs, corpus.read_questions(ROOT / "data" / "real_docs_dev" / "questions.jsonl", docs)),
            **series_sets()}
    found: dict = {}
    for name, (docs, questions) in sets.items():
        for seed in seeds:
            args = compare.build_parser().parse_args(["--docs", "-", "--questions", "-", "--out", "-",
                                                      "--select-on-dev", str(fraction), "--split-seed", str(seed)])
            args.fixed_options, args.quiet = set(), True
            dev, held = compare.split_questions(questions, fraction, seed)
            selection, (retrievers, _, _) = compare.select_on_dev(docs, dev, args, embedder, log=lambda *a: None)
            c = selection["chosen"]
            chosen = compare.passage_scores(held, retrievers[c["retriever"]].search_many(
                [q.text for q in held], k=c["k"]), c["k"])
            default_args = compare.build_parser().parse_args(["--docs", "-", "--questions", "-", "--out", "-"])
            default_args.quiet = True
            base, _, _ = compare.build_retrievers(docs, default_args, lambda *a: None, embedder=embedder)
            default = compare.passage_scores(held, base[default_args.retriever].search_many(
                [q.text for q in held], k=default_args.k), default_args.k)
            ids = [q.qid for q in held]
            d = evaluate.paired_values(ids, [float(x) for x in chosen["shown"]], [float(x) for x in default["shown"]])
            found[f"{name} seed {seed}"] = {
                "n_dev": len(dev), "n_eval": len(held),
                "chosen": {key: c[key] for key in ("k", "retriever", "chunk_size", "answer_in_passages", "reader_words")},
                "eval_chosen": chosen["answer_in_passages"], "eval_default": default["answer_in_passages"],
                "chosen_minus_default": {"difference": d.mean, "ci": [d.low, d.high], "a_only": d.a_only,
                                         "b_only": d.b_only, "mcnemar_p": d.p_value, "real": d.real}}
            print(f"{name:>14} seed {seed}: chose k={c['k']} {c['retriever']} {c['chunk_size']} on {len(dev)}; on the other "
                  f"{len(held)}: {chosen['answer_in_passages']:.2f} vs default {default['answer_in_passages']:.2f} "
                  f"({d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}]{', real' if d.real else ''})")
    path = ROOT / "results" / "compare_defaults.json"
    out = json.loads(path.read_text(encoding="utf-8"))
    out["select_on_dev"] = {"fraction": fraction, "rule": compare.pick_on_dev.__doc__.split("\n\n")[0], "runs": found}
    storage.atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("extract", "check", "choose", "summarize", "series", "readers", "select",
                                           "reader-grid", "timing"))
    parser.add_argument("--set", default="real_docs_dev", choices=sorted(SETS), help="the set `readers` runs on")
    parsed = parser.parse_args()
    step = parsed.step
    if step == "extract":
        extract()
    elif step == "check":
        for name in SETS:
            check(name)
    elif step == "summarize":
        summarize()
    elif step == "series":
        series()
    elif step == "readers":
        readers(parsed.set)
    elif step == "select":
        select_check()
    elif step == "reader-grid":
        reader_grid()
    elif step == "timing":
        timing()
    else:
        choose()


if __name__ == "__main__":
    main()
