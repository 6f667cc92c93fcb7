"""Alpaca Trading API v2 adapter for the :class:`~momentum.brokers.base.Broker` seam.

The HTTP exchanges, the keys (only in request headers, scrubbed from every text we surface, never in
``repr(broker)``) and the bounded retries of reads live in ``alpaca_http.py``; this module holds the
broker's account, position, clock and order methods and the idempotency of ``submit``.

Retry and idempotency rules
---------------------------
* Every exchange ends within the policy's ``attempt_seconds`` (a server that trickles its answer is cut
  off: a timeout), every operation within its ``operation_seconds`` (retries included).
* Reads (GET) and cancels (DELETE) retry on 429, 5xx, timeouts and connection errors, at most
  ``max_retries`` times, then raise :class:`BrokerUnavailable`. A 429 waits for ``Retry-After``
  (seconds or an HTTP date), else ``X-RateLimit-Reset`` (unix seconds), else exponential backoff.
* ``submit`` (POST /v2/orders) never blindly resubmits. A 429 means the request was not processed, so
  it waits and re-posts. A 5xx, timeout (the deadline's included) or connection error leaves the
  outcome unknown: the order is
  looked up by ``client_order_id`` first; if the broker has it, that order is returned; otherwise the
  POST is retried (bounded). A duplicate-id rejection on a *retry* that follows an unknown outcome is
  our own earlier attempt having landed: the existing order is fetched and returned (after checking
  symbol and side match). A duplicate-id rejection on the *first* attempt raises
  :class:`DuplicateOrderError`.
* Alpaca uses code 40010001 for many validation errors ("asset not found", "qty must be > 0", ...),
  so a 422 is treated as a duplicate only when its message says the client_order_id must be unique.
* Any other 4xx raises :class:`BrokerError` with method, path, status and Alpaca's ``message``.
* On-close / on-open orders (``cls`` / ``opg``) are judged before anything is sent: not whole shares,
  or sent while their window is shut (:func:`~momentum.brokers.auction.auction_slot`, on the broker's
  own ``GET /v2/clock`` time), they raise :class:`AuctionOrderRefused` naming when the window reopens.
  One clock reading serves a batch: it is reused, advanced by the local monotonic clock, for
  ``CLOCK_REUSE_SECONDS``, then asked again.
* Alpaca sends numbers as strings: every number is parsed and must be finite; a missing or malformed
  field raises :class:`BrokerError` naming the field (the wire format lives in ``alpaca_wire.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

import pandas as pd
import requests

from momentum.brokers import PAPER_ALPACA_HOST
from momentum.brokers.alpaca_http import TradingClient, _OutcomeUnknown, check_base_url
from momentum.brokers.alpaca_wire import (
    check_client_order_id,
    check_same_order,
    is_duplicate,
    number,
    order_body,
    order_words,
    parse_account,
    parse_order,
    text_field,
    timestamp_field,
)
from momentum.brokers.auction import AUCTION, auction_slot
from momentum.brokers.base import (
    Account,
    AuctionOrderRefused,
    BrokerError,
    BrokerUnavailable,
    DuplicateOrderError,
    MarketClock,
    OrderRequest,
    OrderStatus,
    Position,
)
from momentum.http_retry import HttpPolicy

log = logging.getLogger(__name__)

LIVE_HOST = "api.alpaca.markets"

OPEN_ORDERS_LIMIT = 500  # Alpaca's maximum page size (default is 50)
ORDERS = "/v2/orders"
CLOCK_REUSE_SECONDS = 30.0  # how long one broker clock reading judges auction windows (a submit batch)


class AlpacaBroker:
    """Alpaca Trading API v2 over HTTPS; ``live`` must agree with the endpoint."""

    name = "alpaca"
    supports_fractional = True  # fractional qty and notional orders (time_in_force=day, fractionable assets)

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret_key: str,
        *,
        live: bool,
        session: requests.Session | None = None,
        policy: HttpPolicy | None = None,
    ) -> None:
        if not key_id or not secret_key:
            raise ValueError("AlpacaBroker needs both an API key id and a secret key")
        host = check_base_url(base_url)
        if host == LIVE_HOST and not live:
            raise ValueError(f"{LIVE_HOST} is the live (real-money) endpoint but live=False")
        if host == PAPER_ALPACA_HOST and live:
            raise ValueError(f"{PAPER_ALPACA_HOST} is the paper endpoint but live=True")
        self.base_url = base_url.rstrip("/")
        self.live = bool(live)
        self._http = TradingClient(
            self.base_url, key_id, secret_key, session=session, policy=policy or HttpPolicy()
        )
        self._clock_reading: tuple[pd.Timestamp, float] | None = None  # (broker time, local monotonic)

    def __repr__(self) -> str:
        return f"AlpacaBroker(base_url={self.base_url!r}, live={self.live}, key_id='***')"

    __str__ = __repr__

    # ------------------------------------------------------------------ Broker protocol

    def account(self) -> Account:
        """Cash and equity; raises :class:`~momentum.errors.PermanentError` (before any planning) when
        the account cannot trade (status not ACTIVE, or blocked)."""
        data = self._expect_object(self._http.get("/v2/account"), "GET /v2/account")
        return parse_account(data, where=f"Alpaca account at {self.base_url}")

    def positions(self) -> list[Position]:
        data = self._http.get("/v2/positions")
        if not isinstance(data, list):
            raise BrokerError("GET /v2/positions: expected a JSON array")
        out = []
        for i, item in enumerate(data):
            where = f"positions[{i}]"
            if not isinstance(item, dict):
                raise BrokerError(f"GET /v2/positions: {where} is not an object")
            out.append(
                Position(
                    symbol=text_field(item, "symbol", where),
                    qty=number(item, "qty", where),
                    market_value=number(item, "market_value", where),
                )
            )
        return out

    def clock(self) -> MarketClock:
        data = self._expect_object(self._http.get("/v2/clock"), "GET /v2/clock")
        where = "clock"
        is_open = data.get("is_open")
        if not isinstance(is_open, bool):
            raise BrokerError(f"{where}: field 'is_open' missing or not a boolean")
        return MarketClock(
            timestamp=timestamp_field(data, "timestamp", where),
            is_open=is_open,
            next_open=timestamp_field(data, "next_open", where),
            next_close=timestamp_field(data, "next_close", where),
        )

    def get_by_client_id(self, client_order_id: str) -> OrderStatus | None:
        check_client_order_id(client_order_id)
        path = "/v2/orders:by_client_order_id"
        data = self._http.get(path, params={"client_order_id": client_order_id}, none_on_404=True)
        if data is None:
            return None
        order = self._order(data, f"GET {path}")
        if order.client_order_id != client_order_id:
            raise BrokerError(
                f"GET {path}: asked for client_order_id {client_order_id!r}, got {order.client_order_id!r}"
            )
        return order

    def open_orders(self) -> list[OrderStatus]:
        path = "/v2/orders"
        data = self._http.get(
            path, params={"status": "open", "limit": str(OPEN_ORDERS_LIMIT), "direction": "asc"}
        )
        if not isinstance(data, list):
            raise BrokerError(f"GET {path}: expected a JSON array")
        if len(data) >= OPEN_ORDERS_LIMIT:
            # A full page may hide more open orders; acting on a partial list is unsafe.
            raise BrokerError(f"GET {path}: {len(data)} open orders (a full page); refusing a partial list")
        return [self._order(item, f"GET {path} [{i}]") for i, item in enumerate(data)]

    def cancel(self, broker_order_id: str) -> None:
        if not isinstance(broker_order_id, str) or not broker_order_id.strip():
            raise ValueError("broker_order_id must be a non-empty string")
        self._http.request("DELETE", f"/v2/orders/{quote(broker_order_id, safe='')}")

    def submit(self, order: OrderRequest) -> OrderStatus:
        """POST the order; on an unknown outcome look it up by id before any re-post (see the module doc)."""
        body, cid, retries = order_body(order), order.client_order_id, self._http.max_retries
        self._check_auction_window(order)
        outcome_unknown = False  # has an earlier attempt possibly landed?
        last, deadline, attempts = "no attempt made", self._http.policy.operation(), 0
        while attempts <= retries and not deadline.expired:
            if attempts:
                log.info("alpaca POST %s: retry %d for client_order_id %s", ORDERS, attempts, cid)
            attempts += 1
            try:
                resp = self._http.send("POST", ORDERS, deadline, json=body)
            except _OutcomeUnknown as unk:
                last = unk.description
            else:
                if resp.status_code != 429:
                    return self._answered(resp, order, outcome_unknown)
                last = "HTTP 429"  # not processed: wait and post again
                if attempts <= retries:
                    self._http.wait_rate_limit(resp, attempts - 1, f"POST {ORDERS}", deadline)
                continue
            outcome_unknown = True
            existing = self._landed(order, last)  # a lookup of its own: asked even once the deadline passed
            if existing is not None:
                return existing
            if attempts <= retries:
                self._http.pause(self._http.backoff(attempts - 1), deadline)
        raise BrokerUnavailable(
            f"{self._http.gave_up(self._http.endpoint('POST', ORDERS), attempts, last, deadline)} for "
            f"client_order_id {cid!r}; the order may or may not be booked: look it up before any resubmit"
        )

    def _check_auction_window(self, order: OrderRequest) -> None:
        """Refuse, before sending, a ``cls`` / ``opg`` order that Alpaca would refuse at this moment."""
        if order.time_in_force not in AUCTION:
            return
        slot = auction_slot(order.time_in_force, self._broker_now())
        if not slot.accepted:
            raise AuctionOrderRefused(
                f"{order_words(order)} was not sent: {slot.describe()}",
                f"Alpaca at {self.base_url}",
                "run again once the window reopens, or set order_timing=market",
            )

    def _broker_now(self) -> pd.Timestamp:
        """The broker's time: one ``GET /v2/clock`` reading, advanced locally, reused for a batch."""
        local = time.monotonic()
        if self._clock_reading is None or local - self._clock_reading[1] > CLOCK_REUSE_SECONDS:
            self._clock_reading = (pd.Timestamp(self.clock().timestamp), local)
        reading, at = self._clock_reading
        return reading + pd.Timedelta(seconds=local - at)

    def _answered(self, resp: requests.Response, order: OrderRequest, outcome_unknown: bool) -> OrderStatus:
        """The broker answered (never 5xx or 429 here): a 2xx is the booked order; a duplicate-id 422
        after an unknown outcome is our own earlier attempt having landed; anything else refuses."""
        cid, status = order.client_order_id, resp.status_code
        if 200 <= status < 300:
            result = self._order(self._http.json(resp, "POST", ORDERS), f"POST {ORDERS}")
            if result.client_order_id != cid:
                raise BrokerError(
                    f"POST {ORDERS}: sent client_order_id {cid!r}, got {result.client_order_id!r}"
                )
            return result
        message = self._http.error_message(resp)
        if status == 422 and is_duplicate(message):
            existing = self.get_by_client_id(cid) if outcome_unknown else None
            if existing is not None:
                check_same_order(existing, order)
                log.info("alpaca POST %s: earlier attempt for %s had landed", ORDERS, cid)
                return existing
            raise DuplicateOrderError(
                f"POST {ORDERS} -> 422: client_order_id {cid!r} already used: {message}"
            )
        raise BrokerError(f"POST {ORDERS} -> {status}: {message}")

    def _landed(self, order: OrderRequest, last: str) -> OrderStatus | None:
        """After an unknown outcome: the booked order with our id (checked to be the same), or None."""
        log.warning(
            "alpaca POST %s: outcome unknown for %s (%s); looking it up", ORDERS, order.client_order_id, last
        )
        existing = self.get_by_client_id(order.client_order_id)
        if existing is not None:
            check_same_order(existing, order)
        return existing

    # ------------------------------------------------------------------ parsing

    @staticmethod
    def _expect_object(data: Any, what: str) -> dict:
        """``data`` if it is a JSON object, else :class:`BrokerError` naming ``what``."""
        if not isinstance(data, dict):
            raise BrokerError(f"{what}: expected a JSON object")
        return data

    def _order(self, data: Any, what: str) -> OrderStatus:
        """The order in an Alpaca JSON object; a malformed one raises naming ``what`` (scrubbed)."""
        try:
            return parse_order(data)
        except BrokerError as exc:
            raise BrokerError(self._http.scrub(f"{what}: {exc}")) from None
