"""Broker adapters behind :class:`momentum.brokers.base.Broker` (:func:`momentum.definitions.broker`
picks one).

Live trading is reachable only with both the ``live_trading`` setting (``MOMENTUM_LIVE_TRADING=true``)
and the run's explicit opt-in (``live_opt_in``: the flow's ``live`` parameter, the CLI's ``--live``).
Every Alpaca endpoint other than the paper host (or a loopback test server) counts as live, so a
typo, a port or a proxy in front of the live host cannot slip past the check. The check runs before
the adapter is built: a refused run never opens a connection.

Order timing (:mod:`momentum.brokers.auction`): ``ORDER_TIMINGS``, ``TIME_IN_FORCE`` (order_timing to
Alpaca's ``time_in_force``) and :func:`auction_slot` (is an on-close / on-open order accepted now, and
for which session) import on first use, so reading the settings or ``momentum --help`` loads no pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from momentum.errors import PermanentError

if TYPE_CHECKING:
    from momentum.brokers.auction import (
        AUCTION,
        ORDER_TIMINGS,
        TIME_IN_FORCE,
        AuctionSlot,
        OrderTiming,
        auction_slot,
    )

_TIMING = frozenset(
    {"AUCTION", "ORDER_TIMINGS", "TIME_IN_FORCE", "AuctionSlot", "OrderTiming", "auction_slot"}
)

PAPER_ALPACA_HOST = "paper-api.alpaca.markets"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class LiveTradingRefused(PermanentError):
    """A live endpoint was configured without the explicit opt-in: the run stops before any connection."""


class MissingBrokerKeys(PermanentError):
    """Broker 'alpaca' was chosen without its API keys: the run stops before any connection."""


@dataclass(frozen=True)
class AlpacaCredentials:
    """An Alpaca key pair as plain strings; its repr never shows them."""

    key_id: str = field(repr=False)
    secret_key: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.key_id or not self.secret_key:
            raise ValueError("Alpaca credentials need both a key id and a secret key")


def is_live_endpoint(url: str) -> bool:
    """True unless ``url`` is Alpaca's paper host or a loopback test server (case, port, path ignored)."""
    host = (urlsplit(url if "://" in url else f"https://{url}").hostname or "").lower().rstrip(".")
    return host not in _LOOPBACK and host != PAPER_ALPACA_HOST


def check_live_opt_in(base_url: str, live_trading: bool, live_opt_in: bool) -> bool:
    """Whether the Alpaca endpoint ``base_url`` is live; raises :class:`LiveTradingRefused` unless both the
    ``live_trading`` setting and the run's ``live_opt_in`` are given."""
    live = is_live_endpoint(base_url)
    if live and not (live_trading and live_opt_in):
        missing = [
            what
            for what, ok in (
                ("MOMENTUM_LIVE_TRADING=true", live_trading),
                ("the --live flag (flow parameter live=True)", live_opt_in),
            )
            if not ok
        ]
        raise LiveTradingRefused(
            f"{base_url} is a live (real-money) endpoint and the explicit opt-in is missing",
            "nothing was sent",
            f"set {' and '.join(missing)}",
        )
    return live


__all__ = [
    "AUCTION",
    "ORDER_TIMINGS",
    "PAPER_ALPACA_HOST",
    "TIME_IN_FORCE",
    "AlpacaCredentials",
    "AuctionSlot",
    "LiveTradingRefused",
    "MissingBrokerKeys",
    "OrderTiming",
    "auction_slot",
    "check_live_opt_in",
    "is_live_endpoint",
]


def __getattr__(name: str) -> Any:
    if name not in _TIMING:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.auction"), name)
    globals()[name] = value
    return value
