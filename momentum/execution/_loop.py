"""Send an order plan to a broker exactly once: guards, market clock, sells first, bounded waits,
reconciliation.

Each order goes through :func:`~momentum.execution.send_once`: looked up by its deterministic
``client_order_id`` before any submit, never re-sent once the broker has it (the rules are in
:mod:`momentum.execution`). A partial fill is reported ``partially_filled`` and not re-sent by
this run; the rows of ``executions`` are built in :mod:`momentum.execution`.

With ``order_timing`` close or open, every order is an on-close / on-open auction order (``cls`` /
``opg``, whole shares): sent only while Alpaca's window for it is open (else held back, ``blocked``,
with a note naming when the window reopens), sells and buys together (they fill in the same auction,
so the buys are not held back for the sells' proceeds), not waited for: they stay pending, queued for
their auction, and the next run of the rebalance finds them filled.

With ``market``, sells go first and are waited for (bounded by ``fill_timeout_seconds``). A sell that did
not fill blocks the buys it would fund: each buy not yet at the broker goes only while the cash left covers it
(with the price band as a margin); the others are recorded ``blocked`` with the reason. The open sell
is left at the broker (a day order); a later run of the same rebalance finds it and, once it has
filled, sends the blocked buys.

Nothing here imports Prefect: logging goes through the ``log`` callable a caller passes in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from momentum.brokers.auction import TIME_IN_FORCE, AuctionSlot, auction_slot
from momentum.brokers.base import Broker, OrderRequest, OrderState, OrderStatus, Side
from momentum.execution._exactly_once import Action, matches, send_once
from momentum.execution._guards import Guards, check_guards
from momentum.execution._kill_switch import KillSwitch
from momentum.execution._outcomes import (
    not_sent_killed,
    not_sent_market_closed,
    outcome_frame,
    record_final,
)


def _quiet(_message: str) -> None:
    """A log that says nothing."""


@dataclass(frozen=True)
class ExecutionHooks:
    """What the order loop asks of its caller: the ``kill_switch``, asked before the broker is and before
    every submit (engaged mid-run, it stops the remaining orders), ``log`` one line per notable event, and
    ``sleep`` and ``clock`` (seconds) to pace the waits for fills."""

    kill_switch: KillSwitch = field(default_factory=KillSwitch)
    log: Callable[[str], None] = _quiet
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def execute_plan(
    plan: pd.DataFrame,
    broker: Broker,
    guards: Guards,
    last_close: pd.Series,
    hooks: ExecutionHooks = ExecutionHooks(),
) -> pd.DataFrame:
    """Run the plan: guards, market clock, sells, wait, buys (funded ones only), wait.

    Returns one row per planned order (:data:`~momentum.execution.OUTCOME_COLUMNS`).
    """
    say = hooks.log
    hooks.kill_switch.check()  # before the broker is even asked anything
    check_guards(plan, last_close, guards, broker.positions() if len(plan) else [])
    if plan.empty:
        return outcome_frame(plan, {})
    market = broker.clock()
    time_in_force = TIME_IN_FORCE[guards.order_timing]
    if time_in_force != "day":
        slot = auction_slot(time_in_force, market.timestamp)
        say(slot.describe() if slot.accepted else f"NOT SENT: {slot.describe()}")
        return outcome_frame(plan, _sells_then_buys(plan, broker, guards, False, hooks, slot), slot)
    if not market.is_open and not guards.queue_when_closed:
        return not_sent_market_closed(plan, market.next_open.isoformat(), say)
    if not market.is_open:
        say(f"market closed: queueing orders for the next open ({market.next_open.isoformat()})")
    waited = market.is_open and guards.fill_timeout_seconds > 0
    outcomes = _sells_then_buys(plan, broker, guards, waited, hooks)
    return outcome_frame(plan, outcomes)


def _sells_then_buys(
    plan: pd.DataFrame,
    broker: Broker,
    guards: Guards,
    waited: bool,
    hooks: ExecutionHooks,
    auction: AuctionSlot | None = None,
) -> dict[str, dict]:
    """The order loop: each side's orders sent once (sells, then the buys they fund), then waited for
    when ``waited``; a kill switch engaged mid-run records the rest not sent. Returns the outcomes.

    With an ``auction``, both sides are sent as its auction orders and no buy is held back for the
    sells' proceeds (they fill in the same auction)."""
    outcomes: dict[str, dict] = {}
    tif = "day" if auction is None else auction.time_in_force
    queued = auction.describe() if auction is not None and auction.accepted else ""
    for side in (Side.SELL, Side.BUY):
        rows = plan[plan["side"] == side]
        if rows.empty:
            continue
        gate = (
            _funding_gate(plan, outcomes, broker, guards)
            if side == Side.BUY and auction is None
            else _window_gate(auction)
        )
        sent, killed = _send_side(rows, broker, gate, outcomes, hooks, tif)
        if waited:
            sent = _wait(broker, sent, guards, hooks)
        record_final(sent, outcomes, waited, guards.fill_timeout_seconds, hooks.log, queued)
        if killed:
            not_sent_killed(plan, outcomes, hooks.log)
            break
    return outcomes


