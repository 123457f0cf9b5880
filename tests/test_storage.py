"""Atomic writes and per-key locks (helpers.storage), used by results, indexes, adapters and weights."""
from __future__ import annotations

import threading
import time

import pytest

from helpers import storage


def test_locked_makes_a_second_holder_wait_and_says_so(tmp_path, capsys):
    target = tmp_path / "thing"
    events: list[str] = []
    inside = threading.Event()

    def first():
        with storage.locked(target):
            inside.set()
            time.sleep(0.3)
            events.append("first done")

    t = threading.Thread(target=first)
    t.start()
    inside.wait()
    with storage.locked(target, what="the thing"):
        events.append("second in")
    t.join()
    assert events == ["first done", "second in"]
    assert "waiting for another process that is writing the thing" in capsys.readouterr().out
    assert storage.lock_path(target) == tmp_path / "thing.lock"


def test_staged_dir_replaces_whole_folders_and_cleans_up_on_error(tmp_path):
    target = tmp_path / "out"
    with storage.staged_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with storage.staged_dir(target) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]          # old content gone, not merged
    with pytest.raises(RuntimeError, match="boom"):
        with storage.staged_dir(target) as tmp:
            (tmp / "c").write_text("3")
            raise RuntimeError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["b"]          # untouched by the failed write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]      # no staging folder left


def test_atomic_write_text_replaces_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "sub" / "f.json"
    storage.atomic_write_text(path, "one")
    storage.atomic_write_text(path, "two")
    assert path.read_text() == "two" and [p.name for p in path.parent.iterdir()] == ["f.json"]
    assert oct(path.stat().st_mode & 0o777) == oct(storage.FILE_MODE)
