"""The three stages of ``validate_bars`` in one fresh GX context (structure, rows, symbols), then the
checks computed from their outcomes (freshness coverage, stale and missing symbols, quarantine limit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from momentum.strategy import StrategyParams, min_history
from momentum.validation import _fresh, _symbols
from momentum.validation._checks import ValidationResult, _day
from momentum.validation._gx import _new_context, _Outcome, _run
from momentum.validation._rows import _prepare, _Prepared, _row_specs
from momentum.validation._structure import _structure_frame, _structure_specs
from momentum.validation._verdict import _blocking, _quarantine_limit, _result

# The strategy's scoring window: a symbol needs that much history, and only there does a quarantine matter.
_SCORING_WINDOW = min_history(StrategyParams().lookback)


@dataclass(frozen=True)
class GateLimits:
    """The gate's limits: at least ``min_symbols`` symbols with ``min_history`` sessions each, no run of
    more than ``max_stale_sessions`` unchanged closes, no one-day move over ``max_daily_move`` (a
    fraction) unexplained, at most ``max_quarantine_fraction`` of the symbols quarantined; the
    time-series heuristics quarantine only within the last ``recent_window`` sessions."""

    min_symbols: int = 2
    min_history: int = _SCORING_WINDOW
    max_stale_sessions: int = StrategyParams().max_stale_sessions
    max_quarantine_fraction: float = 0.2
    max_daily_move: float = 0.5
    recent_window: int = _SCORING_WINDOW


@dataclass(frozen=True)
class FetchReport:
    """What the provider was asked for and answered, for the stale-data guard: the ``expected`` symbols
    (None: not known), the ``rejected`` ones it dropped (with why), the benchmark's newest date."""

    expected: Sequence[str] | None = None
    rejected: Mapping[str, str] | None = None
    benchmark_last: pd.Timestamp | None = None


@dataclass(frozen=True)
class _GateInputs:
    """What one validation checks the bars against (the parameters of ``validate_bars``)."""

    as_of: pd.Timestamp
    sessions: pd.DatetimeIndex
    min_symbols: int
    min_history: int
    max_stale_sessions: int
    max_quarantine_fraction: float
    max_daily_move: float
    recent_window: int
    expected: Sequence[str] | None
    rejected: Mapping[str, str] | None
    benchmark_last: pd.Timestamp | None


def _validate(bars: pd.DataFrame, s: _GateInputs) -> ValidationResult:
    """Structure first (a failure there stops validation), then rows, symbols and the checks after them."""
    context = _new_context()
    outcomes: dict[str, _Outcome] = {}
    frame = _structure_frame(bars)
    _run(context, "structure", frame, _structure_specs(frame, s.as_of), outcomes)
    if _blocking(outcomes):
        n_sym = int(frame["symbol"].nunique()) if "symbol" in frame else 0
        return _result(outcomes, n_symbols=n_sym, n_sessions=0)
    p = _check_rows(context, frame, s, outcomes)
    summary = _check_symbols(context, p, s, outcomes)
    _check_freshness(outcomes, _last_bars(summary), s)
    outcomes["quarantine_limit"] = _quarantine_limit(outcomes, len(p.symbols), s.max_quarantine_fraction)
    return _result(outcomes, n_symbols=len(p.symbols), n_sessions=int(p.rows["_session_date"].nunique()))


def _check_rows(
    context: Any, frame: pd.DataFrame, s: _GateInputs, outcomes: dict[str, _Outcome]
) -> _Prepared:
    """Stage 2 on the bars sorted by (symbol, date), plus as_of being the last expected session."""
    p = _prepare(frame, s.sessions, s.as_of)
    specs = _row_specs(p, s.as_of, min_symbols=s.min_symbols, min_history=s.min_history)
    _run(context, "rows", p.rows, specs, outcomes)
    _as_of_is_last_session(outcomes["freshness"], s.sessions, s.as_of)
    return p


def _as_of_is_last_session(freshness: _Outcome, sessions: pd.DatetimeIndex, as_of: pd.Timestamp) -> None:
    """``freshness`` fails unless as_of is the last of the expected sessions."""
    if not len(sessions) or sessions[-1] != as_of:
        expected = _day(sessions[-1]) if len(sessions) else "none"
        freshness.fail(
            f"as_of {_day(as_of)} is not the last expected session (sessions end {expected})", date=as_of
        )


def _check_symbols(context: Any, p: _Prepared, s: _GateInputs, outcomes: dict[str, _Outcome]) -> pd.DataFrame:
    """Stage 3 on the per-symbol summary (one row per symbol), which it returns."""
    # stage 3 is looked up on its module, so tests can patch _symbols._symbol_specs
    summary = _symbols._symbol_summary(
        p,
        s.sessions,
        s.as_of,
        max_stale_sessions=s.max_stale_sessions,
        max_daily_move=s.max_daily_move,
        recent_window=s.recent_window,
    )
    specs = _symbols._symbol_specs(summary, s.as_of, s.max_stale_sessions)
    _run(context, "symbols", summary, specs, outcomes)
    return summary


def _last_bars(summary: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """The date of each symbol's last bar (symbols without a dated bar left out)."""
    return {
        str(s): pd.Timestamp(d)
        for s, d in zip(summary["symbol"], summary["last_date"], strict=True)
        if not pd.isna(d)
    }


def _check_freshness(outcomes: dict[str, _Outcome], last: dict[str, pd.Timestamp], s: _GateInputs) -> None:
    """The stale-data guard on the last bars: stale and missing symbols (with ``expected``), coverage."""
    if s.expected is not None:
        outcomes["stale_symbol"], outcomes["missing_symbol"] = _fresh.per_symbol(
            last, s.expected, s.as_of, s.rejected or {}
        )
    _fresh.coverage(
        outcomes["freshness"], last, s.expected, s.as_of, s.max_quarantine_fraction, s.benchmark_last
    )
