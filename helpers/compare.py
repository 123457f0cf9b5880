"""Run the series' comparison on your own documents: closed-book vs RAG (vs fine-tuned, vs both).

    python -m helpers.compare --docs DIR --questions FILE.jsonl --out DIR [--train FILE.jsonl]
    make compare DOCS=DIR QUESTIONS=FILE.jsonl OUT=DIR [TRAIN=FILE.jsonl]

Same models, prompts, decoding, grading and intervals as the notebooks (``helpers.generation``,
``helpers.evaluate``): closed-book; RAG with the series' reader (top-``k`` passages); and, when
training pairs are given, a Q&A LoRA adapter (``helpers.finetune``, the notebooks' settings) alone
and with RAG. Documents are read by :mod:`helpers.documents` (Markdown, reStructuredText, HTML, text,
PDF; markup without content removed, NFKC as the grader normalizes) and chunked by section;
retrieval is dense, BM25 or hybrid (:mod:`helpers.lexical`), and every retriever is scored per
passage on the user's questions. With ``--select-on-dev``, k, retriever and chunk size are chosen on
a development part of the questions and every system is evaluated on the rest. ``--reader trained``
adds notebook 08's trained reader (:mod:`helpers.reader`) beside RAG, reading the same passages.
Every option is checked before any model loads, and the output's
staging folder is created first; a problem is one line naming the option, or the file and line,
with exit status 2. Results are written to that staging folder beside ``--out`` and moved into
place only when complete.

Written to ``--out``: ``results.json`` (every system's strict, lenient with its Wilson interval, F1,
abstentions, seconds per query, and the ceiling: how often the passages it read held an answer;
retrieval per passage for every retriever, document-level recall labelled so; chunks per document
and their sizes; the failing stage), ``answers.csv`` (one row per question: gold, each system's
answer and grade, retrieved sources), ``chart.png`` and ``report.md`` (what the numbers support: a
difference is called real by the series' one rule, ``Difference.real``: its paired interval
excludes zero and the exact McNemar test agrees; and which stage fails, in one sentence).
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from . import claims, corpus, documents, evaluate, generation, lexical, recipe, retrieval, storage
from .data import DataError, Document, Question, normalize_text, read_jsonl

if TYPE_CHECKING:  # pragma: no cover
    from .finetune import LoraSettings

CLOSED, RAG, FT, FT_RAG = "closed-book", "rag", "fine-tuned", "fine-tuned + rag"
TRAINED = "trained reader"   # --reader trained: notebook 08's reader adapter, with rag's passages
OUTPUT_FILES = ("results.json", "answers.csv", "chart.png", "report.md")
LONG_CHUNK_WORDS = 200   # longer chunks are flagged: the reader and the embedder see only their start
CHUNKINGS = (*retrieval.STRATEGIES, "section")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")   # one of them: a tokenizer was saved
RETRIEVERS = ("dense", "bm25", "hybrid")
READER_PASSAGES = ("chunk", "body")
# The command's retrieval defaults, chosen by answer-in-passages on a development set of real
# documentation (.ci/real_docs_devset.py, results/compare_defaults.json; README "Your own documents").
# The notebooks keep their own (paragraph chunks, dense retrieval).
DEFAULT_CHUNKING = "section"
DEFAULT_CHUNK_SIZE = 120
DEFAULT_RETRIEVER = "bm25"
# Comparisons the report states, system A minus system B (those whose systems ran).
COMPARISONS = ((RAG, CLOSED), (FT, CLOSED), (RAG, FT), (FT_RAG, RAG), (FT_RAG, FT), (TRAINED, RAG))
# --select-on-dev: the settings searched on the development part (those not given on the command line)
SELECT_KS = (1, 2, 3, 5)
SELECT_CHUNK_SIZES = (60, 120, 200)
# ... showing the reader at most this many words per question (k x mean words per chunk) unless --k is
# given: answer-in-passages always favours more text, which the 135M reader reads no better (one
# passage was its best setting, .ci/reader_format_ablation.py) and which costs memory and time. With
# a cap of 300 words, --select-on-dev 0.5 on data/real_docs_dev chose k = 5 of 60-word chunks: 655
# prompt tokens, 13.5 s per answer, 4.3 GB, and 6 of the other 21 questions answered against 7 with
# the defaults (README, "Your own documents"). 150 words is about what the defaults show (k = 1 of
# 120-word section chunks: 93 words on average there, 261 prompt tokens, 1.8 s per answer, 2.9 GB).
SELECT_MAX_READER_WORDS = 150
SELECTED_OPTIONS = {"k": "--k", "retriever": "--retriever", "chunk_size": "--chunk-size"}


class UsageError(Exception):
    """A problem with the command line or the output folder (exit status 2)."""


@dataclass(frozen=True)
class Inputs:
    """Everything read from the user's files, already validated."""

    docs: list[Document]
    skipped: list[corpus.Skipped]
    questions: list[Question]            # the questions every system is evaluated on
    pairs: list[tuple[str, str]]
    dev_questions: list[Question] = dataclasses.field(default_factory=list)   # --select-on-dev's part


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.compare",
        description="Compare closed-book answers, RAG, and (with --train) LoRA fine-tuning and "
                    "fine-tuning + RAG on your own documents, with the models, prompts, grading and "
                    "intervals of the notebook series. Runs offline on a CPU.",
        epilog="Example: python -m helpers.compare --docs data/sample_corpus/docs "
               "--questions data/sample_corpus/questions.jsonl --out /tmp/sample-run",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    io_group = parser.add_argument_group("inputs and output")
    io_group.add_argument("--docs", required=True, type=Path, metavar="DIR",
                          help="folder of .md, .txt, .rst, .html and .pdf files (subfolders included); "
                               "markup without content (tags, badges, link targets, directives) is removed, "
                               "code blocks are kept as text; a document's id is its path inside DIR, its title "
                               "the first heading or the file name")
    io_group.add_argument("--questions", required=True, type=Path, metavar="FILE.jsonl",
                          help='evaluation questions, one JSON object per line: {"question": "...", '
                               '"answers": ["...", ...]} with optional "id" and "doc" (the file that '
                               'holds the answer, for retrieval recall)')
    io_group.add_argument("--train", type=Path, metavar="FILE.jsonl",
                          help='training pairs {"question": "...", "answer": "..."}; adds the fine-tuned '
                               "and fine-tuned + rag systems. A pair that repeats an evaluation "
                               "question word for word is refused")
    io_group.add_argument("--out", required=True, type=Path, metavar="DIR",
                          help="output folder; must not exist or be empty (see --overwrite)")
    io_group.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    rag = parser.add_argument_group("retrieval (the notebooks' defaults)")
    rag.add_argument("--k", type=int, default=recipe.K,
                     help="passages given to the reader (chosen on training wordings in notebook 00)")
    rag.add_argument("--chunking", choices=CHUNKINGS, default=DEFAULT_CHUNKING,
                     help="section: blocks of one section (paragraphs, lists, tables, code) merged up to "
                          "--chunk-size words, each chunk headed by its heading path; paragraph: blank-line "
                          "separated (the notebooks'); words: windows of --chunk-size words; document: whole files")
    rag.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                     help="most words per chunk (section), words per window (words), and the window that cuts "
                          "over-long blocks and paragraphs")
    rag.add_argument("--chunk-overlap", type=int, default=20, help="overlap in words between windows")
    rag.add_argument("--retriever", choices=RETRIEVERS, default=DEFAULT_RETRIEVER,
                     help="dense: the embedder and a FAISS index (the notebooks'); bm25: word matching, strong on "
                          "identifiers, versions and option names; hybrid: both, fused by reciprocal rank. "
                          "The report gives every retriever's answer-in-passages either way")
    rag.add_argument("--select-on-dev", type=float, default=None, metavar="FRACTION",
                     help="split the questions (seeded, by question id) into a development part of this share and "
                          "an evaluation part; choose --k (from 1, 2, 3, 5), --retriever and --chunk-size (from 60, "
                          "120, 200) on the development part by answer-in-passages (no generation; unless --k is given, "
                          f"among settings showing the reader at most {SELECT_MAX_READER_WORDS} words), and report every "
                          "system on the evaluation part only. Options given on the command line are kept, not searched")
    rag.add_argument("--split-seed", type=int, default=0, help="seed of the --select-on-dev split")
    models_group = parser.add_argument_group("models (built-in names, a local folder, or a Hugging Face id)")
    models_group.add_argument("--generator", default=None,
                              help="generator (default: RAGFT_GENERATOR or smollm2-135m-instruct)")
    models_group.add_argument("--embedder", default=None,
                              help="embedder (default: RAGFT_EMBEDDER or all-minilm-l6-v2)")
    models_group.add_argument("--reader-passages", choices=READER_PASSAGES, default="chunk",
                              help="what a reader is shown of each retrieved passage: chunk: the chunk as indexed "
                                   "(its first line is the heading path or the document title); body: the chunk "
                                   "without that first line (retrieval is unchanged)")
    models_group.add_argument("--reader", choices=("base", "trained"), default="base",
                              help="trained: also answer with notebook 08's trained reader (a LoRA adapter trained "
                                   "once on the series' knowledge base to answer from passages, RAFT-style; cached, "
                                   "and reused on any corpus), reading the same passages as rag, reported beside it "
                                   "with the paired test. Trained for the --generator in use (about 3 minutes on 2 "
                                   "cores the first time; the series' generator reuses notebook 08's cached adapter)")
    ft = parser.add_argument_group("fine-tuning (with --train; the notebooks' LoRA settings)")
    # float(): --epochs 6 on the command line is the float 6.0, and so is the default (the adapter
    # cache key hashes the value's JSON form, where 6 and 6.0 differ)
    ft.add_argument("--epochs", type=float, default=float(recipe.QA_SETTINGS.epochs),
                    help="training epochs over the pairs")
    ft.add_argument("--learning-rate", type=float, default=recipe.QA_SETTINGS.learning_rate, help="LoRA learning rate")
    ft.add_argument("--seed", type=int, default=recipe.QA_SETTINGS.seed, help="training seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


# --------------------------------------------------------------------------------------------------
# inputs

def read_inputs(args: argparse.Namespace) -> Inputs:
    """Read and check documents, questions and training pairs (raises DataError); training pairs
    are tokenized here, so one too long to train on is reported before any model runs."""
    docs, skipped = documents.read_folder(args.docs)
    check_answers(args.questions)
    questions = corpus.read_questions(args.questions, docs)
    pairs: list[tuple[str, str]] = []
    if args.train:
        from . import finetune, models

        try:
            tokenizer = models.load_tokenizer(args.generator)
        except (OSError, ValueError) as exc:   # a hub id that cannot be fetched, an unreadable tokenizer
            raise UsageError(f"--generator {args.generator or 'RAGFT_GENERATOR'}: cannot load its tokenizer "
                             f"({' '.join(str(exc).split())[:300]})") from None
        pairs = corpus.read_training(args.train, questions,
                                     check=lambda q, a: finetune.qa_examples([(q, a)], tokenizer))
    if args.select_on_dev is None:
        return Inputs(docs, skipped, questions, pairs)
    dev, held = split_questions(questions, args.select_on_dev, args.split_seed)
    if not dev or not held:
        raise UsageError(f"--select-on-dev {args.select_on_dev:g} splits the {len(questions)} questions into "
                         f"{len(dev)} for development and {len(held)} for evaluation; both need at least one "
                         "(choose a share nearer 0.5, or add questions)")
    return Inputs(docs, skipped, held, pairs, dev)


def split_questions(questions: Sequence[Question], fraction: float,
                    seed: int) -> tuple[list[Question], list[Question]]:
    """``(development, evaluation)``: ``round(fraction * n)`` questions for development, chosen by the
    SHA-256 of ``"<seed>:<question id>"`` (the same ids and seed give the same split on any machine,
    whatever the file order); both parts keep the file's order."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1 (exclusive), got {fraction}")
    ranked = sorted(questions, key=lambda q: hashlib.sha256(f"{seed}:{q.qid}".encode()).hexdigest())
    dev_ids = {q.qid for q in ranked[:round(fraction * len(questions))]}
    return [q for q in questions if q.qid in dev_ids], [q for q in questions if q.qid not in dev_ids]


def explicit_options(argv: Sequence[str] | None) -> set[str]:
    """Which of :data:`SELECTED_OPTIONS` (``k``, ``retriever``, ``chunk_size``) the command line
    gives (``--select-on-dev`` keeps those and searches the others)."""
    not_given = object()   # not a string: argparse would run a string default through the option's type
    probe = build_parser()
    probe.set_defaults(**{dest: not_given for dest in SELECTED_OPTIONS})
    parsed = probe.parse_args(argv)
    return {dest for dest in SELECTED_OPTIONS if getattr(parsed, dest) is not not_given}


def selection_grid(args: argparse.Namespace) -> dict[str, tuple[Any, ...]]:
    """The values ``--select-on-dev`` tries for each of :data:`SELECTED_OPTIONS`: one value, the
    given one, for an option on the command line (``args.fixed_options``); chunk sizes at or below
    ``--chunk-overlap`` are left out (120 and 200 never are: the overlap is below --chunk-size's
    default, 120, or --chunk-size was given), and document chunking has no size to choose."""
    fixed = getattr(args, "fixed_options", set())
    sizes: tuple[int, ...] = (args.chunk_size,)
    if "chunk_size" not in fixed and args.chunking != "document":
        sizes = tuple(size for size in SELECT_CHUNK_SIZES if size > args.chunk_overlap)
    return {"k": (args.k,) if "k" in fixed else SELECT_KS,
            "retriever": (args.retriever,) if "retriever" in fixed else RETRIEVERS,
            "chunk_size": sizes}


def data_warnings(inputs: Inputs) -> list[str]:
    """Things that are allowed but change what the numbers mean (printed and in the report)."""
    from . import finetune

    out = []
    texts = [d.text.lower() for d in inputs.docs]
    missing = [q.qid for q in inputs.questions if not any(a.lower() in t for a in q.answers for t in texts)]
    if missing:
        out.append(f"{len(missing)} question(s) have no accepted answer written word for word in any document "
                   f"({', '.join(missing[:8])}{'...' if len(missing) > 8 else ''}): check their answers' wording")
    if inputs.pairs:
        trained = " ".join(a.lower() for _, a in inputs.pairs)
        inside = [q.qid for q in inputs.questions if any(a.lower() in trained for a in q.answers)]
        if inside:
            out.append(f"{len(inside)} of {len(inputs.questions)} evaluation questions have an accepted answer among "
                       "the training answers: on those, the fine-tuned systems were taught the fact (reworded), "
                       "the best case for fine-tuning")
    near = [(q.qid, tq) for q in inputs.questions for tq, _ in inputs.pairs
            if finetune.jaccard(q.text, tq) >= finetune.NEAR_COPY_JACCARD]
    if near:
        out.append(f"{len(near)} training question(s) are near-copies of evaluation questions (token Jaccard >= "
                   f"{finetune.NEAR_COPY_JACCARD}), e.g. {near[0][1]!r} ~ {near[0][0]}: the fine-tuned scores "
                   "then measure recall of trained wordings")
    return out


def _finite_positive(value: float, option: str) -> None:
    """Refuse ``nan``, ``inf`` and values <= 0 (argparse's ``float`` accepts all three)."""
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option} must be a finite number above 0, got {value}")


def check_model(name: str | None, option: str, kind: str) -> None:
    """Check that a model name can be loaded, without loading it (raises UsageError naming ``option``).

    ``kind`` is ``generator`` or ``embedder``; ``name`` None means the setting
    ``RAGFT_GENERATOR``/``RAGFT_EMBEDDER`` (or its default). A built-in needs its package installed;
    a local folder needs the ``config.json`` that ``save_pretrained`` writes; a Hugging Face id
    (``org/name``) with ``HF_HUB_OFFLINE`` set needs to be in the local Hugging Face cache already.
    """
    from . import config, models

    builtins = models.BUILTIN_GENERATORS if kind == "generator" else models.BUILTIN_EMBEDDERS
    if name is None:
        name = config.generator_name() if kind == "generator" else config.embedder_name()
        option = f"RAGFT_{kind.upper()} (the default {option})"
    if name in builtins:
        try:
            models.package_file(builtins[name], name)
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise UsageError(f"{option} {name}: {exc}") from None
        return
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise UsageError(f"{option} {name}: the folder holds no config.json; give a folder written by "
                             "save_pretrained (a Hugging Face model folder)")
        if kind == "generator" and not any((folder / f).is_file() for f in TOKENIZER_FILES):
            raise UsageError(f"{option} {name}: the folder holds no tokenizer ({', '.join(TOKENIZER_FILES)}); "
                             "save the tokenizer beside the model (tokenizer.save_pretrained)")
        return
    parts = name.split("/")
    if len(parts) != 2 or not all(parts) or name.startswith((".", "/", "~")):
        raise UsageError(f"{option} {name}: no such folder, not a built-in {kind} ({', '.join(sorted(builtins))}) "
                         "and not a Hugging Face id of the form org/name")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name, "config.json"), str):
            raise UsageError(f"{option} {name}: not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
                             "download it once with the network on, or give a local folder")