def _order_request(row: Any, time_in_force: str) -> tuple[OrderRequest, float]:
    """The broker request of one plan row and its value in dollars (the notional, else the estimate)."""
    notional = getattr(row, "notional", float("nan"))
    has_notional = notional is not None and not pd.isna(notional)
    order = OrderRequest(
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=Side(row.side),
        qty=None if has_notional else float(row.qty),
        notional=float(notional) if has_notional else None,
        time_in_force=time_in_force,
    )
    return order, float(notional) if has_notional else float(row.est_value)


def _send_side(
    rows: pd.DataFrame,
    broker: Broker,
    gate: Callable[[float], str] | None,
    outcomes: dict[str, dict],
    hooks: ExecutionHooks,
    time_in_force: str = "day",
) -> tuple[dict[str, OrderStatus], bool]:
    """Send one side's orders once each; returns the orders at the broker and whether the kill switch
    stopped the side. Orders not at the broker are recorded in ``outcomes`` (blocked or rejected)."""
    say = hooks.log
    sent: dict[str, OrderStatus] = {}
    for row in rows.itertuples(index=False):
        if hooks.kill_switch.engaged():
            return sent, True
        order, value = _order_request(row, time_in_force)
        coid = order.client_order_id
        outcome = send_once(broker, order, None if gate is None else partial(gate, value))
        status, action, note = outcome.status, outcome.action, outcome.note
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
        if action == Action.FOUND and not matches(status, order):
            note = (
                f"CONFLICT: id already used at the broker for {status.side} {status.qty} {status.symbol}, "
                f"not the planned {order.side} {order.qty} {order.symbol}; not sent"
            )
            say(f"{coid}: {note}")
        sent[coid] = status
        outcomes[coid] = {"action": action, "note": note}
    return sent, False


def _window_gate(auction: AuctionSlot | None) -> Callable[[float], str] | None:
    """None while the ``auction``'s window is open (or for day orders); else a gate holding back every
    order the broker does not have yet, saying when the window reopens."""
    if auction is None or auction.accepted:
        return None
    return lambda _value: f"NOT SENT: {auction.describe()}"


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


def _wait(
    broker: Broker, statuses: dict[str, OrderStatus], guards: Guards, hooks: ExecutionHooks
) -> dict[str, OrderStatus]:
    """Poll the non-final orders (backing off to every ``guards.poll_seconds``) until all are final or
    ``guards.fill_timeout_seconds`` have passed."""
    sleep, clock, poll = hooks.sleep, hooks.clock, guards.poll_seconds
    deadline = clock() + guards.fill_timeout_seconds
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
