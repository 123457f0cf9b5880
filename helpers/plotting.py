"""One look for every figure in the series: colours per system, bars with intervals."""
from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .evaluate import Estimate

# One colour per kind of system, the same in every notebook.
COLORS: dict[str, str] = {
    # Okabe & Ito's colour-blind-safe palette; within one plot no two systems share a colour
    "closed-book": "#999999",                  # grey
    "rag": "#0072B2",                          # blue
    "fine-tuned": "#D55E00",                   # vermillion
    "lm fine-tuned": "#E69F00",                # orange
    "fine-tuned + rag": "#009E73",             # bluish green
    "oracle": "#CC79A7",                       # reddish purple
    "style prompt": "#F0E442",                 # yellow
    "few-shot": "#CC79A7",
    "few-shot + rag": "#E69F00",
    "style prompt + rag": "#56B4E9",           # sky blue
    "q&a fine-tuned": "#D55E00",
    "idk fine-tuned": "#E69F00",
    "rag, passages only": "#56B4E9",
    "rag, passages only + threshold": "#000000",
    "correct": "#009E73",
    "wrong": "#E69F00",
    "abstained": "#BBBBBB",
    "invented": "#D55E00",
    "retrieval miss": "#CC79A7",
    "reading error": "#E69F00",
    "unsupported claim": "#D55E00",
    "new value": "#009E73",
    "stale value": "#D55E00",
    "neither": "#BBBBBB",
}

# A second channel beside colour for outcomes whose meaning colour alone would carry (correct vs
# invented, new vs stale): a hatch pattern, so the bars read in greyscale and for colour-blind readers.
HATCHES: dict[str, str] = {"wrong": "//", "abstained": "..", "invented": "xx", "hedged": "--",
                           "retrieval miss": "\\\\", "reading error": "//", "unsupported claim": "xx",
                           "stale value": "xx", "neither": ".."}

STYLE: dict[str, object] = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 150,
    "savefig.dpi": 150,
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
        ax.barh(systems, values, left=left, color=color(outcome), label=outcome, hatch=HATCHES.get(outcome, ""),
                edgecolor="#333333", linewidth=0)
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


def reader_panel(ax: "Axes", arms: Mapping[str, Mapping[str, "Estimate"]], lines: Mapping[str, float],
                 color: str, line_color: str, label: str = "trained reader") -> "Axes":
    """One test set of notebooks 08 and 09's readers: per arm (x axis), its ``lenient`` (circle) and
    ``exact`` (square, drawn beside it) estimates with their intervals, in the legend as ``label``; each
    of ``lines`` (a name -> a share) as a horizontal reference line, the first solid, the next dotted,
    then dashed."""
    names = list(arms)
    for offset, metric, marker in ((-0.06, "lenient", "o"), (0.06, "exact", "s")):
        ys = [arms[n][metric] for n in names]
        ax.errorbar([i + offset for i in range(len(names))], [y.mean for y in ys],
                    yerr=[[y.mean - y.low for y in ys], [y.high - y.mean for y in ys]], marker=marker, capsize=3,
                    color=color, linestyle="none", label=f"{label}, {metric}")
    for (name, share), style in zip(lines.items(), ("-", ":", "--"), strict=False):
        ax.axhline(share, color=line_color, linestyle=style, label=f"{name}, lenient")
    ax.set_xticks(range(len(names)), [n.replace(", ", ",\n") for n in names])
    ax.set_xlim(-0.5, len(names) - 0.5)
    ax.set_ylim(0, 1)
    return ax


def grouped_bars_with_ci(ax: "Axes", estimates: Mapping[str, Mapping[str, "Estimate"]],
                         colors: Sequence[str] | None = None) -> "Axes":
    """Grouped bars: one group per category (the inner keys, in the first system's order), one bar per
    system (the outer keys, coloured in order), each with its confidence interval; a legend names the
    systems. Every system must name the same categories."""
    systems = list(estimates)
    categories = list(estimates[systems[0]])
    if any(list(estimates[s]) != categories for s in systems):
        raise ValueError("every system needs the same categories, in the same order")
    width = 0.8 / len(systems)
    for j, s in enumerate(systems):
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(categories))]
        es = [estimates[s][c] for c in categories]
        ax.bar(xs, [e.mean for e in es], width=width, label=s, color=(colors or [color(x) for x in systems])[j],
               yerr=[[e.mean - e.low for e in es], [e.high - e.mean for e in es]], capsize=3)
    ax.set_xticks(range(len(categories)), [textwrap.fill(c, 16) for c in categories])   # long names on two lines
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    return ax