def check_options(args: argparse.Namespace) -> None:
    """Refuse options that cannot work (raises UsageError), before any file is read or model loaded:
    numbers out of range, models that cannot be found, an output folder that would replace an
    input or someone's files."""
    if args.k < 1:
        raise UsageError(f"--k must be at least 1, got {args.k}")
    if args.chunk_size < 1:
        raise UsageError(f"--chunk-size must be at least 1 word, got {args.chunk_size}")
    # paragraph chunking also cuts over-long paragraphs into --chunk-size windows (make_chunks), and
    # section chunking splits long blocks so: the overlap matters for every strategy but document
    if args.chunking != "document" and not 0 <= args.chunk_overlap < args.chunk_size:
        raise UsageError(f"--chunk-overlap must be at least 0 and below --chunk-size, got --chunk-overlap "
                         f"{args.chunk_overlap} with --chunk-size {args.chunk_size}")
    if args.select_on_dev is not None:
        if not (math.isfinite(args.select_on_dev) and 0 < args.select_on_dev < 1):
            raise UsageError(f"--select-on-dev must be a share between 0 and 1 (e.g. 0.3), got {args.select_on_dev}")
    if not 0 <= args.split_seed < 2 ** 32:
        raise UsageError(f"--split-seed must be between 0 and 2**32 - 1, got {args.split_seed}")
    _finite_positive(args.epochs, "--epochs")
    _finite_positive(args.learning_rate, "--learning-rate")
    if not 0 <= args.seed < 2 ** 32:
        raise UsageError(f"--seed must be between 0 and 2**32 - 1, got {args.seed}")
    check_model(args.generator, "--generator", "generator")
    check_model(args.embedder, "--embedder", "embedder")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not args.overwrite:
            raise UsageError(f"--out {out}: folder exists and is not empty; choose another --out or pass --overwrite")
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES)
        if foreign:
            raise UsageError(f"--out {out}: --overwrite replaces only an earlier output folder, and this one also holds "
                             f"{', '.join(foreign[:5])}")
    for given, name in ((args.docs, "--docs"), (args.questions, "--questions"), (args.train, "--train")):
        if given is not None and out.resolve() in (given.resolve(), *given.resolve().parents):
            raise UsageError(f"--out {out} would replace the {name} input")
    if args.docs.resolve() in out.resolve().parents:
        raise UsageError(f"--out {out} is inside --docs: a later run would index the report")


