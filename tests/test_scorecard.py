"""helpers.scorecard on tiny hand-made results files: the rows, their statuses, the scoring rule, flip
points, and the errors a missing file or key gives. Real files in tmp_path, no mocks.

``write_results`` writes one complete set, laid out as notebooks 01-09's save cells write them (only the
keys the scorecard reads); tests change one number or drop one key and look at what happens.
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from helpers import claims, scorecard
from helpers.scorecard import BOTH, FINE_TUNING, RAG, ResultsError


def share(mean: float, n: int = 40, half: float = 0.1) -> dict:
    """A saved Estimate (vars of helpers.statistics.Estimate)."""
    return {"mean": mean, "low": max(0.0, mean - half), "high": min(1.0, mean + half), "n": n, "facts": None}


def diff(mean: float, n: int = 40, half: float = 0.1, p: float = 0.001, **extra) -> dict:
    """A saved paired Difference; the interval is mean +- half."""
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n, "facts": n, "a_only": 9, "b_only": 1,
            "p_value": p, **extra}


NEW, OLD, CONT = "RAG, re-indexed (after)", "fine-tuned on v1, not updated", "fine-tuned, continued on changes"


def example_results() -> dict[str, dict]:
    """``{results file stem: numbers}``: RAG ahead on fresh data, external knowledge and transparency;
    fine-tuning ahead on style and speed; no difference on hallucinations; naive "both" below RAG."""
    arms = {f"{a} | {p}": {"contains": share(v), "exact": share(0.0)}
            for (a, p), v in {("closed-book", "inside"): 0.02, ("LM fine-tuned", "inside"): 0.05,
                              ("Q&A fine-tuned", "inside"): 0.45, ("RAG", "inside"): 0.5,
                              ("Q&A fine-tuned + RAG", "inside"): 0.5, ("closed-book", "outside"): 0.0,
                              ("LM fine-tuned", "outside"): 0.01, ("Q&A fine-tuned", "outside"): 0.03,
                              ("RAG", "outside"): 0.4, ("Q&A fine-tuned + RAG", "outside"): 0.1}.items()}
    paired02 = {k: diff(m, p=p, holm_p=h, real_after_holm=r) for k, (m, p, h, r) in {
        "RAG - Q&A fine-tuned | outside": (0.37, 0.0001, 0.001, True),
        "RAG - LM fine-tuned | outside": (0.39, 0.0001, 0.001, True),
        "Q&A fine-tuned - LM fine-tuned | inside": (0.4, 0.0001, 0.001, True),
        "Q&A fine-tuned - RAG | inside": (-0.05, 0.5, 1.0, False),
        "RAG - LM fine-tuned | inside": (0.45, 0.0001, 0.001, True)}.items()}
    style = {name: {"style": {"all rules": share(v, n=80)}, "accuracy": share(0.3), "prompt_tokens": 50.0,
                    "style_by_set": {"knowledge-base": share(v), "style": share(min(1.0, v + 0.2))}}
             for name, v in {"base": 0.0, "RAG": 0.0, "few-shot": 0.8, "style LoRA": 0.6, "style LoRA + RAG": 0.55,
                             "few-shot + RAG": 0.2}.items()}
    pairs03 = {"style on knowledge-base questions: style LoRA - base": (0.6, True),
               "style on knowledge-base questions: RAG - base": (0.0, False),
               "style on knowledge-base questions: style LoRA - few-shot": (-0.2, True),
               "style on style questions: style LoRA - few-shot": (0.02, False),
               "style on knowledge-base questions: style LoRA + RAG - few-shot + RAG": (0.15, False),
               "style on style questions: style LoRA + RAG - few-shot + RAG": (0.35, True),
               "accuracy: style LoRA + RAG - RAG": (-0.02, False)}
    outcomes = {"base": 0.95, "RAG": 0.93, "Q&A fine-tuned": 0.97, "IDK fine-tuned": 0.3,
                "RAG, passages only + threshold": 0.5}
    paired04 = {k: diff(m, n=60, holm_p=0.001 if r else 1.0, real_after_correction=r) for k, (m, r) in {
        "invented on unanswerable: RAG - base": (-0.02, False),
        "wrong on answerable: RAG - base": (-0.4, True),
        "invented on unanswerable: Q&A fine-tuned - base": (0.02, False),
        "invented on unanswerable: IDK fine-tuned - Q&A fine-tuned": (-0.6, True),
        "invented on unanswerable: RAG, passages only + threshold - RAG, passages only": (-0.4, True),
        "correct on answerable: RAG, passages only + threshold - RAG, passages only": (-0.15, True),
        "abstained on general: IDK fine-tuned - Q&A fine-tuned": (0.6, True),
        "invented on about the asker: RAG - base": (0.4, True),
        "invented on about the asker: Q&A fine-tuned - base": (0.5, True)}.items()}
    latency = {name: {"median": m, "p90": m * 1.3, "n": 40, "seconds": [m] * 40, "run": "run 1"}
               for name, m in {"base + RAG": 1.2, "fine-tuned, merged": 0.4, "int8 base + RAG": 0.6,
                               "fine-tuned, int8": 0.3}.items()}
    fam07 = {"FT lr 0.0003, epoch 6 - series' setting": True, "general knowledge: FT lr 0.003, epoch 6 - base model": True,
             "RAG whole document, k=1 - series' setting": False, "RAG 40-word windows, k=3 - series' setting": False}
    two_by_two = {f"{a} | {p}": {"contains": share(v), "exact": share(0.0)}
                  for (a, p), v in {("base + RAG", "outside"): 0.38, ("fine-tuned", "outside"): 0.0,
                                    ("fine-tuned + RAG", "outside"): 0.05}.items()}
    claims08 = {
        "Outside the fine-tuning set, the adapter + RAG scores below RAG alone (lenient)": "supported",
        "Inside, adding the adapter raises RAG's exact match (its short format)": "supported",
        "Inside the fine-tuning set, adding the adapter to RAG leaves lenient accuracy unchanged":
            "no detectable difference",
        "2 distractors: more bare answers (exact match) than base + RAG, second corpus": "supported",
        "2 distractors: no detectable difference in lenient accuracy from base + RAG, held-out documents":
            "no detectable difference"}
    claims09 = {
        "On other facts it makes fewer reading errors than the control": "contradicted",
        "The style adapter + RAG: more replies right and in style than RAG alone": "no detectable difference",
        "The style adapter + RAG vs three examples in the prompt: no detectable difference": "no detectable difference"}
    return {
        "01_dynamic_data": {
            "new_value": {NEW: share(0.41, n=86), OLD: share(0.0, n=86), CONT: share(0.35, n=86)},
            "paired_new_value": {f"{NEW} - {OLD}": diff(0.41, n=86), f"{NEW} - {CONT}": diff(0.06, n=86, p=0.5)},
            "recall_gap": diff(0.5, n=103), "forgetting": diff(-0.25, n=120),
            "holm_p": {f"new value: {NEW} vs {OLD}": 0.0001, f"new value: {NEW} vs {CONT}": 1.0,
                       "recall: training wording vs held-out wordings": 0.0001,
                       "control facts: after vs before continued fine-tuning": 0.0001},
            "real_after_holm": {f"new value: {NEW} vs {OLD}": True, f"new value: {NEW} vs {CONT}": False,
                                "recall: training wording vs held-out wordings": True,
                                "control facts: after vs before continued fine-tuning": True}},
        "02_external_knowledge": {"arms": arms, "paired": paired02, "claims": [
            {"claim": "(1) Outside: RAG answers more questions than the Q&A adapter (seed 0 only)", "status": "supported"}]},
        "03_model_customization": {
            "systems": style,
            "style_paired": {part: {k.split(": ", 1)[1]: diff(m) for k, (m, _) in pairs03.items()
                                    if k.startswith(f"style on {part} questions")} for part in ("knowledge-base", "style")},
            "accuracy_paired": {k.split(": ", 1)[1]: diff(m, p=0.9) for k, (m, _) in pairs03.items()
                                if k.startswith("accuracy")},
            "holm_p": {k: 0.001 if r else 1.0 for k, (_, r) in pairs03.items()},
            "real_after_holm": {k: r for k, (_, r) in pairs03.items()}},
        "04_hallucinations": {"systems": {n: {"unanswerable: invented": share(v, n=60)} for n, v in outcomes.items()},
                              "paired": paired04,
                              "auc": {"evaluation": share(0.56, n=141)},
                              "adapters": {"IDK fine-tuned": {"examples": 83, "steps": 66, "epochs": 6},
                                           "Q&A fine-tuned": {"examples": 41, "steps": 36, "epochs": 6}},
                              "seed_tests": {f"correct on general: IDK fine-tuned - Q&A fine-tuned, matched steps | "
                                             f"seed {i}": diff(-0.05, n=48, real_after_correction=False)
                                             for i in range(3)}},
        "05_transparency": {
            "source_named": {"RAG reader, asked": share(0.17, n=41), "fine-tuned, asked": share(0.0, n=41),
                             "RAG, recorded source": share(0.7, n=41)},
            "source_named_difference": diff(0.17, n=41, half=0.1, p=0.01),
            "recorded_minus_asked": diff(0.5, n=41, p=0.0001), "holds_minus_correct": diff(0.3, n=81, p=0.0001),
            "recorded_minus_fine_tuned": diff(0.7, n=41, p=0.0001),
            "holm_p": {"names the document, asked: RAG reader minus fine-tuned": 0.03,
                       "names the document: RAG's recorded source minus fine-tuned, asked": 0.0003,
                       "names the document: RAG's recorded source minus RAG reader, asked": 0.0003,
                       "source holds the answer minus answer correct": 0.0003}},
        "06_cost": {
            "latency": latency,
            "paired_latency": {"fine-tuned, merged - base + RAG": diff(-0.8, half=0.1)},
            "paired_accuracy": {"base + RAG - fine-tuned, merged | outside": diff(0.37),
                                "fine-tuned, merged - base + RAG | inside": diff(-0.05, p=0.6)},
            "holm_p": {"accuracy": {"base + RAG - fine-tuned, merged, outside": 0.001,
                                    "fine-tuned, merged - base + RAG, inside": 1.0},
                       "latency": {"fine-tuned, merged - base + RAG, seconds (run 1)": 0.001}},
            "real_after_correction": {"base + RAG - fine-tuned, merged, outside": True,
                                      "fine-tuned, merged - base + RAG, inside": False,
                                      "fine-tuned, merged - base + RAG, seconds (run 1)": True}},
        "07_expertise": {
            "spread": {"RAG": {"minimum": 0.24, "q1": 0.26, "median": 0.33, "q3": 0.38, "maximum": 0.51, "n": 6},
                       "fine-tuning": {"minimum": 0.0, "q1": 0.1, "median": 0.3, "q3": 0.4, "maximum": 0.44, "n": 9}},
            "paired_vs_series": {"FT lr=0.0003 epoch=6": diff(-0.4, n=41), "RAG whole document k=1": diff(-0.1, n=41),
                                 "RAG 40-word windows k=3": diff(-0.2, n=41, p=0.03)},
            "general_vs_base": {"lr=0.003": diff(-0.3, n=48)},
            "holm_p": {k: 0.001 if r else 0.4 for k, r in fam07.items()}, "real_after_correction": fam07},
        "08_both": {
            "two_by_two": two_by_two,
            "two_by_two_paired": {"fine-tuned + RAG - base + RAG | outside": diff(-0.33),
                                  "fine-tuned + RAG - base + RAG | inside": diff(-0.05, p=0.6)},
            "two_by_two_exact_paired": {"fine-tuned + RAG - base + RAG | inside": diff(0.44)},
            "reader_vs_base": {"2 distractors | second corpus | exact": diff(0.3),
                               "2 distractors | held-out documents | contains": diff(0.03, p=1.0)},
            "reader": {"2 distractors | held-out documents": {"lenient": share(0.28), "exact": share(0.1)},
                       "base + RAG | held-out documents": {"lenient": share(0.25), "exact": share(0.0)}},
            "two_by_two_holm_p": {"outside | fine-tuned + RAG  minus  base + RAG | lenient": 0.002,
                                  "inside | fine-tuned + RAG  minus  base + RAG | exact match": 0.0004,
                                  "inside | fine-tuned + RAG  minus  base + RAG | lenient": 1.0},
            "reader_vs_base_holm_p": {"2 distractors | second corpus | exact": 0.009,
                                      "2 distractors | held-out documents | contains": 1.0},
            "claims": claims08},
        "09_training_for_rag": {         # read into the "both" row too (notebook 08 was split in two)
            "style_both": {"RAG": share(0.0), "few-shot + RAG": share(0.15), "style LoRA + RAG": share(0.125)},
            "style_both_paired": {"RAG": diff(0.125, p=0.06), "few-shot + RAG": diff(-0.025, p=1.0)},
            "style_both_holm_p": {"RAG": 1.0, "few-shot + RAG": 1.0},
            "error_corrected": {"paired": {"corrected errors - right answers | reading errors": diff(0.2, p=0.001)},
                                "shares": {"corrected errors | reading error": share(0.69),
                                           "right answers | reading error": share(0.47)},
                                "holm_p": {"corrected errors - right answers | reading errors": 0.01}},
            "claims": claims09},
    }


def write_results(folder: Path, numbers: dict[str, dict] | None = None) -> Path:
    """Write ``numbers`` (default :func:`example_results`) as results files, as helpers.results.save does."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, values in (numbers or example_results()).items():
        (folder / f"{stem}.json").write_text(json.dumps({"notebook": stem, "numbers": values}), encoding="utf-8")
    return folder


