"""Send an order plan to a broker exactly once: guards, market clock, sells first, bounded waits,
reconciliation.

Exactly once rests on the broker, not on our memory: every order of a plan carries a deterministic
``client_order_id`` and the broker refuses a second order with an id it has seen. So

* before every submit the id is looked up at the broker; an order found there is reported, never
  re-sent (a re-run after a crash, a Prefect retry, a second run of the same rebalance);
* a submit whose outcome is unknown (timeout, 5xx after retries) is answered by a lookup; if the
  lookup cannot answer either, a :class:`BrokerUnavailable` propagates and stops the run (the
  adapter has retried; nothing retries on top of it): the re-run starts with a lookup again;
* a duplicate-id refusal is answered by a lookup (the earlier attempt had landed);
* a refusal (4xx) that left nothing at the broker is reported ``rejected``; a partial fill is
  reported ``partially_filled``: neither is re-sent by this run.

Sells go first and are waited for (bounded by ``fill_timeout_seconds``). A sell that did not fill
blocks the buys it would fund: each buy not yet at the broker goes only while the cash left covers it
(with the price band as a margin); the others are recorded ``blocked`` with the reason. The open sell
is left at the broker (a day order); a later run of the same rebalance finds it and, once it has
filled, sends the blocked buys.

Nothing here imports Prefect: logging goes through the ``log`` callable a caller passes in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import pandas as pd

from momentum.brokers.base import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    DuplicateOrderError,
    OrderRequest,
    OrderState,
    OrderStatus,
    Side,
)
from momentum.guards import GuardError, Guards, check_guards

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
]


class Action(StrEnum):
    """What this run did with an order (the ``action`` column of ``executions``)."""

    SUBMITTED = "submitted"  # this run posted it and the broker booked it
    FOUND = "found_at_broker"  # the broker already had the id: not posted again
    REFUSED = "refused"  # this run posted it and the broker refused it (nothing booked)
    NONE = "none"  # not posted (market closed, blocked, kill switch)


def _matches(found: OrderStatus, order: OrderRequest) -> bool:
    if found.symbol != order.symbol or found.side != order.side:
        return False
    if order.qty is not None and found.qty is not None:
        return abs(found.qty - order.qty) <= 1e-6 * max(1.0, abs(order.qty))
    return True


def send_once(
    broker: Broker,
    order: OrderRequest,
    gate: Callable[[], str] | None = None,
) -> tuple[OrderStatus | None, str, str]:
    """Submit unless the broker already has this id. Returns (status or None, action, note).

    ``gate`` is asked only for an order the broker does not have yet: a non-empty answer is the
    reason not to send it (action ``none``). None with action ``refused`` means the broker refused
    the order and holds nothing under the id. A :class:`BrokerUnavailable` propagates only when
    neither the submit nor a lookup could tell whether the order is booked: the caller must not
    resubmit without looking it up first (the next attempt starts here, with a lookup).
    """
    existing = broker.get_by_client_id(order.client_order_id)
    if existing is not None:
        return existing, Action.FOUND, "already at the broker (sent by an earlier run); not sent again"
    reason = gate() if gate is not None else ""
    if reason:
        return None, Action.NONE, reason
    try:
        return broker.submit(order), Action.SUBMITTED, "sent"
    except DuplicateOrderError:
        found = broker.get_by_client_id(order.client_order_id)
        if found is None:
            raise
        return found, Action.FOUND, "already at the broker (duplicate id refused); not sent again"
    except BrokerUnavailable:
        found = broker.get_by_client_id(order.client_order_id)
        if found is None:
            raise
        return found, Action.SUBMITTED, "sent (outcome confirmed by a lookup after a timeout or server error)"
    except BrokerError as exc:
        # A refusal (4xx) or an answer we could not read: the broker is the judge of what is booked.
        found = broker.get_by_client_id(order.client_order_id)
        if found is not None:
            return found, Action.SUBMITTED, f"sent (confirmed by a lookup after: {exc})"
        return None, Action.REFUSED, f"rejected by the broker, nothing booked: {exc}"


def _wait(
    broker: Broker,
    statuses: dict[str, OrderStatus],
    timeout: float,
    poll: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, OrderStatus]:
    """Poll the non-final orders until all are final or ``timeout`` seconds have passed."""
    deadline = clock() + timeout
    interval = min(0.05, poll)
    while any(not s.terminal for s in statuses.values()):
        left = deadline - clock()
        if left <= 0:
            break
        sleep(max(0.0, min(interval, left)))
        interval = min(poll, interval * 2)
        for coid, status in statuses.items():
            if not status.terminal:
                statuses[coid] = broker.get_by_client_id(coid) or status
    return statuses


def _describe(status: OrderStatus, waited: bool, timeout: float) -> str:
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


def execute_plan(
    plan: pd.DataFrame,
    broker: Broker,
    guards: Guards,
    last_close: pd.Series,
    *,
    kill_check: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> pd.DataFrame:
    """Run the plan: guards, market clock, sells, wait, buys (funded ones only), wait.

    Returns one row per planned order (:data:`OUTCOME_COLUMNS`). ``kill_check`` is asked before every
    submit (a kill switch engaged mid-run stops the remaining orders); ``log`` receives one line per
    notable event; ``sleep`` and ``clock`` (seconds) pace the waits for fills.
    """
    say = log or (lambda _msg: None)
    if guards.kill_switch:  # before the broker is even asked anything
        raise GuardError("kill switch engaged: no order sent")
    check_guards(plan, last_close, guards, broker.positions() if len(plan) else [])
    if plan.empty:
        return _frame(plan, {})
    market = broker.clock()
    if not market.is_open and not guards.queue_when_closed:
        return _not_sent_market_closed(plan, market.next_open.isoformat(), say)
    if not market.is_open:
        say(f"market closed: queueing orders for the next open ({market.next_open.isoformat()})")
    waited = market.is_open and guards.fill_timeout_seconds > 0
    outcomes: dict[str, dict] = {}
    for side in (Side.SELL, Side.BUY):
        rows = plan[plan["side"] == side]
        if rows.empty:
            continue
        gate = _funding_gate(plan, outcomes, broker, guards) if side == Side.BUY else None
        sent, killed = _send_side(rows, broker, gate, outcomes, kill_check, say)
        if waited:
            sent = _wait(broker, sent, guards.fill_timeout_seconds, guards.poll_seconds, sleep, clock)
        _record_final(sent, outcomes, waited, guards.fill_timeout_seconds, say)
        if killed:
            _not_sent_killed(plan, outcomes, say)
            break
    return _frame(plan, outcomes)


def _not_sent_market_closed(plan: pd.DataFrame, next_open: str, say: Callable[[str], None]) -> pd.DataFrame:
    note = (
        f"NOT SENT: market closed (next open {next_open}); "
        "set queue_when_closed=true to queue orders for the open"
    )
    say(note)
    return _frame(
        plan,
        {
            c: {"status": OrderState.NOT_SENT, "action": Action.NONE, "pending": True, "note": note}
            for c in plan["client_order_id"]
        },
    )


def _not_sent_killed(plan: pd.DataFrame, outcomes: dict[str, dict], say: Callable[[str], None]) -> None:
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


def _order_request(row: Any) -> tuple[OrderRequest, float]:
    """The broker request of one plan row and its value in dollars (the notional, else the estimate)."""
    notional = getattr(row, "notional", float("nan"))
    has_notional = notional is not None and not pd.isna(notional)
    order = OrderRequest(
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=Side(row.side),
        qty=None if has_notional else float(row.qty),
        notional=float(notional) if has_notional else None,
    )
    return order, float(notional) if has_notional else float(row.est_value)


def _send_side(
    rows: pd.DataFrame,
    broker: Broker,
    gate: Callable[[float], str] | None,
    outcomes: dict[str, dict],
    kill_check: Callable[[], bool] | None,
    say: Callable[[str], None],
) -> tuple[dict[str, OrderStatus], bool]:
    """Send one side's orders once each; returns the orders at the broker and whether the kill switch
    stopped the side. Orders not at the broker are recorded in ``outcomes`` (blocked or rejected)."""
    sent: dict[str, OrderStatus] = {}
    for row in rows.itertuples(index=False):
        if kill_check is not None and kill_check():
            return sent, True
        order, value = _order_request(row)
        coid = order.client_order_id
        status, action, note = send_once(broker, order, None if gate is None else lambda v=value: gate(v))
        if status is None:
            say(f"{coid}: {note}")
            blocked = action == Action.NONE
            outcomes[coid] = {
                "status": OrderState.BLOCKED if blocked else OrderState.REJECTED,
                "action": action,
                "pending": blocked,
                "note": note,
            }
            continue
        if action == Action.FOUND and not _matches(status, order):
            note = (
                f"CONFLICT: id already used at the broker for {status.side} {status.qty} {status.symbol}, "
                f"not the planned {order.side} {order.qty} {order.symbol}; not sent"
            )
            say(f"{coid}: {note}")
        sent[coid] = status
        outcomes[coid] = {"action": action, "note": note}
    return sent, False


def _record_final(
    final: dict[str, OrderStatus],
    outcomes: dict[str, dict],
    waited: bool,
    timeout: float,
    say: Callable[[str], None],
) -> None:
    """Each order at the broker: its last status, fills and what needs attention, into ``outcomes``."""
    for coid, status in final.items():
        detail = _describe(status, waited, timeout)
        if detail:
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


def _funding_gate(
    plan: pd.DataFrame, outcomes: dict[str, dict], broker: Broker, guards: Guards
) -> Callable[[float], str] | None:
    """None when every sell filled (the plan funds its buys). Otherwise a gate for each buy not yet at
    the broker: it may go only if the cash left covers it with the price band as a margin; the buys
    the unfilled sells would have funded are blocked, with the reason."""
    sells = plan[plan["side"] == Side.SELL]
    unfilled = [
        (
            row.symbol,
            row.client_order_id,
            outcomes.get(row.client_order_id, {}).get("status", OrderState.NOT_SENT),
        )
        for row in sells.itertuples(index=False)
        if outcomes.get(row.client_order_id, {}).get("status") != OrderState.FILLED
    ]
    if not unfilled:
        return None
    what = ", ".join(f"{symbol} ({coid}, {status})" for symbol, coid, status in unfilled)
    left = [broker.account().cash]

    def gate(value: float) -> str:
        need = value * (1 + guards.price_band)
        if need <= left[0]:
            left[0] -= need
            return ""
        return (
            f"BLOCKED: sell {what} did not fill and this buy needs its proceeds (about ${need:,.2f} with "
            f"the price band, cash left ${left[0]:,.2f}); re-run this rebalance once the sell has filled"
        )

    return gate


def _frame(plan: pd.DataFrame, outcomes: dict[str, dict]) -> pd.DataFrame:
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
    return merged[OUTCOME_COLUMNS]


def reconcile(plan: pd.DataFrame, positions: dict[str, float], tolerance: float = 1e-6) -> pd.DataFrame:
    """Broker positions against the plan's target quantities: one row per planned symbol that differs.

    Notional buys (a dollar amount) are compared with a 2 % tolerance: their share count is an estimate.
    """
    columns = ["symbol", "target_qty", "broker_qty", "difference"]
    if plan.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c != "symbol" else object) for c in columns})
    target = plan.groupby("symbol")["target_qty"].last()
    symbols = sorted(target.index)
    broker_qty = pd.Series(positions, dtype=float).reindex(symbols).fillna(0.0)
    diff = pd.DataFrame(
        {
            "symbol": symbols,
            "target_qty": target.reindex(symbols).to_numpy(dtype=float),
            "broker_qty": broker_qty.to_numpy(dtype=float),
        }
    )
    diff["difference"] = diff["broker_qty"] - diff["target_qty"]
    allowed = pd.Series(tolerance, index=diff.index)
    if "notional" in plan:
        estimated = set(plan.loc[plan["notional"].notna(), "symbol"])
        rel = diff["symbol"].isin(estimated).to_numpy()
        allowed[rel] = (diff.loc[rel, "target_qty"].abs() * 0.02).clip(lower=tolerance)
    return diff[diff["difference"].abs() > allowed].reset_index(drop=True)