def make_staging(out: Path) -> Path:
    """Create the empty folder the outputs are written to before they replace ``out`` (beside it,
    so the final move is a rename); raises UsageError naming --out when that is not possible."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc}); choose a folder you can "
                         "write to") from None


def check_answers(path: Path) -> None:
    """Refuse an accepted answer that grading would reduce to nothing, with a message a user can act
    on (raises DataError naming file and line). Grading (``helpers.grading``) lower-cases, drops
    punctuation and English articles: "the" or "!!" would match every reply or none."""
    for line, record in read_jsonl(path):
        answers = record.get("answers")
        if not isinstance(answers, list):
            continue   # corpus.read_questions names that problem
        for answer in answers:
            if not isinstance(answer, str):
                raise DataError(path, f"answer {answer!r} is a {type(answer).__name__}; write every answer as a "
                                      'string, e.g. "answers": ["42"]', line)
            if normalize_text(answer):
                continue
            if normalize_text(answer, articles=True):
                raise DataError(path, f"answer {answer!r} has no content word left after normalization (articles "
                                      "and punctuation are ignored in grading); give the answer itself", line)
            raise DataError(path, f"answer {answer!r} has no letter or digit (punctuation and spaces are ignored "
                                  "in grading); give the answer itself", line)


# --------------------------------------------------------------------------------------------------
# running

def passage_scores(questions: Sequence[Question], ranked: Sequence[Sequence[retrieval.Passage]],
                   k: int) -> dict[str, Any]:
    """Retrieval scored per passage, as the reader sees it.

    A passage is *relevant* when it holds an accepted answer (the grader's containment,
    :func:`helpers.grading.contains_answer`) and, for a question that names its ``doc``, comes from
    that document. ``answer_in_passages``: an accepted answer is in the top ``k`` (from any
    document): how often the reader was shown an answer, the ceiling of its accuracy.
    ``recall@1``/``recall@k``: a relevant passage is first / in the top ``k``; ``mrr``: mean
    reciprocal rank of the first relevant passage within the ranking given (0 when none is).
    """
    def relevant(q: Question, p: retrieval.Passage) -> bool:
        return (not q.doc_ids or p.doc_id in q.doc_ids) and evaluate.contains_answer(p.text, q.answers)

    n = len(questions)
    marks = [[relevant(q, p) for p in hits] for q, hits in zip(questions, ranked, strict=True)]
    shown = [any(evaluate.contains_answer(p.text, q.answers) for p in hits[:k])
             for q, hits in zip(questions, ranked, strict=True)]
    return {"answer_in_passages": sum(shown) / n,
            "recall@1": sum(m[:1] == [True] for m in marks) / n,
            "recall@k": sum(any(m[:k]) for m in marks) / n,
            "mrr": sum(next((1 / r for r, hit in enumerate(m, 1) if hit), 0.0) for m in marks) / n,
            "shown": shown}


def document_scores(questions: Sequence[Question], ranked: Sequence[Sequence[retrieval.Passage]],
                    k: int) -> dict[str, Any]:
    """Document-level recall@1 and @k (distinct documents in rank order) on the questions that name
    their ``doc``: whether the right *file* was found, not whether the reader saw the answer."""
    with_doc = [(q, h) for q, h in zip(questions, ranked, strict=True) if q.doc_ids]
    out: dict[str, Any] = {"questions_with_doc": len(with_doc)}
    for name, at in (("recall@1", 1), ("recall@k", k)):
        out[name] = (sum(evaluate.recall_at_k(evaluate.dedupe([p.doc_id for p in h]), q.doc_ids, at)
                         for q, h in with_doc) / len(with_doc)) if with_doc else None
    return out


def make_chunks(docs: Sequence[Document], args: argparse.Namespace, log: Any = print) -> list[retrieval.Chunk]:
    """Chunks by ``--chunking``: ``section`` (:func:`helpers.documents.section_chunks`) or the
    notebooks' strategies; with ``paragraph``, a document whose paragraphs run past
    LONG_CHUNK_WORDS (PDF text has few blank lines) is cut into --chunk-size word windows instead:
    the embedder reads only its first 256 tokens of a chunk."""
    if args.chunking == "section":
        return documents.section_chunks(docs, size=args.chunk_size, overlap=args.chunk_overlap)
    chunks = retrieval.chunk_documents(docs, args.chunking, size=args.chunk_size, overlap=args.chunk_overlap)
    if args.chunking != "paragraph":
        return chunks
    long_docs = {c.doc_id for c in chunks if len(c.text.split()) > LONG_CHUNK_WORDS}
    if not long_docs:
        return chunks
    log(f"note: {len(long_docs)} document(s) have paragraphs over {LONG_CHUNK_WORDS} words "
        f"(e.g. {sorted(long_docs)[0]}); they are cut into {args.chunk_size}-word windows instead")
    windows = retrieval.chunk_documents([d for d in docs if d.doc_id in long_docs], "words",
                                        size=args.chunk_size, overlap=args.chunk_overlap)
    return [c for c in chunks if c.doc_id not in long_docs] + windows


def retrieval_report(questions: Sequence[Question], retrievers: dict[str, lexical.Retriever],
                     chosen: str, k: int) -> tuple[dict[str, Any], dict[str, list[list[retrieval.Passage]]]]:
    """Every retriever's passage-level scores on the questions (no generation needed), and the
    chosen one's document-level recall; returns them with each retriever's ranking."""
    texts = [q.text for q in questions]
    depth = max(3 * k, 10)   # MRR looks this deep; more than k, so recall@k counts k distinct documents
    ranked = {name: r.search_many(texts, k=min(len(r), depth)) for name, r in retrievers.items()}
    per = {name: passage_scores(questions, hits, k) for name, hits in ranked.items()}
    out = {"k": k, "retriever": chosen, "depth": depth,
           "answer_in_passages": per[chosen]["answer_in_passages"],
           "passage_level": {name: {key: v for key, v in sc.items() if key != "shown"} for name, sc in per.items()},
           "document_level": document_scores(questions, ranked[chosen], k)}
    return out, ranked


def run(inputs: Inputs, args: argparse.Namespace, log: Any = print) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Answer every question with every system; returns (results, one row per question).

    The steps: with a development part (``--select-on-dev``), choose k, retriever and chunk size on
    it (:func:`select_on_dev`); chunk and index (:func:`build_retrievers`); score every retriever per passage
    (:func:`retrieval_report`); answer closed-book and with RAG (:func:`answer_base`); with training
    pairs, train the adapter and answer with it, alone and with RAG (:func:`answer_fine_tuned`);
    grade; summarize each system (:func:`summarize_systems`) and compare them in pairs
    (:func:`compare_systems`); name the failing stage (:func:`failing_stage`); one row per question
    (:func:`answer_rows`).
    """
    from . import models

    began = time.perf_counter()
    questions, texts = inputs.questions, [q.text for q in inputs.questions]
    log(f"{len(inputs.docs)} documents, {len(questions)} questions"
        + (f", {len(inputs.pairs)} training pairs" if inputs.pairs else ""))
    generator, tokenizer = models.load_generator(args.generator)
    embedder = models.load_embedder(args.embedder)
    selection: dict[str, Any] | None = None
    if inputs.dev_questions:
        selection, built = select_on_dev(inputs.docs, inputs.dev_questions, args, embedder, log)
        args = argparse.Namespace(**{**vars(args), **{key: selection["chosen"][key] for key in SELECTED_OPTIONS}})
        retrievers, chunks, index_seconds = built
    else:
        retrievers, chunks, index_seconds = build_retrievers(inputs.docs, args, log, embedder=embedder)
    index = retrievers[args.retriever]
    retrieval_results, _ = retrieval_report(questions, retrievers, args.retriever, args.k)
    if getattr(args, "reader_passages", "chunk") == "body":
        index = BodyOnly(index)
    answers, passages = answer_base(generator, tokenizer, index, texts, args)
    n_layers = generator.config.num_hidden_layers
    if inputs.pairs or args.reader == "trained":
        # one generator in memory at a time: training (or loading) an adapter loads its own copy
        generator = None
        models.clear_cache()
    training: dict[str, Any] | None = None
    if inputs.pairs:
        training = answer_fine_tuned(inputs.pairs, n_layers, tokenizer, index, texts, args, answers, passages)
    trained_reader: dict[str, Any] | None = None
    if args.reader == "trained":
        trained_reader = answer_trained_reader(n_layers, tokenizer, index, texts, args, answers, passages)
    warnings = data_warnings(inputs) + reader_warnings(questions, trained_reader)
    if trained_reader:
        del trained_reader["training_questions"]
    graded = {name: evaluate.grade(questions, replies) for name, replies in answers.items()}
    stages = [evaluate.error_stage(r, [p.text for p in h], q.answers)
              for r, h, q in zip(graded[RAG], passages[RAG], questions, strict=True)]
    systems, comparisons = summarize_systems(graded, answers), compare_systems(graded)
    for name in systems:
        if name in passages:   # the reader's ceiling: how often the passages it saw held an answer
            shown = [evaluate.contains_answer("\n".join(p.text for p in h), q.answers)
                     for h, q in zip(passages[name], questions, strict=True)]
            systems[name]["ceiling"] = sum(shown) / len(shown)
            used = [g.contains for g, s in zip(graded[name], shown, strict=True) if s]
            systems[name]["used_when_shown"] = sum(used) / len(used) if used else None
    retrieval_results["rag_error_stages"] = {st: stages.count(st) for st in evaluate.ERROR_STAGES}
    results = {"n_questions": len(questions), "n_documents": len(inputs.docs), "n_chunks": len(chunks),
               "seconds": round(time.perf_counter() - began, 1), "index_seconds": round(index_seconds, 2),
               "chunks": documents.chunk_stats(chunks, LONG_CHUNK_WORDS),
               "systems": systems, "comparisons": comparisons,
               "retrieval": retrieval_results,
               "warnings": warnings,
               "training": training,
               "trained_reader": trained_reader,
               "settings": {"k": args.k, "chunking": args.chunking, "chunk_size": args.chunk_size,
                            "chunk_overlap": args.chunk_overlap, "retriever": args.retriever, "reader": args.reader,
                            "reader_passages": getattr(args, "reader_passages", "chunk"),
                            "generator": models.generator_path(args.generator),
                            "embedder": models.embedder_path(args.embedder), "system_prompt": generation.SYSTEM_PROMPT},
               "skipped_files": [str(s.path) for s in inputs.skipped],
               "selection": selection}
    results["failing_stage"] = failing_stage(results)
    return results, answer_rows(questions, answers, graded, stages, passages[RAG])


