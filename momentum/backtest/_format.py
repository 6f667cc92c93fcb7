"""Figures as a reader expects them: fractions as percent, dollars with cents, ratios to two decimals,
dates as YYYY-MM-DD, a missing value as a dash."""

from __future__ import annotations

import numbers
from typing import Any

import pandas as pd

PERCENT = {
    "total_return",
    "cagr",
    "volatility",
    "max_drawdown",
    "best_year_return",
    "worst_year_return",
    "alpha",
    "hit_rate",
    "turnover",
    "excess_vs_equal_weight",
    "tracking_error",
    "var_95",
}
RATIOS = {"sharpe", "sortino", "calmar", "beta", "information_ratio", "skew", "kurtosis"}
COUNTS = {"best_year", "worst_year", "rebalances"}


def percent(value: float) -> str:
    """A fraction as percent: 175.0708 -> '17,507 %', 0.1234 -> '12.3 %', 0.0123 -> '1.23 %'."""
    pct = 100.0 * value
    return f"{pct:,.{0 if abs(pct) >= 100 else 1 if abs(pct) >= 10 else 2}f} %"


def money(value: float) -> str:
    """Dollars with thousands separators and cents."""
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def metric_text(name: str, value: Any) -> str:
    """One metric as a reader expects it: percent, dollars, ratios to 2 decimals, dates as dates."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, numbers.Integral) or name in COUNTS:
        return str(int(value))
    if name in PERCENT:
        return percent(float(value))
    if name == "final_equity":
        return money(float(value))
    if name in RATIOS:
        return f"{float(value):.2f}"
    return f"{float(value):,.1f}" if isinstance(value, numbers.Real) else str(value)
