"""Atomic writes and per-key file locks for everything the helpers keep on disk.

Two kernels may share one cache and one results folder (say notebooks 01 and 02 running side by
side). Every writer here therefore

* writes to a temporary name in the same folder and renames it into place (``os.replace`` is
  atomic within one file system), so no reader ever sees a half-written file or folder, and a
  crash leaves at worst a stray temporary behind, never a damaged result;
* where the work is expensive or the target is a folder (adapters, converted weights, saved
  indexes), holds a lock file ``<target>.lock`` next to the target while it checks, builds and
  replaces it, so two kernels asking for the same thing build it once.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

FILE_MODE = 0o644   # temporary files are created private (0600); results and caches are not
DIR_MODE = 0o755


def lock_path(target: Path | str) -> Path:
    """The lock file that guards ``target``: ``<target>.lock`` in the same folder."""
    target = Path(target)
    return target.parent / f"{target.name}.lock"


@contextlib.contextmanager
def locked(target: Path | str, what: str | None = None, verbose: bool = True) -> Iterator[None]:
    """Hold the lock of ``target`` (see :func:`lock_path`) for the duration of the block.

    The lock is an OS file lock, so it also excludes other processes (two Jupyter kernels). If
    another holder has it and ``verbose``, a line saying what we wait for (``what``, default the
    target's name) is printed before blocking.
    """
    from filelock import FileLock, Timeout

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(target)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if verbose:
            print(f"waiting for another process that is writing {what or target.name} ...", flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    Concurrent writers never interleave: a reader sees the old content or one writer's complete
    content. The temporary file is named ``.<name>.<random>.tmp`` and removed on failure.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding) as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def staged_dir(target: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``target``; when the block ends without error, the
    folder replaces ``target`` (an existing ``target`` is moved aside, then deleted).

    On an error the temporary folder is deleted and ``target`` is left as it was. Callers that may
    race with another writer of the same target should hold :func:`locked` around the block: the
    swap of a non-empty folder takes two renames.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, DIR_MODE)
        replace_dir(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def replace_dir(source: Path, target: Path) -> None:
    """Move folder ``source`` to ``target``, replacing any existing ``target`` folder."""
    if not target.exists():
        os.replace(source, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, old / target.name)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)
