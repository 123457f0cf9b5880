"""A small results store: each notebook saves its measured numbers as JSON for later notebooks
(the use-case notebook reads them all).

Writes are atomic (:func:`helpers.storage.atomic_write_text`): two kernels saving at once leave
one complete file, never a mix or a truncated one, and a reader never sees a half-written file.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from . import config, storage


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot store non-finite number {value!r}")
        return round(value, 4)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    if hasattr(value, "__dataclass_fields__"):
        return _clean(vars(value))
    return value


def save(notebook: str, numbers: dict[str, Any], folder: Path | None = None) -> Path:
    """Write ``numbers`` (JSON-able; floats rounded to 4 places) as ``<notebook>.json``.

    The file is written under a temporary name in the same folder and renamed into place.
    """
    folder = folder or config.results_dir()
    text = json.dumps({"notebook": notebook, "numbers": _clean(numbers)}, indent=2, sort_keys=True) + "\n"
    return storage.atomic_write_text(folder / f"{notebook}.json", text)


def load(notebook: str, folder: Path | None = None) -> dict[str, Any]:
    """The numbers a notebook saved."""
    path = (folder or config.results_dir()) / f"{notebook}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no results saved yet; run notebook {notebook} first")
    return json.loads(path.read_text(encoding="utf-8"))["numbers"]


def load_all(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every notebook's numbers, keyed by notebook name."""
    folder = folder or config.results_dir()
    return {p.stem: json.loads(p.read_text(encoding="utf-8"))["numbers"] for p in sorted(folder.glob("*.json"))}


def save_replies(notebook: str, graded: dict[str, Any], folder: Path | None = None) -> Path:
    """Write every graded reply of a notebook as ``replies/<notebook>.jsonl`` beside its numbers.

    ``graded`` maps a system name to its :class:`helpers.grading.Graded` rows. One JSON object per
    line: system, question id, kind, question, reply. These are the raw material of the abstention
    detector's labelled set (``data/abstention_labelled.jsonl`` samples them), so the detector is
    measured on the replies it will actually judge. Written atomically, like :func:`save`.
    """
    folder = (folder or config.results_dir()) / "replies"
    lines = [json.dumps({"system": system, "qid": r.qid, "kind": r.kind, "question": r.question,
                         "reply": r.prediction}, ensure_ascii=False)
             for system, rows in graded.items() for r in rows]
    if not lines:
        raise ValueError(f"{notebook}: no graded replies to save")
    return storage.atomic_write_text(folder / f"{notebook}.jsonl", "\n".join(lines) + "\n")
