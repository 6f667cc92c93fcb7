"""Broker adapters behind :class:`momentum.brokers.base.Broker`; :func:`make_broker` picks one by config."""

from __future__ import annotations

import pandas as pd

from momentum.brokers.base import Broker
from momentum.settings import Settings
from momentum.store import VersionedStore

LIVE_ALPACA_URL = "https://api.alpaca.markets"


class LiveTradingRefused(RuntimeError):
    """A live endpoint was configured without the explicit opt-in."""


def is_live_endpoint(url: str) -> bool:
    """True for Alpaca's real-money trading host (anything that is not the paper host counts as live)."""
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    return host == "api.alpaca.markets"


def make_broker(
    settings: Settings, store: VersionedStore, *, as_of: str, prices: pd.Series, live_opt_in: bool = False,
    flow_run_id: str | None = None,
) -> Broker:
    """The configured broker. Live trading needs both ``settings.live_trading`` and ``live_opt_in``."""
    if settings.broker == "paper":
        from momentum.brokers.paper import PaperBroker

        return PaperBroker(store, as_of=as_of, prices=prices, initial_cash=settings.initial_cash,
                           cost_bps=settings.cost_bps, flow_run_id=flow_run_id)
    live = is_live_endpoint(settings.alpaca_base_url)
    if live and not (settings.live_trading and live_opt_in):
        raise LiveTradingRefused(
            "live trading endpoint configured without the explicit opt-in: set MOMENTUM_LIVE_TRADING=true "
            "and pass --live"
        )
    if settings.alpaca_key_id is None or settings.alpaca_secret_key is None:
        raise ValueError("broker 'alpaca' needs MOMENTUM_ALPACA_KEY_ID and MOMENTUM_ALPACA_SECRET_KEY")
    from momentum.brokers.alpaca import AlpacaBroker

    return AlpacaBroker(
        settings.alpaca_base_url, settings.alpaca_key_id.get_secret_value(),
        settings.alpaca_secret_key.get_secret_value(), live=live,
    )
