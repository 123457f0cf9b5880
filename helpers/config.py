"""Paths and the few settings a reader may change, all read from environment variables.

=====================  ==========================================  ==========================
variable               meaning                                     default
=====================  ==========================================  ==========================
``RAGFT_GENERATOR``    generator: built-in name, local folder or    ``smollm2-135m-instruct``
                       Hugging Face id (``org/name``)
``RAGFT_EMBEDDER``     embedder: same forms                         ``all-minilm-l6-v2``
``RAGFT_DEVICE``       ``cpu``, ``cuda``, ``mps`` or ``auto``       ``auto``
``RAGFT_DATA_DIR``     the knowledge base                           ``<repo>/data``
``RAGFT_CACHE_DIR``    converted weights, adapters, indexes         ``<repo>/.cache``
``RAGFT_RESULTS_DIR``  each notebook's measured numbers (JSON)      ``<repo>/results``
``RAGFT_ANSWER_CACHE`` reuse stored answers of the same model and   ``1`` (on); ``0`` turns it
                       prompt (:mod:`helpers.answer_cache`)         off, e.g. to time answers
=====================  ==========================================  ==========================

Settings are read when a function asks for them, never cached, so a test or a notebook can change
an environment variable and see the effect.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parent.parent


def _path_setting(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Folder holding the knowledge base (``RAGFT_DATA_DIR``)."""
    return _path_setting("RAGFT_DATA_DIR", REPO_ROOT / "data")


def cache_dir() -> Path:
    """Folder for converted weights, trained adapters and indexes (``RAGFT_CACHE_DIR``)."""
    return _path_setting("RAGFT_CACHE_DIR", REPO_ROOT / ".cache")


def results_dir() -> Path:
    """Folder where notebooks store their measured numbers (``RAGFT_RESULTS_DIR``)."""
    return _path_setting("RAGFT_RESULTS_DIR", REPO_ROOT / "results")


def generator_name() -> str:
    """The generator to use (``RAGFT_GENERATOR``)."""
    return os.environ.get("RAGFT_GENERATOR", "smollm2-135m-instruct")


def embedder_name() -> str:
    """The embedder to use (``RAGFT_EMBEDDER``)."""
    return os.environ.get("RAGFT_EMBEDDER", "all-minilm-l6-v2")


def device_setting() -> str:
    """The requested device (``RAGFT_DEVICE``): ``auto`` picks CUDA, then Apple MPS, then CPU."""
    value = os.environ.get("RAGFT_DEVICE", "auto").lower()
    if value not in {"auto", "cpu", "cuda", "mps"}:
        raise ValueError(f"RAGFT_DEVICE={value!r}: expected one of auto, cpu, cuda, mps")
    return value


def answer_cache_enabled() -> bool:
    """Whether generated answers are looked up in and added to the answer cache
    (``RAGFT_ANSWER_CACHE``: ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``)."""
    value = os.environ.get("RAGFT_ANSWER_CACHE", "1").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"RAGFT_ANSWER_CACHE={value!r}: expected 1 or 0 (true/false, yes/no, on/off)")
