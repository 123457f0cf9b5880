"""The README's "answer in 60 seconds", generated from results/ so that it cannot drift.

Every number in the block comes from the results files notebooks 01-09 saved, through
helpers.scorecard (the same rows, statuses and use-case recommendations notebook 10 shows); the
wording of each finding follows its status, so a finding the numbers no longer support is not
printed as if they did. tests/test_readme_findings.py fails when README.md's block differs from what
this script generates.

    python .ci/readme_findings.py            # rewrite the block in README.md (between its two markers)
    python .ci/readme_findings.py --check    # exit 1 if README.md's block is not what results/ give
    python .ci/readme_findings.py --print    # print the block

Run it after re-executing notebooks (`make notebooks`) and notebook 10 (which saves the figure the
block shows, docs/figures/inside_outside.png).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import claims, scorecard  # noqa: E402  (the repository root is put on the path first)
from helpers.scorecard import Row  # noqa: E402

README = ROOT / "README.md"
BEGIN = ("<!-- BEGIN answer-in-60-seconds: generated from results/ by .ci/readme_findings.py; "
         "edit the script, not this block -->")
END = "<!-- END answer-in-60-seconds -->"
GUIDE = "RAG Vs Fine-Tuning Vs Both: A Guide For Optimizing LLM Performance"
HERO = "docs/figures/inside_outside.png"
# labels of the rows' other systems in helpers.scorecard
LM, CONTINUED = "fine-tuned on the raw text (LM)", "fine-tuned, then trained on the changes"
FEW_SHOT, ASKED = "three examples in the prompt (few-shot)", "RAG's reader, asked"
IDK = 'trained to say "I don\'t know"'


def _link(row: Row) -> str:
    return f"[{row.number}](notebooks/{row.notebook})"


def _said(row_or_claim: Row | scorecard.SubClaim) -> str:
    """``"*supported*, n = 80"``: the status and the questions behind it, or n alone for a statement
    that is not the guide's (``scorecard.SubClaim``)."""
    c = row_or_claim.comparison
    if isinstance(row_or_claim, Row):
        return f"*{row_or_claim.status}*, n = {c.n}"
    return c.where()


def _also(row: Row, text: str) -> scorecard.SubClaim:
    return next(s for s in row.also if s.text.startswith(text))


def _other(row: Row, label: str) -> scorecard.Measure:
    return dict(row.others)[label]


def _pct1(m: scorecard.Measure) -> str:
    """A share to one decimal: ``"12.5%"``."""
    return f"{m.mean:.1%}"


def _points(difference: float) -> str:
    """A difference of shares in percentage points, unsigned: ``"34 points"``."""
    return f"{abs(difference) * 100:.0f} points"


