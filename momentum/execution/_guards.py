"""Safety guards checked on a whole order plan before anything is sent: order and rebalance limits
(dollars), price band (a fraction of the last close). The kill switch is :class:`KillSwitch`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from momentum.brokers.base import Position
from momentum.errors import PermanentError


class GuardError(PermanentError):
    """A safety guard (kill switch, order or rebalance limit, price band) tripped: no order is sent and
    the run stops in one line."""


@dataclass(frozen=True)
class Guards:
    """Limits checked on the whole plan before anything is sent (dollars, fractions, seconds)."""

    max_order_notional: float = 1_000_000.0
    max_rebalance_notional: float = 10_000_000.0
    price_band: float = 0.1
    queue_when_closed: bool = False
    order_timing: str = "market"  # close, open (auction orders) or market (day orders)
    fill_timeout_seconds: float = 60.0
    poll_seconds: float = 1.0


def check_guards(
    plan: pd.DataFrame,
    last_close: pd.Series,
    guards: Guards,
    positions: list[Position] | None = None,
) -> None:
    """Raise :class:`GuardError` naming the first guard the plan breaks.

    The price band compares the plan's reference prices and, for symbols the broker holds, the
    broker's own mark (market value / quantity) against the last close: a stale or wrong price source
    stops the run before anything is sent.
    """
    if plan.empty:
        return
    _check_notional(plan, guards)
    _check_price_band(plan, last_close, guards.price_band, positions or [])


def _check_notional(plan: pd.DataFrame, guards: Guards) -> None:
    """Each order's value (its notional, else its estimate, the larger) and the rebalance's total."""
    value = plan["est_value"].astype(float)
    if "notional" in plan:
        value = plan["notional"].astype(float).fillna(value).combine(value, max)
    too_big = plan[value > guards.max_order_notional]
    if len(too_big):
        row = too_big.iloc[0]
        raise GuardError(
            f"order {row['client_order_id']} worth ${value[too_big.index[0]]:,.2f} "
            "exceeds max_order_notional "
            f"${guards.max_order_notional:,.2f}: no order sent"
        )
    total = float(value.sum())
    if total > guards.max_rebalance_notional:
        raise GuardError(
            f"rebalance worth ${total:,.2f} exceeds max_rebalance_notional "
            f"${guards.max_rebalance_notional:,.2f}: "
            "no order sent"
        )


def _check_price_band(
    plan: pd.DataFrame, last_close: pd.Series, band: float, positions: list[Position]
) -> None:
    """The plan's reference prices and the broker's marks of planned symbols within ``band`` of the
    last close."""
    checks = [
        (str(s), float(p), "plan reference price")
        for s, p in zip(plan["symbol"], plan["ref_price"], strict=True)
    ]
    planned = set(plan["symbol"])
    checks += [
        (p.symbol, p.market_value / p.qty, "broker mark")
        for p in positions
        if p.symbol in planned and p.qty > 0
    ]
    for symbol, price, what in checks:
        close = float(last_close.get(symbol, float("nan")))
        if not (math.isfinite(price) and math.isfinite(close) and close > 0):
            raise GuardError(f"no valid last close or {what} for {symbol}: no order sent")
        if abs(price / close - 1) > band:
            raise GuardError(
                f"{what} of {symbol} ({price:,.4f}) is outside ±{band:.0%} of its last close "
                f"({close:,.4f}): no order sent"
            )
