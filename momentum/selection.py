"""From signals to a target portfolio: eligibility, holdings count, qmom/momentum selection.

Weights are fractions of equity; ties always break by symbol so results are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd

SCORE_COLUMNS = ["symbol", "momentum", "fip", "eligible", "reason", "in_pool", "selected", "weight"]


def eligibility_reasons(
    signals: pd.DataFrame, *, members: Collection[str] | None, quarantined: Collection[str],
    min_history: int, max_stale_sessions: int,
) -> pd.Series:
    """Why each symbol is not eligible ('' when eligible); the first failing rule wins."""
    reasons = pd.Series("", index=signals.index, dtype=object)
    rules = [
        (signals.index.isin(list(quarantined)), "quarantined by validation"),
        (~signals.index.isin(list(members)) if members is not None else np.zeros(len(signals), bool),
         "not a universe member at as_of"),
        (signals["history"].to_numpy() == 0, "no close at as_of"),
        (signals["history"].to_numpy() < min_history, f"fewer than {min_history} sessions of history"),
        (signals["momentum"].isna().to_numpy(), "momentum undefined"),
        (signals["flat_run"].to_numpy() > max_stale_sessions,
         f"stale: close unchanged for more than {max_stale_sessions} sessions"),
    ]
    for mask, reason in rules:
        reasons[(reasons == "") & mask] = reason
    return reasons


def holdings_count(eligible: int, *, min_holdings: int = 5, fraction: float = 0.05, fixed: int | None = None) -> int:
    """H = max(min_holdings, round(fraction * eligible)) (half rounds up), capped at ``eligible``."""
    wanted = fixed if fixed is not None else max(min_holdings, math.floor(fraction * eligible + 0.5))
    return min(wanted, eligible)


def _rank(frame: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
    return frame.sort_values([column, "symbol"], ascending=[ascending, True], kind="mergesort")


def select(
    signals: pd.DataFrame, reasons: pd.Series, *, holdings: int, strategy: str = "qmom",
    to_cash: bool = False,
) -> pd.DataFrame:
    """The score table: pool = top 2H by momentum (qmom) or top H (momentum); qmom keeps the H lowest fip.

    Selected names get weight 1/H, or 0 when ``to_cash`` (the regime filter says hold cash).
    """
    table = signals[["momentum", "fip"]].copy()
    table["eligible"] = reasons == ""
    table["reason"] = reasons
    table = table.rename_axis("symbol").reset_index()
    ranked = _rank(table[table["eligible"]], "momentum", ascending=False)
    if strategy == "qmom":
        pool = ranked.head(2 * holdings)
        chosen = _rank(pool, "fip", ascending=True).head(holdings)
    elif strategy == "momentum":
        pool = ranked.head(holdings)
        chosen = pool
    else:
        raise ValueError(f"unknown strategy {strategy!r}; expected 'qmom' or 'momentum'")
    table["in_pool"] = table["symbol"].isin(pool["symbol"])
    table["selected"] = table["symbol"].isin(chosen["symbol"])
    weight = 0.0 if to_cash or holdings == 0 else 1.0 / holdings
    table["weight"] = np.where(table["selected"], weight, 0.0)
    return table[SCORE_COLUMNS].sort_values("symbol", ignore_index=True)


def target_weights(scores: pd.DataFrame) -> pd.Series:
    """symbol -> weight (fraction of equity) of the selected names with a positive weight."""
    held = scores[scores["weight"] > 0]
    return pd.Series(held["weight"].to_numpy(), index=held["symbol"].to_numpy(), name="target_weight")