class BodyOnly:
    """A retriever whose passages show a reader each chunk without its first line (the heading path
    of a section chunk, the document title of the notebooks' chunks): the ranking is the wrapped
    retriever's; a chunk with nothing after its first line is shown whole (``--reader-passages body``)."""

    def __init__(self, index: lexical.Retriever) -> None:
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def search_many(self, queries: Sequence[str], k: int = 3) -> list[list[retrieval.Passage]]:
        return [[body_only(p) for p in hits] for hits in self.index.search_many(queries, k=k)]


def body_only(passage: retrieval.Passage) -> retrieval.Passage:
    """``passage`` with its chunk's first line removed (kept whole when nothing follows it)."""
    body = passage.chunk.text.partition("\n")[2].strip()
    chunk = dataclasses.replace(passage.chunk, text=body) if body else passage.chunk
    return retrieval.Passage(chunk, passage.score, passage.rank)


Built = tuple[dict[str, lexical.Retriever], list[retrieval.Chunk], float]


def build_retrievers(docs: Sequence[Document], args: argparse.Namespace,
                     log: Any = print, embedder: Any = None) -> Built:
    """Chunk ``docs`` (:func:`make_chunks`) and index the chunks three ways (dense, BM25, hybrid)
    with ``embedder`` (loaded from ``--embedder`` when None); returns the retrievers by name, the
    chunks and the seconds indexing took."""
    from . import models

    if embedder is None:
        embedder = models.load_embedder(args.embedder)
    chunks = make_chunks(docs, args, log)
    start = time.perf_counter()
    dense = retrieval.VectorIndex.build(embedder, chunks, show_progress=not args.quiet)
    bm25 = lexical.BM25Index(chunks)
    retrievers: dict[str, lexical.Retriever] = {"dense": dense, "bm25": bm25,
                                                "hybrid": lexical.HybridIndex(dense, bm25)}
    return retrievers, chunks, time.perf_counter() - start


