"""Seed spread of notebook 03's style adapter (make style-seeds; results/style_seeds.json, shown in 03).

A LoRA run depends on its seed (the adapter's random start and the order of examples). Training three
style adapters and answering with each inside notebook 03 would add about three minutes to a
notebook meant for workshops, so this script does it once and the notebook shows the table. Each
seed goes through the notebook's own procedure (``helpers.style.train_adapter``: the fewest epochs
whose style adherence on training questions reaches 0.9) and is measured on the notebook's questions
(``helpers.style.evaluation_questions``) with its prompts and decoding:

* style adherence (all four rules) closed-book and with RAG, on all held-out questions and per question
  set (the knowledge-base questions and the held-out house-style questions, notebook 03's primary result);
* accuracy (lenient) with RAG on the 40 knowledge-base questions;
* accuracy (lenient) closed-book on the 48 general-knowledge questions (forgetting).

    make style-seeds      # about 7 minutes on 2 cores cold (seed 0's adapter comes from the cache), 2 once trained
"""
from __future__ import annotations

from helpers import config, data, evaluate, generation, models, recipe, results, retrieval, style

SEEDS = recipe.SEEDS
MAX_NEW = recipe.STYLE_TOKENS


def main() -> None:
    _, tokenizer = models.load_generator()
    kb, styled = style.evaluation_questions()
    questions = kb + styled
    texts = [q.text for q in questions]
    general = data.general_questions(data.load_general())
    index = retrieval.VectorIndex.build(models.load_embedder(),
                                        retrieval.chunk_documents(data.load_corpus(1), "paragraph"))
    hits = index.search_many(texts, k=recipe.K)
    rows = {}
    for seed in SEEDS:
        kept = style.train_adapter(data.load_style("train"), tokenizer, seed=seed, max_epochs=recipe.STYLE_MAX_EPOCHS,
                                   bar=recipe.STYLE_BAR, max_new_tokens=MAX_NEW)
        model = kept.run.model
        closed = generation.generate(model, tokenizer, [generation.closed_book_messages(q) for q in texts],
                                     max_new_tokens=MAX_NEW)
        rag = generation.generate(model, tokenizer, [generation.rag_messages(q, h) for q, h in zip(texts, hits, strict=True)],
                                  max_new_tokens=MAX_NEW)
        gen = generation.answer_closed_book(model, tokenizer, [q.text for q in general], max_new_tokens=MAX_NEW)
        per_set = {f"style_{name}_{part}": vars(style.adherence([a.text for a in replies[sl]])["all rules"])
                   for name, replies in (("closed", closed), ("rag", rag))
                   for part, sl in (("kb", slice(0, len(kb))), ("style", slice(len(kb), None)))}
        rows[str(seed)] = {
            "epochs": kept.epochs, "train_seconds": kept.run.train_seconds,
            "style_closed": vars(style.adherence([a.text for a in closed])["all rules"]),
            "style_rag": vars(style.adherence([a.text for a in rag])["all rules"]), **per_set,
            "kb_accuracy_rag": vars(evaluate.summarize(evaluate.grade(kb, rag[:len(kb)]))["contains"]),
            "general_accuracy": vars(evaluate.summarize(evaluate.grade(general, gen))["contains"]),
        }
        print(seed, {k: (round(v["mean"], 3) if isinstance(v, dict) else v) for k, v in rows[str(seed)].items()},
              flush=True)
        kept.run.model = None
    results.save("style_seeds", {"seeds": rows, "n_questions": len(questions), "n_kb": len(kb), "n_style": len(styled),
                                 "n_general": len(general), "max_new_tokens": MAX_NEW},
                 folder=config.REPO_ROOT / "results")


if __name__ == "__main__":
    main()
