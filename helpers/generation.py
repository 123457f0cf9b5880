"""Build prompts through the tokenizer's chat template and generate answers in batches.

Every arm of every experiment uses the same system instruction, question format and decoding
(greedy, stopped at the end of the first line); a RAG prompt differs from a closed-book one only by
the block of retrieved passages, each tagged with its source document id so answers can be traced
back. The answer format was chosen on training wordings only, by ``.ci/reader_format_ablation.py``
(its table is in ``results/reader_format_ablation.json`` and notebook 00).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from . import answer_cache, config
from .retrieval import Passage, VectorIndex

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Messages = list[dict[str, str]]

# Short on purpose: every token of it is paid for in every training example and every answer.
# It replaces the template's default system prompt ("You are a helpful AI assistant named SmolLM...").
SYSTEM_PROMPT = "Answer in a few words. If you do not know, reply \"I don't know\"."
# The reply the instruction asks for when the model does not know; also the training target of an
# "I don't know" adapter and the reply of a RAG system that abstains on weak retrieval.
IDK_REPLY = "I don't know"
# A RAG variant that is told to answer only from the passages (notebook 04 compares it with the
# series' instruction above, which does not mention them).
GROUNDED_SYSTEM_PROMPT = ("Answer in a few words, using only the passages. "
                          "If they do not give the answer, reply \"I don't know\".")
# How many retrieved passages the reader gets. Chosen on training wordings by
# .ci/reader_format_ablation.py: one passage was the best of its variants (the 135M reader is
# distracted by a second one), though two would hold the gold document more often.
DEFAULT_K = 1
# New tokens an answer may take (generate's default): room for the few words the instruction asks
# for. Replies in notebook 03's house style need more (helpers.recipe.STYLE_TOKENS).
DEFAULT_MAX_NEW_TOKENS = 24


@dataclass(frozen=True)
class Answer:
    """One generated answer and what it cost."""

    text: str
    prompt_tokens: int
    new_tokens: int
    seconds: float        # this answer's share of its batch's wall time (when it was generated)
    cached: bool = False  # taken from the answer cache (helpers.answer_cache), not generated now


PASSAGE_TAGS = ("id", "number")


def format_passages(passages: Sequence[Passage], tags: str = "id") -> str:
    """The context block: one passage per paragraph, each tagged ``[doc-id]`` (``tags="id"``, the
    series' format) or by its position, ``[1]``, ``[2]``... (``tags="number"``, so that a reply can
    point at one passage: notebook 05's citations)."""
    if tags not in PASSAGE_TAGS:
        raise ValueError(f"tags={tags!r}: use one of {PASSAGE_TAGS}")
    return "\n\n".join(f"[{p.doc_id if tags == 'id' else i}] {p.text}" for i, p in enumerate(passages, 1))


def closed_book_messages(question: str, system: str = SYSTEM_PROMPT) -> Messages:
    """Chat messages asking ``question`` with no context."""
    return [{"role": "system", "content": system}, {"role": "user", "content": f"Question: {question}"}]


def rag_messages(question: str, passages: Sequence[Passage], system: str = SYSTEM_PROMPT, tags: str = "id") -> Messages:
    """Chat messages asking ``question`` with retrieved passages placed before it (``tags``: how each
    passage is tagged, :func:`format_passages`)."""
    if not passages:
        return closed_book_messages(question, system)
    context = format_passages(passages, tags)
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"Passages:\n{context}\n\nQuestion: {question}"}]


def render(tokenizer: "PreTrainedTokenizerBase", messages: Messages) -> str:
    """The exact text the model sees for ``messages`` (chat template, generation prompt added)."""
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def newline_token_ids(tokenizer: "PreTrainedTokenizerBase") -> list[int]:
    """Ids of every vocabulary token that contains a line break (generation stops at any of them)."""
    cached = getattr(tokenizer, "_ragft_newline_ids", None)
    if cached is None:
        cached = sorted(i for i in tokenizer.get_vocab().values() if "\n" in tokenizer.decode([i]))
        tokenizer._ragft_newline_ids = cached
    return cached


