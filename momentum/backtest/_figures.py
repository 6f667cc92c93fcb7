"""What every backtest plot shares: the wide equity table, one colour per series, the figure, the legend
below the axes and the percent axis (matplotlib figures, no pyplot state)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from momentum.strategy import EQUAL_WEIGHT

BENCHMARK = "benchmark"


def wide_equity(curves: pd.DataFrame) -> pd.DataFrame:
    """The ``curves`` table as dates x series of equity (dollars)."""
    return curves.pivot(index="date", columns="series", values="equity")


def colors(names: list[str]) -> list[str]:
    """One colour per series, stable across plots: grey benchmark, near-black equal weight, C0, C1, ..."""
    fixed = {BENCHMARK: "0.55", EQUAL_WEIGHT: "0.1"}
    others = sorted(n for n in names if n not in fixed)
    return [fixed.get(n) or f"C{others.index(n)}" for n in names]


def figure(title: str, ylabel: str, height: float = 4.2) -> tuple[Figure, Axes]:
    """An 11-inch-wide figure with one titled, gridded axes."""
    fig = Figure(figsize=(11, height), dpi=90, layout="constrained")
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def legend_below(fig: Figure, ax: Axes, labels: Mapping[str, str] | None) -> None:
    """One legend below every axes of ``fig``, so it never covers data; series named by ``labels``."""
    handles, names = ax.get_legend_handles_labels()
    if (legend := ax.get_legend()) is not None:
        legend.remove()
    texts = [f"{n}: {labels[n]}" if labels and n in labels else n for n in names]
    fig.legend(
        handles,
        texts,
        loc="outside lower center",
        ncol=2 if len(texts) > 2 else len(texts),
        frameon=False,
        fontsize=9,
    )


def percent_axis(ax: Axes) -> None:
    """Label the y axis in percent (its values are fractions)."""
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
