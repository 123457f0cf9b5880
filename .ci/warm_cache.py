"""Fill every cache the notebooks use (``make warm``): converted weights, adapters, answers.

    make warm                                   # all notebooks, as many at a time as cores and memory allow
    make warm JOBS=2                            # at most two notebooks at a time
    python .ci/warm_cache.py --dry-run          # print the plan, execute nothing
    python .ci/warm_cache.py notebooks/05_*.ipynb

Copies of the notebooks are executed in a scratch folder, with ``RAGFT_RESULTS_DIR`` pointing into
it, so neither the committed notebooks (their stored outputs) nor ``results/`` change; the cache
(``RAGFT_CACHE_DIR``, default ``.cache/``) is what fills up. Afterwards every notebook opens warm: it
loads the converted generator, the trained adapters and the stored answers instead of computing them
(from the README's table: about 2 min cold to 30 s warm for 00, 8 min to 45 s for 07).

Order: later notebooks reuse earlier notebooks' adapters (02 trains the Q&A adapter that 04-09
load; 03 trains the style adapter that 09 loads; 09 also loads one of 08's readers), so the notebooks are run in two phases, 00-03
first and then 04 onwards; within a phase up to ``--jobs`` notebooks run side by side, longest
first (with one job: in number order, exactly as ``make notebooks`` runs them). Two kernels that need the same adapter never train it twice (the cache holds a lock per key:
the second waits for the first), so the order only saves waiting, it is not needed for correctness.

Parallelism: each notebook gets ``--threads`` torch threads (default: the cores divided by the
jobs, at least 1), and the default number of jobs is what both the cores (2 threads each) and the
available memory (3 GiB each, a notebook's peak) allow. The cache keys include the device, so warm
the cache for the device the notebooks will use: on a machine with a GPU that prepares a cache for
CPU laptops, run ``make warm RAGFT_DEVICE=cpu``.

Side by side is not bit-for-bit the same as one after the other: the answer cache keeps the first
answer computed for a prompt, and on a near-tie a greedy answer can depend on the batch it was
computed in, and on the thread count (see ``helpers/answer_cache.py``). ``make warm JOBS=1
THREADS=2`` fills the cache exactly as ``make notebooks`` (CI's settings, empty cache) would.

Each notebook's output goes to ``<scratch>/logs/<notebook>.log``; the scratch folder is deleted at
the end unless a notebook failed or ``--keep`` is given. Exit status: 0 when every notebook ran, 1
when one failed, 2 on a usage error.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXECUTE = REPO / ".ci" / "execute_notebooks.py"
FIRST_PHASE = ("00", "01", "02", "03")   # they train what later notebooks load
# Cold run times (minutes, 2 cores; `make warm JOBS=1` on a fresh clone, 2026-12-07), to start the longest first.
# 08, 09, 03: the fresh-clone cold run of 2026-12-08 (nbval cell times); 04-07: that run plus the parts added
# later the same day, timed alone (estimates); 10 reads results only.
EXPECTED_MINUTES = {"00": 1.7, "01": 7.2, "02": 7.9, "03": 9.2, "04": 5.6, "05": 3.3, "06": 4.5, "07": 8.6, "08": 6.4,
                    "09": 6.4, "10": 0.1}
MEMORY_PER_NOTEBOOK_GIB = 3.0
THREADS_PER_NOTEBOOK = 2   # what CI gives a notebook


@dataclass(frozen=True)
class Plan:
    """What a warm run will do."""

    phases: tuple[tuple[Path, ...], ...]
    jobs: int
    threads: int
    scratch: Path


def notebook_prefix(path: Path) -> str:
    """``"02"`` for ``02_external_knowledge.ipynb``."""
    return path.name.split("_", 1)[0]


def phases(notebooks: list[Path], longest_first: bool = True) -> tuple[tuple[Path, ...], ...]:
    """Split into the phases (00-03, then the rest), each ordered longest first (or by number);
    empty phases are left out."""
    def order(group: list[Path]) -> tuple[Path, ...]:
        if not longest_first:
            return tuple(sorted(group, key=lambda p: p.name))
        return tuple(sorted(group, key=lambda p: (-EXPECTED_MINUTES.get(notebook_prefix(p), 5), p.name)))

    first = [p for p in notebooks if notebook_prefix(p) in FIRST_PHASE]
    rest = [p for p in notebooks if notebook_prefix(p) not in FIRST_PHASE]
    return tuple(group for group in (order(first), order(rest)) if group)


def available_memory_gib() -> float:
    """Memory available now, GiB (psutil, which ipykernel brings, else /proc/meminfo, else 'plenty')."""
    try:
        import psutil

        return psutil.virtual_memory().available / 1024 ** 3
    except ImportError:
        meminfo = Path("/proc/meminfo")
        if meminfo.is_file():
            for row in meminfo.read_text().splitlines():
                if row.startswith("MemAvailable:"):
                    return int(row.split()[1]) / 1024 ** 2
        return float("inf")


def default_jobs(cores: int, memory_gib: float, largest_phase: int) -> int:
    """Notebooks to run side by side: ``THREADS_PER_NOTEBOOK`` cores and ``MEMORY_PER_NOTEBOOK_GIB``
    of memory each, never more than a phase holds, at least one."""
    by_cores = cores // THREADS_PER_NOTEBOOK
    by_memory = int(memory_gib // MEMORY_PER_NOTEBOOK_GIB) if memory_gib != float("inf") else by_cores
    return max(1, min(by_cores, by_memory, largest_phase))


def make_plan(notebooks: list[Path], jobs: int | None, threads: int | None, scratch: Path,
              cores: int | None = None, memory_gib: float | None = None) -> Plan:
    """The phases, the jobs and threads (defaults from ``cores`` and ``memory_gib``, which default
    to this machine's), and the scratch folder."""
    cores = cores or os.cpu_count() or 1
    if jobs is None:
        jobs = default_jobs(cores, available_memory_gib() if memory_gib is None else memory_gib,
                            max((len(g) for g in phases(notebooks)), default=1))
    # One at a time: in number order, as `make notebooks` runs them (see the module docstring).
    groups = phases(notebooks, longest_first=jobs > 1)
    if threads is None:
        threads = max(1, cores // jobs)
    return Plan(groups, jobs, threads, scratch)


def prepare_scratch(plan: Plan) -> dict[Path, Path]:
    """Copy each notebook into ``<scratch>/notebooks/`` and create ``results/`` and ``logs/`` there;
    returns ``{original: copy}``."""
    for name in ("notebooks", "results", "logs"):
        (plan.scratch / name).mkdir(parents=True, exist_ok=True)
    copies = {}
    for group in plan.phases:
        for original in group:
            copy = plan.scratch / "notebooks" / original.name
            shutil.copy2(original, copy)
            copies[original] = copy
    return copies


def kernel_environment(plan: Plan) -> dict[str, str]:
    """The environment of every notebook's process (and so of its kernel)."""
    env = dict(os.environ)
    env.update({
        "RAGFT_RESULTS_DIR": str(plan.scratch / "results"),
        "OMP_NUM_THREADS": str(plan.threads), "MKL_NUM_THREADS": str(plan.threads),
        "HF_HUB_OFFLINE": env.get("HF_HUB_OFFLINE", "1"),
        "TOKENIZERS_PARALLELISM": "false", "TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "PYTHONHASHSEED": env.get("PYTHONHASHSEED", "0"),
    })
    return env


def execute(copy: Path, log: Path, env: dict[str, str]) -> tuple[bool, float]:
    """Execute one notebook copy in place (through execute_notebooks.py, a fresh kernel); its output
    goes to ``log``. Returns (succeeded, seconds)."""
    began = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run([sys.executable, str(EXECUTE), str(copy)], stdout=out, stderr=subprocess.STDOUT,
                              env=env, cwd=copy.parent, check=False)
    return done.returncode == 0, time.perf_counter() - began


def _snapshot(folders: list[Path]) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size)
            for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file()}


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def run(plan: Plan) -> int:
    """Execute the plan; returns the exit status."""
    copies = prepare_scratch(plan)
    env = kernel_environment(plan)
    watched = [REPO / "notebooks", REPO / "results"]
    before = _snapshot(watched)
    failed: list[Path] = []
    began = time.perf_counter()
    for number, group in enumerate(plan.phases, 1):
        print(f"phase {number}/{len(plan.phases)}: {', '.join(p.stem for p in group)}", flush=True)
        with concurrent.futures.ThreadPoolExecutor(max_workers=plan.jobs) as pool:
            futures = {pool.submit(execute, copies[p], plan.scratch / "logs" / f"{p.stem}.log", env): p
                       for p in group}
            for future in concurrent.futures.as_completed(futures):
                original = futures[future]
                ok, seconds = future.result()
                if not ok:
                    failed.append(original)
                print(f"  {original.stem}: {'done' if ok else 'FAILED'} in {seconds:.0f} s"
                      + ("" if ok else f" (log: {plan.scratch / 'logs' / (original.stem + '.log')})"), flush=True)
    wall = time.perf_counter() - began
    changed = sorted(set(before.items()) ^ set(_snapshot(watched).items()))
    if changed:   # should not happen; other people editing the repository meanwhile would explain it
        print(f"note: {len({path for path, _ in changed})} files under notebooks/ or results/ changed during "
              "the run (not by the scratch copies, which live elsewhere)", flush=True)
    from helpers import config  # the editable install; imported late so --help works anywhere

    cache = config.cache_dir()
    size = folder_size(cache) / 1e9 if cache.is_dir() else 0.0
    n = sum(len(g) for g in plan.phases)
    print(f"warm: {n - len(failed)} of {n} notebooks ran in {wall:.0f} s wall ({wall / 60:.1f} min), "
          f"{plan.jobs} at a time with {plan.threads} threads each; {cache} holds {size:.2f} GB", flush=True)
    if failed:
        print(f"warm: FAILED: {', '.join(p.name for p in failed)}; logs and executed copies kept in {plan.scratch}",
              flush=True)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fill the notebooks' caches by executing copies of them.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: notebooks/NN_*.ipynb, the full series)")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks at a time (default: cores and memory)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per notebook (default: cores/jobs)")
    parser.add_argument("--scratch", type=Path, default=None, help="scratch folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (executed copies, logs)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    args = parser.parse_args(argv)
    notebooks = [p.resolve() for p in args.notebooks] or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in notebooks if not p.is_file() or p.suffix != ".ipynb"]
    if missing or not notebooks:
        parser.error(f"not a notebook: {', '.join(missing)}" if missing else "no notebooks found")
    for name, value in (("--jobs", args.jobs), ("--threads", args.threads)):
        if value is not None and value < 1:
            parser.error(f"{name} must be at least 1")
    scratch = args.scratch.resolve() if args.scratch else Path(tempfile.mkdtemp(prefix="ragft-warm-"))
    inside = [folder for folder in (REPO / "notebooks", REPO / "results") if scratch.is_relative_to(folder)]
    if inside:
        parser.error(f"the scratch folder must not lie inside {inside[0]}")
    plan = make_plan(notebooks, args.jobs, args.threads, scratch)
    print(f"warm: {sum(len(g) for g in plan.phases)} notebooks in {len(plan.phases)} phases, {plan.jobs} at a time, "
          f"{plan.threads} threads each; scratch {scratch}", flush=True)
    if args.dry_run:
        for number, group in enumerate(plan.phases, 1):
            print(f"phase {number}: {' '.join(p.name for p in group)}")
        if not args.scratch:
            scratch.rmdir()
        return 0
    status = run(plan)
    if status == 0 and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
