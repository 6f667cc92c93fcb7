"""Backtest tables and plots (matplotlib figures, no pyplot state; PNGs via Agg); the HTML page is
``momentum.backtest``.

The plots read the stored tables, so a notebook draws the same figures from the store:
``curves`` (date, series, equity, cash, holdings; one series per strategy, ``equal_weight`` and
``benchmark``) and ``rebalances`` (series, signal_date, trade_date, selected, turnover, ...). Returns
are fractions in the tables; the plots show percent and dollars.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from momentum.backtest._engine import BacktestResult
from momentum.backtest._metrics import SESSIONS_PER_YEAR, drawdown, performance, yearly_returns
from momentum.strategy import EQUAL_WEIGHT

BENCHMARK = "benchmark"
PLOTS = ("equity", "drawdown", "yearly_returns", "rolling_12m", "holdings_turnover")
# What the provider's benchmark series is (keyed by provider name).
BENCHMARK_LABELS = {
    "embedded": "S&P 500 price index, dividends excluded",
    "alpaca": "SPY adjusted",
    "synthetic": "equal-weight index of the synthetic symbols",
}
EQUAL_WEIGHT_LABEL = "every universe member with a close, equally weighted, same schedule and costs"
MOST_NAMES = 60  # the names-held panel shows at most this many names (those held longest)


def benchmark_label(provider: str) -> str:
    """What the benchmark of ``provider`` is, in words."""
    return BENCHMARK_LABELS.get(provider, f"{provider} benchmark")


def curves_table(results: dict[str, BacktestResult]) -> pd.DataFrame:
    """Long daily curves of every result, plus the (shared) benchmark scaled to the initial cash."""
    frames = [
        pd.DataFrame(
            {
                "date": r.equity.index,
                "series": name,
                "equity": r.equity.to_numpy(),
                "cash": r.cash.to_numpy(),
                "holdings": r.holdings.to_numpy(),
            }
        )
        for name, r in results.items()
    ]
    bench = next(iter(results.values())).benchmark
    if bench is not None:
        frames.append(
            pd.DataFrame(
                {
                    "date": bench.index,
                    "series": BENCHMARK,
                    "equity": bench.to_numpy(),
                    "cash": float("nan"),
                    "holdings": 0,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    return out


def rebalances_table(results: dict[str, BacktestResult]) -> pd.DataFrame:
    """Every result's rebalance rows with a ``series`` column first."""
    frames = [r.rebalances.assign(series=name) for name, r in results.items()]
    out = pd.concat(frames, ignore_index=True)
    return out[["series", *next(iter(results.values())).rebalances.columns]]


def all_metrics(results: dict[str, BacktestResult]) -> dict[str, dict]:
    """Series -> metrics: every result, then the benchmark (without the relative metrics). With an
    ``equal_weight`` result every other result gains ``excess_vs_equal_weight`` (CAGR difference)."""
    out = {name: r.metrics() for name, r in results.items()}
    if EQUAL_WEIGHT in out:
        for name in set(out) - {EQUAL_WEIGHT}:
            out[name]["excess_vs_equal_weight"] = out[name]["cagr"] - out[EQUAL_WEIGHT]["cagr"]
    bench = next(iter(results.values())).benchmark
    if bench is not None:
        out[BENCHMARK] = {**performance(bench), "final_equity": float(bench.iloc[-1])}
    return out