def select_on_dev(docs: Sequence[Document], dev: Sequence[Question], args: argparse.Namespace, embedder: Any,
                  log: Any = print) -> tuple[dict[str, Any], Built]:
    """Choose k, retriever and chunk size (those not fixed on the command line: :func:`selection_grid`)
    on the development questions ``dev`` by answer-in-passages (retrieval only, no generation).

    Every combination is scored; the choice (:func:`pick_on_dev`) is the one that shows the reader
    the fewest words among those within one standard error of the best answer-in-passages. Unless
    ``--k`` is given, only settings showing the reader at most :data:`SELECT_MAX_READER_WORDS` words
    are eligible (when none is, the one showing the fewest words is taken); every row is reported.
    Returns what the report says about the choice, and the retrievers built for the chosen chunk
    size (reused for the evaluation part).
    """
    grid = selection_grid(args)
    texts = [q.text for q in dev]
    rows: list[dict[str, Any]] = []
    built: dict[int, Built] = {}
    began = time.perf_counter()
    for size in grid["chunk_size"]:
        built[size] = build_retrievers(docs, argparse.Namespace(**{**vars(args), "chunk_size": size}), log,
                                       embedder=embedder)
        retrievers, chunks, _ = built[size]
        mean_words = sum(len(c.text.split()) for c in chunks) / len(chunks)
        for name in grid["retriever"]:
            ranked = retrievers[name].search_many(texts, k=min(len(retrievers[name]), max(grid["k"])))
            for k in grid["k"]:
                sc = passage_scores(dev, ranked, k)
                rows.append({"chunk_size": size, "retriever": name, "k": k, "n_chunks": len(chunks),
                             "answer_in_passages": sc["answer_in_passages"], "hits": sum(sc["shown"]),
                             "mrr": sc["mrr"], "reader_words": round(k * mean_words, 1)})
    fixed_k = "k" in getattr(args, "fixed_options", set())
    for row in rows:
        row["eligible"] = fixed_k or row["reader_words"] <= SELECT_MAX_READER_WORDS
    eligible = [r for r in rows if r["eligible"]] or [min(rows, key=lambda r: r["reader_words"])]
    chosen = pick_on_dev(eligible, len(dev))
    log(f"chose on {len(dev)} development questions: --k {chosen['k']} --retriever {chosen['retriever']} "
        f"--chunk-size {chosen['chunk_size']} (answer in passages {chosen['answer_in_passages']:.2f})")
    selection = {"fraction": args.select_on_dev, "split_seed": args.split_seed, "n_dev": len(dev),
                 "dev_ids": [q.qid for q in dev], "searched": {key: list(v) for key, v in grid.items()},
                 "rule": "among the settings within one standard error of the best answer-in-passages (sqrt(p(1-p)/n) "
                         "for the best share p on the n development questions), the one showing the reader the "
                         "fewest words (k x mean words per chunk)"
                         + ("" if fixed_k else f", of those showing it at most {SELECT_MAX_READER_WORDS} words")
                         + "; retrieval only, no generation",
                 "chosen": chosen, "seconds": round(time.perf_counter() - began, 1), "rows": rows}
    return selection, built[chosen["chunk_size"]]


def pick_on_dev(rows: Sequence[dict[str, Any]], n: int) -> dict[str, Any]:
    """The one-standard-error rule (Hastie, Tibshirani and Friedman 2009, *The Elements of
    Statistical Learning*, section 7.10) on answer-in-passages: among the rows whose
    ``answer_in_passages`` is within one standard error of the best (``sqrt(p (1 - p) / n)``, ``p``
    the best share, ``n`` development questions), the one showing the reader the fewest words
    (``reader_words``); ties go to the higher answer-in-passages, then MRR, then the order of
    ``rows``. Answer-in-passages alone always favours the largest k; the 135M reader is distracted by
    more text (``.ci/reader_format_ablation.py``), so among settings the development questions
    cannot tell apart, the shortest input is taken."""
    if not rows or n < 1:
        raise ValueError(f"need rows and n >= 1, got {len(rows)} rows and n={n}")
    best = max(r["answer_in_passages"] for r in rows)
    margin = math.sqrt(best * (1 - best) / n)
    near = [r for r in rows if r["answer_in_passages"] >= best - margin - 1e-12]
    return dict(min(near, key=lambda r: (r["reader_words"], -r["answer_in_passages"], -r["mrr"])))


