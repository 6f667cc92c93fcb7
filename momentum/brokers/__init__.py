"""Broker adapters behind :class:`momentum.brokers.base.Broker`; :func:`make_broker` picks one by config.

Live trading is reachable only with both ``settings.live_trading`` (``MOMENTUM_LIVE_TRADING=true``)
and the run's explicit opt-in (``live_opt_in``: the flow's ``live`` parameter, the CLI's ``--live``).
Every Alpaca endpoint other than the paper host (or a loopback test server) counts as live, so a
typo, a port or a proxy in front of the live host cannot slip past the check. The check runs before
the adapter is built: a refused run never opens a connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pandas as pd

from momentum.brokers.base import Broker
from momentum.errors import PermanentError
from momentum.settings import Settings
from momentum.store import VersionedStore

LIVE_ALPACA_URL = "https://api.alpaca.markets"
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

    @classmethod
    def from_settings(cls, settings: Settings) -> "AlpacaCredentials | None":
        """The pair from ``MOMENTUM_ALPACA_KEY_ID`` / ``MOMENTUM_ALPACA_SECRET_KEY``, if both are set."""
        if settings.alpaca_key_id is None or settings.alpaca_secret_key is None:
            return None
        key_id, secret = settings.alpaca_key_id.get_secret_value(), settings.alpaca_secret_key.get_secret_value()
        return cls(key_id, secret) if key_id and secret else None


def is_live_endpoint(url: str) -> bool:
    """True unless ``url`` is Alpaca's paper host or a loopback test server (case, port, path ignored)."""
    host = (urlsplit(url if "://" in url else f"https://{url}").hostname or "").lower().rstrip(".")
    return host not in _LOOPBACK and host != PAPER_ALPACA_HOST


def check_live_opt_in(settings: Settings, live_opt_in: bool) -> bool:
    """Whether the configured endpoint is live; raises :class:`LiveTradingRefused` without the opt-in."""
    if settings.broker != "alpaca":
        return False
    live = is_live_endpoint(settings.alpaca_base_url)
    if live and not (settings.live_trading and live_opt_in):
        missing = [what for what, ok in (("MOMENTUM_LIVE_TRADING=true", settings.live_trading),
                                         ("the --live flag (flow parameter live=True)", live_opt_in)) if not ok]
        raise LiveTradingRefused(
            f"{settings.alpaca_base_url} is a live (real-money) endpoint and the explicit opt-in is missing",
            "nothing was sent", f"set {' and '.join(missing)}",
        )
    return live


def make_broker(
    settings: Settings, store: VersionedStore, *, as_of: str, prices: pd.Series, live_opt_in: bool = False,
    flow_run_id: str | None = None, credentials: AlpacaCredentials | None = None,
) -> Broker:
    """The configured broker. Live trading needs both ``settings.live_trading`` and ``live_opt_in``.

    Alpaca keys come from ``credentials`` when given, else from the environment through ``settings``
    (deployments fill it from Prefect Secret blocks with their pull step); never from a run parameter.
    """
    if settings.broker == "paper":
        from momentum.brokers.paper import PaperBroker

        return PaperBroker(store, as_of=as_of, prices=prices, initial_cash=settings.initial_cash,
                           cost_bps=settings.cost_bps, slippage_bps=settings.paper_slippage_bps,
                           flow_run_id=flow_run_id)
    live = check_live_opt_in(settings, live_opt_in)
    creds = credentials or AlpacaCredentials.from_settings(settings)
    if creds is None:
        raise MissingBrokerKeys(
            "broker 'alpaca' needs API keys", "MOMENTUM_ALPACA_KEY_ID / MOMENTUM_ALPACA_SECRET_KEY",
            "set both; deployments load them from the Prefect Secret blocks momentum-alpaca-key-id and "
            "momentum-alpaca-secret-key",
        )
    from momentum.brokers import alpaca

    return alpaca.AlpacaBroker(
        settings.alpaca_base_url, creds.key_id, creds.secret_key, live=live,
        timeout=settings.alpaca_timeout_seconds, max_retries=settings.alpaca_max_retries,
        backoff_seconds=settings.alpaca_backoff_seconds,
    )
