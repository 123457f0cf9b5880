"""The plotting helpers draw what they promise, on a real matplotlib figure (Agg backend)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers import plotting  # noqa: E402
from helpers.statistics import proportion  # noqa: E402


def test_reader_panel_draws_both_metrics_per_arm_and_the_reference_lines():
    fig, ax = plt.subplots()
    arms = {"a": {"lenient": proportion([1, 0, 1, 1]), "exact": proportion([1, 0, 0, 1])},
            "b, c": {"lenient": proportion([0, 0, 1, 1]), "exact": proportion([0, 0, 0, 1])}}
    plotting.reader_panel(ax, arms, {"base": 0.4, "base, top-1": 0.5}, color="#000000", line_color="#0000ff")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b,\nc"]
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == sorted(["trained reader, lenient", "trained reader, exact", "base, lenient", "base, top-1, lenient"])
    assert [line.get_linestyle() for line in ax.get_lines() if line.get_label().startswith("base")] == ["-", ":"]
    plt.close(fig)


def test_grouped_bars_draw_one_bar_per_system_and_category():
    fig, ax = plt.subplots()
    est = {"s1": {"x": proportion([1, 0]), "y": proportion([1, 1])}, "s2": {"x": proportion([0, 0]), "y": proportion([1, 0])}}
    plotting.grouped_bars_with_ci(ax, est, colors=["#111111", "#222222"])
    assert len(ax.patches) == 4
    assert [round(p.get_height(), 2) for p in ax.patches] == [0.5, 1.0, 0.0, 0.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    with pytest.raises(ValueError, match="same categories"):
        plotting.grouped_bars_with_ci(ax, {"s1": {"x": proportion([1])}, "s2": {"y": proportion([1])}})
    plt.close(fig)
