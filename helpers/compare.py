"""Run the series' comparison on your own documents: closed-book vs RAG (vs fine-tuned, vs both).

    python -m helpers.compare --docs DIR --questions FILE.jsonl --out DIR [--train FILE.jsonl]
    make compare DOCS=DIR QUESTIONS=FILE.jsonl OUT=DIR [TRAIN=FILE.jsonl]

Same models, prompts, decoding, grading and intervals as the notebooks (``helpers.generation``,
``helpers.evaluate``): closed-book; RAG with the series' reader (top-``k`` passages); and, when
training pairs are given, a Q&A LoRA adapter (``helpers.finetune``, the notebooks' settings) alone
and with RAG. Every input is checked before any model loads; every problem is an error naming the
file and line, with a non-zero exit. Results are written to a temporary folder beside ``--out`` and
moved into place only when complete.

Written to ``--out``: ``results.json`` (every system's strict, lenient with its Wilson interval, F1,
abstentions, seconds per query; retrieval recall), ``answers.csv`` (one row per question: gold,
each system's answer and grade, retrieved sources), ``chart.png`` and ``report.md`` (what the
numbers support: a difference is called real by the series' one rule, ``Difference.real``: its
paired interval excludes zero and the exact McNemar test agrees).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from . import corpus, evaluate, generation, recipe, retrieval, storage
from .data import DataError, Document, Question

if TYPE_CHECKING:  # pragma: no cover
    from .finetune import LoraSettings

CLOSED, RAG, FT, FT_RAG = "closed-book", "rag", "fine-tuned", "fine-tuned + rag"
OUTPUT_FILES = ("results.json", "answers.csv", "chart.png", "report.md")
LONG_CHUNK_WORDS = 200   # longer chunks are flagged: the reader and the embedder see only their start
# Comparisons the report states, system A minus system B (those whose systems ran).
COMPARISONS = ((RAG, CLOSED), (FT, CLOSED), (RAG, FT), (FT_RAG, RAG), (FT_RAG, FT))


class UsageError(Exception):
    """A problem with the command line or the output folder (exit status 2)."""


@dataclass(frozen=True)
class Inputs:
    """Everything read from the user's files, already validated."""

    docs: list[Document]
    skipped: list[corpus.Skipped]
    questions: list[Question]
    pairs: list[tuple[str, str]]


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
                          help="folder of .md, .txt and .pdf files (subfolders included); a document's id "
                               "is its path inside DIR, its title the first heading or the file name")
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
    rag.add_argument("--chunking", choices=retrieval.STRATEGIES, default="paragraph",
                     help="paragraph: blank-line separated; words: windows of --chunk-size words; "
                          "document: whole files")
    rag.add_argument("--chunk-size", type=int, default=80, help="words per window (--chunking words)")
    rag.add_argument("--chunk-overlap", type=int, default=20, help="overlap in words (--chunking words)")
    models_group = parser.add_argument_group("models (built-in names, a local folder, or a Hugging Face id)")
    models_group.add_argument("--generator", default=None,
                              help="generator (default: RAGFT_GENERATOR or smollm2-135m-instruct)")
    models_group.add_argument("--embedder", default=None,
                              help="embedder (default: RAGFT_EMBEDDER or all-minilm-l6-v2)")
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
    docs, skipped = corpus.read_folder(args.docs)
    questions = corpus.read_questions(args.questions, docs)
    pairs: list[tuple[str, str]] = []
    if args.train:
        from . import finetune, models

        tokenizer = models.load_tokenizer(args.generator)
        pairs = corpus.read_training(args.train, questions,
                                     check=lambda q, a: finetune.qa_examples([(q, a)], tokenizer))
    return Inputs(docs, skipped, questions, pairs)


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


