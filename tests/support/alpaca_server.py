"""A local, in-memory Alpaca Trading API v2 look-alike for tests.

Speaks the wire format the adapter relies on (numbers as strings, ``{"code", "message"}`` errors,
``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` auth) over real HTTP on 127.0.0.1 (port 0), so the
adapter's retries, timeouts and parsing are exercised end to end.

Usage::

    with AlpacaServer(prices={"AAPL": 200.0}) as srv:
        broker = AlpacaBroker(srv.base_url, srv.key_id, srv.secret_key, live=False)
        srv.fail_next("submit", 1, status=500, after_accept=True)
        ...
        assert srv.booked_count("cid-1") == 1

Routes (names used by the fault knobs): ``account``, ``positions``, ``submit`` (POST /v2/orders),
``by_client_order_id``, ``list_orders`` (GET /v2/orders), ``get_order`` (GET /v2/orders/{id}),
``cancel`` (DELETE /v2/orders/{id}), ``clock``.

Fault knobs (each consumes one queued fault per request to that route, in order):

* ``fail_next(route, n, status=500|429, after_accept=False, retry_after=None, rate_limit_reset=None)``
  -- answer the next ``n`` requests with ``status``. With ``after_accept=True`` on ``submit`` the
  order is booked first (the 5xx then hides a success).
* ``delay_next(route, seconds, n=1)`` -- process the request (book the order for ``submit``), then
  hold the response ``seconds`` before sending it: with a shorter client timeout this is "accepted,
  then timed out". ``accept_then_timeout(seconds, n=1)`` is the ``submit`` shorthand.
* ``trickle_next(route, seconds_per_byte=2.0, n=1)`` -- process the request (book the order for
  ``submit``), then send the headers at once and the body one byte every ``seconds_per_byte``: no read
  timeout ever fires, only a total deadline ends it (``trickles`` records each).
* ``respond_next(route, body, status=200, n=1)`` -- send ``body`` (bytes/str verbatim, or JSON) instead
  of the real answer: malformed JSON, missing fields, hostile messages.
* ``set_fill_mode("fill" | "partial" | "hold", fraction=0.5, hold_status="accepted")`` -- how new
  orders fill while the market is open; ``fill(client_order_id, qty=None)`` fills (the rest of) one.
* ``set_market_open(bool)`` -- closed: new orders stay ``accepted``; reopening processes them.
* ``set_price(symbol, price)`` -- the fill and valuation price table; unknown symbols are rejected.
* ``set_time(instant)`` -- the stand-in's clock stops at ``instant``: ``GET /v2/clock`` answers from the
  NYSE calendar for it, the market is open or closed as at that instant, and ``cls``/``opg`` orders are
  judged by Alpaca's windows at it (``tests/support/alpaca_auction.py``: accepted and queued for their
  session's auction, or refused 403 outside the window and 422 when fractional or notional).
* ``run_auction(session, prices, time_in_force="cls")`` -- the session's closing (``opg``: opening)
  auction: every order queued for it fills at its symbol's auction price.

Inspection: ``posts`` (client_order_id of every POST /v2/orders received, in order, rejected ones
included), ``post_bodies``, ``booked_count(cid)``, ``post_count(cid)``, ``requests`` ((method, path)
list), ``order(cid)``, ``queued_for(cid)`` (the session whose auction fills it), ``cash``,
``position_qty(symbol)``, ``auth_failures``, ``trickles``.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd

from tests.support.alpaca_auction import AUCTIONS, clock_at, queued_session, refusal, utc_now
from tests.support.alpaca_data_server import Trickle, send_trickled
from tests.support.loopback import LoopbackServer

ROUTES = (
    "account",
    "positions",
    "submit",
    "by_client_order_id",
    "list_orders",
    "get_order",
    "cancel",
    "clock",
)
OPEN_STATUSES = frozenset({"new", "accepted", "pending_new", "partially_filled"})
ET = timezone(timedelta(hours=-4))  # fixed EDT offset; good enough for a fake clock


def _s(value: float) -> str:
    """Alpaca-style number string."""
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class _Fault:
    kind: str  # "status" | "delay" | "raw"
    status: int = 200
    after_accept: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0


@dataclass
class _Order:
    id: str
    client_order_id: str
    symbol: str
    side: str
    qty: float | None
    notional: float | None
    time_in_force: str
    status: str
    created_at: str
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    target_qty: float | None = None  # notional orders get one at first fill
    updated_at: str = ""
    filled_at: str | None = None
    canceled_at: str | None = None
    auction_session: pd.Timestamp | None = None  # cls/opg: the session whose auction fills it

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at or self.created_at,
            "submitted_at": self.created_at,
            "filled_at": self.filled_at,
            "expired_at": None,
            "canceled_at": self.canceled_at,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.symbol)),
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": None if self.notional is None else _s(self.notional),
            "qty": None if self.qty is None else _s(self.qty),
            "filled_qty": _s(self.filled_qty),
            "filled_avg_price": None if self.filled_avg_price is None else _s(self.filled_avg_price),
            "order_class": "",
            "order_type": "market",
            "type": "market",
            "side": self.side,
            "time_in_force": self.time_in_force,
            "limit_price": None,
            "stop_price": None,
            "status": self.status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }


class AlpacaServer(LoopbackServer):
    def __init__(
        self,
        key_id: str = "test-key-id",
        secret_key: str = "test-secret-key",
        *,
        cash: float = 100_000.0,
        prices: dict[str, float] | None = None,
    ) -> None:
        super().__init__(_Handler)
        self.key_id = key_id
        self.secret_key = secret_key
        self.account_id = str(uuid.uuid4())
        # state
        self.cash = float(cash)
        self._account_fields: dict[str, Any] = {}  # set_account: status and flags of the account
        self.prices: dict[str, float] = dict(prices or {})
        self._positions: dict[str, list[float]] = {}  # symbol -> [qty, avg_entry_price]
        self._orders: dict[str, _Order] = {}  # id -> order (insertion order = creation order)
        self._by_cid: dict[str, str] = {}
        self.market_open = True
        self.now: datetime | None = None  # set_time: a stopped clock; None is the real time
        self._clock_override: dict[str, Any] = {}
        self.fill_mode = "fill"
        self.partial_fraction = 0.5
        self.hold_status = "accepted"
        self._faults: dict[str, deque[_Fault]] = {r: deque() for r in ROUTES}
        # records
        self.posts: list[str | None] = []
        self.post_bodies: list[Any] = []
        self.requests: list[tuple[str, str]] = []
        self.auth_failures = 0
        self.trickles: list[Trickle] = []

    # ------------------------------------------------------------------ knobs

    def _check_route(self, route: str) -> None:
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; one of {ROUTES}")

    def fail_next(
        self,
        route: str,
        n: int = 1,
        *,
        status: int = 500,
        after_accept: bool = False,
        retry_after: float | str | None = None,
        rate_limit_reset: float | None = None,
    ) -> None:
        self._check_route(route)
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if rate_limit_reset is not None:
            headers["X-RateLimit-Reset"] = str(int(rate_limit_reset))
        if status == 429:
            body = {"code": 42910000, "message": "rate limit exceeded"}
        elif status >= 500:
            body = {"code": 50010000, "message": "internal server error occurred"}
        else:
            body = {"code": status * 100000, "message": f"injected {status}"}
        with self._lock:
            for _ in range(n):
                self._faults[route].append(
                    _Fault(
                        "status", status=status, after_accept=after_accept, headers=dict(headers), body=body
                    )
                )

    def delay_next(self, route: str, seconds: float, n: int = 1) -> None:
        self._check_route(route)
        with self._lock:
            for _ in range(n):
                self._faults[route].append(_Fault("delay", delay=float(seconds)))

    def trickle_next(self, route: str, seconds_per_byte: float = 2.0, n: int = 1) -> None:
        self._check_route(route)
        with self._lock:
            for _ in range(n):
                self._faults[route].append(_Fault("trickle", delay=float(seconds_per_byte)))

    def accept_then_timeout(self, seconds: float = 2.0, n: int = 1) -> None:
        self.delay_next("submit", seconds, n)

    def respond_next(self, route: str, body: Any, status: int = 200, n: int = 1) -> None:
        self._check_route(route)
        with self._lock:
            for _ in range(n):
                self._faults[route].append(_Fault("raw", status=status, body=body))

    def clear_faults(self) -> None:
        with self._lock:
            for q in self._faults.values():
                q.clear()

    def set_price(self, symbol: str, price: float) -> None:
        with self._lock:
            self.prices[symbol] = float(price)

    def set_fill_mode(self, mode: str, *, fraction: float = 0.5, hold_status: str = "accepted") -> None:
        if mode not in ("fill", "partial", "hold"):
            raise ValueError("mode must be 'fill', 'partial' or 'hold'")
        if not 0 < fraction < 1:
            raise ValueError("fraction must be in (0, 1)")
        if hold_status not in ("new", "accepted", "pending_new"):
            raise ValueError("hold_status must be new, accepted or pending_new")
        with self._lock:
            self.fill_mode = mode
            self.partial_fraction = fraction
            self.hold_status = hold_status

    def set_market_open(self, is_open: bool) -> None:
        with self._lock:
            self.market_open = bool(is_open)
            if self.market_open:
                for order in list(self._orders.values()):
                    if order.status == "accepted" and order.filled_qty == 0 and not order.auction_session:
                        self._on_open(order)

    def set_time(self, instant: datetime) -> None:
        """Stop the stand-in's clock at ``instant`` (tz-aware); the market opens or closes to match."""
        if instant.tzinfo is None:
            raise ValueError("set_time needs a tz-aware instant")
        with self._lock:
            self.now = instant
            self.set_market_open(clock_at(instant)["is_open"])

    def run_auction(
        self, session: str | pd.Timestamp, prices: dict[str, float], time_in_force: str = "cls"
    ) -> list[str]:
        """The closing (``opg``: opening) auction of ``session``: every open order queued for it fills at
        its symbol's price in ``prices`` (which becomes the symbol's price). Returns the filled ids."""
        day = pd.Timestamp(session)
        with self._lock:
            queued = [
                o
                for o in self._orders.values()
                if o.auction_session == day and o.time_in_force == time_in_force and o.status in OPEN_STATUSES
            ]
            for order in queued:
                self.prices[order.symbol] = float(prices[order.symbol])
                self._ensure_target(order)
                self._fill(order, order.target_qty - order.filled_qty)  # type: ignore[operator]
            return [o.client_order_id for o in queued]

    def set_clock(self, **fields: Any) -> None:
        """Override clock fields (timestamp, next_open, next_close) verbatim."""
        with self._lock:
            self._clock_override.update(fields)

    def set_account(self, **fields: Any) -> None:
        """Override fields of ``GET /v2/account`` (``status``, ``trading_blocked``, ...) from now on."""
        with self._lock:
            self._account_fields.update(fields)

    def set_position(self, symbol: str, qty: float, avg_entry_price: float | None = None) -> None:
        with self._lock:
            if qty == 0:
                self._positions.pop(symbol, None)
            else:
                self._positions[symbol] = [float(qty), float(avg_entry_price or self.prices[symbol])]

    def fill(self, client_order_id: str, qty: float | None = None) -> dict[str, Any]:
        """Fill ``qty`` (default: all that remains) of an open order at the current price."""
        with self._lock:
            order = self._orders[self._by_cid[client_order_id]]
            if order.status not in OPEN_STATUSES:
                raise ValueError(f"order {client_order_id} is {order.status}, not open")
            self._ensure_target(order)
            remaining = order.target_qty - order.filled_qty  # type: ignore[operator]
            self._fill(order, remaining if qty is None else min(qty, remaining))
            return order.to_json()

    # ------------------------------------------------------------------ inspection

    def booked_count(self, client_order_id: str) -> int:
        with self._lock:
            return sum(1 for o in self._orders.values() if o.client_order_id == client_order_id)

    def post_count(self, client_order_id: str) -> int:
        with self._lock:
            return sum(1 for c in self.posts if c == client_order_id)

    def order(self, client_order_id: str) -> dict[str, Any] | None:
        with self._lock:
            oid = self._by_cid.get(client_order_id)
            return None if oid is None else self._orders[oid].to_json()

    def queued_for(self, client_order_id: str) -> pd.Timestamp | None:
        with self._lock:
            return self._orders[self._by_cid[client_order_id]].auction_session

    def position_qty(self, symbol: str) -> float:
        with self._lock:
            pos = self._positions.get(symbol)
            return 0.0 if pos is None else pos[0]

    def count_requests(self, method: str, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r == (method, path))

    # ------------------------------------------------------------------ trading model

    def _ensure_target(self, order: _Order) -> None:
        if order.target_qty is None:
            if order.qty is not None:
                order.target_qty = order.qty
            else:
                order.target_qty = round(order.notional / self.prices[order.symbol], 9)  # type: ignore[operator]

    def _fill(self, order: _Order, qty: float) -> None:
        if qty <= 0:
            return
        price = self.prices[order.symbol]
        prev = order.filled_qty
        order.filled_qty = prev + qty
        order.filled_avg_price = ((order.filled_avg_price or 0.0) * prev + price * qty) / order.filled_qty
        now = _now_iso()
        order.updated_at = now
        if order.filled_qty >= order.target_qty - 1e-12:  # type: ignore[operator]
            order.status = "filled"
            order.filled_at = now
        else:
            order.status = "partially_filled"
        pos = self._positions.get(order.symbol, [0.0, price])
        if order.side == "buy":
            self.cash -= qty * price
            new_qty = pos[0] + qty
            pos[1] = (pos[0] * pos[1] + qty * price) / new_qty if new_qty else price
            pos[0] = new_qty
        else:
            self.cash += qty * price
            pos[0] -= qty
        if abs(pos[0]) < 1e-12:
            self._positions.pop(order.symbol, None)
        else:
            self._positions[order.symbol] = pos

    def _on_open(self, order: _Order) -> None:
        """What happens to a fresh order while the market is open."""
        if self.fill_mode == "hold":
            order.status = self.hold_status
            return
        self._ensure_target(order)
        if self.fill_mode == "fill":
            self._fill(order, order.target_qty)  # type: ignore[arg-type]
        else:
            self._fill(order, round(order.target_qty * self.partial_fraction, 9))  # type: ignore[operator]

    def _reserved(self, symbol: str) -> float:
        """Shares already committed to open sell orders."""
        total = 0.0
        for o in self._orders.values():
            if o.symbol == symbol and o.side == "sell" and o.status in OPEN_STATUSES:
                self._ensure_target(o)
                total += o.target_qty - o.filled_qty  # type: ignore[operator]
        return total

    def _submit(self, body: Any) -> tuple[int, Any, _Order | None]:
        """Validate and book an order. Returns (status, json_body, order)."""

        def err(status: int, code: int, message: str):
            return status, {"code": code, "message": message}, None

        if not isinstance(body, dict):
            return err(400, 40010000, "request body format is invalid")
        cid = body.get("client_order_id") or str(uuid.uuid4())
        if not isinstance(cid, str):
            return err(422, 40010001, "client_order_id must be a string")
        if len(cid) > 128:
            return err(422, 40010001, "client_order_id must be no more than 128 characters")
        if cid in self._by_cid:
            return err(422, 40010001, "client_order_id must be unique")
        symbol, side = body.get("symbol"), body.get("side")
        if not isinstance(symbol, str) or not symbol:
            return err(422, 40010001, "symbol is required")
        if side not in ("buy", "sell"):
            return err(422, 40010001, "side must be buy or sell")
        if body.get("type") != "market":
            return err(422, 40010001, "only market orders are supported by this fake")
        tif = body.get("time_in_force")
        if tif not in ("day", "gtc", "opg", "cls", "ioc", "fok"):
            return err(422, 40010001, "invalid time_in_force")
        if symbol not in self.prices:
            return err(422, 40010001, f'asset "{symbol}" not found')

        def number(name: str) -> float | None | str:
            raw = body.get(name)
            if raw is None:
                return None
            try:
                value = float(raw)
            except (TypeError, ValueError):
                return f"invalid {name}"
            return value if math.isfinite(value) else f"invalid {name}"

        qty, notional = number("qty"), number("notional")
        for bad in (qty, notional):
            if isinstance(bad, str):
                return err(422, 40010001, bad)
        if (qty is None) == (notional is None):
            return err(422, 40010001, "qty or notional is required, but not both")
        if qty is not None and qty <= 0:
            return err(422, 40010001, "qty must be > 0")
        if notional is not None:
            if notional <= 0:
                return err(422, 40010001, "notional must be > 0")
        refused = refusal(tif, qty, self.now or utc_now())  # type: ignore[arg-type]
        if refused is not None:
            return refused[0], refused[1], None
        price = self.prices[symbol]
        want = qty if qty is not None else notional / price  # type: ignore[operator]
        if side == "buy" and want * price > self.cash + 1e-9:
            return err(403, 40310000, "insufficient buying power")
        if side == "sell":
            available = self.position_qty(symbol) - self._reserved(symbol)
            if want > available + 1e-9:
                return err(
                    403,
                    40310000,
                    f"insufficient qty available for order "
                    f"(requested: {_s(want)}, available: {_s(available)})",
                )
        now = _now_iso()
        order = _Order(
            id=str(uuid.uuid4()),
            client_order_id=cid,
            symbol=symbol,
            side=side,
            qty=qty,  # type: ignore[arg-type]
            notional=notional,  # type: ignore[arg-type]
            time_in_force=tif,
            status="accepted",
            created_at=now,
        )
        if tif in AUCTIONS:
            order.auction_session = queued_session(tif, self.now or utc_now())
        self._orders[order.id] = order
        self._by_cid[cid] = order.id
        if self.market_open and order.auction_session is None:
            self._on_open(order)
        return 200, order.to_json(), order

    def _cancel(self, order_id: str) -> tuple[int, Any]:
        order = self._orders.get(order_id)
        if order is None:
            return 404, {"code": 40410000, "message": "order not found"}
        if order.status not in OPEN_STATUSES:
            return 422, {"code": 42210000, "message": f"order is not cancelable (status: {order.status})"}
        order.status = "canceled"
        order.canceled_at = order.updated_at = _now_iso()
        return 204, None

    def _account(self) -> dict[str, Any]:
        long_mv = sum(q * self.prices.get(s, p) for s, (q, p) in self._positions.items() if q > 0)
        short_mv = sum(q * self.prices.get(s, p) for s, (q, p) in self._positions.items() if q < 0)
        equity = self.cash + long_mv + short_mv
        return {
            "id": self.account_id,
            "account_number": "PA0000TEST",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": _s(self.cash),
            "portfolio_value": _s(equity),
            "equity": _s(equity),
            "last_equity": _s(equity),
            "buying_power": _s(max(self.cash, 0.0)),
            "long_market_value": _s(long_mv),
            "short_market_value": _s(short_mv),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "shorting_enabled": False,
            "multiplier": "1",
            "created_at": "2024-01-02T15:00:00Z",
        } | self._account_fields

    def _positions_json(self) -> list[dict[str, Any]]:
        out = []
        for symbol, (qty, avg) in sorted(self._positions.items()):
            price = self.prices.get(symbol, avg)
            out.append(
                {
                    "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
                    "symbol": symbol,
                    "exchange": "NASDAQ",
                    "asset_class": "us_equity",
                    "asset_marginable": False,
                    "qty": _s(qty),
                    "qty_available": _s(qty - self._reserved(symbol)),
                    "avg_entry_price": _s(avg),
                    "side": "long" if qty > 0 else "short",
                    "market_value": _s(qty * price),
                    "cost_basis": _s(qty * avg),
                    "unrealized_pl": _s(qty * (price - avg)),
                    "unrealized_plpc": _s((price - avg) / avg if avg else 0.0),
                    "current_price": _s(price),
                    "lastday_price": _s(price),
                    "change_today": "0",
                }
            )
        return out

    def _clock(self) -> dict[str, Any]:
        if self.now is not None:
            return clock_at(self.now) | self._clock_override
        now = datetime.now(ET).replace(microsecond=123456)
        day = now.date()
        open_today = datetime(day.year, day.month, day.day, 9, 30, tzinfo=ET)
        close_today = datetime(day.year, day.month, day.day, 16, 0, tzinfo=ET)
        clock = {
            # Alpaca sends nanosecond fractions with an offset
            "timestamp": now.isoformat().replace(".123456", ".123456789"),
            "is_open": self.market_open,
            "next_open": (open_today + timedelta(days=1)).isoformat(),
            "next_close": (close_today if self.market_open else close_today + timedelta(days=1)).isoformat(),
        }
        clock.update(self._clock_override)
        return clock

    # ------------------------------------------------------------------ dispatch

    def _route(self, method: str, path: str) -> tuple[str | None, str | None]:
        path = unquote(path)
        if method == "GET" and path == "/v2/account":
            return "account", None
        if method == "GET" and path == "/v2/positions":
            return "positions", None
        if method == "GET" and path == "/v2/clock":
            return "clock", None
        if path == "/v2/orders":
            return {"POST": "submit", "GET": "list_orders"}.get(method), None
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            return "by_client_order_id", None
        if path.startswith("/v2/orders/") and path.count("/") == 3:
            oid = path.rsplit("/", 1)[1]
            return {"GET": "get_order", "DELETE": "cancel"}.get(method), oid
        return None, None

    def _take_fault(self, route: str) -> _Fault | None:
        with self._lock:
            q = self._faults[route]
            return q.popleft() if q else None

    def handle(self, handler: "_Handler", method: str) -> None:
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        raw = b""
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            raw = handler.rfile.read(length)
        with self._lock:
            self.requests.append((method, unquote(split.path)))
        if (
            handler.headers.get("APCA-API-KEY-ID") != self.key_id
            or handler.headers.get("APCA-API-SECRET-KEY") != self.secret_key
        ):
            with self._lock:
                self.auth_failures += 1
            return handler.send_json(401, {"code": 40110000, "message": "request is not authorized"})
        route, oid = self._route(method, split.path)
        if route is None:
            return handler.send_json(404, {"code": 40410000, "message": "endpoint not found"})

        body: Any = None
        if route == "submit":
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = None
            with self._lock:
                self.posts.append(body.get("client_order_id") if isinstance(body, dict) else None)
                self.post_bodies.append(body)

        fault = self._take_fault(route)
        if fault is not None and fault.kind == "raw":
            return handler.send_raw(fault.status, fault.body)
        if fault is not None and fault.kind == "status" and not fault.after_accept:
            return handler.send_json(fault.status, fault.body, fault.headers)

        status, payload = self._process(route, oid, query, body)

        if fault is not None and fault.kind == "status":  # after_accept: the work is done, hide it
            return handler.send_json(fault.status, fault.body, fault.headers)
        if fault is not None and fault.kind == "delay":
            if self._stopping.wait(fault.delay):
                return  # shutting down: drop the response
        if fault is not None and fault.kind == "trickle":
            return send_trickled(handler, payload, fault.delay, self)
        return handler.send_json(status, payload)

    def _process(self, route: str, oid: str | None, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self._lock:
            if route == "account":
                return 200, self._account()
            if route == "positions":
                return 200, self._positions_json()
            if route == "clock":
                return 200, self._clock()
            if route == "submit":
                status, payload, _ = self._submit(body)
                return status, payload
            if route == "by_client_order_id":
                cid = query.get("client_order_id")
                if not cid:
                    return 422, {"code": 40010001, "message": "client_order_id is required"}
                got = self._by_cid.get(cid)
                if got is None:
                    return 404, {"code": 40410000, "message": "order not found"}
                return 200, self._orders[got].to_json()
            if route == "get_order":
                order = self._orders.get(oid or "")
                if order is None:
                    return 404, {"code": 40410000, "message": "order not found"}
                return 200, order.to_json()
            if route == "list_orders":
                which = query.get("status", "open")
                try:
                    limit = int(query.get("limit", "50"))
                except ValueError:
                    return 422, {"code": 40010001, "message": "invalid limit"}
                if not 1 <= limit <= 500:
                    return 422, {"code": 40010001, "message": "limit must be between 1 and 500"}
                orders = list(self._orders.values())
                if which == "open":
                    orders = [o for o in orders if o.status in OPEN_STATUSES]
                elif which == "closed":
                    orders = [o for o in orders if o.status not in OPEN_STATUSES]
                elif which != "all":
                    return 422, {"code": 40010001, "message": "invalid status"}
                if query.get("direction", "desc") == "desc":
                    orders.reverse()
                return 200, [o.to_json() for o in orders[:limit]]
            if route == "cancel":
                return self._cancel(oid or "")
        return 404, {"code": 40410000, "message": "endpoint not found"}  # pragma: no cover


class _Handler(BaseHTTPRequestHandler):
    app: AlpacaServer  # bound per server instance
    server_version = "FakeAlpaca/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def _rate_headers(self) -> None:
        self.send_header("X-RateLimit-Limit", "200")
        self.send_header("X-RateLimit-Remaining", "199")
        self.send_header("X-RateLimit-Reset", str(int(time.time()) + 60))

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if headers is None:  # normal answers carry the usual rate-limit headers; faults their own
            self._rate_headers()
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if data:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def send_raw(self, status: int, body: Any) -> None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.app.handle(self, "GET")

    def do_POST(self) -> None:
        self.app.handle(self, "POST")

    def do_DELETE(self) -> None:
        self.app.handle(self, "DELETE")
