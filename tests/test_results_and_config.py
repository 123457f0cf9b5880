from __future__ import annotations

import numpy as np
import pytest

from helpers import config, evaluate, results


def test_results_roundtrip(tmp_path):
    numbers = {"acc": 0.123456, "n": np.int64(3), "ci": evaluate.Estimate(0.5, 0.4, 0.6, 10), "xs": (1.0, 2.0)}
    results.save("nb", numbers, folder=tmp_path)
    assert results.load("nb", folder=tmp_path) == {"acc": 0.1235, "n": 3, "xs": [1.0, 2.0],
                                                   "ci": {"mean": 0.5, "low": 0.4, "high": 0.6, "n": 10}}
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