@pytest.fixture()
def rows(tmp_path):
    return scorecard.load(write_results(tmp_path / "results"))


# --------------------------------------------------------------------------------------------------
# the rows

def test_one_row_per_factor_in_order_with_the_numbers_saved(rows):
    assert [r.key for r in rows] == list(scorecard.ROWS) and len(rows) == 9
    row = scorecard.by_key(rows)["external"]
    assert (row.rag.mean, row.rag.n) == (0.4, 40) and row.fine_tuning.mean == 0.03 and row.both.mean == 0.1
    assert row.comparison.estimate() == "+0.37 [+0.27, +0.47]" and row.comparison.holm_p == 0.001
    assert row.notebook == "02_external_knowledge.ipynb" and row.results_file == "02_external_knowledge.json"
    assert dict(row.others)["fine-tuned on the raw text (LM)"].mean == 0.01
    assert row.headline() == "RAG 40%, fine-tuning 3%, both 10% (right on facts outside the fine-tuning set)"
    assert row.headline(source=True) == ("RAG 40%, fine-tuning 3%, both 10% (right on facts outside the fine-tuning "
                                         "set; notebook 02, 40 questions)")


def test_the_source_and_a_featured_measure(rows):
    r = scorecard.by_key(rows)
    assert r["expertise"].source() == "notebook 07, 6 RAG and 9 fine-tuning settings"
    assert r["cost"].source() == "notebook 06, 40 questions"
    # transparency compares each system's own account of its source: RAG's record, the fine-tuned model's reply
    assert r["transparency"].featured is None
    assert r["transparency"].headline(source=True) == (
        "RAG 70%, fine-tuning 0% (gives the right source; notebook 05, 41 questions)")
    assert r["external"].featured is None


