"""pytest configuration shared by the unit tests and the nbval notebook tests."""
from __future__ import annotations

import pytest


def pytest_collectstart(collector: pytest.Collector) -> None:
    """For notebooks: do not compare stderr (progress bars, library warnings) and give a busy
    2-core machine more than nbval's default 5 s to deliver a cell's output messages."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = 60
