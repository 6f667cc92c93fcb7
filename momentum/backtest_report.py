"""Backtest tables, plots (matplotlib figures, no pyplot state; PNGs via Agg) and a self-contained HTML report (PNGs inlined as base64).

The plots read the stored tables, so a notebook draws the same figures from the store:
``curves`` (date, series, equity, cash, holdings; one series per strategy plus ``benchmark``) and
``rebalances`` (series, signal_date, trade_date, selected, turnover, ...). Returns are fractions.
"""

from __future__ import annotations

import base64
import html
import io

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from momentum.backtest import BacktestResult
from momentum.metrics import SESSIONS_PER_YEAR, drawdown, performance, yearly_returns

BENCHMARK = "benchmark"
PLOTS = ("equity", "drawdown", "yearly_returns", "rolling_12m", "holdings_turnover")


def curves_table(results: dict[str, BacktestResult]) -> pd.DataFrame:
    """Long daily curves of every result, plus the (shared) benchmark scaled to the initial cash."""
    frames = [pd.DataFrame({"date": r.equity.index, "series": name, "equity": r.equity.to_numpy(),
                            "cash": r.cash.to_numpy(), "holdings": r.holdings.to_numpy()})
              for name, r in results.items()]
    bench = next(iter(results.values())).benchmark
    if bench is not None:
        frames.append(pd.DataFrame({"date": bench.index, "series": BENCHMARK, "equity": bench.to_numpy(),
                                    "cash": float("nan"), "holdings": 0}))
    out = pd.concat(frames, ignore_index=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    return out


def rebalances_table(results: dict[str, BacktestResult]) -> pd.DataFrame:
    """Every result's rebalance rows with a ``series`` column first."""
    frames = [r.rebalances.assign(series=name) for name, r in results.items()]
    out = pd.concat(frames, ignore_index=True)
    return out[["series", *next(iter(results.values())).rebalances.columns]]


def all_metrics(results: dict[str, BacktestResult]) -> dict[str, dict]:
    """Series -> metrics: every result, then the benchmark (without the relative metrics)."""
    out = {name: r.metrics() for name, r in results.items()}
    bench = next(iter(results.values())).benchmark
    if bench is not None:
        out[BENCHMARK] = {**performance(bench), "final_equity": float(bench.iloc[-1])}
    return out


def metrics_table(metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per series (the stored ``backtest_metrics``)."""
    return pd.DataFrame([{"series": name, **values} for name, values in metrics.items()])


def jsonable(record: dict) -> dict:
    """Timestamps as YYYY-MM-DD, NaN/NaT as None, numpy scalars as Python numbers."""
    out = {}
    for key, value in record.items():
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            out[key] = None
        elif isinstance(value, pd.Timestamp):
            out[key] = f"{value:%Y-%m-%d}"
        else:
            out[key] = value.item() if hasattr(value, "item") else value
    return out


def _wide(curves: pd.DataFrame) -> pd.DataFrame:
    return curves.pivot(index="date", columns="series", values="equity")


def _colors(names: list[str]) -> list[str]:
    """One colour per series, stable across plots: grey for the benchmark, C0, C1, ... for the rest."""
    others = sorted(n for n in names if n != BENCHMARK)
    return ["0.5" if n == BENCHMARK else f"C{others.index(n)}" for n in names]


def _figure(title: str, ylabel: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(10, 4.2), dpi=90)
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def plot_equity(curves: pd.DataFrame) -> Figure:
    """Equity of every series in dollars, log scale."""
    fig, ax = _figure("Equity vs benchmark (log scale)", "dollars")
    wide = _wide(curves)
    wide.plot(ax=ax, logy=True, lw=1.2, color=_colors(list(wide.columns)))
    return fig


def plot_drawdown(curves: pd.DataFrame) -> Figure:
    """Fraction below the running peak of every series."""
    fig, ax = _figure("Drawdown", "fraction below peak")
    wide = _wide(curves)
    wide.apply(drawdown).plot(ax=ax, lw=1.0, color=_colors(list(wide.columns)))
    return fig


def plot_yearly(curves: pd.DataFrame) -> Figure:
    """Calendar-year returns of every series, side by side (first and last years may be partial)."""
    fig, ax = _figure("Yearly returns", "return (fraction)")
    wide = _wide(curves)
    yearly = wide.apply(lambda s: yearly_returns(s.dropna().pct_change().iloc[1:]))
    yearly.plot.bar(ax=ax, width=0.8, color=_colors(list(wide.columns)), xlabel="year")
    ax.axhline(0, color="black", lw=0.8)
    return fig


def plot_rolling(curves: pd.DataFrame) -> Figure:
    """Trailing 12-month (252-session) return of every series."""
    fig, ax = _figure("Rolling 12-month return", "return (fraction)")
    wide = _wide(curves)
    (wide / wide.shift(SESSIONS_PER_YEAR) - 1).plot(ax=ax, lw=1.0, color=_colors(list(wide.columns)))
    ax.axhline(0, color="black", lw=0.8)
    return fig


def plot_holdings_turnover(curves: pd.DataFrame, rebalances: pd.DataFrame) -> Figure:
    """Names held per session (top) and turnover per rebalance (bottom) of every strategy series."""
    fig = Figure(figsize=(10, 5.5), dpi=90)
    top, bottom = fig.subplots(2, 1, sharex=True)
    held = curves[curves["series"] != BENCHMARK].pivot(index="date", columns="series", values="holdings")
    colors = dict(zip(held.columns, _colors(list(held.columns))))
    for name in held.columns:
        top.step(held.index, held[name], where="post", lw=1.0, label=name, color=colors[name])
    top.legend()
    top.set(title="Holdings and turnover", ylabel="names held")
    for name, rows in rebalances.groupby("series"):
        bottom.plot(rows["trade_date"], rows["turnover"], marker="o", ms=3, lw=0.8, label=name, color=colors[name])
    bottom.set(ylabel="turnover per rebalance")
    bottom.legend()
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    return fig


def render_pngs(curves: pd.DataFrame, rebalances: pd.DataFrame) -> dict[str, bytes]:
    """Every plot of :data:`PLOTS` as PNG bytes."""
    figures = {"equity": plot_equity(curves), "drawdown": plot_drawdown(curves), "yearly_returns": plot_yearly(curves),
               "rolling_12m": plot_rolling(curves), "holdings_turnover": plot_holdings_turnover(curves, rebalances)}
    out = {}
    for name, fig in figures.items():
        buffer = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buffer, format="png")
        out[name] = buffer.getvalue()
    return out


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return html.escape("" if value is None or value is pd.NaT else str(value))


def render_html(title: str, metrics: pd.DataFrame, rebalances: pd.DataFrame, pngs: dict[str, bytes]) -> str:
    """One offline HTML page: the metrics table (metrics x series), every plot and the rebalances."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in metrics.columns)
    body = "".join(f"<tr><th>{html.escape(str(i))}</th>{''.join(f'<td>{_cell(v)}</td>' for v in row)}</tr>"
                   for i, row in zip(metrics.index, metrics.itertuples(index=False)))
    images = "".join(f'<h2>{name.replace("_", " ")}</h2><img id="plot-{name}" alt="{name}" '
                     f'src="data:image/png;base64,{base64.b64encode(png).decode()}">' for name, png in pngs.items())
    cols = ["series", "signal_date", "trade_date", "selected", "turnover", "costs"]
    rows = "".join(f"<tr>{''.join(f'<td>{_cell(v)}</td>' for v in r)}</tr>"
                   for r in rebalances[cols].itertuples(index=False))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}img{max-width:100%}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table id='metrics'><tr><th>metric</th>{head}</tr>{body}</table>{images}"
        f"<h2>rebalances</h2><table id='rebalances'><tr>{''.join(f'<th>{c}</th>' for c in cols)}</tr>{rows}</table>"
        "</body></html>"
    )
