"""Execute notebooks in place, each in a fresh kernel, under the settings CI uses.

This is the only way stored outputs are produced: never edit outputs by hand. For each notebook
it prints the wall time and the kernel's peak resident memory, the numbers the issues' budgets
refer to.

    make notebooks                 # all of them (sets the CI environment first)
    python .ci/execute_notebooks.py notebooks/01_*.ipynb
"""
from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path


def _execute(path: str) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    try:
        client.execute()
    finally:
        # on failure too: the stored error shows where and why (and the hook flags stored errors)
        nbformat.write(nb, path)


def run(path: str) -> tuple[float, float]:
    """Execute one notebook in a child process; returns (seconds, peak kernel RSS in MB)."""
    start = time.perf_counter()
    child = mp.get_context("spawn").Process(target=_execute, args=(path,))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"{path}: execution failed (exit code {child.exitcode})")
    # Linux propagates the largest max-RSS of reaped descendants, so this covers the kernel.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return time.perf_counter() - start, peak_mb


def main(paths: list[str]) -> None:
    if not paths:
        raise SystemExit("usage: execute_notebooks.py NOTEBOOK.ipynb [...]")
    for path in paths:
        seconds, peak = run(path)
        # RUSAGE_CHILDREN is a running maximum over all children so far: run one notebook per
        # call when you need each notebook's own peak.
        print(f"{path}: {seconds:.0f} s wall, peak RSS so far {peak:.0f} MB", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
