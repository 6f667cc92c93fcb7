"""Alpaca Trading API v2 wire format: order bodies out, JSON replies in, rate-limit headers.

Alpaca sends numbers as strings, and some replies (its own SDK's fixtures, e.g. a listed order with
``"filled_qty": 0, "filled_avg_price": 0``) as JSON numbers: both are accepted; every number is parsed
and must be finite, and a missing or malformed field raises :class:`BrokerError` naming the field. An
order not filled at all may carry ``filled_avg_price`` 0 (or null): it means no fill price yet.
An account that cannot trade (``status`` not ACTIVE, ``trading_blocked``, ``account_blocked``,
``trade_suspended_by_user``) raises :class:`~momentum.errors.PermanentError`: the run stops before planning.
On-close / on-open orders (``time_in_force`` ``cls`` / ``opg``) are whole shares only: Alpaca answers a
fractional or notional one with 422 ``fractional orders must be DAY orders``, so :func:`order_body` refuses
it before anything is sent (:class:`AuctionOrderRefused`).
Pure functions: no HTTP here (``alpaca_http.py`` does it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from momentum.brokers.base import (
    Account,
    AuctionOrderRefused,
    BrokerError,
    DuplicateOrderError,
    OrderRequest,
    OrderStatus,
)
from momentum.errors import PermanentError
from momentum.portfolio import MAX_CLIENT_ORDER_ID

TIME_IN_FORCES = ("day", "cls", "opg")  # a day market order, the closing auction, the opening auction
TRADING_FLAGS = ("trading_blocked", "account_blocked", "trade_suspended_by_user")  # any True: no trading


def is_duplicate(message: str) -> bool:
    text = message.lower()
    return "client_order_id" in text and "unique" in text


def check_client_order_id(client_order_id: str) -> None:
    if not isinstance(client_order_id, str) or not client_order_id.strip():
        raise ValueError("client_order_id must be a non-empty string")
    if len(client_order_id) > MAX_CLIENT_ORDER_ID:
        raise ValueError(f"client_order_id longer than {MAX_CLIENT_ORDER_ID} characters")


def format_qty(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text


def order_words(order: OrderRequest) -> str:
    """The order in a trader's words: ``cls order 'cid' (buy 10 shares of AAPL)``."""
    amount = (
        f"${order.notional:.2f} of"
        if order.notional is not None
        else f"{format_qty(float(order.qty or 0))} shares of"
    )
    return f"{order.time_in_force} order {order.client_order_id!r} ({order.side} {amount} {order.symbol})"


def check_whole_shares(order: OrderRequest) -> None:
    """An on-close / on-open order must be a whole number of shares (Alpaca refuses anything else)."""
    if order.time_in_force == "day":
        return
    if order.qty is not None and float(order.qty).is_integer():
        return
    raise AuctionOrderRefused(
        f"{order_words(order)} is not whole shares and was not sent",
        "Alpaca takes on-close and on-open orders in whole shares only",
        "set fractional=false and notional_orders=false, or order_timing=market",
    )


def order_body(order: OrderRequest) -> dict[str, str]:
    check_client_order_id(order.client_order_id)
    if order.time_in_force not in TIME_IN_FORCES:
        raise ValueError(f"time_in_force must be one of {TIME_IN_FORCES}, got {order.time_in_force!r}")
    if not isinstance(order.symbol, str) or not order.symbol.strip():
        raise ValueError("symbol must be a non-empty string")
    if order.side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {order.side!r}")
    if (order.qty is None) == (order.notional is None):
        raise ValueError("exactly one of qty and notional must be set")
    body = {
        "symbol": order.symbol,
        "side": order.side,
        "type": "market",
        "time_in_force": order.time_in_force,
        "client_order_id": order.client_order_id,
    }
    if order.qty is not None:
        qty = float(order.qty)
        if not math.isfinite(qty) or qty <= 0:
            raise ValueError(f"qty must be a positive finite number, got {order.qty!r}")
        text = format_qty(qty)
        if float(text) <= 0:
            raise ValueError(f"qty {order.qty!r} rounds to zero at 9 decimals")
        body["qty"] = text
    else:
        notional = float(order.notional)  # type: ignore[arg-type]
        if not math.isfinite(notional) or notional <= 0:
            raise ValueError(f"notional must be a positive finite number, got {order.notional!r}")
        text = f"{notional:.2f}"
        if float(text) <= 0:
            raise ValueError(f"notional {order.notional!r} rounds to zero cents")
        body["notional"] = text
    check_whole_shares(order)
    return body


