"""Validation gate for daily bars: a great-expectations (GX 1.x) suite that can block trading.

``validate_bars`` builds the suite in code, in a fresh ephemeral GX context per call (a context is
never shared across calls or threads), and runs it in three stages:

1. **structure** on the bars as given: required columns, dtypes, at least one row. A failure here
   stops validation (value checks on strings or a missing column mean nothing).
2. **rows** on the bars sorted by (symbol, date) plus precomputed columns (previous date in input
   order, session position, min of the raw prices, max/min of open and close): nulls, prices,
   volume, OHLC, uniqueness, order, calendar, future dates, freshness, symbol count, history.
3. **symbols** on a small per-symbol summary computed with numpy (missing sessions, stale runs,
   classified one-day moves, last bar): GX applies the thresholds to 1 row per symbol instead of
   scanning every bar again, which keeps 500 symbols x 273 sessions well under a second.

Checks (``level``: *dataset* failures set ``passed=False``; *symbol* errors quarantine the symbol;
``severity`` *warning* never blocks or quarantines):

=========================  =======  ========  ==================================================
check                      level    severity  rule (GX expectation on the frame of its stage)
=========================  =======  ========  ==================================================
schema                     dataset  error     date, symbol, adj_close exist (ExpectColumnToExist)
not_empty                  dataset  error     at least one row (ExpectTableRowCountToBeBetween)
dtypes                     dataset  error     date datetime64 tz-naive, symbol str, prices and
                                              volume numeric (ExpectColumnValuesToBeInTypeList)
date_not_null              dataset  error     no NaT date
symbol_not_null            dataset  error     no null symbol
unique_date_symbol         dataset  error     (date, symbol) unique (ExpectCompoundColumnsToBeUnique)
sorted                     dataset  error     dates increase within each symbol in input order
                                              (ExpectColumnPairValuesAToBeGreaterThanB vs the
                                              previous row of the symbol): consumers rely on it
calendar                   dataset  error     every date <= as_of is one of ``sessions`` (no
                                              weekend/holiday/intraday timestamps, none before
                                              ``sessions[0]``)
future_date                dataset  error     no date after as_of
freshness                  dataset  error     last session in the data == as_of == sessions[-1];
                                              the stale-data guard: >= 1 - max_quarantine_fraction
                                              of the expected symbols (default: the data's) and
                                              the benchmark have a bar on as_of
enough_symbols             dataset  error     >= min_symbols distinct symbols
enough_history             dataset  error     >= min_history distinct sessions overall (short
                                              symbols are not an error: they are ineligible later)
quarantine_limit           dataset  error     quarantined / symbols <= max_quarantine_fraction
price_not_null             symbol   error     adj_close not NaN
price_positive             symbol   error     adj_close > 0 and open/high/low/close > 0
volume_nonnegative         symbol   error     volume >= 0 (when the column exists)
ohlc_consistency           symbol   error     high >= max(open, close), low <= min(open, close)
missing_session            symbol   error     no session missing between the symbol's first and
                                              last bar
stale_run                  symbol   error     no run of more than max_stale_sessions bars with an
                                              identical adj_close that reaches into the last
                                              ``recent_window`` sessions
bad_tick                   symbol   error     a one-day move that reverts the next session (recent)
split_adjustment           symbol   error     adj_close jumps at a split ratio (recent): with raw
                                              close, together with it (adjustment missing) or
                                              without it (adjustment factor misdated); without raw
                                              close, a non-reverting move within 1% of a split
                                              ratio (suspected unadjusted split)
raw_price_not_null         symbol   warning   open/high/low/close not NaN (signals use adj_close)
stale_run_history          symbol   warning   stale_run, ending before the recent window
bad_tick_history           symbol   warning   bad_tick, before the recent window
split_adjustment_history   symbol   warning   split_adjustment, before the recent window
sudden_move                symbol   warning   a large move that is not a bad tick nor split-like:
                                              a real crash or jump must not quarantine a stock
corporate_action           symbol   warning   raw close jumps but adj_close does not (adjusted
                                              correctly; informational)
symbol_freshness           symbol   warning   the symbol has no bar on as_of (delisted or late)
stale_symbol               symbol   error     a symbol a live provider was asked for (``expected``)
                                              has bars, but none on as_of: quarantined as stale
missing_symbol             symbol   warning   a symbol asked for has no bars at all (absent from
                                              the reply, or dropped by the provider: its reason)
=========================  =======  ========  ==================================================

Judgement calls:

* A *move* is a one-day log change of adj_close beyond ``log1p(max_daily_move)`` in either
  direction (+50 % up or -33 % down by default, symmetric in log terms), or within 1 % of a split
  ratio (2, 3, 4, 5, 10, 3/2 and their inverses). It *reverts* when the next bar undoes at least
  75 % of it (in log terms); a reverting move is a bad tick. A non-reverting move at a split ratio
  with no raw close to explain it is treated as an **error** (suspected unadjusted split): a missed
  split turns a stock's momentum into noise (a missed reverse split makes it a top "winner"), while
  a genuine crash of exactly -50 % +-1 % is rare and quarantining one symbol for one run is cheap.
* Time-series heuristics (stale_run, bad_tick, split_adjustment) quarantine only when the offending
  bar lies within the last ``recent_window`` sessions (253 by default, the 12-month lookback): an
  old defect cannot change today's score, so it is reported as a ``*_history`` warning instead.
  Unambiguous value defects (NaN or non-positive price, OHLC, volume, missing session) quarantine
  whatever their date: they are wrong data that should be repaired at the source.
* A symbol-level check that *raises* cannot name its symbols, so it blocks the run (fail closed);
  a raising warning check is reported with status ``error`` and does not block.

The embedded 20-stock S&P 500 sample (1990-01-02..2022-12-28) passes with no quarantine: RRC's 1990-92
stale runs (up to 69 bars) and its 1990-04-10 -66.7 % (1/3) drop are ``*_history`` warnings, and 7
large real moves (e.g. AAPL -51.8 % on 2000-09-29) are ``sudden_move`` warnings. With
``recent_window`` covering the whole history RRC is quarantined (stale_run, split_adjustment), 1 of 20.

``table`` has one summary row per check (``symbol == ''``; ``date`` = first offending session,
``failures`` = total) followed by one row per (check, symbol) finding (rows without a symbol are
named ``<null>``); ``level`` and ``severity`` are the check's, so a dataset check's findings still
name their symbols.
:func:`quarantined_symbols` recovers ``quarantined`` from a stored table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from momentum.validation._checks import (
    CHECKS,
    TABLE_COLUMNS,
    CheckInfo,
    ValidationResult,
    quarantined_symbols,
)
from momentum.validation._report import render_html, render_markdown
from momentum.validation._stages import FetchReport, GateLimits, _GateInputs, _validate

__all__ = [
    "CHECKS",
    "TABLE_COLUMNS",
    "CheckInfo",
    "FetchReport",
    "GateLimits",
    "ValidationResult",
    "quarantined_symbols",
    "render_html",
    "render_markdown",
    "validate_bars",
]


_DEFAULT_LIMITS = GateLimits()
_NOTHING_KNOWN = FetchReport()  # no list of expected symbols, no benchmark date


def _timestamp(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError("as_of must be a date, not NaT")
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.as_unit("ns")


def _session_index(sessions: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(sessions)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    idx = idx[~idx.isna()].as_unit("ns").unique().sort_values()
    return pd.DatetimeIndex(idx.to_numpy(), name=None)


def validate_bars(
    bars: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    sessions: pd.DatetimeIndex,
    limits: GateLimits = _DEFAULT_LIMITS,
    fetched: FetchReport = _NOTHING_KNOWN,
) -> ValidationResult:
    """Validate long-format bars for trading at ``as_of`` (see the module docstring for the checks).

    ``sessions`` are the exchange sessions expected from the first bar date through ``as_of``;
    ``limits`` the gate's limits; ``fetched`` what a live provider was asked for and dropped, and the
    benchmark's newest date (see :mod:`momentum.validation._fresh`).
    """
    if not isinstance(bars, pd.DataFrame):
        raise TypeError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    inputs = _GateInputs(
        as_of=_timestamp(as_of),
        sessions=_session_index(sessions),
        min_symbols=limits.min_symbols,
        min_history=limits.min_history,
        max_stale_sessions=limits.max_stale_sessions,
        max_quarantine_fraction=limits.max_quarantine_fraction,
        max_daily_move=limits.max_daily_move,
        recent_window=limits.recent_window,
        expected=fetched.expected,
        rejected=fetched.rejected,
        benchmark_last=fetched.benchmark_last,
    )
    return _validate(bars, inputs)