def test_statuses_are_relative_to_the_guide_and_leaders_follow_them(rows):
    got = {r.key: (r.status, r.leader) for r in rows}
    assert got == {
        "dynamic": (claims.SUPPORTED, RAG), "external": (claims.SUPPORTED, RAG),
        "customization": (claims.SUPPORTED, FINE_TUNING), "hallucination": (claims.NO_DIFFERENCE, None),
        "transparency": (claims.SUPPORTED, RAG),
        # the guide's claim is about smaller models: one size here; latency is a further statement
        "cost": (scorecard.NOT_TESTABLE, None),
        "expertise": (claims.SUPPORTED, RAG),
        # notebook 08's claim "below RAG" is supported there; against the guide's "together is better" it contradicts
        "both": (claims.CONTRADICTED, RAG),
        "kinds": (claims.SUPPORTED, None)}       # Q&A beats LM, but both are fine-tuning: no leader


def test_units_seconds_and_ranges(rows):
    cost, expertise = scorecard.by_key(rows)["cost"], scorecard.by_key(rows)["expertise"]
    assert cost.rag.short() == "1.20 s" and str(cost.fine_tuning) == "0.40 s median, n = 40"
    assert cost.comparison.estimate() == "-0.80 s [-0.90, -0.70]"
    assert expertise.rag.short() == "24% to 51%" and math.isclose(expertise.fine_tuning.mean, 0.44)