def answer_base(generator: Any, tokenizer: Any, index: lexical.Retriever, texts: Sequence[str],
                args: argparse.Namespace) -> tuple[dict[str, list[generation.Answer]],
                                                   dict[str, list[list[retrieval.Passage]]]]:
    """The base model's answers closed-book and with the top ``--k`` passages; returns the answers
    and the passages each RAG answer read, by system name."""
    progress = not args.quiet
    answers: dict[str, list[generation.Answer]] = {}
    passages: dict[str, list[list[retrieval.Passage]]] = {}
    answers[CLOSED] = generation.answer_closed_book(generator, tokenizer, texts, progress=_label(CLOSED, progress))
    answers[RAG], passages[RAG] = generation.answer_with_rag(generator, tokenizer, index, texts,  # type: ignore[arg-type]
                                                             k=args.k, progress=_label(RAG, progress))
    return answers, passages


def fine_tuning_settings(args: argparse.Namespace, n_layers: int) -> "LoraSettings":
    """The series' Q&A LoRA recipe (:data:`helpers.recipe.QA_SETTINGS`) with the command line's
    epochs, learning rate and seed, adapting the top layers the recipe names, or all ``n_layers``
    of a smaller model."""
    from dataclasses import replace

    return replace(recipe.QA_SETTINGS, epochs=args.epochs, learning_rate=args.learning_rate, seed=args.seed,
                   top_layers=min(recipe.QA_SETTINGS.top_layers or n_layers, n_layers))


def answer_fine_tuned(pairs: Sequence[tuple[str, str]], n_layers: int, tokenizer: Any,
                      index: lexical.Retriever, texts: Sequence[str], args: argparse.Namespace,
                      answers: dict[str, list[generation.Answer]],
                      passages: dict[str, list[list[retrieval.Passage]]]) -> dict[str, Any]:
    """Train (or load from the cache) a Q&A adapter on ``pairs`` for the generator (``n_layers``: its
    layer count) and add its answers, alone and with RAG, to ``answers`` and ``passages``; returns
    what the report says about the training."""
    from . import finetune

    progress = not args.quiet
    settings = fine_tuning_settings(args, n_layers)
    examples = finetune.qa_examples(pairs, tokenizer)
    run_ = finetune.train_lora("qa", examples, settings, generator=args.generator, progress=progress)
    training = {"pairs": len(pairs), "epochs": settings.epochs, "learning_rate": settings.learning_rate,
                "seed": settings.seed, "supervised_tokens_per_epoch": run_.n_tokens,
                "train_seconds": round(run_.train_seconds, 1), "cached": run_.cached,
                "final_loss": run_.losses[-1], "adapter": str(run_.adapter_dir)}
    answers[FT] = generation.answer_closed_book(run_.model, tokenizer, texts, progress=_label(FT, progress))
    answers[FT_RAG], passages[FT_RAG] = generation.answer_with_rag(run_.model, tokenizer, index,  # type: ignore[arg-type]
                                                                   texts, k=args.k,
                                                                   progress=_label(FT_RAG, progress))
    return training


def answer_trained_reader(n_layers: int, tokenizer: Any, index: lexical.Retriever, texts: Sequence[str],
                          args: argparse.Namespace, answers: dict[str, list[generation.Answer]],
                          passages: dict[str, list[list[retrieval.Passage]]]) -> dict[str, Any]:
    """Notebook 08's trained reader: its training examples (:func:`helpers.reader.series_reader_examples`,
    distractors chosen with the series' embedder whatever ``--embedder`` is) and settings
    (:func:`helpers.reader.series_reader_settings`; ``n_layers``: the generator's layer count),
    trained on ``--generator`` or loaded from the
    adapter cache (notebook 08's own entry for the series' generator); adds its answers, from the
    same top ``--k`` passages and reply budget as rag, to ``answers`` and ``passages``; returns what
    the report says about it."""
    from . import finetune, models, reader

    progress = not args.quiet
    items = reader.series_reader_items(models.load_embedder())
    examples = reader.reader_examples(items, tokenizer)
    settings = reader.series_reader_settings(n_layers)
    run_ = finetune.train_lora("qa", examples, settings, generator=args.generator, progress=progress)
    answers[TRAINED], passages[TRAINED] = generation.answer_with_rag(run_.model, tokenizer, index,  # type: ignore[arg-type]
                                                                     texts, k=args.k,
                                                                     progress=_label(TRAINED, progress))
    return {"arm": reader.SERIES_READER_ARM, "examples": len(examples), "epochs": settings.epochs,
            "distractors": reader.SERIES_READER_DISTRACTORS, "keep_gold": reader.SERIES_READER_KEEP_GOLD,
            "train_seconds": round(run_.train_seconds, 1), "cached": run_.cached, "adapter": str(run_.adapter_dir),
            "training_questions": [i.question for i in items]}   # for reader_warnings; not written


def reader_warnings(questions: Sequence[Question], trained_reader: dict[str, Any] | None) -> list[str]:
    """Evaluation questions that nearly copy a question the trained reader was trained on."""
    from . import finetune

    if not trained_reader:
        return []
    near = [q.qid for q in questions
            if any(finetune.jaccard(q.text, t) >= finetune.NEAR_COPY_JACCARD for t in trained_reader["training_questions"])]
    if not near:
        return []
    return [f"{len(near)} evaluation question(s) are near-copies of the trained reader's training questions (token "
            f"Jaccard >= {finetune.NEAR_COPY_JACCARD}), e.g. {near[0]}: are you evaluating on the series' knowledge base?"]


def summarize_systems(graded: dict[str, list[evaluate.Graded]],
                      answers: dict[str, list[generation.Answer]]) -> dict[str, dict[str, Any]]:
    """Each system's shares (lenient with its Wilson interval, strict, F1, abstained), hedged
    replies, and mean seconds, prompt tokens and reply tokens per query."""
    systems = {}
    for name, rows in graded.items():
        s = evaluate.summarize(rows)
        systems[name] = {"lenient": s["contains"].mean, "strict": s["exact"].mean, "f1": s["f1"].mean,
                         "lenient_ci": [s["contains"].low, s["contains"].high],
                         "abstained": s["abstained"].mean, "hedged": sum(r.hedged for r in rows),
                         "seconds_per_query": sum(a.seconds for a in answers[name]) / len(rows),
                         "prompt_tokens": sum(a.prompt_tokens for a in answers[name]) / len(rows),
                         "reply_tokens": sum(a.new_tokens for a in answers[name]) / len(rows)}
    return systems


