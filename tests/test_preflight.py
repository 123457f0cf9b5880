"""The pre-flight check (``make check``, :mod:`helpers.preflight`): real checks against thresholds
that pass or cannot pass, the printed lines, the exit status, and the model checks on the tiny model."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import config, models, preflight


@pytest.fixture()
def fresh_models():
    """No loaded model kept between these tests (they swap the generator)."""
    models.clear_cache()
    yield
    models.clear_cache()


def test_python_version_in_and_out_of_range():
    assert preflight.check_python((3, 11, 7)).ok
    assert preflight.check_python((3, 10, 0)).ok and preflight.check_python((3, 12, 9)).ok
    for version in [(3, 9, 18), (3, 13, 0), (2, 7, 18)]:
        check = preflight.check_python(version)
        assert not check.ok
        assert check.line().startswith(f"PROBLEM python: Python {'.'.join(map(str, version))}; the series needs 3.10-3.12")
        assert "-> fix: " in check.line() and "PYTHON=python3.11" in check.fix
    assert preflight.check_python().ok   # the interpreter running the tests is a supported one


def test_memory_against_thresholds():
    available, total = preflight.available_memory()
    assert 0 < available <= total
    assert preflight.check_memory(0).ok
    assert preflight.check_memory(0).line().startswith("OK memory: ")
    check = preflight.check_memory(1e6)   # a million GiB: never available
    assert not check.ok
    assert "at least 1e+06 GiB needed" in check.message
    assert check.line().startswith("PROBLEM memory: ") and "-> fix: close other programs" in check.line()


def test_disk_against_thresholds(tmp_path):
    assert preflight.check_disk(tmp_path, 0).ok
    not_yet = tmp_path / "cache" / "not" / "created"   # the cache folder may not exist before the first run
    assert preflight.check_disk(not_yet, 0).ok
    check = preflight.check_disk(not_yet, 1e9)
    assert not check.ok and str(not_yet) in check.message and "RAGFT_CACHE_DIR" in check.fix
    assert not not_yet.exists()   # checking creates nothing


def test_imports_one_line_each():
    checks = preflight.check_imports([("json", "json"), ("no_such_module_ragft", "no-such-module-ragft")])
    assert [c.name for c in checks] == ["import json", "import no_such_module_ragft"]
    assert checks[0].ok
    assert not checks[1].ok and checks[1].message.startswith("ModuleNotFoundError: ")
    assert "make install" in checks[1].fix


def test_torch_import_names_its_build():
    [check] = preflight.check_imports([("torch", "torch")])
    assert check.ok and "build" in check.message


def test_versions_against_pins():
    assert preflight.check_versions(["pytest>=1", "packaging"]).ok
    check = preflight.check_versions(["pytest<1", "no-such-package-ragft==1.0", "pytest>=1"])
    assert not check.ok
    assert "pytest " in check.message and "(needs <1)" in check.message
    assert "no-such-package-ragft missing (needs ==1.0)" in check.message
    # a marker that does not apply here is skipped
    assert preflight.check_versions(['pytest<1; python_version < "3"']).ok


def test_installed_versions_match_the_repository_pins():
    check = preflight.check_versions()
    assert check.ok, check.line()


def test_data_loads():
    check = preflight.check_data()
    assert check.ok and "documents" in check.message and str(config.data_dir()) in check.message


def test_unknown_check_names_are_refused():
    with pytest.raises(ValueError, match="unknown checks nope"):
        list(preflight.run_checks(["python", "nope"]))


def test_main_exit_status_and_lines(capsys, monkeypatch):
    for name, value in [("HF_HUB_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")]:
        monkeypatch.setenv(name, value)   # main sets them when unset; keep the test process as it was
    assert preflight.main(["--only", "python,memory", "--min-memory-gb", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("OK python: ") and out[2].startswith("OK memory: ")
    assert out[-1].startswith("pre-flight: 2 OK, 0 PROBLEM") and out[-1].endswith("ready")

    assert preflight.main(["--only", "python,memory,disk", "--min-memory-gb", "1e6"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out[1:-1]] == ["OK python", "PROBLEM memory", "OK disk"]
    assert out[-1].startswith("pre-flight: 2 OK, 1 PROBLEM") and out[-1].endswith("1 problem to fix")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "helpers.preflight", *args], capture_output=True, text=True,
                          cwd=config.REPO_ROOT, timeout=120)


def test_command_line_exit_codes():
    ok = _cli("--only", "python,disk", "--min-disk-gb", "0")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = _cli("--only", "disk", "--min-disk-gb", "1e9")
    assert bad.returncode == 1
    assert "PROBLEM disk: " in bad.stdout and "-> fix: " in bad.stdout
    usage = _cli("--only", "python,warp-drive")
    assert usage.returncode == 2 and "unknown checks warp-drive" in usage.stderr


def test_generator_and_answer_on_the_tiny_model(tiny_model_dir, monkeypatch, fresh_models):
    monkeypatch.setenv("RAGFT_GENERATOR", str(tiny_model_dir))
    generator, answer = preflight.run_checks(["generator", "answer"], preflight.Limits(max_answer_seconds=60))
    assert generator.ok and generator.message.startswith(f"{tiny_model_dir} loaded (")
    assert answer.ok and "new tokens, greedy" in answer.message
    # a machine this slow does not exist: the same answer is reported as a problem
    [slow] = preflight.run_checks(["answer"], preflight.Limits(max_answer_seconds=0))
    assert not slow.ok and "slower than 0 s" in slow.message and "-> fix: " in slow.line()


def test_a_generator_that_does_not_load(tmp_path, monkeypatch, fresh_models):
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    monkeypatch.setenv("RAGFT_GENERATOR", str(empty))
    generator, answer = preflight.run_checks(["generator", "answer"])
    assert not generator.ok and generator.message.startswith(f"{empty}: ")
    assert "RAGFT_GENERATOR" in generator.fix
    assert not answer.ok and answer.message == "not tried: the generator did not load (above)"
    # asked for alone, the answer check reports the loading problem itself
    [alone] = preflight.run_checks(["answer"])
    assert not alone.ok and alone.message == generator.message


def test_device_that_is_not_here(monkeypatch):
    if "cuda" in models.available_devices():
        pytest.skip("this machine has CUDA: asking for it is no problem here")
    monkeypatch.setenv("RAGFT_DEVICE", "cuda")
    check = preflight.check_device()
    assert not check.ok and "RAGFT_DEVICE" in check.message and check.fix.startswith("unset RAGFT_DEVICE")
    monkeypatch.setenv("RAGFT_DEVICE", "cpu")
    assert preflight.check_device().line().startswith("OK device: cpu (")


def test_embedder_loads_offline(monkeypatch, fresh_models):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    check = preflight.check_embedder()
    assert check.ok and "384-dimensional vectors" in check.message
