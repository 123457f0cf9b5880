"""The series' recipe (helpers/recipe.py) against what produced the committed results.

Adapters and answers are cached by keys that hash the settings' JSON form, so a recipe that drifts
(``epochs=6.0`` for ``6``, another split seed) would silently train other adapters than the ones
behind ``results/*.json``; and a results file from an older recipe would describe adapters the
notebooks no longer train. Each test compares the recipe with what a committed results file
records, or with the literal value it replaced in the notebooks and scripts.
"""
from __future__ import annotations

import argparse
import inspect
import json
import re
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from helpers import compare, config, data, finetune, generation, hallucination, recipe, results, style

RESULTS = config.REPO_ROOT / "results"


def _numbers(name: str) -> dict[str, Any]:
    return results.load(name, folder=RESULTS)


def _key(settings: finetune.LoraSettings) -> str:
    """The adapter cache key of ``settings`` with everything else fixed: equal keys, same adapter."""
    example = {"input_ids": [1, 2, 3], "attention_mask": [1, 1, 1], "labels": [-100, 2, 3]}
    return finetune.adapter_key("qa", [example], settings, "base", training_args={"a": 1}, versions={"torch": "x"})


def _stored(settings: finetune.LoraSettings) -> dict[str, Any]:
    """``settings`` as a results file stores them (JSON; fields added later are absent when unused)."""
    fields = json.loads(json.dumps(asdict(settings)))
    if fields["micro_batch_size"] is None:
        del fields["micro_batch_size"]
    return fields


# --------------------------------------------------------------------------------------------------
# the recipe is the values it replaced, down to the type (the cache key hashes the JSON form)

def test_settings_are_the_ones_they_replaced_key_for_key():
    assert recipe.QA_SETTINGS == finetune.LoraSettings(epochs=6)
    assert _key(recipe.QA_SETTINGS) == _key(finetune.LoraSettings(epochs=6))
    assert type(recipe.QA_SETTINGS.epochs) is int, "6, not 6.0: the cache key tells them apart"
    # notebook 02 built the LM arm from the rate in results/lm_learning_rate.json
    lm_rate = _numbers("lm_learning_rate")["chosen"]
    assert _key(recipe.LM_SETTINGS) == _key(replace(finetune.LoraSettings(epochs=12), learning_rate=float(lm_rate)))
    # .ci/lm_learning_rate.py trains each rate from the same schedule
    for rate in (1e-3, 3e-3, 1e-2, 3e-2):
        assert _key(replace(recipe.LM_SETTINGS, learning_rate=rate)) == _key(
            replace(finetune.LoraSettings(epochs=12), learning_rate=rate))
    assert recipe.QA_SNAPSHOTS == (2, 4) and recipe.SEEDS == (0, 1, 2)
    assert (recipe.MIN_INSIDE, recipe.N_OUTSIDE, recipe.SPLIT_SEED) == (40, 40, 0)
    assert (recipe.K, recipe.ANSWER_TOKENS, recipe.LM_BLOCK_TOKENS) == (1, 24, 128)
    assert (recipe.STYLE_TOKENS, recipe.STYLE_MAX_EPOCHS, recipe.STYLE_BAR) == (64, 2, 0.9)


def test_hallucination_names_the_recipe():
    assert hallucination.QA_SETTINGS is recipe.QA_SETTINGS and hallucination.QA_SNAPSHOTS is recipe.QA_SNAPSHOTS
    assert (hallucination.MIN_INSIDE, hallucination.N_OUTSIDE, hallucination.SPLIT_SEED) == (
        recipe.MIN_INSIDE, recipe.N_OUTSIDE, recipe.SPLIT_SEED)


def test_helpers_defaults_are_the_recipe():
    """Calls that leave a setting out get the recipe's value."""
    def default(function: Any, name: str) -> Any:
        return inspect.signature(function).parameters[name].default

    assert default(generation.generate, "max_new_tokens") == recipe.ANSWER_TOKENS
    assert default(generation.answer_with_rag, "k") == recipe.K
    assert default(style.train_adapter, "max_new_tokens") == recipe.STYLE_TOKENS
    assert default(style.train_adapter, "max_epochs") == recipe.STYLE_MAX_EPOCHS
    assert default(style.train_adapter, "bar") == recipe.STYLE_BAR


def test_the_command_trains_the_recipe_with_its_options():
    """helpers.compare's defaults give the adapter (the cache key) it trained before the recipe
    existed: the Q&A defaults, epochs as the float --epochs parses to."""
    args = compare.build_parser().parse_args(["--docs", "d", "--questions", "q", "--out", "o"])
    assert args.k == recipe.K
    for layers in (30, 4):
        before = replace(finetune.LoraSettings(epochs=6.0), learning_rate=3e-3, seed=0,
                         top_layers=min(finetune.LoraSettings.top_layers or layers, layers))
        assert _key(compare.fine_tuning_settings(args, layers)) == _key(before)
    given = compare.fine_tuning_settings(argparse.Namespace(epochs=2.0, learning_rate=1e-3, seed=3), 30)
    assert (given.epochs, given.learning_rate, given.seed) == (2.0, 1e-3, 3)


# --------------------------------------------------------------------------------------------------
# the committed results were made with this recipe