def compare_systems(graded: dict[str, list[evaluate.Graded]]) -> dict[str, dict[str, Any]]:
    """The paired comparisons of :data:`COMPARISONS` whose two systems ran, keyed ``"a - b"``.

    The comparisons of one report are one family, as a notebook's are (:class:`helpers.claims.Family`):
    Holm-corrected together, and real only by the series' rule after the correction
    (:meth:`helpers.claims.Family.real`); no rule of the command's own."""
    family = claims.Family()
    for a, b in COMPARISONS:
        if a in graded and b in graded:
            # the user's question ids are not the series' facts: each question is its own unit
            family.add(f"{a} - {b}", evaluate.paired_difference(graded[a], graded[b], clusters={}))
    comparisons = {}
    for key, p_holm in family.holm_ps().items():
        a, b = key.split(" - ")
        d, real = family[key], family.real(key)
        ci = f"{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}]"
        detail = (f"only {a} right: {d.a_only}, only {b} right: {d.b_only}, McNemar p = {d.p_value:.3f}"
                  + (f", Holm p = {p_holm:.3f}" if len(family) > 1 else ""))
        verdict = (f"lenient, {a} minus {b}: {ci}, "
                   + ("a real difference" if real else "no detectable difference")
                   + f" at n = {d.n} questions ({detail})")
        comparisons[key] = {"difference": d.mean, "ci": [d.low, d.high], "real": real,
                            "a_only": d.a_only, "b_only": d.b_only, "mcnemar_p": d.p_value,
                            "holm_p": p_holm, "verdict": verdict}
    return comparisons


def answer_rows(questions: Sequence[Question], answers: dict[str, list[generation.Answer]],
                graded: dict[str, list[evaluate.Graded]], stages: Sequence[str],
                rag_passages: Sequence[Sequence[retrieval.Passage]]) -> list[dict[str, Any]]:
    """One row per question for ``answers.csv``: gold, each system's answer and grade, RAG's error
    stage and the passages RAG read."""
    rows = []
    for i, q in enumerate(questions):
        row: dict[str, Any] = {"id": q.qid, "question": q.text, "gold": " | ".join(q.answers),
                               "doc": q.doc_ids[0] if q.doc_ids else ""}
        for name in answers:
            g = graded[name][i]
            row[f"{name}: answer"] = g.prediction
            row[f"{name}: grade"] = ("correct" if g.contains else "hedged (answer beside another value)" if g.hedged
                                     else "abstained" if g.abstained else "wrong")
        row["rag: error stage"] = stages[i]
        row["retrieved"] = "; ".join(f"{p.chunk.chunk_id} ({p.score:.2f})" for p in rag_passages[i])
        rows.append(row)
    return rows


def _label(system: str, progress: bool) -> str | None:
    return f"{system:>16}" if progress else None


# --------------------------------------------------------------------------------------------------
# reporting

def failing_stage(results: dict[str, Any]) -> str:
    """One sentence naming the stage that loses more questions for RAG, with what to try.

    Retrieval loses the questions whose passages held no accepted answer (1 - ceiling); reading
    loses those whose passages held one that the reply did not give (ceiling x (1 - used)).
    """
    rag, r = results["systems"][RAG], results["retrieval"]
    ceiling, used = rag["ceiling"], rag["used_when_shown"]
    shown = f"the answer was in the passages for {ceiling:.0%} of questions"
    best, best_score = max(r["passage_level"].items(), key=lambda kv: kv[1]["answer_in_passages"])
    if used is None:
        return (f"Retrieval fails first: {shown}; check that each answer is written word for word in the "
                "documents, then try another --retriever or a larger --k.")
    if ceiling * (1 - used) >= 1 - ceiling:
        fewer = f", or fewer passages (--k, now {r['k']})" if r["k"] > 1 else ""
        return (f"The reader is the weaker stage: {shown}; the reader used it for {used:.0%} of those: try a larger "
                f"generator (--generator){fewer}.")
    if best != r["retriever"] and best_score["answer_in_passages"] > ceiling:
        hint = f"--retriever {best} puts it there for {best_score['answer_in_passages']:.0%}"
    else:
        hint = f"try a larger --k (now {r['k']}) or another --chunk-size"
    return f"Retrieval is the weaker stage: {shown} (the reader used it for {used:.0%} of those): {hint}."


def table_text(results: dict[str, Any]) -> str:
    """The results table as fixed-width text (printed, and in the report). ``ceiling``: how often
    the passages a RAG system read held an accepted answer (its accuracy's upper bound)."""
    lines = [f"{'system':<18}{'lenient [95% CI]':>22}{'ceiling':>9}{'strict':>8}{'F1':>7}{'abstained':>11}"
             f"{'s/query':>9}{'prompt tok':>12}"]
    for name, s in results["systems"].items():
        ci = f"{s['lenient']:.2f} [{s['lenient_ci'][0]:.2f}, {s['lenient_ci'][1]:.2f}]"
        ceiling = f"{s['ceiling']:.2f}" if s.get("ceiling") is not None else "-"
        lines.append(f"{name:<18}{ci:>22}{ceiling:>9}{s['strict']:>8.2f}{s['f1']:>7.2f}{s['abstained']:>11.2f}"
                     f"{s['seconds_per_query']:>9.2f}{s['prompt_tokens']:>12.0f}")
    return "\n".join(lines)


def retrieval_table(results: dict[str, Any]) -> str:
    """Every retriever's passage-level scores as fixed-width text."""
    r = results["retrieval"]
    k, depth = r["k"], r["depth"]
    at_k = f"{f'recall@{k}':>10}" if k > 1 else ""
    lines = [f"{'retriever':<14}{f'answer in top {k}':>18}{'recall@1':>10}{at_k}{f'MRR@{depth}':>9}"]
    for name, sc in r["passage_level"].items():
        mark = " (used)" if name == r["retriever"] else ""
        lines.append(f"{name + mark:<14}{sc['answer_in_passages']:>18.2f}{sc['recall@1']:>10.2f}"
                     + (f"{sc['recall@k']:>10.2f}" if k > 1 else "") + f"{sc['mrr']:>9.2f}")
    return "\n".join(lines)