def findings(rows: list[Row]) -> list[str]:
    """The block's eight findings in plain words, each with its numbers, its status and its notebook.

    Leads and wording follow the statuses: where a row's numbers favour no approach, or a statement was
    not detected, the text says so instead of repeating the guide.
    """
    r = scorecard.by_key(rows)
    ext, kinds, dyn, cus = r["external"], r["kinds"], r["dynamic"], r["customization"]
    hal, tra, cost, exp, both = r["hallucination"], r["transparency"], r["cost"], r["expertise"], r["both"]
    out = []

    tie = _also(kinds, "With a Q&A pair written for every fact")
    matched = {claims.NO_DIFFERENCE: "did no better than RAG"}.get(tie.status, "differed from RAG")
    out.append(
        f"**Facts in documents: {ext.leader or 'no clear winner'}.** On documents nobody turned into training pairs, "
        f"RAG answered {ext.rag.short()} of questions correctly, a model fine-tuned on Q&A pairs {ext.fine_tuning.short()}, one "
        f"fine-tuned on the raw text {_other(ext, LM).short()} ({_said(ext)}). Even with a Q&A pair written for every fact, "
        f"fine-tuning {matched}: {kinds.fine_tuning.short()} against {kinds.rag.short()} ({_said(tie)}). "
        f"{_link(ext)}")

    forgot = _also(dyn, "Training the fine-tuned model further on the changes lowered")
    erased = (f", but lost {_points(forgot.comparison.mean)} on facts that had not changed"
              if forgot.status == claims.SUPPORTED else "")
    out.append(
        f"**Facts that change: {dyn.leader or 'no clear winner'}.** After an update, re-indexed RAG gave the new value "
        f"{dyn.rag.short()} of the time, the fine-tuned snapshot {dyn.fine_tuning.short()} ({_said(dyn)}). Retrained "
        f"on the changes, the snapshot reached {_other(dyn, CONTINUED).short()}{erased} ({_said(forgot)}). "
        f"{_link(dyn)}")

    shots = _also(cus, "Closed-book, the style adapter keeps the style less often than three examples in the prompt "
                       "(knowledge-base")
    shots_farm = _also(cus, "Closed-book, the style adapter keeps the style less often than three examples in the prompt "
                            "(farming")
    passage = _also(cus, "With a retrieved passage, the adapter keeps the style more often than three examples (farming")
    farm, farm_shots = (_other(cus, k) for k in ("the style adapter, farming questions",
                                                 "three examples in the prompt, farming questions"))
    with_rag = (f"; with a retrieved passage the adapter kept it more often than the examples on the farming questions "
                f"({_said(passage)})" if passage.status == claims.SUPPORTED else "")
    # the examples beat the adapter detectably: they lead the headline
    lead = (f"examples in the prompt, or {cus.leader or 'neither'}" if shots.status == claims.SUPPORTED
            else cus.leader or "no clear winner")
    out.append(
        f"**A house style: {lead}.** On the company's own questions a style adapter kept the house style in "
        f"{cus.fine_tuning.short()} of replies, RAG in {cus.rag.short()} (the adapter against the base model: "
        f"{_said(cus)}); three examples in the prompt, no training, in {_other(cus, FEW_SHOT).short()} "
        f"closed-book ({_said(shots)}). On farming questions the adapter reached {farm.short()}, the examples "
        f"{farm_shots.short()} ({_said(shots_farm)}){with_rag}. {_link(cus)}")

    idk = _also(hal, "Training a model to say")
    answerable = _also(hal, "RAG gives fewer wrong answers than the model alone")
    fewer = (f" On questions the documents do answer, RAG gave {_points(answerable.comparison.mean)} fewer wrong "
             f"answers than the model alone ({_said(answerable)})."
             if answerable.status == claims.SUPPORTED else "")
    asker = [_also(hal, f"Where the model alone often declines (questions about the asker), {who}")
             for who in ("RAG", "the Q&A")]
    more = [f"{_points(a.comparison.mean)} {'more' if a.comparison.mean > 0 else 'less'} often" for a in asker]
    roomy = (f" On questions about the asker, which the model alone often declined, RAG invented {more[0]} than it "
             f"({_said(asker[0])}), the fine-tuned model {more[1]} ({_said(asker[1])}).")
    declined = _also(hal, "The \"I don't know\" model also declines answerable general questions")
    auc = dict(hal.notes)["threshold AUC, evaluation"]
    chance = " (0.5 is chance)" if auc.low <= 0.5 <= auc.high else ""
    idk_price = (f", but also declined {_points(declined.comparison.mean)} more answerable general questions than "
                 f"the Q&A adapter, which had less training ({_said(declined)})"
                 if declined.status == claims.SUPPORTED else "")
    out.append(
        f"**Questions no document answers: {hal.leader or 'neither approach stops invention'}.** RAG invented an "
        f"answer {hal.rag.short()} of the time, the model alone {_other(hal, 'the model alone').short()}, the "
        f"fine-tuned model {hal.fine_tuning.short()} ({_said(hal)}).{fewer}{roomy} Training the model to say \"I don't "
        f"know\" brought invention to {_other(hal, IDK).short()} ({_said(idk)}){idk_price}; a retrieval-score threshold "
        f"brought it to {_other(hal, 'RAG with a retrieval-score threshold').short()}, though its evaluation AUC was "
        f"{auc.mean:.2f} [{auc.low:.2f}, {auc.high:.2f}]{chance}. {_link(hal)}")

    out.append(
        f"**Where an answer came from: {tra.leader or 'no clear winner'}.** RAG records the passage it read: the "
        f"right document for {tra.rag.short()} of answers; the fine-tuned model, asked for its source, named it "
        f"{tra.fine_tuning.short()} of the time ({_said(tra)}; by construction, since it never saw a source, and a "
        f"comparison chosen after the one below lost detectability in a larger family). The models are poor "
        f"witnesses: the RAG reader, asked, named it {_other(tra, ASKED).short()}, no more detectably than the "
        f"fine-tuned model ({_said(_also(tra, 'Asked for its source'))}). "
        f"{_link(tra)}")

    outside = _also(cost, "Outside its training set, RAG answers more")
    latency = _also(cost, "Latency at equal size")
    behind = (f"; outside its training set RAG answered {_points(outside.comparison.mean)} more questions "
              "correctly"
              if outside.status == claims.SUPPORTED else "")
    faster = {claims.SUPPORTED: "the fine-tuned model faster", claims.CONTRADICTED: "RAG faster"}.get(
        latency.status, "no clear difference")
    out.append(
        f"**Smaller models: {cost.status}; time per question at one size: {faster}.** The guide's claim is that "
        f"fine-tuning lets a smaller model do the task and RAG does not; the series runs one model size "
        f"(*{cost.status}*). At that size the fine-tuned model took {cost.fine_tuning.short()} (median, one question "
        f"at a time on a CPU), RAG {cost.rag.short()}, mostly from shorter replies ({_said(latency)})"
        f"{behind} ({_said(outside)}). {_link(cost)}")

    step = (f"; a learning rate ten times lower than the series' (3e-4 instead of 3e-3) cost fine-tuning "
            f"{_points(exp.comparison.mean)} ({_said(exp)})" if exp.status == claims.SUPPORTED else f" ({_said(exp)})")
    drop = _also(exp, "RAG's largest drop")
    rag_drop = (f"; RAG's largest drop, {drop.text.split('(')[1].split(')')[0]}, was {_points(drop.comparison.mean)} "
                f"({_said(drop)})")
    medians = _medians(exp)
    out.append(
        f"**Effort: {exp.leader or 'no clear winner'}.** Across reasonable settings fine-tuning's accuracy ranged "
        f"{exp.fine_tuning.short()} over {exp.fine_tuning.n} settings (median {medians['fine-tuning']:.0%}), RAG's "
        f"{exp.rag.short()} over {exp.rag.n} (median {medians['RAG']:.0%}){step}{rag_drop}. {_link(exp)}")

    reader = _also(both, "A reader trained with passages")
    corrected = _also(both, "Fine-tuning on RAG's corrected errors")
    style_rag = _also(both, "The style adapter + RAG gives more replies right and in style")
    shots_rag = _also(both, "The style adapter + RAG and three examples + RAG")
    rag_held = _other(both, "RAG, held-out documents")
    lead = {scorecard.RAG: "worse than RAG alone", scorecard.BOTH: "better than RAG alone"}.get(
        both.leader, "no better than RAG alone")
    out.append(
        f"**Both, combined naively: {lead}.** A Q&A-tuned model handed RAG's passages answered {both.both.short()} of "
        f"questions outside its training set correctly, RAG alone {both.rag.short()} ({_said(both)}). A reader trained "
        f"with passages (notebook 08's 2-distractor arm) answered "
        f"{_other(both, 'reader trained with passages, held-out documents').short()} of questions "
        f"on held-out documents, RAG {rag_held.short()} ({_said(reader)}). Fine-tuning on RAG's own errors, corrected "
        f"(notebook 09): "
        f"{_other(both, 'trained on corrected errors, reading errors on new questions').short()} of replies to new questions were reading errors, against "
        f"{_other(both, 'trained on as many right answers, reading errors on new questions').short()} after training on as many right answers "
        f"({_said(corrected)}). Right and in the house style: a style "
        f"adapter + RAG {_pct1(_other(both, 'style adapter + RAG, right and in style'))}, three examples + RAG "
        f"{_pct1(_other(both, 'three examples + RAG, right and in style'))} ({_said(shots_rag)}), RAG alone "
        f"{_pct1(_other(both, 'RAG, right and in style'))} ({_said(style_rag)}). The guide's \"together might be "
        f"optimal\" is not refuted in general, only unshown: no combination did detectably better than RAG. {_link(both)}")
    return out


