"""The backtest report page: one offline HTML file that opens with the verdict against equal weight and
its assumptions, then the metrics (percent, dollars and dates as a reader expects them), the worst
drawdowns, every plot (PNGs inlined as base64), the rebalances and the definitions of every figure."""

from __future__ import annotations

import base64
import calendar
import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from momentum.backtest._engine import BacktestConfig
from momentum.backtest._format import metric_text, money, percent
from momentum.backtest._result import BacktestResult, assumed_cost
from momentum.backtest._tear_page import definitions_html, drawdowns_html, verdict_html, with_figures
from momentum.backtest._tearsheet import tear_sheet
from momentum.strategy import EQUAL_WEIGHT, StrategyParams
from momentum.universe import COMPLETE_FROM, SWITCH_DATE, UniverseSpec

DATA = {
    "embedded": "20 large US stocks, daily adjusted closes (dividends included; skfolio 1.12.2 dataset)",
    "alpaca": "Alpaca daily bars adjusted for splits and dividends",
    "synthetic": "synthetic random-walk closes",
}
SURVIVORSHIP = {
    "embedded": "The 20 embedded stocks are companies that survived to 2022, picked with hindsight, "
    "so beating "
    "an index with them says little about selection skill.",
    "synthetic": "Synthetic data has no survivors to pick, and no real market behind it either.",
}
TIMING = {
    "close": "close: each rebalance fills at the trade session's close, the price of the closing auction "
    "a live run with order_timing close trades in",
    "open": "open: each rebalance fills at the trade session's adjusted open (open x adj_close / close of "
    "its bar); a buy of a name without an open that session is dropped, a sale uses the last close "
    "before it; every session is still marked at its close",
    "market": "market: the backtest fills at the trade session's close, as for close; live market orders "
    "fill at whatever price the market gives when they arrive",
}
OTHER_SURVIVORSHIP = (
    "A company the provider has no bars for cannot be held, so names that vanished may be missing."
)
_CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th small{font-weight:normal;color:#555}"
    "img{max-width:100%}#assumptions{background:#f6f8fa;border:1px solid #d0d7de;padding:.5em 1em}"
    "#assumptions dt{font-weight:bold;margin-top:.4em}#assumptions dd{margin-left:1em}"
)


def _holdings_rule(params: StrategyParams) -> str:
    if params.holdings is not None:
        return f"{params.holdings} names"
    return (
        f"max({params.min_holdings}, {100 * params.holdings_fraction:g} % of the eligible names), "
        "equally weighted"
    )


def _universe(spec: UniverseSpec) -> str:
    kind = spec.kind
    if kind == "all":
        return "every symbol in the data"
    if kind == "file":
        return f"the members listed in {spec.universe_file} (point in time where the file gives dates)"
    return (
        f"point-in-time S&P 500 members on each signal session: before {COMPLETE_FROM:%Y-%m-%d} only members "
        f"with a known join date (index-constitution, partial), {COMPLETE_FROM:%Y-%m-%d} .. "
        f"{SWITCH_DATE - pd.Timedelta(days=1):%Y-%m-%d} the fja05680/sp500 spells (MIT), from "
        f"{SWITCH_DATE:%Y-%m-%d} index-constitution; only members with data can be held"
    )


def _parameters(params: StrategyParams, config: BacktestConfig) -> str:
    months = ", ".join(calendar.month_abbr[m] for m in config.rebalance_months)
    strategy = params.strategy + (
        " (with plain momentum as a baseline)" if params.strategy != "momentum" else ""
    )
    filled_at = "open" if config.order_timing == "open" else "close"
    return (
        f"{strategy}; lookback {params.lookback} sessions, skip {params.skip} sessions; holdings "
        f"{_holdings_rule(params)}; signal at the last session of {months}, trade "
        f"{config.trade_offset} session(s) later at the {filled_at}; regime filter "
        f"{'on' if params.regime_filter else 'off'}"
    )


def _cost(config: BacktestConfig, result: BacktestResult) -> str:
    cost = assumed_cost(result, config)
    return (
        f"{cost['bps']:g} bps of traded notional (commission + slippage), {money(cost['dollars'])} "
        f"charged over the backtest; set a live rebalance's implementation shortfall beside it"
    )


