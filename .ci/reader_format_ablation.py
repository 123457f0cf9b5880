"""Choose the reader's answer format on a development split (training wordings only).

Every variant answers the *training* wording of the same 60 facts with RAG (top-2 paragraphs); no
held-out question is used, so the choice cannot leak into any evaluation. Variants start from the
series' instruction (``BASE``) with two passages and the first line of the reply kept, and change
one thing each. The variant with the best lenient score became the series format
(``helpers.generation``: ``SYSTEM_PROMPT``, ``DEFAULT_K`` and ``generate``'s defaults); ``CHOSEN``
names it and the script checks that the helpers match it. The table, with each question's
outcome for paired comparisons, is written to ``results/reader_format_ablation.json`` and shown in
notebook 00.

    make ablation        # or: python .ci/reader_format_ablation.py   (about 4 minutes on 2 cores)
"""
from __future__ import annotations

import random
import time
from typing import Callable

from helpers import config, data, evaluate, generation, models, results, retrieval

N_FACTS, SEED, K = 60, 0, 2
BASE = "Answer in a few words. If you do not know, reply \"I don't know\"."
SHORT = "Answer with a short phrase, not a sentence. If you do not know, reply \"I don't know\"."
CHOSEN = "k = 1 passage"
REFERENCE = "reference: k = 2, first line only"
EXAMPLES = ("\n\nExample. Question: How heavy is the Tern probe? Answer: 310 g"
            "\nExample. Question: Who founded the guild? Answer: Mara Quist")


def main() -> None:
    generator, tokenizer = models.load_generator()
    index = retrieval.VectorIndex.build(models.load_embedder(),
                                        retrieval.chunk_documents(data.load_corpus(1), "paragraph"))
    facts = random.Random(SEED).sample(data.load_facts(1), N_FACTS)
    questions = data.fact_questions(facts, "train", pool=data.load_facts(1))
    hits = index.search_many([q.text for q in questions], k=K)

    def user(q: str, passages) -> str:
        return generation.rag_messages(q, passages)[1]["content"]

    def msgs(system: str = BASE, tail: str = "",
             block: Callable | None = None) -> Callable:
        def build(q: str, passages) -> generation.Messages:
            content = block(q, passages) if block else user(q, passages)
            return [{"role": "system", "content": system}, {"role": "user", "content": content + tail}]
        return build

    def both_sides(q: str, passages) -> str:
        return f"Question: {q}\n\n{user(q, passages)}"

    if generation.SYSTEM_PROMPT != BASE or generation.DEFAULT_K != 1:
        raise SystemExit(f"the series format is {CHOSEN!r}: generation.SYSTEM_PROMPT should be {BASE!r} "
                         f"and generation.DEFAULT_K 1")

    def doc_block(q: str, passages) -> str:
        ctx = "\n\n".join(f"Document {p.doc_id}:\n{p.text}" for p in passages)
        return f"{ctx}\n\nQuestion: {q}"

    variants: dict[str, dict] = {
        REFERENCE: dict(build=msgs()),
        "no stop: full 24-token budget": dict(build=msgs(), first_line=False),
        "cue 'Answer:' after the question": dict(build=msgs(tail="\nAnswer:")),
        "prefilled reply 'The answer is'": dict(build=msgs(), prefill="The answer is"),
        "'short phrase' instruction": dict(build=msgs(system=SHORT)),
        "two worked examples in the instruction": dict(build=msgs(system=BASE + EXAMPLES)),
        "question before and after passages": dict(build=msgs(block=both_sides)),
        "'Document id:' passage headers": dict(build=msgs(block=doc_block)),
        CHOSEN: dict(build=msgs(), k=1),
    }
    table = {}
    for name, v in variants.items():
        k = v.get("k", K)
        prompts = [v["build"](q.text, h[:k]) for q, h in zip(questions, hits, strict=True)]
        began = time.perf_counter()
        answers = generation.generate(generator, tokenizer, prompts, max_new_tokens=v.get("max_new_tokens", 24),
                                      first_line=v.get("first_line", True), prefill=v.get("prefill", ""),
                                      cache=False)   # timed: generate every answer afresh
        seconds = time.perf_counter() - began
        rows = evaluate.grade(questions, answers)
        s = evaluate.summarize(rows)
        table[name] = {"correct": [int(r.contains) for r in rows], "lenient": vars(s["contains"]), "strict": vars(s["exact"]), "f1": vars(s["f1"]),
                       "reply_tokens": s["answer_tokens"].mean, "seconds_per_answer": seconds / len(answers),
                       "example": answers[0].text}
        print(f"{name:42} lenient {s['contains']}  strict {s['exact']}  F1 {s['f1']}  "
              f"{s['answer_tokens'].mean:4.1f} tokens", flush=True)
    results.save("reader_format_ablation", {"n_questions": len(questions), "split": "training wordings",
                                            "k": K, "series_k": generation.DEFAULT_K, "qids": [q.qid for q in questions], "chosen": CHOSEN,
                                            "reference": REFERENCE, "variants": table},
                 folder=config.REPO_ROOT / "results")


if __name__ == "__main__":
    main()