def check_options(args: argparse.Namespace) -> None:
    """Refuse options that cannot work (raises UsageError)."""
    if args.k < 1:
        raise UsageError(f"--k must be at least 1, got {args.k}")
    if args.chunking == "words" and not 0 <= args.chunk_overlap < args.chunk_size:
        raise UsageError(f"need 0 <= --chunk-overlap < --chunk-size, got {args.chunk_overlap} and {args.chunk_size}")
    if args.epochs <= 0 or args.learning_rate <= 0:
        raise UsageError("--epochs and --learning-rate must be positive")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not args.overwrite:
            raise UsageError(f"{out}: folder exists and is not empty; choose another --out or pass --overwrite")
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES)
        if foreign:
            raise UsageError(f"{out}: --overwrite replaces only an earlier output folder, and this one also holds "
                             f"{', '.join(foreign[:5])}")
    for given, name in ((args.docs, "--docs"), (args.questions, "--questions"), (args.train, "--train")):
        if given is not None and out.resolve() in (given.resolve(), *given.resolve().parents):
            raise UsageError(f"--out {out} would replace the {name} input")
    if args.docs.resolve() in out.resolve().parents:
        raise UsageError(f"--out {out} is inside --docs: a later run would index the report")


# --------------------------------------------------------------------------------------------------
# running

def _retrieval_scores(questions: Sequence[Question], hits: Sequence[Sequence[retrieval.Passage]],
                      reader_hits: Sequence[Sequence[retrieval.Passage]], k: int) -> dict[str, Any]:
    """Document recall@1 and @k on questions that name their ``doc``, and how often an accepted
    answer is written inside the passages the reader saw (all questions)."""
    with_doc = [(q, h) for q, h in zip(questions, hits, strict=True) if q.doc_ids]
    out: dict[str, Any] = {"k": k, "questions_with_doc": len(with_doc)}
    for at in sorted({1, k}):
        if with_doc:
            out[f"recall@{at}"] = sum(evaluate.recall_at_k(evaluate.dedupe([p.doc_id for p in h]), q.doc_ids, at)
                                      for q, h in with_doc) / len(with_doc)
        else:
            out[f"recall@{at}"] = None
    out["recall@k"] = out[f"recall@{k}"]
    inside = [any(evaluate.contains_answer(p.text, q.answers) for p in h) for q, h in zip(questions, reader_hits, strict=True)]
    out["answer_in_passages"] = sum(inside) / len(inside)
    return out


def make_chunks(docs: Sequence[Document], args: argparse.Namespace, log: Any = print) -> list[retrieval.Chunk]:
    """The notebooks' chunking; with ``paragraph``, a document whose paragraphs run past
    LONG_CHUNK_WORDS (PDF text has few blank lines) is cut into --chunk-size word windows instead:
    the embedder reads only its first 256 tokens of a chunk."""
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