def assumptions(
    params: StrategyParams,
    config: BacktestConfig,
    universe: UniverseSpec,
    result: BacktestResult,
    benchmark: str,
) -> dict[str, str]:
    """What a reader must know to believe the figures of ``result``, item -> one sentence
    (``benchmark``: its label)."""
    start, end = result.equity.index[0], result.equity.index[-1]
    shares = (
        "fractional shares, to 1e-6 of a share"
        if config.fractional
        else "whole shares, rounded down; buys are trimmed one share at a time when cash runs short"
    )
    return {
        "data": f"{universe.provider}: {DATA.get(universe.provider, universe.provider + ' bars')}; "
        f"{start:%Y-%m-%d} to {end:%Y-%m-%d}",
        "universe": _universe(universe),
        "benchmarks": f"{benchmark}; and {EQUAL_WEIGHT}, every universe member with a close, "
        "equally weighted, "
        "rebalanced on the same sessions with the same costs through the same engine",
        "costs": f"commission {config.cost_bps:g} bps + slippage {config.slippage_bps:g} bps "
        "of traded notional, "
        "charged in cash on every fill",
        "parameters": _parameters(params, config),
        "share rounding": f"{shares}; orders under {money(config.min_order_value)} are skipped; cash buffer "
        f"{100 * config.cash_buffer:g} % of equity",
        "survivorship": SURVIVORSHIP.get(universe.provider, OTHER_SURVIVORSHIP),
        "order timing": TIMING[config.order_timing],
        "assumed cost": _cost(config, result),
    }


def _assumptions_html(items: Mapping[str, str]) -> str:
    rows = "".join(
        f'<dt id="assumption-{html.escape(k.replace(" ", "-"))}">{html.escape(k)}</dt>'
        f"<dd>{html.escape(v)}</dd>"
        for k, v in items.items()
    )
    return f'<section id="assumptions"><h2>Assumptions</h2><dl>{rows}</dl></section>'


def _cell(column: str, value: Any) -> str:
    if column == "turnover":
        return percent(float(value))
    if column == "costs":
        return money(float(value))
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return html.escape("" if value is None else str(value).replace(",", ", "))


def _rebalances_html(rebalances: pd.DataFrame) -> str:
    """The strategies' rebalances (equal weight holds every member: its rows stay in the dataset)."""
    cols = ["series", "signal_date", "trade_date", "n_selected", "selected", "turnover", "costs"]
    shown = rebalances[rebalances["series"] != EQUAL_WEIGHT]
    rows = "".join(
        f"<tr>{''.join(f'<td>{_cell(c, v)}</td>' for c, v in zip(cols, r, strict=True))}</tr>"
        for r in shown[cols].itertuples(index=False)
    )
    return (
        f"<h2>rebalances</h2><table id='rebalances'><tr>{''.join(f'<th>{c}</th>' for c in cols)}</tr>{rows}"
        "</table>"
    )


def _metrics_html(metrics: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """The metrics table: a row per metric, a column per series (``labels`` under the series names)."""
    head = "".join(
        f"<th>{html.escape(str(c))}"
        + (f"<br><small>{html.escape(labels[c])}</small>" if c in labels else "")
        + "</th>"
        for c in metrics.columns
    )
    body = "".join(
        f"<tr><th>{html.escape(str(i))}</th>{''.join(f'<td>{metric_text(str(i), v)}</td>' for v in row)}</tr>"
        for i, row in zip(metrics.index, metrics.itertuples(index=False), strict=True)
    )
    return (
        "<h2>metrics</h2><p>Definitions at the end of the page.</p>"
        f"<table id='metrics'><tr><th>metric</th>{head}</tr>{body}</table>"
    )


def render_html(
    title: str,
    tables: Mapping[str, pd.DataFrame],
    pngs: dict[str, bytes],
    *,
    assumptions: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    sheet: dict[str, Any] | None = None,
) -> str:
    """One offline HTML page from the stored tables (``backtest_equity``, ``backtest_metrics``,
    ``backtest_rebalances``): the verdict against equal weight, the assumptions, the metrics with the
    tear sheet's figures, the worst drawdowns, every plot, the rebalances and the definitions.
    ``sheet``: the tables' :func:`tear_sheet` when the caller has it already (else computed here)."""
    sheet = tear_sheet(tables["backtest_equity"]) if sheet is None else sheet
    metrics = with_figures(tables["backtest_metrics"].set_index("series").T, sheet)
    images = "".join(
        f'<h2>{name.replace("_", " ")}</h2><img id="plot-{name}" alt="{name}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        for name, png in pngs.items()
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{verdict_html(sheet)}"
        f"{_assumptions_html(assumptions) if assumptions else ''}{_metrics_html(metrics, labels or {})}"
        f"{drawdowns_html(sheet)}{images}{_rebalances_html(tables['backtest_rebalances'])}"
        f"{definitions_html()}</body></html>"
    )
