"""Quantitative Momentum: signals over daily adjusted closes, eligibility, selection and target weights.

The parameters (:class:`StrategyParams`) import with the package; the computations (numpy, pandas) on
first use, so reading the settings or ``momentum --help`` does not load them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from momentum.strategy._params import DEFAULT_STRATEGY, EQUAL_WEIGHT, StrategyParams

if TYPE_CHECKING:
    from momentum.strategy._scoring import score_at, score_signals
    from momentum.strategy._selection import holdings_count, symbol_ranks, target_weights
    from momentum.strategy._signals import (
        below_trend,
        history_sessions,
        longest_flat_run,
        min_history,
        signals_at,
        trailing_window,
    )

_COMPUTED = {
    "score_at": "_scoring",
    "score_signals": "_scoring",
    "holdings_count": "_selection",
    "symbol_ranks": "_selection",
    "target_weights": "_selection",
    "below_trend": "_signals",
    "history_sessions": "_signals",
    "longest_flat_run": "_signals",
    "min_history": "_signals",
    "signals_at": "_signals",
    "trailing_window": "_signals",
}

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


def __getattr__(name: str) -> Any:
    if name not in _COMPUTED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_COMPUTED[name]}"), name)
    globals()[name] = value
    return value
