"""Registry of the validation checks, the result type and the constants every stage shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

TABLE_COLUMNS = ("check", "level", "severity", "status", "symbol", "date", "failures", "message")
NULL_SYMBOL = "<null>"  # how findings name rows whose symbol is null (never quarantined)


@dataclass(frozen=True)
class CheckInfo:
    level: str  # 'dataset' | 'symbol'
    severity: str  # 'error' | 'warning'
    description: str


CHECKS: dict[str, CheckInfo] = {
    "schema": CheckInfo("dataset", "error", "required columns date, symbol, adj_close exist"),
    "not_empty": CheckInfo("dataset", "error", "at least one row"),
    "dtypes": CheckInfo("dataset", "error", "date tz-naive datetime64, symbol str, prices/volume numeric"),
    "date_not_null": CheckInfo("dataset", "error", "no null date"),
    "symbol_not_null": CheckInfo("dataset", "error", "no null symbol"),
    "unique_date_symbol": CheckInfo("dataset", "error", "one row per (date, symbol)"),
    "sorted": CheckInfo("dataset", "error", "rows in date order within each symbol"),
    "calendar": CheckInfo("dataset", "error", "dates are exchange sessions"),
    "future_date": CheckInfo("dataset", "error", "no date after as_of"),
    "freshness": CheckInfo(
        "dataset",
        "error",
        "last session in the data is as_of, and enough symbols and the benchmark have a bar on it",
    ),
    "enough_symbols": CheckInfo("dataset", "error", "at least min_symbols symbols"),
    "enough_history": CheckInfo("dataset", "error", "at least min_history sessions"),
    "price_not_null": CheckInfo("symbol", "error", "adj_close not NaN"),
    "price_positive": CheckInfo("symbol", "error", "prices > 0"),
    "volume_nonnegative": CheckInfo("symbol", "error", "volume >= 0"),
    "ohlc_consistency": CheckInfo("symbol", "error", "low <= open, close <= high"),
    "raw_price_not_null": CheckInfo("symbol", "warning", "open/high/low/close not NaN"),
    "missing_session": CheckInfo("symbol", "error", "no session missing inside the symbol's range"),
    "stale_run": CheckInfo("symbol", "error", "no recent run of unchanged adj_close over max_stale_sessions"),
    "stale_run_history": CheckInfo("symbol", "warning", "stale runs before the recent window"),
    "bad_tick": CheckInfo("symbol", "error", "no recent one-day spike that reverts at once"),
    "bad_tick_history": CheckInfo("symbol", "warning", "bad ticks before the recent window"),
    "split_adjustment": CheckInfo("symbol", "error", "no recent unadjusted split in adj_close"),
    "split_adjustment_history": CheckInfo("symbol", "warning", "split-like jumps before the recent window"),
    "sudden_move": CheckInfo("symbol", "warning", "large one-day moves (real crashes/jumps)"),
    "corporate_action": CheckInfo("symbol", "warning", "raw close jumps that adj_close absorbs"),
    "symbol_freshness": CheckInfo("symbol", "warning", "symbol has a bar on as_of"),
    "stale_symbol": CheckInfo("symbol", "error", "every symbol asked for at as_of has a bar on as_of"),
    "missing_symbol": CheckInfo("symbol", "warning", "every symbol asked for has bars"),
    "quarantine_limit": CheckInfo("dataset", "error", "quarantined fraction within max_quarantine_fraction"),
}


@dataclass(frozen=True)
class ValidationResult:
    passed: bool
    table: pd.DataFrame
    quarantined: tuple[str, ...]
    summary: str


def _day(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def quarantined_symbols(table: pd.DataFrame) -> list[str]:
    """The symbols a (possibly stored) validation table quarantines: failed symbol-level errors."""
    rows = table[
        (table["level"] == "symbol")
        & (table["severity"] == "error")
        & (table["status"] == "failed")
        & (table["symbol"] != "")
        & (table["symbol"] != NULL_SYMBOL)
    ]
    return sorted(set(rows["symbol"].astype(str)))