def test_a_reversed_difference_contradicts_and_hands_the_lead_to_the_rival(tmp_path):
    numbers = example_results()
    numbers["01_dynamic_data"]["paired_new_value"][f"{NEW} - {OLD}"] = diff(-0.3, n=86)
    row = scorecard.by_key(scorecard.load(write_results(tmp_path, numbers)))["dynamic"]
    assert (row.status, row.leader) == (claims.CONTRADICTED, FINE_TUNING)


def test_the_notebooks_saved_verdict_wins_over_the_numbers(tmp_path):
    """A flag saying 'not real after correction' keeps the status at no detectable difference, however
    small the p-value looks; notebook 08's claims table decides its rows."""
    numbers = example_results()
    numbers["01_dynamic_data"]["real_after_holm"][f"new value: {NEW} vs {OLD}"] = False
    numbers["08_both"]["claims"]["Outside the fine-tuning set, the adapter + RAG scores below RAG alone (lenient)"] = \
        "no detectable difference"
    rows = scorecard.by_key(scorecard.load(write_results(tmp_path, numbers)))
    assert (rows["dynamic"].status, rows["dynamic"].leader) == (claims.NO_DIFFERENCE, None)
    assert rows["dynamic"].comparison.where() == "no detectable difference at n = 86"
    assert rows["both"].status == claims.NO_DIFFERENCE