def _medians(exp: Row) -> dict[str, float]:
    """Notebook 07's median accuracy over each approach's settings."""
    numbers, where = scorecard._read(scorecard.COMMITTED if _RESULTS is None else Path(_RESULTS), "07_expertise",
                                     exp.notebook)
    return {k: float(scorecard._get(numbers, ("spread", k, "median"), where)) for k in ("RAG", "fine-tuning")}


_RESULTS: Path | str | None = None       # the folder render() reads (for the few numbers outside the rows)


def _caption(rows: list[Row], results_dir: Path | str | None = None) -> str:
    outside = scorecard.hero_data(results_dir)["outside"]
    rag = outside["RAG"].mean
    rest = max(m.mean for arm, m in outside.items() if arm != "RAG")
    return ("*Share of questions answered right, with 95% intervals (notebook 02). Left: facts someone wrote a "
            f"question-answer pair for. Right: the rest of the documents: RAG {rag:.0%}, every other system at most "
            f"{rest:.0%}.*")


def _compact(row: Row) -> str:
    """``"external knowledge: RAG 35% vs fine-tuning 0% (02, 80 questions)"``: the notebook and n tell
    apart two rows measured the same way (notebooks 02 and 08)."""
    where = row.source().removeprefix("notebook ")
    if row.key == "both":
        return f"naively combined {row.both.short()} vs RAG {row.rag.short()} ({where})"
    if row.key == "customization":      # three examples in the prompt beat the adapter closed-book
        return (f"customization: RAG {row.rag.short()} vs fine-tuning {row.fine_tuning.short()}, three examples in "
                f"the prompt {_other(row, FEW_SHOT).short()} ({where})")
    lead = ""
    if row.featured is not None:       # e.g. transparency: RAG's recorded source first
        words, m = row.featured
        lead = f"{words.format(m.short())}; asked, "
    return f"{scorecard.SHORT[row.key]}: {lead}RAG {row.rag.short()} vs fine-tuning {row.fine_tuning.short()} ({where})"