def run(inputs: Inputs, args: argparse.Namespace, log: Any = print) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Answer every question with every system; returns (results, one row per question).

    The steps: build the index (:func:`build_index`); answer closed-book and with RAG
    (:func:`answer_base`); with training pairs, train the adapter and answer with it, alone and
    with RAG (:func:`answer_fine_tuned`); grade; summarize each system (:func:`summarize_systems`)
    and compare them in pairs (:func:`compare_systems`); one row per question (:func:`answer_rows`).
    """
    from . import models

    began = time.perf_counter()
    questions, texts = inputs.questions, [q.text for q in inputs.questions]
    log(f"{len(inputs.docs)} documents, {len(questions)} questions"
        + (f", {len(inputs.pairs)} training pairs" if inputs.pairs else ""))
    generator, tokenizer = models.load_generator(args.generator)
    index, index_seconds = build_index(inputs.docs, args, log)
    # rank more chunks than the reader gets, so recall@k counts k distinct documents
    ranked = index.search_many(texts, k=min(len(index), max(3 * args.k, 10)))
    answers, passages = answer_base(generator, tokenizer, index, texts, args)
    training: dict[str, Any] | None = None
    if inputs.pairs:
        training = answer_fine_tuned(inputs.pairs, generator, tokenizer, index, texts, args, answers, passages)
    graded = {name: evaluate.grade(questions, replies) for name, replies in answers.items()}
    stages = [evaluate.error_stage(r, [p.text for p in h], q.answers)
              for r, h, q in zip(graded[RAG], passages[RAG], questions, strict=True)]
    systems, comparisons = summarize_systems(graded, answers), compare_systems(graded)
    results = {"n_questions": len(questions), "n_documents": len(inputs.docs), "n_chunks": len(index),
               "seconds": round(time.perf_counter() - began, 1), "index_seconds": round(index_seconds, 2),
               "systems": systems, "comparisons": comparisons,
               "retrieval": {**_retrieval_scores(questions, ranked, passages[RAG], args.k),
                             "rag_error_stages": {st: stages.count(st) for st in evaluate.ERROR_STAGES}},
               "warnings": data_warnings(inputs),
               "training": training,
               "settings": {"k": args.k, "chunking": args.chunking, "chunk_size": args.chunk_size,
                            "chunk_overlap": args.chunk_overlap, "generator": models.generator_path(args.generator),
                            "embedder": models.embedder_path(args.embedder), "system_prompt": generation.SYSTEM_PROMPT},
               "skipped_files": [str(s.path) for s in inputs.skipped]}
    return results, answer_rows(questions, answers, graded, stages, passages[RAG])


def build_index(docs: Sequence[Document], args: argparse.Namespace,
                log: Any = print) -> tuple[retrieval.VectorIndex, float]:
    """Load the embedder, chunk ``docs`` (:func:`make_chunks`) and index them; returns the index
    and the seconds the index build took."""
    from . import models

    embedder = models.load_embedder(args.embedder)
    chunks = make_chunks(docs, args, log)
    start = time.perf_counter()
    index = retrieval.VectorIndex.build(embedder, chunks, show_progress=not args.quiet)
    return index, time.perf_counter() - start


def answer_base(generator: Any, tokenizer: Any, index: retrieval.VectorIndex, texts: Sequence[str],
                args: argparse.Namespace) -> tuple[dict[str, list[generation.Answer]],
                                                   dict[str, list[list[retrieval.Passage]]]]:
    """The base model's answers closed-book and with the top ``--k`` passages; returns the answers
    and the passages each RAG answer read, by system name."""
    progress = not args.quiet
    answers: dict[str, list[generation.Answer]] = {}
    passages: dict[str, list[list[retrieval.Passage]]] = {}
    answers[CLOSED] = generation.answer_closed_book(generator, tokenizer, texts, progress=_label(CLOSED, progress))
    answers[RAG], passages[RAG] = generation.answer_with_rag(generator, tokenizer, index, texts, k=args.k,
                                                             progress=_label(RAG, progress))
    return answers, passages


def fine_tuning_settings(args: argparse.Namespace, n_layers: int) -> "LoraSettings":
    """The series' Q&A LoRA recipe (:data:`helpers.recipe.QA_SETTINGS`) with the command line's
    epochs, learning rate and seed, adapting the top layers the recipe names, or all ``n_layers``
    of a smaller model."""
    from dataclasses import replace

    return replace(recipe.QA_SETTINGS, epochs=args.epochs, learning_rate=args.learning_rate, seed=args.seed,
                   top_layers=min(recipe.QA_SETTINGS.top_layers or n_layers, n_layers))


def answer_fine_tuned(pairs: Sequence[tuple[str, str]], generator: Any, tokenizer: Any,
                      index: retrieval.VectorIndex, texts: Sequence[str], args: argparse.Namespace,
                      answers: dict[str, list[generation.Answer]],
                      passages: dict[str, list[list[retrieval.Passage]]]) -> dict[str, Any]:
    """Train (or load from the cache) a Q&A adapter on ``pairs`` and add its answers, alone and with
    RAG, to ``answers`` and ``passages``; returns what the report says about the training."""
    from . import finetune

    progress = not args.quiet
    settings = fine_tuning_settings(args, generator.config.num_hidden_layers)
    examples = finetune.qa_examples(pairs, tokenizer)
    run_ = finetune.train_lora("qa", examples, settings, generator=args.generator, progress=progress)
    training = {"pairs": len(pairs), "epochs": settings.epochs, "learning_rate": settings.learning_rate,
                "seed": settings.seed, "supervised_tokens_per_epoch": run_.n_tokens,
                "train_seconds": round(run_.train_seconds, 1), "cached": run_.cached,
                "final_loss": run_.losses[-1], "adapter": str(run_.adapter_dir)}
    answers[FT] = generation.answer_closed_book(run_.model, tokenizer, texts, progress=_label(FT, progress))
    answers[FT_RAG], passages[FT_RAG] = generation.answer_with_rag(run_.model, tokenizer, index, texts, k=args.k,
                                                                   progress=_label(FT_RAG, progress))
    return training


def summarize_systems(graded: dict[str, list[evaluate.Graded]],
                      answers: dict[str, list[generation.Answer]]) -> dict[str, dict[str, Any]]:
    """Each system's shares (lenient with its Wilson interval, strict, F1, abstained), hedged
    replies, and mean seconds and prompt tokens per query."""
    systems = {}
    for name, rows in graded.items():
        s = evaluate.summarize(rows)
        systems[name] = {"lenient": s["contains"].mean, "strict": s["exact"].mean, "f1": s["f1"].mean,
                         "lenient_ci": [s["contains"].low, s["contains"].high],
                         "abstained": s["abstained"].mean, "hedged": sum(r.hedged for r in rows),
                         "seconds_per_query": sum(a.seconds for a in answers[name]) / len(rows),
                         "prompt_tokens": sum(a.prompt_tokens for a in answers[name]) / len(rows)}
    return systems


def compare_systems(graded: dict[str, list[evaluate.Graded]]) -> dict[str, dict[str, Any]]:
    """The paired comparisons of :data:`COMPARISONS` whose two systems ran, keyed ``"a - b"``."""
    comparisons = {}
    for a, b in COMPARISONS:
        if a in graded and b in graded:
            # the user's question ids are not the series' facts: each question is its own unit
            d = evaluate.paired_difference(graded[a], graded[b], clusters={})
            real = d.real   # the series' one rule (helpers.statistics.Difference.real); none of our own
            ci = f"{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}]"
            detail = f"only {a} right: {d.a_only}, only {b} right: {d.b_only}, McNemar p = {d.p_value:.3f}"
            verdict = (f"lenient, {a} minus {b}: {ci}, "
                       + ("a real difference" if real else "no detectable difference")
                       + f" at n = {d.n} questions ({detail})")
            comparisons[f"{a} - {b}"] = {"difference": d.mean, "ci": [d.low, d.high], "real": real,
                                         "a_only": d.a_only, "b_only": d.b_only, "mcnemar_p": d.p_value,
                                         "verdict": verdict}
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

def table_text(results: dict[str, Any]) -> str:
    """The results table as fixed-width text (printed, and in the report)."""
    lines = [f"{'system':<18}{'lenient [95% CI]':>22}{'strict':>8}{'F1':>7}{'abstained':>11}{'s/query':>9}{'prompt tok':>12}"]
    for name, s in results["systems"].items():
        ci = f"{s['lenient']:.2f} [{s['lenient_ci'][0]:.2f}, {s['lenient_ci'][1]:.2f}]"
        lines.append(f"{name:<18}{ci:>22}{s['strict']:>8.2f}{s['f1']:>7.2f}{s['abstained']:>11.2f}"
                     f"{s['seconds_per_query']:>9.2f}{s['prompt_tokens']:>12.0f}")
    return "\n".join(lines)


def report_markdown(results: dict[str, Any]) -> str:
    """A short report whose every sentence follows from ``results``."""
    n = results["n_questions"]
    r = results["retrieval"]
    out = ["# RAG vs fine-tuning on your documents\n",
           f"{results['n_documents']} documents ({results['n_chunks']} chunks), {n} questions; "
           f"run time {results['seconds']:.0f} s. Lenient = an accepted answer appears in the reply "
           f"(and no competing value); strict = the reply is exactly an accepted answer.\n",
           "```", table_text(results), "```\n", "## What the numbers support\n"]
    for c in results["comparisons"].values():
        out.append(f"- {c['verdict']}.")
    if not results["comparisons"]:
        out.append("- No comparison was run.")
    out.append("")
    out.append("## Retrieval\n")
    if r["questions_with_doc"]:
        out.append(f"- The right document was the top hit for {r['recall@1']:.0%} of the {r['questions_with_doc']} "
                   f"questions that name their `doc`, and among the top {r['k']} for {r['recall@k']:.0%}.")
    else:
        out.append("- No question names its `doc`, so document recall was not measured.")
    out.append(f"- An accepted answer was written in the passage(s) the reader saw for "
               f"{r['answer_in_passages']:.0%} of the questions.")
    stage_text = ", ".join(f"{v} {k}" for k, v in r["rag_error_stages"].items())
    out.append(f"- RAG's answers, by stage: {stage_text} (a reading error: the answer was in the passages the "
               "reader saw; a retrieval miss: it was not). The `rag: error stage` column of answers.csv has each.")
    if results["training"]:
        t = results["training"]
        out.append(f"\n## Fine-tuning\n\n- {t['pairs']} pairs, {t['epochs']:g} epochs at learning rate "
                   f"{t['learning_rate']:g} (seed {t['seed']}), {t['supervised_tokens_per_epoch']} supervised "
                   f"tokens per epoch, {t['train_seconds']:.0f} s{' (cached)' if t['cached'] else ''}. One seed: "
                   "fine-tuning results vary by seed; rerun with --seed to see the spread.")
    out.append("\n## Caveats\n")
    if n < 100:
        out.append(f"- {n} questions: intervals this wide decide little; use 100 or more for a decision.")
    out.append("- Differences are paired (same questions): a bootstrap interval over questions, and a difference "
               "is called real only when it excludes zero and the exact McNemar test on the questions only one "
               f"system got right agrees (p < 0.05). {len(results['comparisons'])} comparisons are made, with no "
               "correction for multiple tests.")
    for w in results.get("warnings", []):
        out.append(f"- {w}.")
    if results["skipped_files"]:
        out.append(f"- Not read (unsupported type): {', '.join(results['skipped_files'])}.")
    return "\n".join(out) + "\n"


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


def write_outputs(results: dict[str, Any], rows: list[dict[str, Any]], out: Path) -> None:
    """Write everything to a temporary folder beside ``out``, then move it into place."""
    with storage.staged_dir(out) as tmp:
        (tmp / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        # utf-8-sig so spreadsheet programs show "£" and accents; newline="" as the csv module asks
        with (tmp / "answers.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        write_chart(results, tmp / "chart.png")
        (tmp / "report.md").write_text(report_markdown(results), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_options(args)
        inputs = read_inputs(args)
    except (DataError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for s in inputs.skipped:
        print(f"note: not read: {s.path} ({s.reason})", file=sys.stderr)
    for w in data_warnings(inputs):
        print(f"warning: {w}", file=sys.stderr)
    from .models import DeviceUnavailableError, UnknownModelError

    try:
        results, rows = run(inputs, args)
    except (UnknownModelError, DeviceUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_outputs(results, rows, args.out)
    print()
    print(table_text(results))
    for c in results["comparisons"].values():
        print(f"  {c['verdict']}")
    print(f"\nwrote {args.out}/results.json, answers.csv, chart.png, report.md ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