def test_results_record_the_q_and_a_recipe():
    idk = _numbers("idk_seeds")
    recorded = {k: v for k, v in idk["settings"].items() if not (k == "micro_batch_size" and v is None)}
    assert recorded == _stored(recipe.QA_SETTINGS)
    assert idk["seeds"] == list(recipe.SEEDS)
    for run in idk["runs"].values():
        if run["arm"] in ("Q&A fine-tuned", "IDK fine-tuned"):
            assert run["epochs"] == recipe.QA_SETTINGS.epochs, run["arm"]
    adapters = _numbers("04_hallucinations")["adapters"]
    assert {a["epochs"] for a in adapters.values()} == {recipe.QA_SETTINGS.epochs}
    exposure = _numbers("02_external_knowledge")["exposure"]
    assert {name: r["epochs"] for name, r in exposure.items()} == {
        "LM fine-tuned": recipe.LM_SETTINGS.epochs,
        **{f"Q&A fine-tuned, seed {s}": recipe.QA_SETTINGS.epochs for s in recipe.SEEDS}}
    assert list(_numbers("02_external_knowledge")["seeds_inside"]) == [str(s) for s in recipe.SEEDS]


def test_results_record_the_grid_around_the_recipe():
    """Notebook 07 varies the learning rate around the recipe's and reads the recipe's snapshots."""
    grid = _numbers("07_expertise")["ft_grid"]
    cells = [re.fullmatch(r"lr=(\S+) \| epoch=(\d+) \| seed=(\d+)", k).groups() for k in grid]
    series = {(int(e), int(s)) for lr, e, s in cells if float(lr) == recipe.QA_SETTINGS.learning_rate}
    epochs = {*recipe.QA_SNAPSHOTS, recipe.QA_SETTINGS.epochs}
    assert series == {(e, s) for e in epochs for s in recipe.SEEDS}


def test_results_record_the_lm_recipe():
    lm = _numbers("lm_learning_rate")
    assert lm["epochs"] == recipe.LM_SETTINGS.epochs and type(lm["epochs"]) is type(recipe.LM_SETTINGS.epochs)
    assert float(lm["chosen"]) == recipe.LM_SETTINGS.learning_rate
    best = max(lm["rates"].values(), key=lambda r: (r["lenient"]["mean"], -r["final_loss"]))
    assert best["learning_rate"] == recipe.LM_SETTINGS.learning_rate, "the table picks the recipe's rate"


def test_results_record_the_reader_and_the_style_recipe():
    assert _numbers("00_setup")["k"] == recipe.K
    assert _numbers("reader_format_ablation")["series_k"] == recipe.K
    for name in ("03_model_customization", "style_seeds"):
        assert _numbers(name)["max_new_tokens"] == recipe.STYLE_TOKENS, name
    assert list(_numbers("style_seeds")["seeds"]) == [str(s) for s in recipe.SEEDS]
    adapter = _numbers("03_model_customization")["adapter"]
    checked = {float(e): est["mean"] for e, est in adapter["train_adherence"].items()}
    assert sorted(checked) == [float(e) for e in range(1, recipe.STYLE_MAX_EPOCHS + 1)]
    assert adapter["epochs"] == min(e for e, m in checked.items() if m >= recipe.STYLE_BAR)


def test_results_record_the_document_split():
    """Notebook 02's split of today's data/ is the one its results describe."""
    facts, docs = data.load_facts(1), data.load_corpus(1)
    split = recipe.document_split(facts, docs)
    saved = _numbers("02_external_knowledge")
    assert list(split.train_docs) == saved["train_docs"]
    assert (len(split.inside), len(split.outside)) == (saved["n_inside_facts"], saved["n_outside_facts"])
    assert len(split.outside) == recipe.N_OUTSIDE and len(split.inside) >= recipe.MIN_INSIDE


# --------------------------------------------------------------------------------------------------
# nothing defines its own copy

def _code_cells() -> list[tuple[str, str]]:
    out = []
    for path in sorted((config.REPO_ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        out += [(f"{path.name} cell {i}", "".join(c["source"])) for i, c in enumerate(nb["cells"])
                if c["cell_type"] == "code"]
    return out + [(p.name, p.read_text(encoding="utf-8")) for p in sorted((config.REPO_ROOT / ".ci").glob("*.py"))]


@pytest.mark.parametrize("pattern", [r"LoraSettings\(", r"\bdata\.document_split\(", r"\bDEFAULT_K\b"])
def test_notebooks_and_scripts_take_the_recipe_from_helpers_recipe(pattern: str):
    """A notebook or script that builds its own LoRA settings or split could drift from the recipe
    (.ci/reader_format_ablation.py checks DEFAULT_K: it chose it)."""
    allowed = {"reader_format_ablation.py"}
    found = [where for where, code in _code_cells() if re.search(pattern, code) and where not in allowed]
    assert not found, f"{pattern}: use helpers.recipe in {found}"


def test_recipe_module_is_where_the_values_live():
    source = Path(recipe.__file__).read_text(encoding="utf-8")
    for name in ("MIN_INSIDE", "N_OUTSIDE", "SPLIT_SEED", "QA_SETTINGS", "QA_SNAPSHOTS", "SEEDS", "LM_SETTINGS",
                 "LM_BLOCK_TOKENS", "K", "ANSWER_TOKENS", "STYLE_TOKENS", "STYLE_MAX_EPOCHS", "STYLE_BAR"):
        assert re.search(rf"^{name} = ", source, re.M), name


def test_results_record_the_citation_prompt():
    """notebook 05 asks for citations the way .ci/citation_prompt.py chose on development questions."""
    from helpers import transparency

    chosen = _numbers("citation_prompt")
    assert chosen["follow_up"] == transparency.CITE_FOLLOW_UP and chosen["k"] == transparency.CITE_K
    best = max(chosen["variants"], key=lambda v: chosen["variants"][v]["cited passage holds the answer"]["mean"])
    assert best == chosen["chosen"], "the table picks the chosen wording"
    assert _numbers("05_transparency")["citation"]["k"] == transparency.CITE_K
