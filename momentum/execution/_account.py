"""The account after a rebalance: what the broker holds, marked and reconciled with the plan."""

from __future__ import annotations

import pandas as pd

from momentum.brokers.base import Position
from momentum.execution._loop import reconcile

CASH = "$CASH"  # the account row holding the cash (qty and market_value in dollars)


def account_snapshot(plan: pd.DataFrame, positions: list[Position], cash: float) -> pd.DataFrame:
    """One row per symbol held or planned (``qty``, ``market_value`` in dollars, ``plan_difference`` =
    broker - target quantity where it differs from the plan, else 0), then the :data:`CASH` row."""
    held = {p.symbol: p.qty for p in positions}
    market_value = {p.symbol: p.market_value for p in positions}
    gaps = reconcile(plan, held).set_index("symbol")["difference"]
    symbols = sorted(set(held) | set(gaps.index))
    frame = pd.DataFrame(
        {
            "symbol": [*symbols, CASH],
            "qty": [*(held.get(s, 0.0) for s in symbols), cash],
            "market_value": [*(market_value.get(s, 0.0) for s in symbols), cash],
        }
    )
    frame["plan_difference"] = frame["symbol"].map(gaps).fillna(0.0).astype(float)
    return frame
