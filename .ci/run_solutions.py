"""Execute the exercise solutions (notebooks/solutions/*.ipynb) on scratch copies, never in place.

    make solutions                                   # every cell of every solution notebook
    python .ci/run_solutions.py --cheap              # only the cheap cells (what the test runs)
    python .ci/run_solutions.py --out DIR 09 06      # the notebooks whose names start with 09 or 06

Cell tags: ``solution-slow`` (trains an adapter or generates many answers) and ``solution-model``
(loads a model, or reads a slow cell's results). ``--cheap`` drops both before executing. Results the
notebooks save go to ``RAGFT_RESULTS_DIR`` (set here to a scratch folder unless already set), never to
results/. Prints each notebook's wall time and each section's wall and kernel-CPU seconds (on a busy
machine wall time grows, CPU time much less); exits non-zero if one fails (its executed copy in
``--out`` shows the failing cell).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "notebooks" / "solutions"
SKIPPED_WHEN_CHEAP = {"solution-slow", "solution-model"}
SECTION = re.compile(r"^## (Setup|Exercise \d+)", re.M)


def notebooks(prefixes: list[str] | None = None) -> list[Path]:
    paths = sorted(SOLUTIONS.glob("[0-9][0-9]_*_solutions.ipynb"))
    return [p for p in paths if not prefixes or any(p.name.startswith(x) for x in prefixes)]


def cheap_copy(nb):
    """The notebook without its cells tagged solution-slow or solution-model."""
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or not SKIPPED_WHEN_CHEAP & set(c.metadata.get("tags", []))]
    return nb


def _seconds(cell) -> float:
    """A code cell's execution time, from the timestamps nbclient records (0 if it did not run)."""
    stamps = cell.metadata.get("execution", {})
    if "iopub.execute_input" not in stamps or "shell.execute_reply" not in stamps:
        return 0.0
    start, end = (datetime.fromisoformat(stamps[k].replace("Z", "+00:00")) for k in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def section_times(nb, cpu: dict[int, float] | None = None) -> dict[str, tuple[float, float]]:
    """Seconds per section ("Setup", "Exercise 1", ...) of an executed notebook, summed over its code cells:
    (wall, kernel CPU) with ``cpu`` the CPU seconds of each cell by index (CPU 0 where unknown)."""
    times: dict[str, tuple[float, float]] = {}
    section = "(before Setup)"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and (m := SECTION.search(cell.source)):
            section = m.group(1)
        elif cell.cell_type == "code":
            wall, used = times.get(section, (0.0, 0.0))
            times[section] = (wall + _seconds(cell), used + (cpu or {}).get(i, 0.0))
    return times


def _cpu_meter(client) -> tuple[dict[int, float], dict]:
    """Hooks that record the kernel process's CPU seconds per cell (empty if psutil is missing)."""
    cpu: dict[int, float] = {}
    try:
        import psutil
    except ImportError:
        return cpu, {}
    started: dict[int, float] = {}

    def used() -> float | None:
        try:
            times = psutil.Process(client.km.provisioner.process.pid).cpu_times()
        except (AttributeError, psutil.Error):    # no local kernel process to read: no CPU time, never a failure
            return None
        return times.user + times.system

    def before(cell, cell_index, **_):
        if (now := used()) is not None:
            started[cell_index] = now

    def after(cell, cell_index, **_):
        if cell_index in started and (now := used()) is not None:
            cpu[cell_index] = now - started.pop(cell_index)

    return cpu, {"on_cell_execute": before, "on_cell_executed": after}


def execute(path: Path, out_dir: Path, cheap: bool = False, timeout: int = 1800,
            times: dict[str, tuple[float, float]] | None = None) -> float:
    """Execute ``path`` (its cheap cells only with ``cheap``) into ``out_dir``; returns the seconds taken.

    ``times``, when given, receives each section's (wall, kernel CPU) seconds, even when a cell fails."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if cheap:
        nb = cheap_copy(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(SOLUTIONS)}})
    cpu, hooks = _cpu_meter(client)
    for name, hook in hooks.items():
        setattr(client, name, hook)
    try:
        client.execute()
    finally:
        if times is not None:
            times.update(section_times(nb, cpu))
        nbformat.write(nb, out_dir / path.name)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="run only notebooks whose names start with these (e.g. 03 09)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "solutions", help="folder for the executed copies")
    parser.add_argument("--cheap", action="store_true", help="skip the cells tagged solution-slow or solution-model")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAGFT_RESULTS_DIR", str(REPO / ".cache" / "solution-results"))
    failed = []
    for path in notebooks(args.prefixes):
        times: dict[str, tuple[float, float]] = {}
        try:
            seconds = execute(path, args.out, cheap=args.cheap, times=times)
            print(f"{path.name}: {seconds:.0f} s", flush=True)
        except Exception as err:  # noqa: BLE001 - report every notebook, then fail
            failed.append(path.name)
            print(f"{path.name}: FAILED ({type(err).__name__}); see {args.out / path.name}", flush=True)
        print("   " + ", ".join(f"{name} {wall:.0f} s (CPU {used:.0f} s)" for name, (wall, used) in times.items()), flush=True)
    print(f"executed copies in {args.out}; results in {os.environ['RAGFT_RESULTS_DIR']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
