"""Choose the learning rate of notebook 02's raw-text (LM) adapter on training data only.

The LM arm reads the six training documents of notebook 02's document split as 128-token blocks,
12 epochs, at each learning rate below. Each adapter then answers the *training* wording of the
inside facts (the questions the Q&A arm is trained on; never a held-out paraphrase), and we keep
the rate with the best lenient share (ties: the lower final loss). The Q&A arm's rate was chosen the
same way (see ``helpers.finetune.LoraSettings``). The split, the schedule and ``CHOSEN`` are the
series' recipe (``helpers.recipe``: ``document_split``, ``LM_SETTINGS``); notebook 02 trains with
``recipe.LM_SETTINGS`` and shows this table from ``results/lm_learning_rate.json``; the script fails
if the best rate is not ``CHOSEN``, and notebook 02 checks that the file agrees with the recipe.

    make lm-rate        # or: python .ci/lm_learning_rate.py   (about 4 minutes on 2 cores)
"""
from __future__ import annotations

from dataclasses import replace

from helpers import config, data, evaluate, finetune, generation, models, recipe, results

RATES = (1e-3, 3e-3, 1e-2, 3e-2)
CHOSEN = recipe.LM_SETTINGS.learning_rate   # what notebook 02 uses; the script fails if the table disagrees
EPOCHS = recipe.LM_SETTINGS.epochs          # notebook 02's schedule (and below, its split)


def main() -> None:
    facts, docs = data.load_facts(1), data.load_corpus(1)
    split = recipe.document_split(facts, docs)
    generator, tokenizer = models.load_generator()
    blocks = finetune.lm_examples([d.text for d in docs if d.doc_id in split.train_docs], tokenizer,
                                 max_length=recipe.LM_BLOCK_TOKENS)
    questions = data.fact_questions(split.inside, "train", pool=facts)
    rows = {}
    for rate in RATES:
        run = finetune.train_lora("lm", blocks, replace(recipe.LM_SETTINGS, learning_rate=rate))
        graded = evaluate.grade(questions, generation.answer_closed_book(run.model, tokenizer, [q.text for q in questions]))
        per_epoch = len(run.losses) // EPOCHS
        epoch_loss = [sum(run.losses[i * per_epoch:(i + 1) * per_epoch]) / per_epoch for i in range(EPOCHS)]
        rows[f"{rate:g}"] = {"learning_rate": rate, "lenient": evaluate.summarize(graded)["contains"],
                             "final_loss": run.losses[-1], "epoch_loss": epoch_loss,
                             "last_epoch_change": abs(epoch_loss[-1] - epoch_loss[-2]) / epoch_loss[-2],
                             "train_seconds": run.train_seconds, "outcomes": [r.contains for r in graded]}
        run.model = None
        print(f"lr {rate:g}: lenient {rows[f'{rate:g}']['lenient']}, final loss {run.losses[-1]:.3f}, "
              f"last epoch changed the loss by {rows[f'{rate:g}']['last_epoch_change']:.0%}", flush=True)
    best = max(rows.values(), key=lambda r: (r["lenient"].mean, -r["final_loss"]))
    if best["learning_rate"] != CHOSEN:
        raise SystemExit(f"the best rate is {best['learning_rate']:g}, but CHOSEN (and notebook 02) say {CHOSEN:g}")
    results.save("lm_learning_rate", {"split": "training wordings of the inside facts", "epochs": EPOCHS,
                                      "n_questions": len(questions), "qids": [q.qid for q in questions],
                                      "chosen": f"{CHOSEN:g}", "rates": rows},
                 folder=config.REPO_ROOT / "results")


if __name__ == "__main__":
    main()
