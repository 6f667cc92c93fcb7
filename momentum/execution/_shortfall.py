"""Implementation shortfall: what the fills cost against the prices the backtest assumes.

The reference price of an order is the price the backtest fills it at: the adjusted close (order_timing
close or market) or open (open) of the rebalance's trade session, ``trade_offset`` sessions after its
signal session. It is known once that session's bars are; until then the columns are NaN and a later
run fills them in. Per order, in basis points of the reference price, positive when the fill was worse:
a buy above the reference, a sell below it. The rebalance's shortfall is the dollars lost over every
filled share, sum(sign x (fill - reference) x filled shares), and those dollars in basis points of the
reference notional. Commissions are not in it: the backtest charges the same ``cost_bps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from momentum.calendar import session_offset
from momentum.portfolio import SessionPrices

SHORTFALL_COLUMNS = ["reference_session", "reference_price", "shortfall_bps"]


@dataclass(frozen=True)
class Shortfall:
    """A rebalance's implementation shortfall: ``dollars`` lost against the reference prices and the
    same in ``bps`` of the filled reference notional (None while no reference price is known)."""

    bps: float | None
    dollars: float | None
    reference: str

    def line(self) -> str:
        """``implementation shortfall 3.2 bps ($41.20) against the close of 2026-12-07``."""
        if self.bps is None or self.dollars is None:
            return f"implementation shortfall not known yet (reference: {self.reference})"
        return f"implementation shortfall {self.bps:.1f} bps (${self.dollars:,.2f}) against {self.reference}"


def with_reference(executions: pd.DataFrame, session: str, reference: pd.Series | None) -> pd.DataFrame:
    """``executions`` with the reference ``session`` (YYYY-MM-DD), each filled order's reference price
    (``reference``: symbol -> adjusted price that session; None while unknown) and its shortfall in bps."""
    out = executions.copy()
    out["reference_session"] = session
    prices = (
        pd.Series(np.nan, index=out.index)
        if reference is None
        else out["symbol"].map(reference).astype("float64")
    )
    out["reference_price"] = prices.where(out["filled_qty"] > 0)
    sign = np.where(out["side"] == "buy", 1.0, -1.0)
    out["shortfall_bps"] = (
        sign * (out["filled_avg_price"] - out["reference_price"]) / out["reference_price"] * 1e4
    )
    return out


def backtest_reference(
    executions: pd.DataFrame, signal: str, trade_offset: int, order_timing: str, market: SessionPrices
) -> pd.DataFrame:
    """``executions`` of the ``signal`` session's rebalance with the backtest's price for each order: the
    adjusted close (``order_timing`` close or market) or open (open) of the session ``trade_offset``
    sessions after the signal, once ``market`` knows it (see :func:`with_reference`)."""
    session = session_offset(signal, trade_offset)
    price = "open" if order_timing == "open" else "close"
    known = market.auction(session, price) if market.knows(session) else None
    return with_reference(executions, f"{session:%Y-%m-%d}", known)


def missing_reference(executions: pd.DataFrame) -> bool:
    """True when a filled order has no reference price yet (an older executions version: no column)."""
    if "reference_price" not in executions:
        return bool((executions["filled_qty"] > 0).any())
    return bool(((executions["filled_qty"] > 0) & executions["reference_price"].isna()).any())


def rebalance_shortfall(executions: pd.DataFrame) -> Shortfall:
    """The shortfall of one rebalance's ``executions`` rows (see the module's definition)."""
    session = str(executions["reference_session"].iloc[0]) if len(executions) else ""
    price = "open" if (executions["time_in_force"] == "opg").any() else "close"
    reference = f"the {price} of {session}"
    filled = executions[executions["filled_qty"] > 0]
    if filled.empty or filled["reference_price"].isna().any():
        return Shortfall(None, None, reference)
    sign = np.where(filled["side"] == "buy", 1.0, -1.0)
    dollars = float(
        (sign * (filled["filled_avg_price"] - filled["reference_price"]) * filled["filled_qty"]).sum()
    )
    notional = float((filled["reference_price"] * filled["filled_qty"]).sum())
    return Shortfall(dollars / notional * 1e4 if notional > 0 else 0.0, dollars, reference)