def to_float(value: Any, field: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BrokerError(
            f"{where}: field '{field}' is not a number (a string or a JSON number): {type(value).__name__}"
        )
    try:
        out = float(value)
    except ValueError:
        raise BrokerError(f"{where}: field '{field}' is not a number: {str(value)[:40]!r}") from None
    if not math.isfinite(out):
        raise BrokerError(f"{where}: field '{field}' is not finite: {str(value)[:40]!r}")
    return out


def number(data: Mapping[str, Any], field: str, where: str) -> float:
    if field not in data or data[field] is None:
        raise BrokerError(f"{where}: field '{field}' missing")
    return to_float(data[field], field, where)


def optional_number(data: Mapping[str, Any], field: str, where: str) -> float | None:
    value = data.get(field)
    return None if value is None else to_float(value, field, where)


def text_field(data: Mapping[str, Any], field: str, where: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value:
        raise BrokerError(f"{where}: field '{field}' missing or not a non-empty string")
    return value


def timestamp_field(data: Mapping[str, Any], field: str, where: str) -> datetime:
    text = text_field(data, field, where)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BrokerError(f"{where}: field '{field}' is not an ISO-8601 timestamp: {text[:40]!r}") from None
    if value.tzinfo is None:
        raise BrokerError(f"{where}: field '{field}' has no UTC offset: {text[:40]!r}")
    return value


def parse_order(data: Any) -> OrderStatus:
    where = "order"
    if not isinstance(data, dict):
        raise BrokerError(f"{where}: expected a JSON object")
    side = text_field(data, "side", where)
    if side not in ("buy", "sell"):
        raise BrokerError(f"{where}: field 'side' is {side!r}, expected 'buy' or 'sell'")
    qty = optional_number(data, "qty", where)
    if "filled_qty" not in data:
        raise BrokerError(f"{where}: field 'filled_qty' missing")
    filled_qty = optional_number(data, "filled_qty", where) or 0.0
    filled_avg_price = optional_number(data, "filled_avg_price", where)
    if qty is not None and qty < 0:
        raise BrokerError(f"{where}: field 'qty' is negative")
    if filled_qty < 0:
        raise BrokerError(f"{where}: field 'filled_qty' is negative")
    if filled_qty == 0 and filled_avg_price == 0:
        filled_avg_price = None  # nothing filled yet: no fill price (Alpaca may send 0 rather than null)
    if filled_avg_price is not None and filled_avg_price <= 0:
        raise BrokerError(f"{where}: field 'filled_avg_price' is not positive")
    return OrderStatus(
        client_order_id=text_field(data, "client_order_id", where),
        broker_order_id=text_field(data, "id", where),
        symbol=text_field(data, "symbol", where),
        side=side,  # type: ignore[arg-type]
        status=text_field(data, "status", where),
        qty=qty,
        filled_qty=filled_qty,
        filled_avg_price=filled_avg_price,
    )


def check_same_order(existing: OrderStatus, order: OrderRequest) -> None:
    """The id is ours, but make sure the booked order is the one we meant to place."""
    if existing.symbol != order.symbol or existing.side != order.side:
        raise DuplicateOrderError(
            f"client_order_id {order.client_order_id!r} is booked as {existing.side} {existing.symbol}, "
            f"not {order.side} {order.symbol}"
        )


def parse_account(data: Mapping[str, Any], where: str) -> Account:
    """Cash and equity of ``GET /v2/account``, once the account is known to be able to trade."""
    account = Account(cash=number(data, "cash", "account"), equity=number(data, "equity", "account"))
    status = text_field(data, "status", "account")
    flags = [flag for flag in TRADING_FLAGS if data.get(flag) is True]
    odd = [flag for flag in TRADING_FLAGS if data.get(flag) not in (None, True, False)]
    if odd:
        raise BrokerError(f"account: field '{odd[0]}' is not a boolean")
    if status != "ACTIVE" or flags:
        why = ", ".join([f"status {status}"] * (status != "ACTIVE") + flags)
        raise PermanentError(
            f"the account cannot trade ({why}); nothing was planned or sent",
            where,
            "resolve it in the Alpaca dashboard or with Alpaca support, then run again",
        )
    return account