def report_markdown(results: dict[str, Any]) -> str:
    """A short report whose every sentence follows from ``results``."""
    n = results["n_questions"]
    r = results["retrieval"]
    out = ["# RAG vs fine-tuning on your documents\n",
           f"{results['n_documents']} documents ({results['n_chunks']} chunks), {n} questions; "
           f"run time {results['seconds']:.0f} s. Lenient = an accepted answer appears in the reply "
           f"(and no competing value); strict = the reply is exactly an accepted answer; ceiling = the passages "
           f"the system read held an accepted answer (no reader can do better).\n"]
    if results.get("selection"):
        out.append(selection_sentence(results) + "\n")
    if "failing_stage" in results:
        out.append(f"**{results['failing_stage']}**\n")
    out += ["```", table_text(results), "```\n", "## What the numbers support\n"]
    for c in results["comparisons"].values():
        out.append(f"- {c['verdict']}.")
    if not results["comparisons"]:
        out.append("- No comparison was run.")
    out.append("")
    out.append("## Retrieval, per passage\n")
    if "passage_level" in r:
        out.append(f"How often the top {r['k']} passage(s) held an accepted answer (what the reader is shown), for "
                   f"each retriever on your questions (no generation needed). recall and MRR count a passage that "
                   f"holds an answer and, for questions that name their `doc`, comes from it; MRR looks "
                   f"{r['depth']} passages deep.\n")
        out += ["```", retrieval_table(results), "```\n"]
    d = r.get("document_level", {})
    if d.get("questions_with_doc"):
        among = f", and among the top {r['k']} documents for {d['recall@k']:.0%}" if r["k"] > 1 else ""
        out.append(f"- Document-level (the right file, not the answer): the named `doc` was the top document for "
                   f"{d['recall@1']:.0%} of the {d['questions_with_doc']} questions that name it{among}.")
    else:
        out.append("- No question names its `doc`, so document-level recall was not measured.")
    stage_text = ", ".join(f"{v} {k}" for k, v in r["rag_error_stages"].items())
    out.append(f"- RAG's answers, by stage: {stage_text} (a reading error: the answer was in the passages the "
               "reader saw; a retrieval miss: it was not). The `rag: error stage` column of answers.csv has each.")
    if "chunks" in results:
        c, w = results["chunks"], results["chunks"]["words"]
        per = sorted(c["per_document"].values())
        out.append(f"- Chunks ({results['settings']['chunking']}, --chunk-size {results['settings']['chunk_size']}): "
                   f"{c['n_chunks']} from {len(per)} documents, {per[0]} to {per[-1]} per document "
                   f"(median {per[len(per) // 2]}); words per chunk: min {w['min']}, 10% {w['p10']}, median "
                   f"{w['median']:g}, 90% {w['p90']}, max {w['max']}; {c['over_long']} over {c['long_words']} words "
                   "(the embedder reads only the first 256 tokens). Per document: results.json, `chunks`.")
    if results["training"]:
        t = results["training"]
        out.append(f"\n## Fine-tuning\n\n- {t['pairs']} pairs, {t['epochs']:g} epochs at learning rate "
                   f"{t['learning_rate']:g} (seed {t['seed']}), {t['supervised_tokens_per_epoch']} supervised "
                   f"tokens per epoch, {t['train_seconds']:.0f} s{' (cached)' if t['cached'] else ''}. One seed: "
                   "fine-tuning results vary by seed; rerun with --seed to see the spread.")
    if results.get("trained_reader"):
        t = results["trained_reader"]
        out.append(f"\n## Trained reader\n\n- Notebook 08's reader ({t['arm']} arm, RAFT): a LoRA adapter trained on "
                   f"{t['examples']} examples from the series' knowledge base (each: the RAG prompt with the gold "
                   f"passage and {t['distractors']} distractors, the gold passage left out of {1 - t['keep_gold']:.0%} of them; the "
                   f"target: the short answer), {t['epochs']:g} epochs, {t['train_seconds']:.0f} s"
                   f"{' (cached)' if t['cached'] else ''}. It never read your documents; it read the same passages "
                   "as rag, with the same reply budget, so the paired comparison with rag isolates the reader.")
    out.append("\n## Caveats\n")
    if n < 100:
        out.append(f"- {n} questions: intervals this wide decide little; use 100 or more for a decision.")
    out.append("- Differences are paired (same questions): a bootstrap interval over questions, and a difference "
               "is called real only when it excludes zero and the exact McNemar test on the questions only one "
               f"system got right agrees (p < 0.05). The {len(results['comparisons'])} comparisons of this report "
               "are one family: their p-values are Holm-corrected together, and the corrected p must be below "
               "0.05 too.")
    for w in results.get("warnings", []):
        out.append(f"- {w}.")
    if results["skipped_files"]:
        out.append(f"- Not read (unsupported type): {', '.join(results['skipped_files'])}.")
    return "\n".join(out) + "\n"


def selection_sentence(results: dict[str, Any]) -> str:
    """What ``--select-on-dev`` chose, on how many questions, and that every number is on the others."""
    sel = results["selection"]
    c = sel["chosen"]
    searched = [f"{SELECTED_OPTIONS[key]} from {', '.join(map(str, values))}"
                for key, values in sel["searched"].items() if len(values) > 1]
    kept = [f"{SELECTED_OPTIONS[key]} {values[0]}" for key, values in sel["searched"].items() if len(values) == 1]
    return (f"Settings chosen on a development split (--select-on-dev {sel['fraction']:g}, --split-seed "
            f"{sel['split_seed']}): {sel['n_dev']} questions chose --k {c['k']}, --retriever {c['retriever']}, "
            f"--chunk-size {c['chunk_size']} (searched: {'; '.join(searched) or 'nothing'}"
            + (f"; given: {', '.join(kept)}" if kept else "")
            + f"). On them the passages held an answer for {c['hits']} of {sel['n_dev']} ({c['answer_in_passages']:.0%}); "
            f"rule: {sel['rule']}. Every number in this report is on the other {results['n_questions']} questions "
            "only; the development questions' ids and every setting's score are in results.json, `selection`.")


def write_chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plotting

    plotting.use_style()
    names = list(results["systems"])
    est = {name: evaluate.Estimate(s["lenient"], s["lenient_ci"][0], s["lenient_ci"][1], results["n_questions"])
           for name, s in results["systems"].items()}
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 3.6))
    plotting.bars_with_ci(ax, est, ylabel="share correct (lenient, 95% Wilson CI)",
                          colors=[plotting.color(n) for n in names],
                          ylim=(0, 1.05))
    ax.set_title(f"{results['n_questions']} questions, {results['n_documents']} documents")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(results: dict[str, Any], rows: list[dict[str, Any]], out: Path,
                  staging: Path | None = None) -> None:
    """Write everything to the empty folder ``staging`` beside ``out`` (made here when not given),
    then move it into place; on an error the staging folder is removed and ``out`` is untouched."""
    tmp = staging if staging is not None else make_staging(out)
    try:
        (tmp / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        # utf-8-sig so spreadsheet programs show "£" and accents; newline="" as the csv module asks
        with (tmp / "answers.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        write_chart(results, tmp / "chart.png")
        (tmp / "report.md").write_text(report_markdown(results), encoding="utf-8")
        os.chmod(tmp, storage.DIR_MODE)
        storage.replace_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The command: check every option, create the output's staging folder, read and check the
    inputs, then run and write. A problem found before the run is one line on stderr and exit 2."""
    from .models import DeviceUnavailableError, UnknownModelError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.fixed_options = explicit_options(argv)
    try:
        check_options(args)
        staging = make_staging(args.out)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            inputs = read_inputs(args)
        except (DataError, UsageError, UnknownModelError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for s in inputs.skipped:
            print(f"note: not read: {s.path} ({s.reason})", file=sys.stderr)
        for w in data_warnings(inputs):
            print(f"warning: {w}", file=sys.stderr)
        try:
            results, rows = run(inputs, args)
        except (UnknownModelError, DeviceUnavailableError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        write_outputs(results, rows, args.out, staging)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    print()
    print(table_text(results))
    for c in results["comparisons"].values():
        print(f"  {c['verdict']}")
    print()
    print(retrieval_table(results))
    if results.get("selection"):
        print(f"\n{selection_sentence(results)}")
    print(f"\n{results['failing_stage']}")
    print(f"\nwrote {args.out}/results.json, answers.csv, chart.png, report.md ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
