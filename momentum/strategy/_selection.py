"""From signals to a target portfolio: eligibility, holdings count, qmom/momentum selection.

Weights are fractions of equity; ties always break by symbol so results are deterministic. The
array functions are the core (the backtest calls them per rebalance); the frame functions wrap them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

SCORE_COLUMNS = ["symbol", "momentum", "fip", "eligible", "reason", "in_pool", "selected", "weight"]
REASONS = (
    "",
    "quarantined by validation",
    "not a universe member at as_of",
    "no close at as_of",
    "fewer than {min_history} sessions of history",
    "momentum undefined",
    "stale: close unchanged for more than {max_stale_sessions} sessions",
)


def eligibility_codes(
    signals: Mapping[str, np.ndarray],
    *,
    member: np.ndarray | None,
    quarantined: np.ndarray,
    min_history: int,
    max_stale_sessions: int,
) -> np.ndarray:
    """Per symbol, the index in :data:`REASONS` of the first failing rule (0 = eligible)."""
    history = np.asarray(signals["history"])
    rules = (
        quarantined,
        np.zeros(len(history), bool) if member is None else ~member,
        history == 0,
        history < min_history,
        np.isnan(signals["momentum"]),
        np.asarray(signals["flat_run"]) > max_stale_sessions,
    )
    codes = np.zeros(len(history), dtype=np.int8)
    for code, failing in enumerate(rules, start=1):
        codes[(codes == 0) & failing] = code
    return codes


def reason_texts(codes: np.ndarray, *, min_history: int, max_stale_sessions: int) -> np.ndarray:
    texts = np.array(
        [r.format(min_history=min_history, max_stale_sessions=max_stale_sessions) for r in REASONS],
        dtype=object,
    )
    return texts[codes]


def holdings_count(eligible: int, *, min_holdings: int, fraction: float, fixed: int | None = None) -> int:
    """H = max(min_holdings, round(fraction * eligible)) (half rounds up), capped at ``eligible``."""
    wanted = fixed if fixed is not None else max(min_holdings, math.floor(fraction * eligible + 0.5))
    return min(wanted, eligible)


def pick(
    momentum: np.ndarray,
    fip: np.ndarray,
    eligible: np.ndarray,
    symbol_rank: np.ndarray,
    *,
    holdings: int,
    strategy: str = "qmom",
) -> tuple[np.ndarray, np.ndarray]:
    """(in_pool, selected) masks: pool = top 2H by momentum (qmom) or top H; qmom keeps the H lowest fip."""
    in_symbol_order = np.argsort(symbol_rank)
    by_symbol = in_symbol_order[eligible[in_symbol_order]]
    ranked = by_symbol[np.argsort(-momentum[by_symbol], kind="stable")]  # ties keep symbol order
    if strategy == "qmom":
        pool = ranked[: 2 * holdings]
        chosen = pool[np.lexsort((symbol_rank[pool], fip[pool]))][:holdings]
    elif strategy == "momentum":
        pool = chosen = ranked[:holdings]
    else:
        raise ValueError(f"unknown strategy {strategy!r}; expected 'qmom' or 'momentum'")
    in_pool = np.zeros(len(momentum), bool)
    selected = np.zeros(len(momentum), bool)
    in_pool[pool] = True
    selected[chosen] = True
    return in_pool, selected


def score_table(symbols: np.ndarray, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The score table: :data:`SCORE_COLUMNS` (weight a fraction of equity), one row per symbol, sorted."""
    table = pd.DataFrame({"symbol": symbols, **{name: columns[name] for name in SCORE_COLUMNS[1:]}})
    return table.sort_values("symbol", ignore_index=True)


def symbol_ranks(symbols: np.ndarray) -> np.ndarray:
    """Each symbol's position in sorted order (the tie-breaker)."""
    ranks = np.empty(len(symbols), dtype=np.int64)
    ranks[np.argsort(symbols, kind="stable")] = np.arange(len(symbols))
    return ranks


def target_weights(scores: pd.DataFrame) -> pd.Series:
    """symbol -> weight (fraction of equity) of the selected names with a positive weight."""
    held = scores[scores["weight"] > 0]
    return pd.Series(held["weight"].to_numpy(), index=held["symbol"].to_numpy(), name="target_weight")
