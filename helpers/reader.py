"""Training examples for a *trained reader* (RAFT, Zhang et al. 2024; notebook 08).

A reader adapter learns to answer from passages: each example is the series' RAG prompt
(:func:`helpers.generation.rag_messages`) holding the fact's gold passage and ``n_distractors``
passages that do not hold it, and the target is the short answer (a span of the gold passage).
For a share of the examples the gold passage is left out (replaced by one more distractor), as
RAFT does, so the reader also meets questions its passages cannot answer.

Distractors are the passages a retriever ranks highest for the question among those from *other*
documents that hold no accepted answer: the near misses a real top-k retrieval hands the reader. Only documents the caller
allows are used (the reader must be tested on documents it never read): :func:`reader_items`
raises if any passage comes from elsewhere.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from . import evaluate, finetune, generation
from .data import Question
from .retrieval import Chunk, Passage, VectorIndex

if TYPE_CHECKING:
    import pandas as pd
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class ReaderItem:
    """One reader training example before tokenization."""

    question: str
    passages: tuple[Passage, ...]
    answer: str
    has_gold: bool            # False: the gold passage was left out of this example

    @property
    def messages(self) -> "generation.Messages":
        return generation.rag_messages(self.question, self.passages)


def reader_items(questions: Sequence[Question], chunks: Sequence[Chunk], index: VectorIndex, n_distractors: int,
                 keep_gold: float = 0.8, seed: int = 0, allowed_docs: Sequence[str] | None = None,
                 target: str = "answer") -> list[ReaderItem]:
    """Reader examples for ``questions`` (training wordings, with accepted answers and gold documents).

    ``chunks``/``index``: the passages of the training documents (the gold passage is
    :func:`helpers.evaluate.oracle_passages`; distractors come from ``index``, best-ranked first,
    skipping the question's own documents). ``keep_gold``: the share of examples that keep the gold
    passage (exactly ``round(keep_gold * n)`` of them, chosen with ``seed``); the others get one more
    distractor instead, so every example holds the same number of passages. Passage order is
    shuffled with ``seed``. ``allowed_docs``: if given, every passage must come from these documents.
    ``target``: ``answer`` (the first accepted answer, a span of the gold passage) or ``sentence``
    (the gold passage's sentence that holds the answer).
    """
    if n_distractors < 0:
        raise ValueError(f"n_distractors must be >= 0, got {n_distractors}")
    if not 0.0 <= keep_gold <= 1.0:
        raise ValueError(f"keep_gold must be within [0, 1], got {keep_gold}")
    if target not in ("answer", "sentence"):
        raise ValueError(f"target must be 'answer' or 'sentence', got {target!r}")
    if keep_gold < 1.0 and n_distractors == 0:
        raise ValueError("with no distractors, leaving the gold passage out leaves no passage: use keep_gold=1")
    rng = random.Random(seed)
    keep = set(rng.sample(range(len(questions)), round(keep_gold * len(questions))))
    wanted = n_distractors + (1 if keep_gold < 1.0 else 0)   # one more replaces a left-out gold passage
    found = index.search_many([q.text for q in questions], k=wanted + 12)
    items = []
    for n, (q, hits) in enumerate(zip(questions, found, strict=True)):
        gold_chunk = evaluate.oracle_passages(chunks, q)[0]
        # a distractor must not hold an accepted answer: a fact can be stated in documents besides the
        # ones its question needs (the founders' page names the current CEO too)
        others = [p for p in hits if p.doc_id not in q.doc_ids and not evaluate.contains_answer(p.text, q.answers)][:wanted]
        if len(others) < wanted:
            raise ValueError(f"{q.qid}: only {len(others)} passages without the answer from other documents among the top "
                             f"{wanted + 12}; the index is too small for {n_distractors} distractors")
        passages = [Passage(gold_chunk, score=1.0, rank=0)] + others[:n_distractors] if n in keep else others
        rng.shuffle(passages)
        if allowed_docs is not None:
            stray = sorted({p.doc_id for p in passages} - set(allowed_docs))
            if stray:
                raise ValueError(f"{q.qid}: passages from documents outside allowed_docs: {stray}")
        answer = q.answers[0] if target == "answer" else answer_sentence(gold_chunk.text, q.answers)
        items.append(ReaderItem(q.text, tuple(passages), answer, n in keep))
    return items


def answer_sentence(text: str, answers: Sequence[str]) -> str:
    """The first sentence of ``text`` (title line excluded) holding an accepted answer."""
    body = text.partition("\n")[2] or text
    for sentence in re.split(r"(?<=[.!?])\s+", body.strip()):
        if evaluate.contains_answer(sentence, answers):
            return sentence.strip()
    raise ValueError(f"no sentence of the passage holds {answers[0]!r}: {text[:80]!r}")


def reader_examples(items: Sequence[ReaderItem], tokenizer: "PreTrainedTokenizerBase",
                    max_length: int = 640) -> list[dict[str, list[int]]]:
    """Tokenized training examples (:func:`helpers.finetune.chat_examples`): the RAG prompt, loss on
    the target only."""
    return finetune.chat_examples([i.messages for i in items], [i.answer for i in items], tokenizer, max_length)


# --------------------------------------------------------------------------------------------------
# notebook 08's reader, for any corpus (``python -m helpers.compare --reader trained``)

# Notebook 08's "2 distractors" arm: RAFT's first recommendation (gold passage kept in 80% of the
# examples), trained on the training wordings of the facts of notebook 02's fine-tuning documents.
# The plain RAFT recipe of 08's arms (08's other arm varies the distractors, notebook 09's the target; an
# earlier mixed-in style-pairs arm had no matched control and was removed).
SERIES_READER_ARM = "2 distractors"
SERIES_READER_DISTRACTORS = 2
SERIES_READER_KEEP_GOLD = 0.8
SERIES_READER_EPOCHS = 2


def series_reader_settings(n_layers: int | None = None) -> "finetune.LoraSettings":
    """Notebook 08's reader settings (``READER_SETTINGS``: the series' Q&A recipe,
    :data:`helpers.recipe.QA_SETTINGS`, for 2 epochs in micro-batches of 2). ``n_layers``: the
    generator's layer count; a generator with fewer layers than the recipe adapts has them all
    adapted (the series' 135M generator is unchanged, so its cache key is notebook 08's)."""
    from dataclasses import replace

    from . import recipe

    settings = replace(recipe.QA_SETTINGS, epochs=SERIES_READER_EPOCHS, micro_batch_size=2)
    if n_layers is not None and settings.top_layers is not None and n_layers < settings.top_layers:
        settings = replace(settings, top_layers=n_layers)
    return settings


def series_reader_items(embedder: object, n_distractors: int = SERIES_READER_DISTRACTORS,
                        keep_gold: float = SERIES_READER_KEEP_GOLD, target: str = "answer") -> list[ReaderItem]:
    """Notebook 08's reader training items, built exactly as its section 2 builds them: paragraph
    chunks of the knowledge base (``data/kb_v1``) restricted to notebook 02's fine-tuning documents
    (:func:`helpers.recipe.document_split`), a dense index of them with ``embedder`` (the series'
    embedder reproduces 08's distractors, hence its adapter cache key), and the training wordings of
    the facts inside the split. Every passage comes from those documents (checked)."""
    from . import data, recipe, retrieval

    facts, docs = data.load_facts(1), data.load_corpus(1)
    split = recipe.document_split(facts, docs)
    train_chunks = [c for c in retrieval.chunk_documents(docs, "paragraph") if c.doc_id in split.train_docs]
    train_index = VectorIndex.build(embedder, train_chunks)
    train_questions = data.fact_questions(list(split.inside), "train", pool=facts)
    return reader_items(train_questions, train_chunks, train_index, n_distractors=n_distractors,
                        keep_gold=keep_gold, target=target, allowed_docs=split.train_docs)


def series_reader_examples(embedder: object, tokenizer: "PreTrainedTokenizerBase") -> list[dict[str, list[int]]]:
    """The tokenized training examples of notebook 08's reader (:func:`series_reader_items` for its
    :data:`SERIES_READER_ARM`, then :func:`reader_examples`), ready for
    ``helpers.finetune.train_lora("qa", examples, series_reader_settings())``."""
    return reader_examples(series_reader_items(embedder), tokenizer)


# --------------------------------------------------------------------------------------------------
# the guide's "fine-tune on error-corrected data" (notebook 09, section 3)

# What can go wrong in a RAG reply, by where the answer was (helpers.grading.error_stage) and what
# the reply did about it. A reader can fix a reading error; on a retrieval miss the right reply is
# "I don't know", so answering there is an error of its own kind (usually an invented value).
ERROR_KINDS = ("reading error", "answered on a retrieval miss", "declined on a retrieval miss")


def error_kind(question: Question, row: "evaluate.Graded", passages: Sequence[Passage]) -> str:
    """``correct`` or one of :data:`ERROR_KINDS` for one graded RAG reply and the passages it was given:
    *reading error* (a passage held an accepted answer and the reply missed it, hedged or declined),
    *answered on a retrieval miss* (no passage held an answer and the reply gave a value anyway), or
    *declined on a retrieval miss* (no passage held an answer and the reply said it does not know)."""
    if row.qid != question.qid:
        raise ValueError(f"graded row {row.qid} does not belong to question {question.qid}")
    stage = evaluate.error_stage(row, [p.text for p in passages], question.answers)
    if stage in ("correct", "reading error"):
        return stage
    return "declined on a retrieval miss" if row.abstained else "answered on a retrieval miss"


def error_corrected_selection(correct: Sequence[bool], seed: int = 0) -> tuple[list[int], list[int]]:
    """Which training questions the error-corrected arm and its control train on (indices, ascending).

    The corrected arm takes the questions the model got wrong; the control an equal number, chosen
    with ``seed``, of those it got right, so the two arms differ in *which* questions they see: same
    count, same recipe, same labelling rule (:func:`corrected_items`), though the errors' targets include
    "I don't know" where no passage held the answer and the right answers' never do. When errors outnumber the right answers, the errors
    are sampled down (with ``seed``) to the number of right answers. Raises if either side is empty.
    """
    wrong = [i for i, ok in enumerate(correct) if not ok]
    right = [i for i, ok in enumerate(correct) if ok]
    if not wrong or not right:
        raise ValueError(f"need both errors and correct replies to compare; got {len(wrong)} errors and "
                         f"{len(right)} correct of {len(correct)}")
    n = min(len(wrong), len(right))
    rng = random.Random(seed)
    return sorted(rng.sample(wrong, n)), sorted(rng.sample(right, n))


def corrected_items(questions: Sequence[Question], passages: Sequence[Sequence[Passage]],
                    indices: Sequence[int], miss_target: str | None = None) -> list[ReaderItem]:
    """Training items for ``questions[i]`` (``i`` in ``indices``): the passages the RAG system was given
    for it and the corrected target. ``has_gold`` says whether a passage held an accepted answer; the
    target is the question's first accepted answer when one did, and on a retrieval miss
    ``miss_target`` (e.g. "I don't know", the right reply when the passage cannot answer), or the answer
    too when ``miss_target`` is None (which teaches answering without support)."""
    if len(questions) != len(passages):
        raise ValueError(f"{len(questions)} questions but {len(passages)} lists of passages")
    items = []
    for i in indices:
        q, hits = questions[i], tuple(passages[i])
        if not hits:
            raise ValueError(f"{q.qid}: no passages")
        gold = evaluate.contains_answer("\n".join(p.text for p in hits), q.answers)
        items.append(ReaderItem(q.text, hits, q.answers[0] if gold or miss_target is None else miss_target, gold))
    return items


# three passages per prompt: batches of 32 took a notebook kernel past 3 GB in a first run of notebook 08
READ_BATCH = 8


def grade_tests(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", tests: "dict[str, Sequence[Question]]",
                prompts: "dict[str, Sequence[generation.Messages]]", max_new_tokens: int) -> "dict[str, list[evaluate.Graded]]":
    """Notebooks 08 and 09's reader test: each test set's prompts answered by ``model`` (greedy, batches of
    :data:`READ_BATCH`, the answer cache first) and graded against its questions, by test set name."""
    if set(tests) != set(prompts):
        raise ValueError(f"tests {sorted(tests)} and prompts {sorted(prompts)} name different test sets")
    return {t: evaluate.grade(qs, generation.generate(model, tokenizer, prompts[t], max_new_tokens=max_new_tokens,
                                                      batch_size=READ_BATCH)) for t, qs in tests.items()}


def comparison_table(differences: "dict[tuple[str, str], evaluate.Difference]") -> "pd.DataFrame":
    """Notebooks 08 and 09's table of paired comparisons: one row per first key (a system or a factor), one
    column per second key (a test set and grading), each cell ``difference [95% CI]  a-b, p=...``
    (questions where only the first / only the second was ahead; exact McNemar p, uncorrected)."""
    import pandas as pd

    from .claims import format_p

    rows: dict[str, dict[str, str]] = {}
    for (row, column), x in differences.items():
        rows.setdefault(row, {})[column] = (f"{x.mean:+.2f} [{x.low:+.2f}, {x.high:+.2f}]  {x.a_only}-{x.b_only}, "
                                            f"p={format_p(x.p_value)}")
    return pd.DataFrame(rows).T.fillna("")
