"""The broker seam: a small Protocol and the value types every broker adapter speaks.

Quantities are shares (floats, whole numbers unless fractional trading is on), prices and notionals
are dollars. ``client_order_id`` is the idempotency key: a broker refuses a second order with an id it
has seen, and execution looks an id up before it ever submits.

Retries: one layer, the adapter. An adapter that talks HTTP retries its own calls; once they are spent
every broker error is a :class:`~momentum.errors.PermanentError` (no task retries it on top).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from momentum.errors import PermanentError


class Side(StrEnum):
    """An order's side, spelled as the broker and the datasets spell it."""

    BUY = "buy"
    SELL = "sell"


class OrderState(StrEnum):
    """An order's status: the broker's (Alpaca's spelling; a broker may report others, such as
    ``pending_new``) and, for orders this run never posted, execution's ``blocked`` and ``not_sent``."""

    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    BLOCKED = "blocked"  # held back: a buy its unfilled sells would fund, an auction order outside its window
    NOT_SENT = "not_sent"  # never posted: market closed, kill switch


TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELED, OrderState.EXPIRED, OrderState.REJECTED})


class BrokerError(PermanentError):
    """The broker refused a request or answered something we cannot use: the run stops and reports it."""


class BrokerUnavailable(BrokerError):
    """A timeout, 429 or 5xx that outlasted the adapter's own retries (the request may or may not have
    taken effect): the run stops without a task retry; a re-run looks every order up by its id first."""


class DuplicateOrderError(BrokerError):
    """The broker already has an order with this client_order_id: execution fetches it, never resends."""


class AuctionOrderRefused(BrokerError):
    """An on-close / on-open order the broker would refuse (its window is shut, or it is not whole shares):
    the adapter refuses it before sending anything, in one line saying when the window reopens."""


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: Side
    qty: float | None = None
    notional: float | None = None
    time_in_force: str = "day"  # day (market), cls (closing auction), opg (opening auction)


@dataclass(frozen=True)
class OrderStatus:
    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    status: str
    qty: float | None
    filled_qty: float
    filled_avg_price: float | None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class Account:
    cash: float
    equity: float


@dataclass(frozen=True)
class Position:
    symbol: str
    qty: float
    market_value: float


@dataclass(frozen=True)
class MarketClock:
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


class Broker(Protocol):
    """What execution needs from a broker; ``live`` is True only for real-money endpoints."""

    name: str
    live: bool

    def account(self) -> Account: ...

    def positions(self) -> list[Position]: ...

    def submit(self, order: OrderRequest) -> OrderStatus: ...

    def get_by_client_id(self, client_order_id: str) -> OrderStatus | None: ...

    def open_orders(self) -> list[OrderStatus]: ...

    def cancel(self, broker_order_id: str) -> None: ...

    def clock(self) -> MarketClock: ...