def test_holm_p_rule_where_no_flag_was_saved(tmp_path):
    """Notebook 05 saves only Holm p-values: detected needs Holm p < 0.05, an interval clear of zero and
    McNemar p < 0.05 (helpers.statistics.Difference.real)."""
    numbers = example_results()
    numbers["05_transparency"]["holm_p"]["names the document: RAG's recorded source minus fine-tuned, asked"] = 0.06
    assert scorecard.by_key(scorecard.load(write_results(tmp_path / "a", numbers)))["transparency"].status == \
        claims.NO_DIFFERENCE
    numbers = example_results()
    numbers["05_transparency"]["recorded_minus_fine_tuned"] = diff(0.17, n=41, half=0.2, p=0.01)   # interval spans 0
    assert scorecard.by_key(scorecard.load(write_results(tmp_path / "b", numbers)))["transparency"].status == \
        claims.NO_DIFFERENCE


def test_sub_claims_and_the_untestable_one(rows):
    cost = scorecard.by_key(rows)["cost"]
    assert cost.status == scorecard.NOT_TESTABLE and cost.leader is None
    assert cost.comparison.where() == "not testable at this scale (one model size)"
    assert [s.status for s in cost.also] == [claims.SUPPORTED, claims.SUPPORTED, claims.NO_DIFFERENCE]
    assert cost.also[0].text.startswith("Latency at equal size, mostly from shorter replies")
    grouped = scorecard.by_status(rows)
    assert any("smaller model" in line for line in grouped[scorecard.NOT_TESTABLE])
    assert any(line.startswith("RAG and fine-tuning together: Handing a Q&A-tuned model retrieved passages")
               for line in grouped[claims.CONTRADICTED])
    # row 8's further statements: the trained reader and the style adapter + RAG
    both = scorecard.by_key(rows)["both"]
    assert [s.status for s in both.also][:3] == [claims.NO_DIFFERENCE] * 3
    assert dict(both.others)["style adapter + RAG, right and in style"].mean == 0.125
    # row 7: RAG's largest drop, chosen by rule from the saved settings
    rag_drop = scorecard.by_key(rows)["expertise"].also[-1]
    assert "(40-word windows k=3)" in rag_drop.text and rag_drop.status == claims.NO_DIFFERENCE
    table, details, more = scorecard.table(rows), scorecard.details(rows), scorecard.sub_claims(rows)
    assert len(table) == len(details) == 9 and list(table["status"]) == [r.status for r in rows]
    assert list(table.columns) == ["factor", "RAG", "fine-tuning", "both", "status", "numbers favour", "notebook"]
    assert list(details.columns) == ["factor", "the guide says", "measured on",
                                     "deciding comparison (A minus B) [95% CI]", "n", "Holm p"]
    assert not table.isna().any().any() and not details.isna().any().any() and not more.isna().any().any()
    assert "not measured" in table.loc[1, "both"]      # nobody measured "both" on fresh data


def test_notebook_08s_holm_p_values_are_shown(rows):
    """Notebook 08 decides its statuses in its claims table; its Holm p-values fill the Holm p column."""
    both = scorecard.by_key(rows)["both"]
    assert both.comparison.holm_p == 0.002 and scorecard.details(rows).loc[8, "Holm p"] == "0.002"
    assert [s.comparison.holm_p for s in both.also] == [1.0, 1.0, 1.0, 0.0004, 1.0, 0.009, 0.01]


# --------------------------------------------------------------------------------------------------
# errors name the file and the key

def test_a_missing_file_is_named(tmp_path):
    folder = write_results(tmp_path)
    (folder / "05_transparency.json").unlink()
    with pytest.raises(ResultsError, match=r"05_transparency\.json: no such file.*05_transparency\.ipynb"):
        scorecard.load(folder)


def test_a_missing_key_is_named_with_its_file(tmp_path):
    numbers = example_results()
    del numbers["06_cost"]["latency"]["fine-tuned, merged"]
    with pytest.raises(ResultsError, match=r"06_cost\.json: missing key numbers\['latency'\]\['fine-tuned, merged'\]"):
        scorecard.load(write_results(tmp_path, numbers))


def test_a_missing_field_of_an_estimate_and_a_missing_flag(tmp_path):
    numbers = example_results()
    del numbers["02_external_knowledge"]["arms"]["RAG | outside"]["contains"]["high"]
    with pytest.raises(ResultsError, match=r"02_external_knowledge\.json: missing key numbers\['arms'\]\['RAG \| outside'\]"
                                           r"\['contains'\]\['high'\]"):
        scorecard.load(write_results(tmp_path / "a", numbers))
    numbers = example_results()
    del numbers["07_expertise"]["real_after_correction"]["FT lr 0.0003, epoch 6 - series' setting"]
    with pytest.raises(ResultsError, match=r"07_expertise\.json: missing key numbers\['real_after_correction'\]"):
        scorecard.load(write_results(tmp_path / "b", numbers))


