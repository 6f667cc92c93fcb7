"""The tear sheet: what a quant reads after the headline metrics, as JSON-able values (``backtest
--json`` key ``tear_sheet``; the report draws the same). Read from the stored ``curves`` table, whose
first series is the strategy.

Per series: information ratio and tracking error against equal weight (strategies only), skew, excess
kurtosis, 95 % daily historical VaR, the five worst drawdowns, calendar-month returns (year -> twelve
months, None where a month has no session) and the rolling 12-month Sharpe ratio and volatility at the
last session of each month. Fractions, sessions, risk-free rate 0, 252 sessions a year.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from momentum.backtest._figures import BENCHMARK, wide_equity
from momentum.backtest._format import metric_text
from momentum.backtest._metrics import (
    SESSIONS_PER_YEAR,
    cagr,
    drawdown_periods,
    excess_kurtosis,
    information_ratio,
    monthly_returns,
    returns_of,
    rolling_sharpe,
    rolling_volatility,
    sharpe,
    skew,
    tracking_error,
    value_at_risk,
)
from momentum.records import json_records, json_value
from momentum.strategy import EQUAL_WEIGHT

WORST_DRAWDOWNS = 5
VAR_CONFIDENCE = 0.95
HEADLINE = {"cagr": ("CAGR", cagr), "sharpe": ("Sharpe", sharpe)}


def tear_sheet(curves: pd.DataFrame) -> dict[str, Any]:
    """Every series' tear sheet and whether the strategy beat equal weight (None without it)."""
    names = list(curves["series"].unique())
    wide = wide_equity(curves)[names]
    versus = returns_of(wide[EQUAL_WEIGHT].dropna()) if EQUAL_WEIGHT in wide else None
    return {
        "risk_free_rate": 0.0,
        "sessions_per_year": SESSIONS_PER_YEAR,
        "versus_equal_weight": None if versus is None else versus_equal_weight(names[0], wide),
        "series": {
            name: series_sheet(wide[name].dropna(), None if name in (EQUAL_WEIGHT, BENCHMARK) else versus)
            for name in names
        },
    }


def series_sheet(equity: pd.Series, equal_weight: pd.Series | None) -> dict[str, Any]:
    """One series' tear sheet from its equity curve; relative figures when ``equal_weight`` returns
    are given."""
    returns = returns_of(equity)
    out: dict[str, Any] = {}
    if equal_weight is not None:
        active = equal_weight.reindex(returns.index)
        out["information_ratio"] = information_ratio(returns, active)
        out["tracking_error"] = tracking_error(returns, active)
    out["skew"] = skew(returns)
    out["kurtosis"] = excess_kurtosis(returns)
    out["var_95"] = value_at_risk(returns, VAR_CONFIDENCE)
    out["worst_drawdowns"] = json_records(drawdown_periods(equity).head(WORST_DRAWDOWNS))
    out["monthly_returns"] = {
        str(year): [json_value(v) for v in row] for year, row in monthly_returns(returns).iterrows()
    }
    out["rolling_12m"] = json_records(rolling_month_ends(returns))
    return {name: json_value(v) if isinstance(v, float) else v for name, v in out.items()}


def rolling_month_ends(returns: pd.Series) -> pd.DataFrame:
    """date, sharpe, volatility: the rolling 12-month figures at the last session of each month (from
    the first full window)."""
    frame = pd.DataFrame(
        {"sharpe": rolling_sharpe(returns), "volatility": rolling_volatility(returns)}
    ).dropna()
    month_ends = frame.groupby([frame.index.year, frame.index.month]).tail(1)
    return month_ends.rename_axis("date").reset_index()


def versus_equal_weight(main: str, wide: pd.DataFrame) -> dict[str, Any]:
    """CAGR and Sharpe of ``main`` and of equal weight, whether ``main`` beat it on each, and a
    sentence saying so (``wide``: dates x series of equity)."""
    mine, theirs = returns_of(wide[main].dropna()), returns_of(wide[EQUAL_WEIGHT].dropna())
    out: dict[str, Any] = {}
    for name, (_, metric) in HEADLINE.items():
        strategy, equal = metric(mine), metric(theirs)
        out[name] = {"strategy": strategy, "equal_weight": equal, "beat": bool(strategy > equal)}
    return out | {"sentence": verdict_sentence(main, out)}


def verdict_sentence(main: str, figures: dict[str, dict]) -> str:
    """E.g. 'qmom beat equal weight on CAGR (16.1 % vs 14.9 %) but lost to equal weight on Sharpe
    (0.82 vs 0.85).'"""
    clauses = []
    for name, (label, _) in HEADLINE.items():
        f = figures[name]
        verb = "beat" if f["beat"] else "matched" if f["strategy"] == f["equal_weight"] else "lost to"
        shown = f"{metric_text(name, f['strategy'])} vs {metric_text(name, f['equal_weight'])}"
        clauses.append(f"{verb} equal weight on {label} ({shown})")
    joiner = " and " if len({figures[name]["beat"] for name in HEADLINE}) == 1 else " but "
    return f"{main} {joiner.join(clauses)}."
