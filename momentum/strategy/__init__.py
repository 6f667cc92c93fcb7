"""Quantitative Momentum: signals over daily adjusted closes, eligibility, selection and target weights."""

from __future__ import annotations

from momentum.strategy._scoring import (
    DEFAULT_STRATEGY,
    EQUAL_WEIGHT,
    StrategyParams,
    score_at,
    score_signals,
)
from momentum.strategy._selection import holdings_count, symbol_ranks, target_weights
from momentum.strategy._signals import (
    below_trend,
    history_sessions,
    longest_flat_run,
    min_history,
    signals_at,
    trailing_window,
)

__all__ = [
    "DEFAULT_STRATEGY",
    "EQUAL_WEIGHT",
    "StrategyParams",
    "below_trend",
    "history_sessions",
    "holdings_count",
    "longest_flat_run",
    "min_history",
    "score_at",
    "score_signals",
    "signals_at",
    "symbol_ranks",
    "target_weights",
    "trailing_window",
]