def test_a_claim_the_notebook_did_not_save_and_a_bad_value(tmp_path):
    numbers = example_results()
    numbers["08_both"]["claims"] = {}
    with pytest.raises(ResultsError, match=r"08_both\.json: missing key numbers\['claims'\]\['Outside"):
        scorecard.load(write_results(tmp_path / "a", numbers))
    numbers = example_results()             # a key of notebook 09's file, read into the "both" row
    del numbers["09_training_for_rag"]["style_both"]["RAG"]
    with pytest.raises(ResultsError, match=r"09_training_for_rag\.json: missing key numbers\['style_both'\]\['RAG'\]"):
        scorecard.load(write_results(tmp_path / "c", numbers))
    numbers = example_results()
    del numbers["09_training_for_rag"]
    with pytest.raises(ResultsError, match=r"09_training_for_rag\.json: no such file.*09_training_for_rag\.ipynb"):
        scorecard.load(write_results(tmp_path / "d", numbers))
    numbers = example_results()
    numbers["04_hallucinations"]["paired"]["invented on unanswerable: RAG - base"]["mean"] = "high"
    with pytest.raises(ResultsError, match=r"04_hallucinations\.json: .*\['mean'\] is 'high', not a number"):
        scorecard.load(write_results(tmp_path / "b", numbers))


