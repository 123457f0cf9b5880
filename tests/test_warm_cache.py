"""``make warm`` (.ci/warm_cache.py): the plan (phases, order, jobs, threads), the scratch folder, and a
real run of two tiny notebooks that shows results land in the scratch folder, not in the repository."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import config

SCRIPT = config.REPO_ROOT / ".ci" / "warm_cache.py"
_spec = importlib.util.spec_from_file_location("warm_cache", SCRIPT)
warm = importlib.util.module_from_spec(_spec)
sys.modules["warm_cache"] = warm   # dataclasses look their module up there
_spec.loader.exec_module(warm)

SERIES = [Path(f"/nb/{name}.ipynb") for name in (
    "00_setup_and_first_look", "01_dynamic_vs_static_data", "02_external_knowledge", "03_model_customization",
    "04_hallucinations", "05_transparency", "06_cost_of_smaller_models", "07_technical_expertise",
    "08_rag_and_finetuning_together", "09_training_for_rag", "10_use_cases")]


def names(groups) -> list[list[str]]:
    return [[p.name[:2] for p in group] for group in groups]


def test_phases_put_the_adapter_makers_first():
    assert names(warm.phases(SERIES, longest_first=False)) == [["00", "01", "02", "03"],
                                                               ["04", "05", "06", "07", "08", "09", "10"]]
    # side by side, the longest start first (07 takes 8 min cold, 05 one, 10 seconds)
    assert names(warm.phases(SERIES)) == [["03", "02", "01", "00"], ["07", "08", "09", "04", "06", "05", "10"]]
    assert names(warm.phases(SERIES[5:6])) == [["05"]]   # no empty phase


@pytest.mark.parametrize(("cores", "memory", "largest", "jobs"), [
    (2, 20.0, 5, 1),     # the CI machine: one notebook at a time
    (1, 64.0, 5, 1),     # never zero
    (8, 16.0, 5, 4),     # 2 cores each
    (8, 7.0, 5, 2),      # 3 GiB each
    (64, 500.0, 5, 5),   # never more than a phase holds
    (8, float("inf"), 5, 4),
])
def test_default_jobs(cores, memory, largest, jobs):
    assert warm.default_jobs(cores, memory, largest) == jobs


def test_plan_threads_and_order(tmp_path):
    one = warm.make_plan(SERIES, None, None, tmp_path, cores=2, memory_gib=20)
    assert (one.jobs, one.threads) == (1, 2)
    assert names(one.phases)[1] == ["04", "05", "06", "07", "08", "09", "10"]   # one at a time: as `make notebooks` runs them
    four = warm.make_plan(SERIES, None, None, tmp_path, cores=8, memory_gib=64)
    assert (four.jobs, four.threads) == (4, 2) and names(four.phases)[1][0] == "07"
    forced = warm.make_plan(SERIES, 3, 1, tmp_path, cores=16, memory_gib=64)
    assert (forced.jobs, forced.threads) == (3, 1)


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_scratch_copies_and_environment(tmp_path):
    original = _notebook(tmp_path / "05_tiny.ipynb", "x = 1")
    before = original.read_bytes()
    plan = warm.make_plan([original], 1, 3, tmp_path / "scratch")
    copies = warm.prepare_scratch(plan)
    assert copies == {original: tmp_path / "scratch" / "notebooks" / "05_tiny.ipynb"}
    assert copies[original].read_bytes() == before
    assert (tmp_path / "scratch" / "results").is_dir() and (tmp_path / "scratch" / "logs").is_dir()
    env = warm.kernel_environment(plan)
    assert env["RAGFT_RESULTS_DIR"] == str(tmp_path / "scratch" / "results")
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          cwd=config.REPO_ROOT)


def test_command_line_dry_run_and_usage_errors(tmp_path):
    dry = _cli("--dry-run", "--jobs", "2", "--scratch", str(tmp_path / "s"))
    assert dry.returncode == 0, dry.stderr
    assert "2 at a time" in dry.stdout and "phase 2: 07_technical_expertise.ipynb" in dry.stdout
    assert not (tmp_path / "s").exists()   # a dry run executes and creates nothing
    assert _cli("--dry-run", "README.md").returncode == 2
    inside = _cli("--dry-run", "--scratch", str(config.REPO_ROOT / "results" / "warm"))
    assert inside.returncode == 2 and "must not lie inside" in inside.stderr
    assert _cli("--dry-run", "--jobs", "0").returncode == 2


def test_real_run_writes_results_to_scratch_only(tmp_path, monkeypatch):
    """Two tiny notebooks through the real path (execute_notebooks.py, a kernel): one saves numbers
    through helpers.results, one fails. Results go to the scratch folder; the originals stay as they were."""
    monkeypatch.setenv("RAGFT_CACHE_DIR", str(tmp_path / "cache"))
    saves = _notebook(tmp_path / "00_saves.ipynb",
                      "from helpers import config, results\n"
                      "print(results.save('warm_probe', {'answer': 42}))\n"
                      "assert config.results_dir() != config.REPO_ROOT / 'results'")
    fails = _notebook(tmp_path / "04_fails.ipynb", "raise RuntimeError('planted failure')")
    originals = {p: p.read_bytes() for p in (saves, fails)}
    plan = warm.make_plan([saves, fails], 1, 1, tmp_path / "scratch")
    assert warm.run(plan) == 1   # one notebook failed
    stored = json.loads((tmp_path / "scratch" / "results" / "warm_probe.json").read_text())
    assert stored["numbers"] == {"answer": 42}
    assert not (config.REPO_ROOT / "results" / "warm_probe.json").exists()
    assert {p: p.read_bytes() for p in originals} == originals
    executed = nbformat.read(tmp_path / "scratch" / "notebooks" / "00_saves.ipynb", as_version=4)
    assert "warm_probe.json" in executed.cells[0].outputs[0]["text"]
    assert "planted failure" in (tmp_path / "scratch" / "logs" / "04_fails.log").read_text()
