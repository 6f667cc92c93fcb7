"""Send an order plan to a broker exactly once: guards, sells first, bounded waits, reconciliation.

Every order is looked up by its ``client_order_id`` before it is submitted, and a submit that times
out is answered by a lookup, never by a blind resubmit. A sell that does not fill blocks the buys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from momentum.brokers.base import Broker, DuplicateOrderError, OrderRequest, OrderStatus, TransientBrokerError

OUTCOME_COLUMNS = [
    "client_order_id", "symbol", "side", "qty", "status", "filled_qty", "filled_avg_price",
    "broker_order_id", "note",
]


class GuardError(RuntimeError):
    """A safety guard stopped execution before the first order."""


@dataclass(frozen=True)
class Guards:
    """Limits checked on the whole plan before anything is sent (dollars, fractions)."""

    max_order_notional: float = 1_000_000.0
    max_rebalance_notional: float = 10_000_000.0
    price_band: float = 0.1
    kill_switch: bool = False
    queue_when_closed: bool = False
    fill_timeout_seconds: float = 60.0
    poll_seconds: float = 1.0


def check_guards(plan: pd.DataFrame, last_close: pd.Series, guards: Guards) -> None:
    """Raise :class:`GuardError` naming the first guard the plan breaks."""
    if guards.kill_switch:
        raise GuardError("kill switch engaged: no order sent")
    too_big = plan[plan["est_value"] > guards.max_order_notional]
    if len(too_big):
        row = too_big.iloc[0]
        raise GuardError(
            f"order {row['client_order_id']} worth ${row['est_value']:,.2f} exceeds max_order_notional "
            f"${guards.max_order_notional:,.2f}"
        )
    total = float(plan["est_value"].sum())
    if total > guards.max_rebalance_notional:
        raise GuardError(f"rebalance worth ${total:,.2f} exceeds max_rebalance_notional ${guards.max_rebalance_notional:,.2f}")
    close = last_close.reindex(plan["symbol"]).to_numpy()
    off = (plan["ref_price"].to_numpy() / close - 1).__abs__() > guards.price_band
    bad = plan[off | pd.isna(close)]
    if len(bad):
        row = bad.iloc[0]
        raise GuardError(
            f"price of {row['symbol']} ({row['ref_price']}) is outside ±{guards.price_band:.0%} of its last close"
        )


def send_once(broker: Broker, order: OrderRequest) -> tuple[OrderStatus, str]:
    """Submit unless the broker already has this client_order_id; a timeout is answered by a lookup."""
    existing = broker.get_by_client_id(order.client_order_id)
    if existing is not None:
        return existing, "already at broker"
    try:
        return broker.submit(order), "sent"
    except DuplicateOrderError:
        found = broker.get_by_client_id(order.client_order_id)
        if found is None:
            raise
        return found, "already at broker"
    except TransientBrokerError:
        found = broker.get_by_client_id(order.client_order_id)
        if found is None:
            raise
        return found, "sent (confirmed by lookup)"


def _wait(broker: Broker, statuses: dict[str, OrderStatus], guards: Guards,
          sleep: Callable[[float], None], clock: Callable[[], float]) -> dict[str, OrderStatus]:
    deadline = clock() + guards.fill_timeout_seconds
    while any(not s.terminal for s in statuses.values()) and clock() < deadline:
        sleep(guards.poll_seconds)
        for coid, status in statuses.items():
            if not status.terminal:
                statuses[coid] = broker.get_by_client_id(coid) or status
    return statuses


def execute_plan(
    plan: pd.DataFrame, broker: Broker, guards: Guards, last_close: pd.Series, *,
    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
) -> pd.DataFrame:
    """Run the plan: guards, clock check, sells, wait, buys (only if every sell filled), wait."""
    check_guards(plan, last_close, guards)
    outcomes: dict[str, dict] = {}
    market = broker.clock()
    if not market.is_open and not guards.queue_when_closed:
        note = f"market closed; not sent (next open {market.next_open:%Y-%m-%d %H:%M} UTC)"
        return _frame(plan, {c: {"status": "not_sent", "note": note} for c in plan["client_order_id"]})
    for side in ("sell", "buy"):
        rows = plan[plan["side"] == side]
        if side == "buy":
            unfilled = [o for o in outcomes.values() if o["status"] != "filled"]
            if unfilled and len(rows):
                note = "blocked: sell " + ", ".join(o["symbol"] for o in unfilled) + " did not fill"
                outcomes.update({c: {"status": "blocked", "note": note} for c in rows["client_order_id"]})
                break
        sent: dict[str, OrderStatus] = {}
        notes: dict[str, str] = {}
        for row in rows.itertuples(index=False):
            order = OrderRequest(client_order_id=row.client_order_id, symbol=row.symbol, side=row.side, qty=float(row.qty))
            sent[row.client_order_id], notes[row.client_order_id] = send_once(broker, order)
        for coid, status in _wait(broker, sent, guards, sleep, clock).items():
            outcomes[coid] = {
                "symbol": status.symbol, "status": status.status, "filled_qty": status.filled_qty,
                "filled_avg_price": status.filled_avg_price, "broker_order_id": status.broker_order_id,
                "note": notes[coid] if status.terminal else notes[coid] + "; not final within timeout",
            }
    return _frame(plan, outcomes)


def _frame(plan: pd.DataFrame, outcomes: dict[str, dict]) -> pd.DataFrame:
    base = plan[["client_order_id", "symbol", "side", "qty"]].reset_index(drop=True)
    extra = pd.DataFrame([{"client_order_id": c, **o} for c, o in outcomes.items()])
    if extra.empty:
        extra = pd.DataFrame(columns=["client_order_id"])
    merged = base.merge(extra.drop(columns=["symbol"], errors="ignore"), on="client_order_id", how="left")
    for column, default in (("status", "not_sent"), ("filled_qty", 0.0), ("filled_avg_price", float("nan")),
                            ("broker_order_id", ""), ("note", "")):
        if column not in merged:
            merged[column] = default
        merged[column] = merged[column].fillna(default) if column != "filled_avg_price" else merged[column].astype(float)
    merged["filled_qty"] = merged["filled_qty"].astype(float)
    return merged[OUTCOME_COLUMNS]


def reconcile(plan: pd.DataFrame, positions: dict[str, float]) -> pd.DataFrame:
    """Broker positions against the plan's target quantities: one row per symbol that differs."""
    target = plan.set_index("symbol")["target_qty"] if len(plan) else pd.Series(dtype=float)
    symbols = sorted(set(target.index))
    broker_qty = pd.Series(positions, dtype=float).reindex(symbols).fillna(0.0)
    diff = pd.DataFrame({"symbol": symbols, "target_qty": target.reindex(symbols).to_numpy(),
                         "broker_qty": broker_qty.to_numpy()})
    diff["difference"] = diff["broker_qty"] - diff["target_qty"]
    return diff[diff["difference"].abs() > 1e-6].reset_index(drop=True)