def _use_cases(rows: list[Row]) -> list[str]:
    r = scorecard.by_key(rows)
    lines = ["| use case | choose | because (RAG vs fine-tuning; notebook, n) |", "|---|---|---|"]
    for uc in scorecard.USE_CASES:
        rec = scorecard.recommend(uc, rows)
        because = "; ".join(_compact(r[k]) for k in rec.deciding_rows) or rec.deciding[0]
        # the factor that matters most to this use case favours neither approach: the caveat says so
        choose = f"**{rec.choice}**" + (f" — {rec.caveat}" if rec.caveat else "")
        lines.append(f"| {uc.name} | {choose} | {because} |")
    return lines


def render(results_dir: Path | str | None = None) -> str:
    """The whole block, markers included, from the results in ``results_dir`` (default: results/)."""
    global _RESULTS
    _RESULTS = results_dir
    rows = scorecard.load(results_dir)
    items = findings(rows)
    lines = [
        BEGIN,
        "## The answer in 60 seconds",
        "",
        f"This series tests the guide *{GUIDE}* claim by claim. Where the guide argues, the series measures: each "
        "claim becomes an experiment that runs on a laptop, with its verdict printed next to the evidence. What a "
        "135M-parameter model found on an invented company's documents (in brackets: what the numbers did to the "
        "guide's claim, and n, the questions behind it):",
        "",
        *[f"{i}. {text}" for i, text in enumerate(items, 1)],
        "",
        f"![Share of questions answered right by each system, for facts inside and outside the fine-tuning set]({HERO})",
        "",
        _caption(rows, results_dir),
        "",
        "**Which to use.** Seven use cases, each weighing the guide's seven factors; the weights, the scoring rule and "
        "how far each weight can move before the answer changes are in [notebook 10](notebooks/10_use_cases.ipynb).",
        "",
        *_use_cases(rows),
        "",
        "Small model, invented documents, tens of questions per comparison: what this can and cannot tell you about "
        "larger systems is in notebook 10's threats to validity.",
        END,
    ]
    return "\n".join(lines)


def splice(readme: str, block: str) -> str:
    """``readme`` with its block replaced by ``block``; without one, the block goes under the title."""
    if BEGIN in readme and END in readme:
        start, end = readme.index(BEGIN), readme.index(END) + len(END)
        return readme[:start] + block + readme[end:]
    lines = readme.split("\n")
    title = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if title is None:
        raise ValueError("README.md has no '# ' title to put the block under")
    return "\n".join(lines[:title + 1] + ["", block] + lines[title + 1:])


def current(readme: str) -> str | None:
    """The block now in ``readme`` (markers included), or None."""
    if BEGIN not in readme or END not in readme:
        return None
    return readme[readme.index(BEGIN):readme.index(END) + len(END)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md's block differs from results/")
    parser.add_argument("--print", action="store_true", help="print the block")
    parser.add_argument("--results", type=Path, default=None, help="results folder (default: results/)")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    block = render(args.results)
    if args.print:
        print(block)
        return 0
    text = args.readme.read_text(encoding="utf-8")
    if args.check:
        if current(text) != block:
            print(f"{args.readme}: the 'answer in 60 seconds' block is out of date with results/; "
                  "run python .ci/readme_findings.py")
            return 1
        return 0
    new = splice(text, block)
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
        print(f"{args.readme}: block updated")
    else:
        print(f"{args.readme}: block already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
