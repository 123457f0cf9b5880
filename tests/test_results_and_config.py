from __future__ import annotations

import numpy as np
import pytest

from helpers import config, evaluate, results


def test_results_roundtrip(tmp_path):
    numbers = {"acc": 0.123456, "n": np.int64(3), "ci": evaluate.Estimate(0.5, 0.4, 0.6, 10), "xs": (1.0, 2.0)}
    results.save("nb", numbers, folder=tmp_path)
    assert results.load("nb", folder=tmp_path) == {"acc": 0.1235, "n": 3, "xs": [1.0, 2.0],
                                                   "ci": {"mean": 0.5, "low": 0.4, "high": 0.6, "n": 10, "facts": None}}
    assert list(results.load_all(tmp_path)) == ["nb"]
    with pytest.raises(FileNotFoundError, match="run notebook other first"):
        results.load("other", folder=tmp_path)
    with pytest.raises(ValueError, match="non-finite"):
        results.save("bad", {"x": float("nan")}, folder=tmp_path)


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGFT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("RAGFT_GENERATOR", "org/model")
    assert config.cache_dir() == tmp_path and config.generator_name() == "org/model"
    monkeypatch.delenv("RAGFT_GENERATOR")
    assert config.generator_name() == "smollm2-135m-instruct"


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    results.save("nb", {"x": 1.0}, folder=tmp_path)
    results.save("nb", {"x": 2.0}, folder=tmp_path)                 # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["nb.json"]
    assert results.load("nb", folder=tmp_path) == {"x": 2.0}


def test_concurrent_saves_give_valid_json(tmp_path):
    """Writers racing on one file while a reader reads it: every read and the final file are
    complete JSON from one writer (a plain write_text lets the reader see a truncated file)."""
    import threading

    payloads = [{"writer": w, "values": list(range(2000 * (w + 1)))} for w in range(4)]
    errors: list[BaseException] = []
    done = threading.Event()

    def write(payload):
        try:
            for _ in range(15):
                results.save("race", payload, folder=tmp_path)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    def read():
        while not done.is_set():
            try:
                assert results.load("race", folder=tmp_path) in payloads
            except FileNotFoundError:
                pass                                                 # before the first write lands
            except BaseException as err:  # noqa: BLE001
                errors.append(err)
                return

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert not errors, errors[:3]
    assert results.load("race", folder=tmp_path) in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["race.json"]
