"""The README's "answer in 60 seconds" cannot drift from results/: it must be exactly what
.ci/readme_findings.py generates from the committed results, and the image it shows must exist.

The script's own behaviour (numbers and wording follow the results, the block is spliced under the
title, --check) is tested on the small hand-made results of tests/test_scorecard.py.
"""
from __future__ import annotations

import copy
import importlib.util
import re
import sys
from pathlib import Path

from test_scorecard import NEW, OLD, example_results, write_results

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_findings", ROOT / ".ci" / "readme_findings.py")
findings = importlib.util.module_from_spec(_spec)
sys.modules["readme_findings"] = findings
_spec.loader.exec_module(findings)


def test_the_readme_block_is_what_the_committed_results_give():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = findings.current(readme)
    assert block is not None, "README.md has no 'answer in 60 seconds' block: run python .ci/readme_findings.py"
    expected = findings.render(ROOT / "results")
    assert block == expected, ("README.md's 'answer in 60 seconds' differs from what results/ give: "
                               "run python .ci/readme_findings.py (after notebook 10, which saves its figure)")


def test_the_block_sits_under_the_title_and_its_image_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = readme.split("\n")
    assert lines[0].startswith("# ") and findings.BEGIN in "\n".join(lines[:4]), "the block opens the README"
    image = ROOT / findings.HERO
    assert image.is_file(), f"{findings.HERO} is missing: execute notebooks/10_use_cases.ipynb, which saves it"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_finding_has_numbers_a_status_and_a_link(tmp_path):
    block = findings.render(write_results(tmp_path / "results"))
    items = re.findall(r"^\d\. (.*)$", block, flags=re.M)
    assert 5 <= len(items) <= 8
    for item in items:
        assert re.search(r"\d+%|\d\.\d\d s", item), item
        assert re.search(r"\[\d\d\]\(notebooks/\d\d_\w+\.ipynb\)$", item), item
        assert "n = " in item, item
    assert "RAG answered 40% of questions correctly" in items[0] and "(*supported*, n = 40)" in items[0]
    assert "RAG alone 38% (*contradicted*, n = 40)" in items[-1]
    assert block.startswith(findings.BEGIN) and block.endswith(findings.END)
    assert findings.GUIDE in block and "(notebooks/10_use_cases.ipynb)" in block and f"]({findings.HERO})" in block
    table = [line for line in block.split("\n") if line.startswith("| ") and "**" in line]
    assert len(table) == 7 and all(re.search(r"\*\*(RAG|fine-tuning|both)\*\*", line) for line in table)
    # each number carries its notebook and n; a use case whose heaviest factor favours neither says so
    assert "external knowledge: RAG 40% vs fine-tuning 3% (02, 40 questions)" in block
    refuse = next(line for line in table if line.startswith("| A model that must refuse"))
    assert "**RAG** — top factor (hallucinations) undecided; add a refusal mechanism (04: " in refuse
    # cost is not testable at one model size: the cases that weigh it most say so
    assert sum("top factor" in line for line in table) == 3
    assert sum("top factor (cost) undecided; cost: not testable at this scale" in line for line in table) == 2
    # the combination: naive vs trained reader vs style, and what that does not refute
    assert "style adapter + RAG 12.5%, three examples + RAG 15.0%" in items[-1]
    assert "not refuted in general, only unshown: no combination did detectably better than RAG" in items[-1]
    assert "What did combine" not in block and "a style only training gave" not in block
    # the caption is computed: RAG's share and the best of the rest, outside
    assert "Right: the rest of the documents: RAG 40%, every other system at most 10%.*" in block
    # the few-shot share shows wherever customization decides
    assert "three examples in the prompt 80% (03, 40 questions)" in block


def test_numbers_and_wording_follow_the_results(tmp_path):
    numbers = example_results()
    before = findings.render(write_results(tmp_path / "a", numbers))
    changed = copy.deepcopy(numbers)
    changed["01_dynamic_data"]["new_value"][NEW]["mean"] = 0.5
    after = findings.render(write_results(tmp_path / "b", changed))
    assert "gave the new value 41% of the time" in before and "gave the new value 50% of the time" in after
    # the notebook's verdict flips to "not detected": the lead and the status say so
    changed = copy.deepcopy(numbers)
    changed["01_dynamic_data"]["real_after_holm"][f"new value: {NEW} vs {OLD}"] = False
    quiet = findings.render(write_results(tmp_path / "c", changed))
    assert "**Facts that change: no clear winner.**" in quiet and "(*no detectable difference*, n = 86)" in quiet


def test_splice_puts_the_block_under_the_title_then_replaces_it():
    readme = "# Title\n\nIntro.\n\n## Section\n"
    block = f"{findings.BEGIN}\nfirst\n{findings.END}"
    once = findings.splice(readme, block)
    assert once == f"# Title\n\n{block}\n\nIntro.\n\n## Section\n"
    twice = findings.splice(once, f"{findings.BEGIN}\nsecond\n{findings.END}")
    assert "second" in twice and "first" not in twice and twice.count(findings.BEGIN) == 1
    assert findings.current(twice) == f"{findings.BEGIN}\nsecond\n{findings.END}"


def test_check_fails_on_a_stale_block_and_passes_once_written(tmp_path, capsys):
    results = write_results(tmp_path / "results")
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nIntro.\n", encoding="utf-8")
    args = ["--results", str(results), "--readme", str(readme)]
    assert findings.main(["--check", *args]) == 1
    assert findings.main(args) == 0
    assert findings.main(["--check", *args]) == 0
    assert readme.read_text(encoding="utf-8").startswith(f"# Title\n\n{findings.BEGIN}")