def generate(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", prompts: Sequence[Messages],
             max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, batch_size: int = 32, first_line: bool = True,
             prefill: str = "", progress: str | None = None, cache: bool | None = None) -> list[Answer]:
    """Greedy answers for a list of chat prompts, in the order given.

    ``first_line``: stop each answer at its first line break and keep only that line. Without it the
    135M model often pads a right answer with a second line of chatter ("Question: ...", a repeat)
    until the token budget runs out; the format ablation found the first line alone scores as well
    and costs fewer tokens. A line-break token ends a sequence like end-of-text does.
    ``prefill``: text placed at the start of the reply (the format ablation tries it; the series
    does not use it). ``progress``: a label; when given, a progress bar with the time left is
    shown on stderr (the command-line tools use it; notebooks do not).

    Prompts are sorted by length and batched (left padding) so little compute goes to padding. On a
    2-core CPU, 100 closed-book questions took 25 s in batches of 16 and 19 s in batches of 32
    (RAG prompts: 37 s and 34 s); one at a time is about three times slower than batches of 16.

    ``cache``: look each prompt up in :mod:`helpers.answer_cache` first and generate only the
    misses (``None``: the ``RAGFT_ANSWER_CACHE`` setting, on by default). Pass ``False`` to time
    generation.

    The steps: render and measure the prompts; look them up in the answer cache
    (:func:`_cached_answers`); generate the misses, longest first, in batches (:func:`_generate_batch`);
    store the new answers.
    """
    if tokenizer.padding_side != "left":
        raise ValueError("batched generation needs tokenizer.padding_side == 'left'")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens}: must be at least 1")
    stops = [tokenizer.eos_token_id] + (newline_token_ids(tokenizer) if first_line else [])
    texts = [render(tokenizer, m) + prefill for m in prompts]
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    store = None
    if config.answer_cache_enabled() if cache is None else cache:
        store = answer_cache.AnswerCache(model, tokenizer, stops, first_line)
    answers = _cached_answers(store, texts, lengths, max_new_tokens)
    todo = [i for i in range(len(texts)) if answers[i] is None]
    order = sorted(todo, key=lambda i: -lengths[i])
    fresh: dict[str, dict] = {}
    bar = None
    if progress is not None:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), initial=len(texts) - len(todo), desc=progress, unit="answer")
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        for i, answer, entry in _generate_batch(model, tokenizer, texts, lengths, batch, max_new_tokens, stops,
                                                first_line):
            answers[i] = answer
            fresh[answer_cache.prompt_key(texts[i])] = entry
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    if store is not None:
        store.store(fresh)
    return [a for a in answers if a is not None]


def _cached_answers(store: "answer_cache.AnswerCache | None", texts: Sequence[str], lengths: Sequence[int],
                    max_new_tokens: int) -> list[Answer | None]:
    """For each rendered prompt, its answer from ``store`` when one valid for ``max_new_tokens`` is
    there, else None (all None without a store)."""
    answers: list[Answer | None] = [None] * len(texts)
    if store is None:
        return answers
    for i, text in enumerate(texts):
        entry = store.lookup(text, max_new_tokens)
        if entry is not None:
            answers[i] = Answer(text=entry["text"], prompt_tokens=lengths[i], new_tokens=entry["new_tokens"],
                                seconds=entry["seconds"], cached=True)
    return answers


def _generate_batch(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", texts: Sequence[str],
                    lengths: Sequence[int], batch: Sequence[int], max_new_tokens: int, stops: Sequence[int],
                    first_line: bool) -> list[tuple[int, Answer, dict[str, Any]]]:
    """Greedy answers to the prompts ``texts[i]`` for ``i`` in ``batch``, generated together (left
    padding): for each, ``(i, answer, answer-cache entry)``."""
    import torch

    device = next(model.parameters()).device
    enc = tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True,
                    add_special_tokens=False).to(device)
    began = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=stops)
    seconds = (time.perf_counter() - began) / len(batch)
    new = out[:, enc["input_ids"].shape[1]:]
    done = []
    for row, i in enumerate(batch):
        tokens = [t for t in new[row].tolist() if t != tokenizer.pad_token_id]
        text = tokenizer.decode(tokens, skip_special_tokens=True).strip()
        if first_line:
            text = text.split("\n", 1)[0].strip()
        # stopped by itself (a stop token, or end of text stripped as padding), not by the budget
        stopped = len(tokens) < max_new_tokens or (bool(tokens) and tokens[-1] in stops)
        done.append((i, Answer(text=text, prompt_tokens=lengths[i], new_tokens=len(tokens), seconds=seconds),
                     {"text": text, "new_tokens": len(tokens), "seconds": seconds, "stopped": stopped,
                      "budget": max_new_tokens}))
    return done


def answer_closed_book(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", questions: Sequence[str],
                       **kwargs: Any) -> list[Answer]:
    """Answer each question with no context (keyword arguments go to :func:`generate`)."""
    return generate(model, tokenizer, [closed_book_messages(q) for q in questions], **kwargs)


def answer_with_rag(model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", index: "VectorIndex",
                    questions: Sequence[str], k: int = DEFAULT_K, system: str = SYSTEM_PROMPT,
                    **kwargs: Any) -> tuple[list[Answer], list[list[Passage]]]:
    """Retrieve the top-``k`` passages for each question, then answer from them (``system``: the
    instruction, :data:`SYSTEM_PROMPT` unless an experiment varies it).

    Returns the answers and, for each question, the passages it was given (its sources).
    """
    hits = index.search_many(list(questions), k=k)
    answers = generate(model, tokenizer, [rag_messages(q, h, system) for q, h in zip(questions, hits, strict=True)], **kwargs)
    return answers, hits


def abstain_below(answers: Sequence[Answer], hits: Sequence[Sequence[Passage]], threshold: float) -> list[Answer]:
    """A RAG system that abstains on weak evidence: each answer whose best retrieved passage scores
    below ``threshold`` (cosine similarity) is replaced by :data:`IDK_REPLY`; the others are kept.

    The replaced answer keeps its cost (it was generated); a deployed system would skip generating it.
    """
    if len(answers) != len(hits):
        raise ValueError(f"{len(answers)} answers but {len(hits)} retrieval results")
    out = []
    for answer, passages in zip(answers, hits, strict=True):
        best = max((p.score for p in passages), default=float("-inf"))
        out.append(answer if best >= threshold else Answer(IDK_REPLY, answer.prompt_tokens, 0, answer.seconds))
    return out