def metrics_table(metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per series (the stored ``backtest_metrics``)."""
    return pd.DataFrame([{"series": name, **values} for name, values in metrics.items()])


def _wide(curves: pd.DataFrame) -> pd.DataFrame:
    return curves.pivot(index="date", columns="series", values="equity")


def _colors(names: list[str]) -> list[str]:
    """One colour per series, stable across plots: grey benchmark, near-black equal weight, C0, C1, ..."""
    fixed = {BENCHMARK: "0.55", EQUAL_WEIGHT: "0.1"}
    others = sorted(n for n in names if n not in fixed)
    return [fixed.get(n) or f"C{others.index(n)}" for n in names]


def _figure(title: str, ylabel: str, height: float = 4.2) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(11, height), dpi=90, layout="constrained")
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _legend(fig: Figure, ax: Axes, labels: Mapping[str, str] | None) -> None:
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


def _percent(ax: Axes) -> None:
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def plot_equity(curves: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Equity of every series in dollars, log scale."""
    fig, ax = _figure("Equity (log scale)", "equity")
    wide = _wide(curves)
    wide.plot(ax=ax, logy=True, lw=1.2, color=_colors(list(wide.columns)), xlabel="")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    _legend(fig, ax, labels)
    return fig


def plot_drawdown(curves: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Percent below the running peak of every series."""
    fig, ax = _figure("Drawdown", "below peak")
    wide = _wide(curves)
    wide.apply(drawdown).plot(ax=ax, lw=1.0, color=_colors(list(wide.columns)), xlabel="")
    _percent(ax)
    _legend(fig, ax, labels)
    return fig


def plot_yearly(curves: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Calendar-year returns of every series, side by side (first and last years may be partial)."""
    fig, ax = _figure("Yearly returns (first and last years may be partial)", "return")
    wide = _wide(curves)
    yearly = wide.apply(lambda s: yearly_returns(s.dropna().pct_change().iloc[1:]))
    yearly.plot.bar(ax=ax, width=0.8, color=_colors(list(wide.columns)), xlabel="")
    ax.axhline(0, color="black", lw=0.8)
    _percent(ax)
    _legend(fig, ax, labels)
    return fig


def plot_rolling(curves: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Trailing 12-month (252-session) return of every series."""
    fig, ax = _figure("Rolling 12-month return", "return")
    wide = _wide(curves)
    (wide / wide.shift(SESSIONS_PER_YEAR) - 1).plot(
        ax=ax, lw=1.0, color=_colors(list(wide.columns)), xlabel=""
    )
    ax.axhline(0, color="black", lw=0.8)
    _percent(ax)
    _legend(fig, ax, labels)
    return fig


def _held_spans(rebalances: pd.DataFrame, last: pd.Timestamp) -> dict[str, list[tuple[float, float]]]:
    """Symbol -> (start, width) spans in matplotlib days: selected at a rebalance, held to the next."""
    ends = [*rebalances["trade_date"].iloc[1:], last]
    spans: dict[str, list[tuple[float, float]]] = {}
    for start, end, names in zip(rebalances["trade_date"], ends, rebalances["selected"], strict=True):
        for name in filter(None, str(names).split(",")):
            spans.setdefault(name, []).append((pd.Timestamp(start), pd.Timestamp(end)))
    return {name: [(_day(a), _day(b) - _day(a)) for a, b in pairs] for name, pairs in spans.items()}


def _day(day: pd.Timestamp) -> float:
    return float(np.datetime64(day, "D").astype("int64"))  # matplotlib's date unit: days since 1970


def _names_panel(ax: Axes, name: str, rebalances: pd.DataFrame, last: pd.Timestamp) -> None:
    """One row per symbol the series held, a bar over each holding period (the longest-held names)."""
    spans = _held_spans(rebalances, last)
    longest = sorted(spans, key=lambda s: -sum(w for _, w in spans[s]))[:MOST_NAMES]
    shown = sorted(longest, key=lambda s: (spans[s][0][0], s))
    for row, symbol in enumerate(shown):
        ax.broken_barh(spans[symbol], (row - 0.4, 0.8), color="C0")
    ax.set_yticks(range(len(shown)), shown, fontsize=7 if len(shown) > 30 else 9)
    ax.set_ylim(len(shown) - 0.5, -0.5)
    more = f" ({len(shown)} held longest of {len(spans)})" if len(spans) > len(shown) else ""
    ax.set_title(f"Names held by {name}{more}, from each rebalance to the next")
    ax.xaxis_date()


def plot_holdings_turnover(
    curves: pd.DataFrame, rebalances: pd.DataFrame, labels: Mapping[str, str] | None = None
) -> Figure:
    """Names held by the first series (one bar per holding period), the cash share of equity and the
    turnover per rebalance of every strategy series (the benchmark holds no portfolio)."""
    main = rebalances["series"].iloc[0]
    names = rebalances.loc[rebalances["series"] == main, "selected"].str.split(",").explode()
    rows = min(names.nunique(), MOST_NAMES)
    fig = Figure(figsize=(11, 4.5 + 0.16 * rows), dpi=90, layout="constrained")
    top, middle, bottom = fig.subplots(3, 1, sharex=True, height_ratios=[max(2.0, 0.16 * rows), 1.4, 1.4])
    _names_panel(top, main, rebalances[rebalances["series"] == main], curves["date"].max())
    first_trade = rebalances["trade_date"].min()
    strategies = curves[(curves["series"] != BENCHMARK) & (curves["date"] >= first_trade)]
    share = (strategies["cash"] / strategies["equity"]).rename("cash")
    cash = strategies.assign(cash=share).pivot(index="date", columns="series", values="cash")
    colors = dict(zip(cash.columns, _colors(list(cash.columns)), strict=True))
    for name in cash.columns:
        middle.plot(cash.index, cash[name], lw=1.0, label=name, color=colors[name])
    middle.set(title="Cash share of equity (from the first trade)", ylabel="cash")
    for name, group in rebalances.groupby("series", sort=False):
        bottom.plot(
            group["trade_date"], group["turnover"], marker="o", ms=3, lw=0.8, label=name, color=colors[name]
        )
    bottom.set(title="Turnover per rebalance (traded notional / 2 / equity)", ylabel="turnover")
    for ax in (middle, bottom):
        _percent(ax)
    _legend(fig, bottom, labels)
    for ax in (top, middle, bottom):
        ax.grid(True, alpha=0.3)
    return fig


def render_pngs(
    curves: pd.DataFrame, rebalances: pd.DataFrame, labels: Mapping[str, str] | None = None
) -> dict[str, bytes]:
    """Every plot of :data:`PLOTS` as PNG bytes (``labels``: series -> legend text)."""
    figures = {
        "equity": plot_equity(curves, labels),
        "drawdown": plot_drawdown(curves, labels),
        "yearly_returns": plot_yearly(curves, labels),
        "rolling_12m": plot_rolling(curves, labels),
        "holdings_turnover": plot_holdings_turnover(curves, rebalances, labels),
    }
    out = {}
    for name, fig in figures.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        out[name] = buffer.getvalue()
    return out
