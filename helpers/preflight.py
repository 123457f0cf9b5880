"""Pre-flight check: is this machine ready to run the series? (``make check``, under a minute)

    python -m helpers.preflight                    # every check
    python -m helpers.preflight --only python,memory,disk
    python -m helpers.preflight --min-memory-gb 4 --min-disk-gb 5

Each check prints one line as soon as it is done, either ``OK <check>: <what was found>`` or
``PROBLEM <check>: <what is wrong> -> fix: <what to do>``; the command exits with status 1 when any
check reports a problem, 0 otherwise, and 2 on a usage error. The checks, in order:

=============  =========================================================================
``python``     Python 3.10-3.12 (what the series is tested on)
``memory``     available memory (default at least 3 GiB: a notebook's kernel peaks near 3 GB)
``disk``       free disk where the cache lives (default at least 2 GiB)
``imports``    one line per library the notebooks import (torch, transformers, peft, faiss,
               sentence_transformers, jupyterlab, ...), with its version and import time
``versions``   the installed versions satisfy ``requirements.txt`` and the model packages' pins
``data``       the knowledge base loads (``RAGFT_DATA_DIR``)
``device``     the device the notebooks will use (``RAGFT_DEVICE``) and the thread count
``generator``  the generator loads offline, from the installed package (the first time this
               converts it to ``.cache/models``, about 25 s on 2 cores)
``embedder``   the embedder loads offline and embeds a sentence
``answer``     one timed closed-book answer (greedy, a few tokens, answer cache off)
=============  =========================================================================

Nothing here downloads anything: ``HF_HUB_OFFLINE`` is set to 1 unless it is already set.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import config

SUPPORTED_PYTHON: tuple[tuple[int, int], tuple[int, int]] = ((3, 10), (3, 12))
MIN_MEMORY_GIB = 3.0
MIN_DISK_GIB = 2.0
MAX_ANSWER_SECONDS = 20.0
QUESTION = "What is the capital of France?"
ANSWER_TOKENS = 8
GIB = 1024 ** 3

# (import name, distribution name) of everything the notebooks and the helpers import
LIBRARIES: tuple[tuple[str, str], ...] = (
    ("torch", "torch"), ("transformers", "transformers"), ("peft", "peft"), ("accelerate", "accelerate"),
    ("faiss", "faiss-cpu"), ("sentence_transformers", "sentence-transformers"), ("numpy", "numpy"),
    ("scipy", "scipy"), ("sklearn", "scikit-learn"), ("pandas", "pandas"), ("matplotlib", "matplotlib"),
    ("pypdf", "pypdf"), ("jupyterlab", "jupyterlab"), ("ipykernel", "ipykernel"), ("ipywidgets", "ipywidgets"),
)
CHECKS: tuple[str, ...] = ("python", "memory", "disk", "imports", "versions", "data", "device",
                           "generator", "embedder", "answer")
NEEDS_MODELS = frozenset({"device", "generator", "embedder", "answer"})   # need torch and transformers
REINSTALL = "rm -f .venv/.installed-stamp && make install (or: .venv/bin/python -m pip install -r requirements.txt)"


@dataclass(frozen=True)
class Check:
    """The outcome of one check: its name, whether it passed, what was found and, when it did not
    pass, what to do about it."""

    name: str
    ok: bool
    message: str
    fix: str = ""

    def line(self) -> str:
        """The line printed for this check."""
        if self.ok:
            return f"OK {self.name}: {self.message}"
        return f"PROBLEM {self.name}: {self.message} -> fix: {self.fix}"


@dataclass(frozen=True)
class Limits:
    """Thresholds of the checks that measure something."""

    min_memory_gib: float = MIN_MEMORY_GIB
    min_disk_gib: float = MIN_DISK_GIB
    max_answer_seconds: float = MAX_ANSWER_SECONDS


# --------------------------------------------------------------------------------------------
# cheap checks: no third-party imports


def check_python(version: Sequence[int] | None = None,
                 supported: tuple[tuple[int, int], tuple[int, int]] = SUPPORTED_PYTHON) -> Check:
    """The Python version (``version``: ``sys.version_info`` unless given) lies in ``supported``."""
    found = tuple(version if version is not None else sys.version_info[:3])
    text = ".".join(str(part) for part in found)
    (lo_major, lo_minor), (hi_major, hi_minor) = supported
    if (lo_major, lo_minor) <= tuple(found[:2]) <= (hi_major, hi_minor):
        return Check("python", True, f"Python {text} ({sys.executable})")
    wanted = f"{lo_major}.{lo_minor}-{hi_major}.{hi_minor}"
    return Check("python", False, f"Python {text}; the series needs {wanted}",
                 "install Python 3.11 and rebuild the environment: rm -rf .venv && make lab PYTHON=python3.11")


def available_memory() -> tuple[int, int]:
    """``(available, total)`` memory in bytes: psutil where installed (it comes with ipykernel),
    else ``/proc/meminfo``, else ``sysconf``."""
    try:
        import psutil

        mem = psutil.virtual_memory()
        return int(mem.available), int(mem.total)
    except ImportError:
        pass
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        fields = {}
        for row in meminfo.read_text().splitlines():
            key, _, value = row.partition(":")
            fields[key] = int(value.split()[0]) * 1024
        return fields.get("MemAvailable", fields.get("MemFree", 0)), fields.get("MemTotal", 0)
    page = os.sysconf("SC_PAGE_SIZE")
    return os.sysconf("SC_AVPHYS_PAGES") * page, os.sysconf("SC_PHYS_PAGES") * page


def check_memory(min_gib: float = MIN_MEMORY_GIB) -> Check:
    """At least ``min_gib`` GiB of memory is available now."""
    available, total = available_memory()
    found = f"{available / GIB:.1f} GiB available of {total / GIB:.1f} GiB"
    if available >= min_gib * GIB:
        return Check("memory", True, found)
    return Check("memory", False, f"{found}; at least {min_gib:g} GiB needed (a notebook's kernel peaks near 3 GB)",
                 "close other programs and browser tabs, and run one notebook at a time "
                 "(Kernel > Shut Down Kernel on the ones you finished)")


def _existing_ancestor(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(folder: Path | None = None, min_gib: float = MIN_DISK_GIB) -> Check:
    """At least ``min_gib`` GiB is free on the disk holding ``folder`` (default: the cache folder)."""
    folder = folder or config.cache_dir()
    free = shutil.disk_usage(_existing_ancestor(folder)).free
    found = f"{free / GIB:.1f} GiB free for {folder}"
    if free >= min_gib * GIB:
        return Check("disk", True, found)
    return Check("disk", False, f"{found}; at least {min_gib:g} GiB needed for converted weights, adapters, answers",
                 "free some disk space, or point RAGFT_CACHE_DIR to a disk with room")


# --------------------------------------------------------------------------------------------
# libraries


def _version(module: Any, dist: str) -> str:
    version = getattr(module, "__version__", None)
    if version is None:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown version"
    return str(version)


def _torch_build(torch: Any) -> str:
    cuda = getattr(torch.version, "cuda", None)
    if not cuda:
        return "CPU build"
    if torch.cuda.is_available():
        return f"CUDA {cuda} build"
    return (f"CUDA {cuda} build, but no GPU here: the CPU build is ~2.5 GB smaller "
            "(rm -rf .venv && make lab picks it on Linux machines without nvidia-smi)")


def check_imports(libraries: Sequence[tuple[str, str]] = LIBRARIES) -> list[Check]:
    """Import each library (import name, distribution name): one check each."""
    checks = []
    for name, dist in libraries:
        began = time.perf_counter()
        try:
            module = importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - an import can fail with anything (ImportError, OSError for a DLL)
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            checks.append(Check(f"import {name}", False, f"{type(err).__name__}: {first}", REINSTALL))
            continue
        extra = f", {_torch_build(module)}" if name == "torch" else ""
        checks.append(Check(f"import {name}", True,
                            f"{_version(module, dist)}{extra} ({time.perf_counter() - began:.1f} s)"))
    return checks


def _pins() -> list[str]:
    """The requirement strings the install uses: requirements.txt, plus the model packages that the
    Makefile installs with --no-deps."""
    from . import models

    lines = []
    requirements = config.REPO_ROOT / "requirements.txt"
    if requirements.is_file():
        for raw in requirements.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                lines.append(line)
    for builtin in (*models.BUILTIN_GENERATORS.values(), *models.BUILTIN_EMBEDDERS.values()):
        lines.append(f"{builtin.package.replace('_', '-')}=={builtin.version}")
    return lines


def check_versions(pins: Sequence[str] | None = None) -> Check:
    """Every installed distribution satisfies its pin (``pins``: requirement strings; by default
    ``requirements.txt`` and the model packages)."""
    from packaging.requirements import Requirement

    pins = list(pins) if pins is not None else _pins()
    wrong = []
    for text in pins:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            found = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{req.name} missing (needs {req.specifier or 'any version'})")
            continue
        if req.specifier and not req.specifier.contains(found, prereleases=True):
            wrong.append(f"{req.name} {found} (needs {req.specifier})")
    if not wrong:
        return Check("versions", True, f"{len(pins)} packages as pinned in requirements.txt and the Makefile")
    return Check("versions", False, "; ".join(wrong), REINSTALL)


def check_data() -> Check:
    """The knowledge base loads (documents and facts of version 1)."""
    from . import data

    try:
        docs, facts = data.load_corpus(1), data.load_facts(1)
    except Exception as err:  # noqa: BLE001 - DataError, OSError, ...: report it whatever it is
        return Check("data", False, f"{type(err).__name__}: {err}",
                     "restore data/ from git (git checkout -- data) or unset RAGFT_DATA_DIR")
    return Check("data", True, f"{len(docs)} documents, {len(facts)} facts in {config.data_dir()}")


# --------------------------------------------------------------------------------------------
# device and models


def check_device() -> Check:
    """The device ``RAGFT_DEVICE`` (default auto) resolves to, with the thread count."""
    from . import models

    try:
        device = models.pick_device()
    except (models.DeviceUnavailableError, ValueError) as err:
        return Check("device", False, str(err), "unset RAGFT_DEVICE (or set it to auto)")
    import torch

    detail = ""
    if device == "cuda":
        detail = f", {torch.cuda.get_device_name(0)}"
    return Check("device", True, f"{device}{detail} ({torch.get_num_threads()} torch threads, "
                                 f"{os.cpu_count()} CPU cores)")


def check_generator() -> tuple[Check, Any]:
    """Load the generator (``RAGFT_GENERATOR``); returns the check and ``(model, tokenizer)`` (None
    when loading failed)."""
    from . import models

    name = config.generator_name()
    converting = name in models.BUILTIN_GENERATORS and not (models.converted_generator_dir(name) /
                                                            "config.json").exists()
    began = time.perf_counter()
    try:
        loaded = models.load_generator(name)
    except ModuleNotFoundError as err:
        return Check("generator", False, str(err), REINSTALL), None
    except Exception as err:  # noqa: BLE001 - a damaged cache, a missing file, ...: say what happened
        fix = ("make clean-cache, then make check again" if name in models.BUILTIN_GENERATORS
               else "check RAGFT_GENERATOR (unset it for the default model)")
        return Check("generator", False, f"{name}: {type(err).__name__}: {err}", fix), None
    seconds = time.perf_counter() - began
    params = models.count_parameters(loaded[0]) / 1e6
    how = "converted once to .cache/models and loaded" if converting else "loaded"
    return Check("generator", True, f"{name} {how} ({params:.0f}M parameters, {seconds:.1f} s)"), loaded


def check_embedder() -> Check:
    """Load the embedder (``RAGFT_EMBEDDER``) and embed one sentence."""
    from . import models

    name = config.embedder_name()
    began = time.perf_counter()
    try:
        vector = models.load_embedder(name).encode(["Where do bees make honey?"])
    except ModuleNotFoundError as err:
        return Check("embedder", False, str(err), REINSTALL)
    except Exception as err:  # noqa: BLE001
        return Check("embedder", False, f"{name}: {type(err).__name__}: {err}",
                     "check RAGFT_EMBEDDER (unset it for the default model), or reinstall: " + REINSTALL)
    return Check("embedder", True, f"{name} loaded, {vector.shape[1]}-dimensional vectors "
                                   f"({time.perf_counter() - began:.1f} s)")


def check_answer(loaded: Any, max_seconds: float = MAX_ANSWER_SECONDS) -> Check:
    """One greedy closed-book answer of at most a few tokens, timed, with the answer cache off."""
    from . import generation

    model, tokenizer = loaded
    began = time.perf_counter()
    try:
        generation.newline_token_ids(tokenizer)   # a one-off scan of the vocabulary, memoized per tokenizer
        setup = time.perf_counter() - began
        began = time.perf_counter()
        [answer] = generation.answer_closed_book(model, tokenizer, [QUESTION], max_new_tokens=ANSWER_TOKENS,
                                                 cache=False)
    except Exception as err:  # noqa: BLE001
        return Check("answer", False, f"generation failed: {type(err).__name__}: {err}", REINSTALL)
    seconds = time.perf_counter() - began
    found = (f"{QUESTION!r} -> {answer.text!r} in {seconds:.2f} s ({answer.new_tokens} new tokens, greedy; "
             f"{setup:.1f} s one-off stop-token scan before)")
    if seconds <= max_seconds:
        return Check("answer", True, found)
    return Check("answer", False, f"{found}; slower than {max_seconds:g} s",
                 "close other programs that use the CPU; on battery, plug in (power saving slows the CPU)")


# --------------------------------------------------------------------------------------------
# running


def run_checks(selected: Sequence[str] = CHECKS, limits: Limits = Limits()) -> Iterator[Check]:
    """Run the ``selected`` checks in the order of :data:`CHECKS`, yielding each result as it is known.

    A check that needs a library which failed to import, or a generator that failed to load, is
    reported as a problem that points at the earlier line rather than tried.
    """
    unknown = sorted(set(selected) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown checks {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    chosen = [name for name in CHECKS if name in selected]
    cheap: dict[str, Callable[[], Check]] = {
        "python": check_python,
        "memory": lambda: check_memory(limits.min_memory_gib),
        "disk": lambda: check_disk(min_gib=limits.min_disk_gib),
    }
    broken: list[str] = []   # imports that failed
    loaded: Any = None
    for name in chosen:
        if name in cheap:
            yield cheap[name]()
        elif name == "imports":
            for check in check_imports():
                if not check.ok:
                    broken.append(check.name.removeprefix("import "))
                yield check
        elif name in NEEDS_MODELS and {"torch", "transformers", "sentence_transformers"} & set(broken):
            yield Check(name, False, f"not tried: {', '.join(broken)} failed to import (above)",
                        "fix the import problems first")
        elif name == "versions":
            yield check_versions()
        elif name == "data":
            yield check_data()
        elif name == "device":
            yield check_device()
        elif name == "embedder":
            yield check_embedder()
        elif name == "generator":
            check, loaded = check_generator()
            yield check
        elif loaded is None and "generator" in chosen:   # answer, after the generator failed
            yield Check("answer", False, "not tried: the generator did not load (above)",
                        "fix the generator problem first")
        else:   # answer; the generator is loaded here when its own check was not selected
            if loaded is None:
                check, loaded = check_generator()
                if loaded is None:
                    yield Check("answer", False, check.message, check.fix)
                    continue
            yield check_answer(loaded, limits.max_answer_seconds)


def main(argv: Sequence[str] | None = None) -> int:
    """Print one line per check and a summary; return 1 when any check found a problem."""
    parser = argparse.ArgumentParser(prog="python -m helpers.preflight",
                                     description="Check that this machine is ready to run the series.")
    parser.add_argument("--only", default=",".join(CHECKS),
                        help=f"comma-separated checks to run (default all: {','.join(CHECKS)})")
    parser.add_argument("--min-memory-gb", type=float, default=MIN_MEMORY_GIB,
                        help=f"memory that must be available, GiB (default {MIN_MEMORY_GIB:g})")
    parser.add_argument("--min-disk-gb", type=float, default=MIN_DISK_GIB,
                        help=f"free disk for the cache, GiB (default {MIN_DISK_GIB:g})")
    parser.add_argument("--max-answer-seconds", type=float, default=MAX_ANSWER_SECONDS,
                        help=f"slowest acceptable time for the test answer (default {MAX_ANSWER_SECONDS:g})")
    args = parser.parse_args(argv)
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(CHECKS))
    if unknown:
        parser.error(f"unknown checks {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    limits = Limits(args.min_memory_gb, args.min_disk_gb, args.max_answer_seconds)
    began = time.perf_counter()
    problems = total = 0
    print(f"pre-flight check on {platform.system()} {platform.machine()}, repository {config.REPO_ROOT}", flush=True)
    for check in run_checks(selected, limits):
        total += 1
        problems += not check.ok
        print(check.line(), flush=True)
    verdict = "ready" if not problems else f"{problems} problem{'s' * (problems != 1)} to fix"
    print(f"pre-flight: {total - problems} OK, {problems} PROBLEM, {time.perf_counter() - began:.0f} s: {verdict}",
          flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
