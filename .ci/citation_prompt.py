"""Choose how notebook 05 asks the RAG reader for a citation, on a development split.

Every variant answers the development questions of notebook 04 (``hallucination.question_sets()
.dev_heldout``: held-out wordings of facts in neither evaluated set, no near-copy of an evaluated
question) from the top-3 paragraphs, then the reader is asked for its source. A variant counts as a
success on a question when the reply cites exactly one passage and it holds an accepted answer (with
document ids, one *document*: its passages among the three count as one citation). The variant that
cites inside the answer gets 48 new tokens instead of 24, room for the answer and the citation. The best variant became
``helpers.transparency``'s ``CITE_FOLLOW_UP`` with numbered passages (``CHOSEN``); the script checks
that the helper matches it. The table is written to ``results/citation_prompt.json`` and shown in
notebook 05.

    make citation-prompt     # or: python .ci/citation_prompt.py   (about 4 minutes on 2 cores)
"""
from __future__ import annotations

from helpers import data, evaluate, generation, hallucination, models, results, retrieval, transparency

CHOSEN = "numbered passages, asked after the answer"
ASK_NUMBER = transparency.CITE_FOLLOW_UP
ASK_ID = "Which passage gives that answer? Reply with its id in brackets."
CITE_INSIDE = "Answer in a few words, then cite the passage you used as [1], [2] or [3]."


def main() -> None:
    if transparency.CITE_K != 3:
        raise SystemExit("the variants below are written for three passages")
    generator, tokenizer = models.load_generator()
    index = retrieval.VectorIndex.build(models.load_embedder(),
                                        retrieval.chunk_documents(data.load_corpus(1), "paragraph"))
    questions = hallucination.question_sets().dev_heldout
    texts = [q.text for q in questions]
    hits = index.search_many(texts, k=transparency.CITE_K)
    table: dict[str, dict] = {}

    def record(name: str, cited: list[tuple[int, ...]], answers: list[generation.Answer]) -> None:
        one = [len({h[i].doc_id for i in c}) == 1 if name.startswith("document ids") else len(c) == 1
               for h, c in zip(hits, cited, strict=True)]
        good = [o and any(evaluate.contains_answer(h[i].text, q.answers) for i in c)
                for o, q, h, c in zip(one, questions, hits, cited, strict=True)]
        table[name] = {"cites one passage": vars(evaluate.proportion(one)),
                       "cited passage holds the answer": vars(evaluate.proportion(good)),
                       "answer correct": vars(evaluate.proportion(
                           [evaluate.contains_answer(a.text, q.answers) for a, q in zip(answers, questions, strict=True)]))}
        print(f"{name}: {table[name]['cited passage holds the answer']['mean']:.2f}")

    for name, ask, tags in ((CHOSEN, ASK_NUMBER, "number"), ("document ids, asked after the answer", ASK_ID, "id")):
        rows = transparency.cite(generator, tokenizer, texts, hits, follow_up=ask, tags=tags)
        record(name, [r.cited for r in rows], [r.answer for r in rows])
    inside = generation.generate(generator, tokenizer, [
        generation.rag_messages(q, h, system=CITE_INSIDE, tags="number") for q, h in zip(texts, hits, strict=True)], max_new_tokens=48)
    record("numbered passages, cite inside the answer", [transparency.cited_passages(a.text, h) for a, h in zip(inside, hits, strict=True)],
           inside)
    best = max(table, key=lambda k: table[k]["cited passage holds the answer"]["mean"])
    if best != CHOSEN:
        raise SystemExit(f"{best!r} now wins: change transparency.CITE_FOLLOW_UP / CHOSEN to match")
    results.save("citation_prompt", {"n_questions": len(questions), "split": "notebook 04's development questions",
                                     "k": transparency.CITE_K, "chosen": CHOSEN, "follow_up": ASK_NUMBER,
                                     "variants": table})


if __name__ == "__main__":
    main()
