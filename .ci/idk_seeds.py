"""Seed spread of notebook 04's fine-tuned arms (make idk-seeds; results/idk_seeds.json, shown in 04).

A LoRA run depends on its seed (the adapter's random start and the order of examples). Notebook 04
trains its "I don't know" adapter with seed 0 only; training two more inside the notebook would add
about three minutes to a workshop notebook, so this script does it once and the notebook shows the
table. For seeds 0, 1 and 2 it takes notebook 02's Q&A adapter (cached when 02 has run), trains the
"I don't know" adapter (``helpers.hallucination.idk_pairs``, same settings) and a control: the Q&A
pairs alone for as many optimizer steps as the "I don't know" adapter took (11 epochs instead of 6),
so that a difference between the two is not just more training. It measures each closed-book, with
the notebook's questions, prompt and decoding, and stores every question's outcome (correct, wrong,
abstained, invented) so that the notebook can run paired tests per seed:

* accuracy (lenient) on the inside facts' held-out questions;
* abstention on the outside facts' held-out questions (the honest reply: it was never told them);
* invented answers on the unanswerable and false-premise questions;
* accuracy (lenient) on the general-knowledge questions.

    make idk-seeds      # about 7 minutes on 2 cores after notebooks 02 and 04 ran (their adapters are
                        # cached); about 15 from an empty cache
"""
from __future__ import annotations

from dataclasses import replace

from helpers import config, data, evaluate, finetune, generation, hallucination, models, recipe, results

SEEDS = recipe.SEEDS


def main() -> None:
    _, tokenizer = models.load_generator()
    sets = hallucination.question_sets()
    parts = {"inside": sets.inside, "outside": sets.outside, "unanswerable": sets.unanswerable,
             "general": sets.general}
    texts = [q.text for qs in parts.values() for q in qs]
    qa_pairs = finetune.fact_pairs(sets.inside_facts).pairs
    idk_pairs = hallucination.idk_pairs(sets.inside_facts, data.load_unanswerable(split="train"))
    settings = recipe.QA_SETTINGS
    steps = -(-len(idk_pairs) // settings.batch_size) * settings.epochs        # optimizer steps of the IDK arm
    matched = replace(settings, epochs=steps // -(-len(qa_pairs) // settings.batch_size))
    arms = {"Q&A fine-tuned": (qa_pairs, settings), "Q&A fine-tuned, matched steps": (qa_pairs, matched),
            "IDK fine-tuned": (idk_pairs, settings)}
    rows: dict[str, dict] = {}
    for arm, (pairs, arm_settings) in arms.items():
        examples = finetune.qa_examples(pairs, tokenizer)
        for seed in SEEDS:
            run = finetune.train_lora("qa", examples, replace(arm_settings, seed=seed))
            answers = generation.answer_closed_book(run.model, tokenizer, texts)
            graded, start = {}, 0
            for part, qs in parts.items():
                graded[part] = evaluate.grade(qs, answers[start:start + len(qs)])
                start += len(qs)
            rows[f"{arm} | {seed}"] = {
                "arm": arm, "seed": seed, "train_seconds": run.train_seconds, "epochs": run.settings.epochs,
                "steps": len(run.losses), "supervised_tokens": int(run.n_tokens * run.settings.epochs),
                "outcomes": {part: [evaluate.reply_outcome(r) for r in rows_] for part, rows_ in graded.items()},
                "inside_correct": vars(evaluate.proportion([r.contains for r in graded["inside"]])),
                "outside_abstained": vars(evaluate.proportion([r.abstained for r in graded["outside"]])),
                "unanswerable_invented": vars(evaluate.proportion([r.invented for r in graded["unanswerable"]])),
                "general_correct": vars(evaluate.proportion([r.contains for r in graded["general"]])),
            }
            print(arm, seed, {k: round(v["mean"], 3) for k, v in rows[f"{arm} | {seed}"].items()
                              if isinstance(v, dict) and "mean" in v}, flush=True)
            run.model = None
    results.save("idk_seeds", {"runs": rows, "seeds": list(SEEDS), "n": {p: len(q) for p, q in parts.items()},
                               "qids": {p: [q.qid for q in qs] for p, qs in parts.items()},
                               "settings": vars(recipe.QA_SETTINGS)},
                 folder=config.REPO_ROOT / "results")


if __name__ == "__main__":
    main()
