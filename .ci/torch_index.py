"""Choose the package index torch is installed from, and say why.

    python .ci/torch_index.py [SETTING]      # SETTING defaults to $TORCH_INDEX_URL

Prints the chosen index URL on stdout (an empty line for "pip's default index", i.e. PyPI or whatever
pip is configured with) and one line on stderr saying what was chosen and why. The Makefile's install
rule runs it and installs torch from that index before the rest of requirements.txt.

SETTING (the ``TORCH_INDEX_URL`` make/environment variable):

* unset, empty or ``auto``: on Linux without ``nvidia-smi``, PyTorch's CPU index
  (https://download.pytorch.org/whl/cpu, a ~190 MB torch instead of PyPI's ~2.7 GB CUDA build
  and its NVIDIA libraries), provided that index answers within ``--timeout`` seconds (5);
  otherwise pip's default index. With ``nvidia-smi`` on the PATH (an NVIDIA GPU and driver), and on
  macOS and Windows (where PyPI's wheel is already the small build), pip's default index.
* ``default`` (or ``pypi``): pip's default index, no probe.
* a URL: that index, no probe (you asked for it).

The probe is a GET of ``<index>/torch/`` in a background thread that is abandoned after the timeout,
so even a hanging DNS lookup or a silently dropped connection costs at most ``--timeout`` seconds,
not pip's own network timeout (15 s per try, 5 retries).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
DEFAULT_WORDS = frozenset({"default", "pypi"})
AUTO_WORDS = frozenset({"", "auto"})


@dataclass(frozen=True)
class Choice:
    """The index to use (``""``: pip's default) and the reason, for the install log."""

    url: str
    reason: str


def probe(url: str, timeout: float) -> tuple[bool, str]:
    """Whether ``<url>/torch/`` answers with HTTP 200 within ``timeout`` seconds (in total), and a
    short description of what happened."""
    outcome: dict[str, tuple[bool, str]] = {}

    def attempt() -> None:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/torch/", timeout=timeout) as response:
                response.read(1024)
                outcome["result"] = (response.status == 200, f"HTTP {response.status}")
        except Exception as err:  # noqa: BLE001 - any failure means "not usable"; say which
            outcome["result"] = (False, f"{type(err).__name__}: {err}")

    began = time.monotonic()
    worker = threading.Thread(target=attempt, daemon=True)   # daemon: a hung lookup cannot block exit
    worker.start()
    worker.join(timeout)
    seconds = time.monotonic() - began
    ok, detail = outcome.get("result", (False, f"no answer within {timeout:g} s"))
    return ok, f"{detail}, {seconds:.1f} s"


def choose(setting: str | None, *, cpu_index: str = CPU_INDEX, timeout: float = 5.0,
           system: str | None = None) -> Choice:
    """Decide the torch index for ``setting`` (see the module docstring); ``system`` is
    ``platform.system()`` unless given."""
    value = (setting or "").strip()
    if value.lower() in DEFAULT_WORDS:
        return Choice("", f"TORCH_INDEX_URL={value}: pip's default index, as asked")
    if value.lower() not in AUTO_WORDS:
        return Choice(value, f"TORCH_INDEX_URL={value}: as asked")
    system = system or platform.system()
    if system != "Linux":
        return Choice("", f"pip's default index: on {system} PyPI's torch wheel is already the small build")
    gpu_tool = shutil.which("nvidia-smi")
    if gpu_tool:
        return Choice("", f"pip's default index (its CUDA build): {gpu_tool} is present, so this machine "
                          "has an NVIDIA driver. For the small CPU build: TORCH_INDEX_URL=" + cpu_index)
    ok, detail = probe(cpu_index, timeout)
    if ok:
        return Choice(cpu_index, f"the CPU-only build: no nvidia-smi here, and {cpu_index} answered ({detail})")
    return Choice("", f"pip's default index: no nvidia-smi here, but {cpu_index} cannot be reached ({detail}); "
                      "on Linux PyPI's torch is the large CUDA build (about 2.7 GB to download with its NVIDIA libraries). "
                      "Force an index with TORCH_INDEX_URL=<url> or TORCH_INDEX_URL=default")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("setting", nargs="?", default=None,
                        help="auto (default), default/pypi, or an index URL; default: $TORCH_INDEX_URL")
    parser.add_argument("--cpu-index", default=CPU_INDEX, help=f"the CPU index to probe (default {CPU_INDEX})")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds the probe may take in all (default 5)")
    args = parser.parse_args(argv)
    setting = args.setting if args.setting is not None else os.environ.get("TORCH_INDEX_URL", "")
    began = time.monotonic()
    choice = choose(setting, cpu_index=args.cpu_index, timeout=args.timeout)
    print(f"torch index: {choice.url or '(pip default)'} - {choice.reason} "
          f"[decided in {time.monotonic() - began:.1f} s]", file=sys.stderr, flush=True)
    print(choice.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
