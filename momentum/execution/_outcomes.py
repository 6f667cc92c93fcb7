"""What became of each planned order: the ``executions`` rows (:data:`OUTCOME_COLUMNS`) and the notes
that say what needs attention (a partial fill, a refusal, an order left open, an order not sent).

``outcomes`` maps a ``client_order_id`` to the columns known so far; :func:`outcome_frame` fills the
rest with the defaults of an order not sent.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from momentum.brokers.auction import AuctionSlot
from momentum.brokers.base import OrderState, OrderStatus
from momentum.execution._exactly_once import Action

OUTCOME_COLUMNS = [
    "client_order_id",
    "symbol",
    "side",
    "qty",
    "status",
    "filled_qty",
    "filled_avg_price",
    "broker_order_id",
    "action",
    "pending",
    "note",
    "time_in_force",
    "queued_for",
]


def describe(status: OrderStatus, waited: bool, timeout: float) -> str:
    """What needs attention about an order at the broker ("" once filled); ``timeout`` in seconds."""
    planned = "" if status.qty is None else f" of {status.qty:g}"
    if status.status == OrderState.FILLED:
        return ""
    if status.status == OrderState.PARTIALLY_FILLED:
        return (
            f"PARTIAL: filled {status.filled_qty:g}{planned}; the rest is left to the broker, never re-sent"
        )
    if status.status == OrderState.REJECTED:
        return "REJECTED by the broker; not re-sent"
    if status.status in (OrderState.CANCELED, OrderState.EXPIRED):
        return (
            f"{status.status.upper()} at the broker after filling {status.filled_qty:g}{planned}; not re-sent"
        )
    if waited:
        return (
            f"NOT FILLED within {timeout:g}s (broker status {status.status}); left open at the broker, "
            "a later run of this rebalance looks it up again"
        )
    return f"queued at the broker (status {status.status})"


def not_sent_market_closed(plan: pd.DataFrame, next_open: str, say: Callable[[str], None]) -> pd.DataFrame:
    """Every order of the plan not sent: the market is closed (opens ``next_open``, ISO time) and
    queueing for the open is off."""
    note = (
        f"NOT SENT: market closed (next open {next_open}); "
        "set queue_when_closed=true to queue orders for the open"
    )
    say(note)
    return outcome_frame(
        plan,
        {
            c: {"status": OrderState.NOT_SENT, "action": Action.NONE, "pending": True, "note": note}
            for c in plan["client_order_id"]
        },
    )


def not_sent_killed(plan: pd.DataFrame, outcomes: dict[str, dict], say: Callable[[str], None]) -> None:
    """The orders of the plan not in ``outcomes`` yet, recorded not sent: the kill switch stopped them."""
    say("kill switch engaged during the run: the remaining orders were not sent")
    outcomes.update(
        {
            c: {
                "status": OrderState.NOT_SENT,
                "action": Action.NONE,
                "pending": True,
                "note": "NOT SENT: kill switch engaged during the run",
            }
            for c in plan["client_order_id"]
            if c not in outcomes
        }
    )


def record_final(
    final: dict[str, OrderStatus],
    outcomes: dict[str, dict],
    waited: bool,
    timeout: float,
    say: Callable[[str], None],
    queued: str = "",
) -> None:
    """Each order at the broker: its last status, fills and what needs attention, into ``outcomes``;
    ``queued`` says which auction the orders sent as auction orders wait for."""
    for coid, status in final.items():
        detail = describe(status, waited, timeout)
        if queued and not status.terminal and outcomes[coid]["action"] == Action.SUBMITTED:
            detail = queued
        elif detail:
            say(f"{coid}: {detail}")
        note = outcomes[coid]["note"]
        outcomes[coid] = {
            "symbol": status.symbol,
            "status": status.status,
            "filled_qty": status.filled_qty,
            "filled_avg_price": status.filled_avg_price,
            "broker_order_id": status.broker_order_id,
            "action": outcomes[coid]["action"],
            "pending": not status.terminal,
            "note": f"{note}; {detail}" if detail else note,
        }


def outcome_frame(
    plan: pd.DataFrame, outcomes: dict[str, dict], auction: AuctionSlot | None = None
) -> pd.DataFrame:
    """One row per planned order (:data:`OUTCOME_COLUMNS`), an order missing from ``outcomes`` not sent;
    with an ``auction``, the orders sent and still open are ``queued_for`` its session (YYYY-MM-DD)."""
    base = plan[["client_order_id", "symbol", "side", "qty"]].reset_index(drop=True)
    extra = pd.DataFrame([{"client_order_id": c, **o} for c, o in outcomes.items()])
    if extra.empty:
        extra = pd.DataFrame(columns=["client_order_id"])
    merged = base.merge(extra.drop(columns=["symbol"], errors="ignore"), on="client_order_id", how="left")
    defaults = {
        "status": OrderState.NOT_SENT,
        "filled_qty": 0.0,
        "filled_avg_price": float("nan"),
        "broker_order_id": "",
        "action": Action.NONE,
        "pending": True,
        "note": "",
    }
    for column, default in defaults.items():
        if column not in merged:
            merged[column] = default
        merged[column] = merged[column].astype(object).where(merged[column].notna(), default)
    merged["qty"] = merged["qty"].astype(float)
    merged["filled_qty"] = merged["filled_qty"].astype(float)
    merged["filled_avg_price"] = merged["filled_avg_price"].astype(float)
    merged["pending"] = merged["pending"].astype(bool)
    for column in ("client_order_id", "symbol", "side", "status", "broker_order_id", "action", "note"):
        merged[column] = merged[column].astype(str)
    merged["time_in_force"] = "day" if auction is None else auction.time_in_force
    queued = merged["pending"] & (merged["action"] != Action.NONE) & (auction is not None)
    merged["queued_for"] = queued.map(
        {True: "" if auction is None else f"{auction.session:%Y-%m-%d}", False: ""}
    )
    return merged[OUTCOME_COLUMNS]


def with_new_fills(executions: pd.DataFrame, before: pd.DataFrame | None) -> pd.DataFrame:
    """``executions`` with ``filled_this_run``: the shares each order filled since ``before`` (the
    rebalance's previous ``executions``, None if it has none), so a later run that finds queued orders
    filled can say it executed them, and a re-run that finds nothing new says nothing."""
    out = executions.copy()
    earlier = (
        pd.Series(0.0, index=out["client_order_id"])
        if before is None
        else before.set_index("client_order_id")["filled_qty"].reindex(out["client_order_id"]).fillna(0.0)
    )
    out["filled_this_run"] = (out["filled_qty"].to_numpy() - earlier.to_numpy()).clip(min=0.0)
    return out
