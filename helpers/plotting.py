"""One look for every figure in the series: colours per system, bars with intervals."""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .evaluate import Estimate

# One colour per kind of system, the same in every notebook.
COLORS: dict[str, str] = {
    "closed-book": "#8c8c8c",
    "rag": "#1f77b4",
    "fine-tuned": "#ff7f0e",
    "lm fine-tuned": "#e6a157",
    "fine-tuned + rag": "#2ca02c",
    "oracle": "#9467bd",
    "style prompt": "#bcbd22",
    "few-shot": "#8c564b",
    "few-shot + rag": "#c49c94",
    "style prompt + rag": "#17becf",
    "q&a fine-tuned": "#ff7f0e",
    "idk fine-tuned": "#a0522d",
    "rag, passages only": "#6baed6",
    "rag, passages only + threshold": "#08306b",
    "correct": "#2ca02c",
    "wrong": "#fdae6b",
    "abstained": "#bdbdbd",
    "invented": "#d62728",
    "retrieval miss": "#9467bd",
    "reading error": "#fdae6b",
    "unsupported claim": "#d62728",
    "new value": "#2ca02c",
    "stale value": "#d62728",
    "neither": "#bdbdbd",
}

STYLE: dict[str, object] = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "font.size": 10,
    "legend.frameon": False,
}


def use_style() -> None:
    """Apply the series' matplotlib style (call once at the top of a notebook)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)


def color(name: str) -> str:
    """The series colour for a system or outcome name (case-insensitive); grey if unknown."""
    return COLORS.get(name.lower(), "#7f7f7f")


def bars_with_ci(ax: "Axes", estimates: Mapping[str, "Estimate"], ylabel: str = "",
                 colors: Sequence[str] | None = None, ylim: tuple[float, float] = (0, 1)) -> "Axes":
    """Bar chart of estimates with their confidence intervals as error bars, values on top."""
    labels = list(estimates)
    means = [estimates[k].mean for k in labels]
    err = [[estimates[k].mean - estimates[k].low for k in labels],
           [estimates[k].high - estimates[k].mean for k in labels]]
    bars = ax.bar(labels, means, yerr=err, capsize=4, color=colors or [color(k) for k in labels])
    # labels sit above the upper end of the error bar (never on it), rounded like the tables (0.00)
    for bar, key in zip(bars, labels, strict=True):
        ax.annotate(f"{estimates[key].mean:.2f}", (bar.get_x() + bar.get_width() / 2, estimates[key].high),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    return ax


def stacked_shares(ax: "Axes", shares: Mapping[str, Mapping[str, float]], order: Sequence[str]) -> "Axes":
    """Horizontal stacked bars: for each system, the share of each outcome in ``order``."""
    from matplotlib.ticker import PercentFormatter

    systems = list(shares)
    left = [0.0] * len(systems)
    for outcome in order:
        values = [shares[s].get(outcome, 0.0) for s in systems]
        ax.barh(systems, values, left=left, color=color(outcome), label=outcome)
        for i, (v, x) in enumerate(zip(values, left, strict=True)):
            if v >= 0.06:
                ax.text(x + v / 2, i, f"{v:.0%}", ha="center", va="center", fontsize=9)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(False)
    ax.invert_yaxis()                       # first system on top, in reading order
    ax.legend(ncols=len(order), loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return ax


def estimate_scatter(ax: "Axes", xs: Mapping[str, "Estimate"], ys: Mapping[str, "Estimate"],
                     sizes: Mapping[str, float] | None = None, colors: Mapping[str, str] | None = None,
                     size_label: str = "") -> "Axes":
    """One point per system at (x estimate, y estimate), with both intervals as error bars, named in
    a legend beside the axes (labels on the points would collide).

    ``sizes``: a third quantity per system (e.g. prompt tokens), drawn as the marker's *area*, in
    proportion to it, and written in the legend with ``size_label`` as its unit. Larger markers are
    drawn first so that none hides another; systems on the same point say so in the legend.
    """
    from matplotlib.lines import Line2D

    if set(xs) != set(ys):
        raise ValueError(f"x and y name different systems: {sorted(set(xs) ^ set(ys))}")
    biggest = max(sizes.values()) if sizes else 1.0
    spots: dict[tuple[float, float], list[str]] = {}
    for name in xs:
        spots.setdefault((round(xs[name].mean, 3), round(ys[name].mean, 3)), []).append(name)
    handles = []
    for name in sorted(xs, key=lambda n: -(sizes[n] if sizes else 0)):
        x, y = xs[name], ys[name]
        c = (colors or {}).get(name, color(name))
        ax.errorbar(x.mean, y.mean, xerr=[[x.mean - x.low], [x.high - x.mean]],
                    yerr=[[y.mean - y.low], [y.high - y.mean]], fmt="none", ecolor=c, alpha=0.5, capsize=3)
        area = 500 * sizes[name] / biggest if sizes and biggest else 80
        ax.scatter([x.mean], [y.mean], s=area, color=c, edgecolor="black", linewidth=0.5, zorder=3)
    for name in xs:
        others = [o for o in spots[(round(xs[name].mean, 3), round(ys[name].mean, 3))] if o != name]
        label = name + (f" ({sizes[name]:.0f} {size_label})".replace(" )", ")") if sizes else "")
        if others:
            label += f"; same point as {', '.join(others)}"
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=8, markeredgecolor="black",
                              markeredgewidth=0.5, color=(colors or {}).get(name, color(name)), label=label))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    ax.grid(True, axis="both", alpha=0.3)
    return ax
