"""The trade notification: what an executed rebalance bought and sold, in a ready-to-send message.

:func:`trade_notice` reads the run summary (``RunSummary.to_json()``) and returns the payload of the
``momentum.rebalance.executed`` event, or None when the run executed nothing. The automation that
``momentum automations --trades`` creates sends the payload's ``subject`` and ``message``.
"""

from __future__ import annotations

from typing import Any

from momentum.run._contracts import ExecutionHeadline, Records
from momentum.run._summary import attention_line

REBALANCE_EXECUTED = "momentum.rebalance.executed"


def executed_orders(fills: Records) -> Records:
    """The orders with a filled quantity (whole or partial): side, symbol, quantity, average fill price."""
    return [
        {
            "side": row["side"],
            "symbol": row["symbol"],
            "qty": float(row["filled_qty"]),
            "price": float(row["filled_avg_price"]),
        }
        for row in fills
        if (row.get("filled_qty") or 0) > 0
    ]


def traded_this_run(fills: Records) -> bool:
    """True when an order filled during this run (``filled_this_run``: since the rebalance's previous
    executions), whether this run sent it or found it filled (an on-close order queued by the run before);
    a rerun that finds nothing new announces nothing."""
    return any((row.get("filled_this_run") or 0) > 0 for row in fills)


def flow_run_link(ui_url: str | None, flow_run_id: str) -> str:
    """The flow run's page in the Prefect UI, or its id when no UI address is known."""
    if not ui_url:
        return f"flow run {flow_run_id}"
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"


def trade_notice(summary: dict[str, Any], flow_run_id: str, ui_url: str | None) -> dict[str, Any] | None:
    """The event payload of an executed rebalance: ``subject`` and ``message`` (plain text) and the
    structured fields they are made of; None when this run filled nothing."""
    fills = summary.get("fills") or []
    if not traded_this_run(fills):
        return None
    orders = executed_orders(fills)
    account = summary.get("account") or {}
    signal = summary["rebalance"].get("signal_session") or summary["as_of"]
    link = flow_run_link(ui_url, flow_run_id)
    fields: dict[str, Any] = {
        "signal_session": signal,
        "as_of": summary["as_of"],
        "broker": summary["broker"],
        "orders": orders,
        "positions": [
            {"symbol": p["symbol"], "qty": float(p["qty"]), "market_value": float(p["market_value"])}
            for p in account.get("positions", [])
        ],
        "cash": account.get("cash"),
        "value": account.get("value"),
        "shortfall": summary.get("shortfall"),
        "flow_run_id": flow_run_id,
        "link": link,
    }
    subject = f"momentum: rebalance of {signal} executed ({_count(orders)}, {summary['broker']} broker)"
    lines = [subject, "", "Orders:", *[f"  {_order_line(o)}" for o in orders]]
    execution = summary.get("execution")
    if execution and execution["attention"]:
        lines.append(f"  {attention_line(ExecutionHeadline(**execution))}: see the failure notification")
    lines += ["", "Portfolio:", *_portfolio_lines(fields), "", _shortfall_line(fields["shortfall"]), link]
    return {"subject": subject, "message": "\n".join(lines), **fields}


def _count(orders: Records) -> str:
    buys = sum(o["side"] == "buy" for o in orders)
    sells = len(orders) - buys
    return f"{buys} buy{'s' * (buys != 1)}, {sells} sell{'s' * (sells != 1)}"


def _order_line(order: dict[str, Any]) -> str:
    """``BUY 12 AAPL @ 189.23``."""
    return f"{order['side'].upper()} {_quantity(order['qty'])} {order['symbol']} @ {_price(order['price'])}"


def _portfolio_lines(fields: dict[str, Any]) -> list[str]:
    positions = [
        f"  {p['symbol']} {_quantity(p['qty'])} shares, {_money(p['market_value'])}"
        for p in fields["positions"]
    ]
    if fields["cash"] is None:
        return [*positions, "  cash: not known (no account snapshot)"]
    return [*positions, f"  cash {_money(fields['cash'])}, account value {_money(fields['value'])}"]


def _shortfall_line(shortfall: dict[str, Any] | None) -> str:
    """``shortfall: +3.1 bps (+$12.40) ...`` once the reference price is known."""
    if not shortfall or shortfall.get("bps") is None:
        note = f" ({shortfall['note']})" if shortfall and shortfall.get("note") else ""
        return f"shortfall: not known yet{note}"
    dollars = shortfall.get("dollars")
    money = "" if dollars is None else f" ({'+' if dollars >= 0 else ''}{_money(dollars)})"
    note = f": {shortfall['note']}" if shortfall.get("note") else ""
    return f"shortfall: {shortfall['bps']:+.1f} bps{money}{note}"


def _quantity(qty: float) -> str:
    """Whole shares without decimals, fractions as the broker filled them (``12``, ``0.5``)."""
    return str(int(qty)) if float(qty).is_integer() else f"{qty:.6f}".rstrip("0")


def _price(price: float) -> str:
    """At least cents, up to four decimals (``189.23``, ``62.609``)."""
    text = f"{price:.4f}".rstrip("0")
    return text + "0" * (2 - len(text.split(".")[1]))


def _money(amount: float) -> str:
    """``$1,234.50``, ``-$12.00``."""
    return f"{'-' * (amount < 0)}${abs(amount):,.2f}"