def test_not_json_and_not_a_results_file(tmp_path):
    folder = write_results(tmp_path / "a")
    (folder / "03_model_customization.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"03_model_customization\.json: not readable JSON"):
        scorecard.load(folder)
    folder = write_results(tmp_path / "b")
    (folder / "01_dynamic_data.json").write_text(json.dumps({"values": {}}), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"01_dynamic_data\.json: missing key 'numbers'"):
        scorecard.load(folder)


# --------------------------------------------------------------------------------------------------
# the scoring rule

def test_the_rule_on_two_scores():
    assert scorecard.choose(0, 0) == scorecard.DEFAULT == RAG
    assert scorecard.choose(4, 1) == RAG and scorecard.choose(1, 4) == FINE_TUNING
    assert scorecard.choose(4, 2) == BOTH and scorecard.choose(4, 1.99) == RAG     # "both" from half the other up
    assert scorecard.choose(3, 0) == RAG


def test_recommend_rag_fine_tuning_and_both_with_their_numbers(rows):
    fresh = scorecard.recommend({"dynamic": 3, "external": 2, "customization": 1}, rows)
    assert fresh.choice == RAG and fresh.scores == {RAG: 5.0, FINE_TUNING: 1.0}
    assert fresh.deciding == ("dynamic data: RAG 41%, fine-tuning 0% (new value after an update; notebook 01, "
                              "86 questions)",
                              "external knowledge: RAG 40%, fine-tuning 3%, both 10% (right on facts outside the "
                              "fine-tuning set; notebook 02, 40 questions)")
    assert fresh.caveat == "" and fresh.label == RAG
    styled_only = scorecard.recommend({"customization": 3, "expertise": 1}, rows)
    assert styled_only.choice == FINE_TUNING and "fine-tuning 60%" in styled_only.deciding[0]
    # cost has no leader (one model size): weighted alone it moves nothing, and the caveat says why
    device = scorecard.recommend({"cost": 3, "expertise": 1}, rows)
    assert device.choice == RAG and device.caveat_rows == ("cost",)
    assert "cost: not testable at this scale (one model size), notebook 06" in device.caveat
    styled = scorecard.recommend({"customization": 3, "transparency": 2}, rows)
    assert styled.choice == BOTH and len(styled.deciding) == 3
    assert styled.deciding[0].startswith("transparency: RAG 70%, fine-tuning 0% (gives the right source")
    assert styled.deciding[1].startswith("customization:")
    # the same measure as row 2's, told apart by its notebook and n
    assert styled.deciding[2] == ("combining naively: RAG 38%, fine-tuning 0%, both 5% (right on facts outside the "
                                  "fine-tuning set; notebook 08, 40 questions); a difference the test detects, n = 40")
    refuse = scorecard.recommend({"hallucination": 3}, rows)
    assert refuse.choice == scorecard.DEFAULT and refuse.undecided[0].startswith("hallucinations: RAG 93%")
    assert "no detectable difference at n = 60" in refuse.undecided[0]


def test_a_caveat_when_the_heaviest_factor_has_no_leader(rows):
    refuse = scorecard.recommend({"hallucination": 3, "external": 2}, rows)
    assert refuse.choice == RAG and refuse.caveat_rows == ("hallucination",)
    assert refuse.caveat == ("top factor (hallucinations) undecided; add a refusal mechanism (04: a retrieval-score "
                             "threshold or \"I don't know\" training both cut invention; the threshold also cost "
                             "correct answers; the \"I don't know\" model also declined answerable general questions; "
                             "the threshold's evaluation AUC was 0.56 [0.46, 0.66], its interval including chance (0.5); the \"I don't know\" adapter had more training (83 examples, 66 steps, "
                             "against 41 and 36); against a Q&A adapter given as many steps, no detectable loss of "
                             "general accuracy in 3 of 3 seeds)")
    assert refuse.label == f"RAG — {refuse.caveat}" and str(refuse).startswith("RAG — top factor")
    # not the heaviest: no caveat (the factor still shows under "undecided")
    lighter = scorecard.recommend({"hallucination": 2, "external": 3}, rows)
    assert lighter.caveat == "" and lighter.undecided_rows == ("hallucination",)
    # tied for heaviest with a led factor: the caveat still applies
    assert scorecard.recommend({"hallucination": 3, "external": 3}, rows).caveat_rows == ("hallucination",)


def test_the_caveat_follows_the_remedies_statuses(tmp_path):
    numbers = example_results()
    paired = numbers["04_hallucinations"]["paired"]
    paired["invented on unanswerable: IDK fine-tuned - Q&A fine-tuned"]["real_after_correction"] = False
    paired["correct on answerable: RAG, passages only + threshold - RAG, passages only"]["real_after_correction"] = False
    rows = scorecard.load(write_results(tmp_path / "a", numbers))
    caveat = scorecard.recommend({"hallucination": 3}, rows).caveat
    assert caveat.startswith("top factor (hallucinations) undecided; add a refusal mechanism (04: a retrieval-score "
                             "threshold cut invention; \"I don't know\" training: no detectable difference at n = 60; "
                             "the \"I don't know\" model also declined")
    assert "the threshold also cost" not in caveat
    paired["invented on unanswerable: RAG, passages only + threshold - RAG, passages only"]["real_after_correction"] = \
        False
    rows = scorecard.load(write_results(tmp_path / "b", numbers))
    caveat = scorecard.recommend({"hallucination": 3}, rows).caveat
    assert "add a refusal mechanism" not in caveat and "nothing tried in notebook 04 detectably cut invention" in caveat
    # a factor with no remedy on file: the caveat gives its comparison
    numbers = example_results()
    numbers["01_dynamic_data"]["real_after_holm"][f"new value: {NEW} vs {OLD}"] = False
    rows = scorecard.load(write_results(tmp_path / "c", numbers))
    assert scorecard.recommend({"dynamic": 3, "cost": 1}, rows).caveat == (
        "top factor (dynamic data) undecided; dynamic data: no detectable difference at n = 86, notebook 01")


def test_weights_are_checked():
    with pytest.raises(ValueError, match="unknown factor"):
        scorecard.UseCase("x", {"speed": 1})
    with pytest.raises(ValueError, match="did you mean 'hallucination'"):       # the label is plural, the key not
        scorecard.UseCase("x", {"hallucinations": 3})
    assert scorecard.UseCase("x", {"cost": 2.5}).weights["cost"] == 2.5           # fractional weights are allowed
    with pytest.raises(ValueError, match=">= 0"):
        scorecard.UseCase("x", {"cost": -1})
    with pytest.raises(ValueError, match="unknown factor"):
        scorecard.recommend({"both": 1}, [])          # the extra rows are not factors a use case weighs
    assert scorecard.UseCase("x", {"cost": 2}).weights == {f: (2.0 if f == "cost" else 0.0) for f in scorecard.FACTORS}


def test_reread_and_a_stricter_both(rows):
    """A row read another defensible way, and another BOTH_RATIO, change recommendations, not the module."""
    refuse = {"hallucination": 3, "external": 2}
    assert scorecard.recommend(refuse, scorecard.reread(rows, "hallucination", RAG)).caveat == ""
    assert scorecard.by_key(rows)["hallucination"].leader is None            # the original rows are untouched
    weights = {"dynamic": 2, "customization": 1}                               # RAG 2, fine-tuning 1: "both" at 0.5
    assert scorecard.recommend(weights, rows).choice == BOTH
    assert scorecard.with_ratio(0.6, scorecard.recommend, weights, rows).choice == RAG
    assert scorecard.BOTH_RATIO == 0.5


def test_the_series_use_cases(rows):
    assert len(scorecard.USE_CASES) >= 6
    choices = {uc.name: scorecard.recommend(uc, rows).choice for uc in scorecard.USE_CASES}
    # on these numbers (cost untestable at one model size) no series case goes to fine-tuning alone
    assert set(choices.values()) == {RAG, BOTH}


def test_flip_points(rows):
    weights = {"dynamic": 3, "customization": 1, "hallucination": 2}      # RAG 3, fine-tuning 1: RAG
    assert scorecard.recommend(weights, rows).choice == RAG
    flips = {fp.factor: fp for fp in scorecard.flip_points(weights, rows)}
    # customization (fine-tuning leads): at 1.5 fine-tuning reaches half of RAG's 3 -> both, at the boundary itself
    assert (flips["customization"].change, flips["customization"].becomes, flips["customization"].past) == \
        (0.5, BOTH, False)
    # dynamic (RAG leads): lowered to 2, RAG is twice fine-tuning -> both
    assert (flips["dynamic"].change, flips["dynamic"].becomes) == (-1.0, BOTH)
    # a factor whose numbers favour neither side never moves it; nor can weight given to RAG's side
    assert flips["hallucination"].change is None and "favour neither" in str(flips["hallucination"])
    assert flips["external"].change is None and flips["cost"].change is None
    for fp in flips.values():     # the reported point really flips it
        if fp.change is not None:
            moved = {**weights, fp.factor: weights.get(fp.factor, 0) + fp.change + (1e-6 if fp.past else 0)}
            assert scorecard.recommend(moved, rows).choice == fp.becomes
    assert str(flips["customization"]) == "customization (weight 1): raise it by 0.5 -> both"
    assert not any(fp.beyond_scale for fp in flips.values())


def test_flip_points_beyond_the_scale(rows):
    weights = {"dynamic": 3, "external": 3, "transparency": 2, "customization": 1}      # RAG 8, fine-tuning 1
    flips = {fp.factor: fp for fp in scorecard.flip_points(weights, rows)}
    # customization must reach 4 (half of 8): off the 0-3 scale
    assert (flips["customization"].change, flips["customization"].beyond_scale) == (3.0, True)
    assert str(flips["customization"]) == "customization (weight 1): raise it by 3 -> both (a weight above 3)"
    weights = {"dynamic": 3, "external": 3}      # RAG 6: customization reaches 3 exactly, on the scale
    flips = {fp.factor: fp for fp in scorecard.flip_points(weights, rows)}
    assert (flips["customization"].change, flips["customization"].beyond_scale) == (3.0, False)
    # reaching 3 is not enough when the weight must move past the boundary
    past = scorecard.FlipPoint("dynamic", 1.0, RAG, 2.0, RAG, past=True)
    assert past.beyond_scale and not scorecard.FlipPoint("dynamic", 1.0, RAG, 2.0, RAG).beyond_scale
    assert not scorecard.FlipPoint("cost", 3.0, FINE_TUNING, -1.0, RAG, past=True).beyond_scale


def test_a_flip_point_on_a_boundary(rows):
    weights = {"dynamic": 2, "customization": 1}                # RAG 2, fine-tuning 1: exactly "both"
    flips = {fp.factor: fp for fp in scorecard.flip_points(weights, rows)}
    c = flips["customization"]
    assert c.change == 0 and math.copysign(1, c.change) < 0 and c.becomes == RAG
    assert str(c) == "customization (weight 1): on a boundary: lower it at all -> RAG"
    assert flips["dynamic"].change == 0 and flips["dynamic"].becomes == RAG and flips["dynamic"].change > -1


# --------------------------------------------------------------------------------------------------
# figures

def test_hero_figure_reads_notebook_02_and_saves_the_same_bytes_twice(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = write_results(tmp_path / "results")
    data = scorecard.hero_data(folder)
    assert data["outside"]["RAG"].mean == 0.4 and data["inside"]["LM fine-tuned"].mean == 0.05
    fig = scorecard.hero_figure(data)
    first = scorecard.save_figure(fig, tmp_path / "a" / "hero.png").read_bytes()
    second = scorecard.save_figure(fig, tmp_path / "b" / "hero.png").read_bytes()
    assert first == second and first[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="150 dpi"):
        scorecard.save_figure(fig, tmp_path / "c.png", dpi=100)
    fig2, ax = plt.subplots()
    scorecard.weights_heatmap(ax, scorecard.USE_CASES, scorecard.load(folder))
    assert len(ax.get_yticklabels()) == len(scorecard.USE_CASES)
    first = ax.get_yticklabels()[0].get_text()
    assert "→" in first and first.endswith("RAG 8 / FT 1")      # the row's recommendation and its two scores
    refuse = [t.get_text() for t in ax.get_yticklabels()][5]
    assert refuse.startswith("A model that must refuse") and refuse.endswith(", top factor undecided")
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns[0].endswith("(RAG leads)") and columns[3].endswith("(neither leads)")
    plt.close("all")


def test_example_results_are_not_shared_between_tests():
    a = example_results()
    b = copy.deepcopy(a)
    a["06_cost"]["latency"].clear()
    assert example_results() == b
