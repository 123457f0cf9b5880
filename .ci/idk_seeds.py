"""Seed spread of notebook 04's fine-tuned arms (make idk-seeds; results/idk_seeds.json, shown in 04).

A LoRA run depends on its seed (the adapter's random start and the order of examples). Notebook 04
trains its "I don't know" adapter with seed 0 only; training two more inside the notebook would add
about three minutes to a workshop notebook, so this script does it once and the notebook shows the
table. For seeds 0, 1 and 2 it takes notebook 02's Q&A adapter (cached when 02 has run) and trains the
"I don't know" adapter (``helpers.hallucination.idk_pairs``, same settings), then measures each
closed-book, with the notebook's questions, prompt and decoding:

* accuracy (lenient) on the inside facts' held-out questions;
* abstention on the outside facts' held-out questions (the honest reply: it was never told them);
* invented answers on the unanswerable and false-premise questions;
* accuracy (lenient) on the general-knowledge questions.

    make idk-seeds      # about 7 minutes on 2 cores (less when the adapters are cached)
"""
from __future__ import annotations

from dataclasses import replace

from helpers import config, data, evaluate, finetune, generation, hallucination, models, results


SEEDS = (0, 1, 2)


def main() -> None:
    _, tokenizer = models.load_generator()
    sets = hallucination.question_sets()
    parts = {"inside": sets.inside, "outside": sets.outside, "unanswerable": sets.unanswerable,
             "general": sets.general}
    texts = [q.text for qs in parts.values() for q in qs]
    arms = {"Q&A fine-tuned": finetune.fact_pairs(sets.inside_facts).pairs,
            "IDK fine-tuned": hallucination.idk_pairs(sets.inside_facts, data.load_unanswerable(split="train"))}
    rows: dict[str, dict] = {}
    for arm, pairs in arms.items():
        examples = finetune.qa_examples(pairs, tokenizer)
        for seed in SEEDS:
            run = finetune.train_lora("qa", examples, replace(hallucination.QA_SETTINGS, seed=seed))
            answers = generation.answer_closed_book(run.model, tokenizer, texts)
            graded, start = {}, 0
            for part, qs in parts.items():
                graded[part] = evaluate.grade(qs, answers[start:start + len(qs)])
                start += len(qs)
            rows[f"{arm} | {seed}"] = {
                "arm": arm, "seed": seed, "train_seconds": run.train_seconds,
                "inside_correct": vars(evaluate.proportion([r.contains for r in graded["inside"]])),
                "outside_abstained": vars(evaluate.proportion([r.abstained for r in graded["outside"]])),
                "unanswerable_invented": vars(evaluate.proportion([r.invented for r in graded["unanswerable"]])),
                "general_correct": vars(evaluate.proportion([r.contains for r in graded["general"]])),
            }
            print(arm, seed, {k: round(v["mean"], 3) for k, v in rows[f"{arm} | {seed}"].items()
                              if isinstance(v, dict)}, flush=True)
            run.model = None
    results.save("idk_seeds", {"runs": rows, "seeds": list(SEEDS), "n": {p: len(q) for p, q in parts.items()},
                               "settings": vars(hallucination.QA_SETTINGS)},
                 folder=config.REPO_ROOT / "results")


if __name__ == "__main__":
    main()
