"""Stored price history: coverage, fetch planning, merging and re-adjustment detection."""

from __future__ import annotations

from momentum.history._backtest import HISTORY_START, backtest_bars
from momentum.history._coverage import (
    OVERLAP,
    Coverage,
    Fetch,
    benchmark_split,
    merge_history,
    new_sessions,
    plan_fetches,
    readjusted_symbols,
    split_by_year,
    target_coverage,
)
from momentum.history._update import (
    HistoryUpdate,
    NoHistoryError,
    members_between,
    read_history,
    update_history,
)

__all__ = [
    "HISTORY_START",
    "Coverage",
    "Fetch",
    "HistoryUpdate",
    "NoHistoryError",
    "OVERLAP",
    "backtest_bars",
    "benchmark_split",
    "members_between",
    "merge_history",
    "new_sessions",
    "plan_fetches",
    "read_history",
    "readjusted_symbols",
    "split_by_year",
    "target_coverage",
    "update_history",
]
