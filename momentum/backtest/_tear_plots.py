"""The tear sheet's plots: rolling 12-month Sharpe ratio and volatility of every series, and the
monthly-returns heatmap of the strategy. Both read the stored ``curves`` table, like the other plots."""

from __future__ import annotations

import calendar
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from momentum.backtest._figures import colors, legend_below, percent_axis, wide_equity
from momentum.backtest._metrics import monthly_returns, returns_of, rolling_sharpe, rolling_volatility

COLOUR_SPAN = 0.98  # the heatmap's colours saturate beyond this quantile of |monthly return|


def plot_rolling_risk(curves: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Trailing 12-month (252-session) Sharpe ratio (top) and annualised volatility (bottom) of every
    series."""
    wide = wide_equity(curves)
    returns = wide.pct_change(fill_method=None).iloc[1:]
    palette = colors(list(wide.columns))
    fig = Figure(figsize=(11, 6.5), dpi=90, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    returns.apply(rolling_sharpe).plot(ax=top, lw=1.0, color=palette, xlabel="")
    returns.apply(rolling_volatility).plot(ax=bottom, lw=1.0, color=palette, xlabel="", legend=False)
    top.axhline(0, color="black", lw=0.8)
    top.set(title="Rolling 12-month Sharpe ratio (risk-free rate 0)", ylabel="Sharpe")
    bottom.set(title="Rolling 12-month volatility (annualised)", ylabel="volatility")
    percent_axis(bottom)
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    legend_below(fig, top, labels)
    return fig


def plot_monthly_returns(curves: pd.DataFrame) -> Figure:
    """Calendar-month returns of the first series (the strategy): a row per year, a column per month,
    green gains and red losses, each cell labelled in percent."""
    main = curves["series"].iloc[0]
    equity = curves.loc[curves["series"] == main].set_index("date")["equity"]
    table = monthly_returns(returns_of(equity))
    values = table.to_numpy()
    span = float(np.nanquantile(np.abs(values), COLOUR_SPAN)) or 0.01
    fig = Figure(figsize=(11, max(3.0, 1.2 + 0.26 * len(table))), dpi=90, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values, cmap="RdYlGn", vmin=-span, vmax=span, aspect="auto")
    for (row, column), value in np.ndenumerate(values):
        if not np.isnan(value):
            ax.text(column, row, f"{100 * value:.1f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(12), [calendar.month_abbr[m] for m in table.columns])
    ax.set_yticks(range(len(table)), [str(year) for year in table.index], fontsize=8)
    ax.set_title(f"Monthly returns of {main} (%; first and last months may be partial)")
    fig.colorbar(image, ax=ax, format=PercentFormatter(1.0, decimals=0), fraction=0.03)
    return fig
