"""The composition root: the run's resources and typed parameters, built from :class:`Settings`.

:mod:`momentum.settings` is the configuration edge. Only this module, the Prefect tasks, the flows and
the CLI read a ``Settings``; every other module of :mod:`momentum` takes the typed values built here
(:class:`StrategyParams`, :class:`BacktestConfig`, :class:`PlanParams`, :class:`Guards`,
:class:`UniverseSpec`) or an adapter behind its Protocol.

Resources (the store, the price provider with its HTTP session and rate limiter, the Alpaca broker
with its session) are built once per process per settings, not per task: they are kept under the
settings' public values (secrets never enter the key; a cached resource is reused only when the
secrets it was built with are the same, else it is built again). The paper broker is a view of the
store's ledger at one as_of and its closes, with no connection to keep, so it is built per call.
A task takes all of them from :func:`resources`; the kill switch is new per call (each run latches its own).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd

from momentum.backtest import BacktestConfig
from momentum.brokers import AlpacaCredentials, MissingBrokerKeys, check_live_opt_in
from momentum.brokers.base import Broker
from momentum.errors import PermanentError
from momentum.execution import Guards, KillSwitch
from momentum.http_retry import HttpPolicy
from momentum.portfolio import PlanParams, SessionPrices
from momentum.providers import PriceProvider
from momentum.settings import Settings
from momentum.store import LeaseTerms, VersionedStore
from momentum.strategy import StrategyParams
from momentum.universe import UniverseSpec

T = TypeVar("T")
_LOCK = threading.RLock()
_BUILT: dict[tuple[str, str], tuple[Settings, Any]] = {}


def _once(kind: str, settings: Settings, build: Callable[[Settings], T]) -> T:
    """``build(settings)`` once per process per public settings (secrets compared, never keyed)."""
    key = (kind, json.dumps(settings.public(), sort_keys=True, default=str))
    with _LOCK:
        hit = _BUILT.get(key)
        if hit is not None and hit[0] == settings:
            return hit[1]
        resource = build(settings)
        _BUILT[key] = (settings, resource)
        return resource


def store(settings: Settings) -> VersionedStore:
    """The versioned store at ``store_url``."""
    return _once("store", settings, lambda s: VersionedStore(s.store_url))


def credentials(settings: Settings) -> AlpacaCredentials | None:
    """The Alpaca pair from ``MOMENTUM_ALPACA_KEY_ID`` / ``MOMENTUM_ALPACA_SECRET_KEY``, if both are set."""
    if settings.alpaca_key_id is None or settings.alpaca_secret_key is None:
        return None
    key_id, secret = settings.alpaca_key_id.get_secret_value(), settings.alpaca_secret_key.get_secret_value()
    return AlpacaCredentials(key_id, secret) if key_id and secret else None


def http_policy(settings: Settings) -> HttpPolicy:
    """The time budget of every Alpaca request (market data and broker)."""
    return HttpPolicy(
        timeout=settings.alpaca_timeout_seconds,
        attempt_seconds=settings.http_deadline_seconds,
        operation_seconds=settings.http_operation_seconds,
        max_retries=settings.alpaca_max_retries,
        backoff=settings.alpaca_backoff_seconds,
    )


def _build_provider(settings: Settings) -> PriceProvider:
    if settings.provider == "embedded":
        from momentum.providers.embedded import EmbeddedProvider

        return EmbeddedProvider()
    if settings.provider == "synthetic":
        from momentum.providers.synthetic import SyntheticProvider

        return SyntheticProvider(
            n_symbols=settings.synthetic_symbols,
            n_sessions=settings.synthetic_sessions,
            seed=settings.synthetic_seed,
        )
    if settings.provider == "alpaca":
        return _alpaca_provider(settings)
    if settings.provider == "files":
        from momentum.providers.files import FilesProvider

        return FilesProvider(str(settings.files_path), settings.benchmark_symbol)
    raise ValueError(f"unknown provider {settings.provider!r}")


def _alpaca_provider(settings: Settings) -> PriceProvider:
    from momentum.providers.alpaca import AlpacaProvider
    from momentum.providers.alpaca_http import MarketDataClient

    keys = credentials(settings)
    if keys is None:
        raise PermanentError(
            "provider 'alpaca' needs API keys: set MOMENTUM_ALPACA_KEY_ID and "
            "MOMENTUM_ALPACA_SECRET_KEY (a free key: see docs/data.md)"
        )
    client = MarketDataClient(
        settings.alpaca_data_url, keys.key_id, keys.secret_key, policy=http_policy(settings)
    )
    return AlpacaProvider(client, feed=settings.alpaca_data_feed, benchmark_symbol=settings.benchmark_symbol)


def provider(settings: Settings) -> PriceProvider:
    """The provider named by ``settings.provider`` (one per process per settings)."""
    return _once("provider", settings, _build_provider)


def _alpaca_broker(settings: Settings, keys: AlpacaCredentials, live: bool) -> Broker:
    from momentum.brokers.alpaca import AlpacaBroker

    return AlpacaBroker(
        settings.alpaca_base_url,
        keys.key_id,
        keys.secret_key,
        live=live,
        policy=http_policy(settings),
    )


def broker(
    settings: Settings,
    *,
    as_of: str,
    prices: SessionPrices,
    live_opt_in: bool = False,
    flow_run_id: str | None = None,
    keys: AlpacaCredentials | None = None,
) -> Broker:
    """The configured broker. Live trading needs both ``settings.live_trading`` and ``live_opt_in``,
    checked on every call, before any adapter is built (a refused run never opens a connection).

    Alpaca keys come from ``keys`` when given, else from the environment through ``settings``
    (deployments fill it from Prefect Secret blocks with their pull step); never from a run parameter.
    """
    if settings.broker == "paper":
        from momentum.brokers.paper import PaperBroker, PaperTerms

        return PaperBroker(
            store(settings),
            as_of=as_of,
            prices=prices,
            terms=PaperTerms(settings.initial_cash, settings.cost_bps, settings.paper_slippage_bps),
            flow_run_id=flow_run_id,
        )
    live = check_live_opt_in(settings.alpaca_base_url, settings.live_trading, live_opt_in)
    pair = keys or credentials(settings)
    if pair is None:
        raise MissingBrokerKeys(
            "broker 'alpaca' needs API keys",
            "MOMENTUM_ALPACA_KEY_ID / MOMENTUM_ALPACA_SECRET_KEY",
            "set both; deployments load them from the Prefect Secret blocks momentum-alpaca-key-id and "
            "momentum-alpaca-secret-key",
        )
    if keys is not None:
        return _alpaca_broker(settings, keys, live)
    return _once("alpaca-broker", settings, lambda s: _alpaca_broker(s, pair, live))


def strategy_params(settings: Settings) -> StrategyParams:
    """The strategy's windows, holdings rule and regime filter."""
    return StrategyParams(**{name: getattr(settings, name) for name in StrategyParams.__dataclass_fields__})


def backtest_config(
    settings: Settings, start: object = None, end: object = None, slippage_bps: float = 0.0
) -> BacktestConfig:
    """The simulation knobs of a backtest over ``[start, end]`` (None: the data's range)."""
    fields = (
        "rebalance_months",
        "trade_offset",
        "initial_cash",
        "cost_bps",
        "fractional",
        "min_order_value",
        "cash_buffer",
        "order_timing",
    )
    return BacktestConfig(
        start=None if start is None else pd.Timestamp(start),
        end=None if end is None else pd.Timestamp(end),
        slippage_bps=slippage_bps,
        **{name: getattr(settings, name) for name in fields},
    )


def universe_spec(settings: Settings) -> UniverseSpec:
    """The configured universe rule."""
    return UniverseSpec(
        universe=settings.universe, provider=settings.provider, universe_file=settings.universe_file
    )


def plan_params(settings: Settings) -> PlanParams:
    """The order plan's account and sizing rules. Buys are funded with room for every cost the fill will
    carry: commission, and on the paper broker its slippage."""
    slippage = settings.paper_slippage_bps if settings.broker == "paper" else 0.0
    return PlanParams(
        broker=settings.broker,
        fractional=settings.fractional,
        min_order_value=settings.min_order_value,
        cash_buffer=settings.cash_buffer,
        notional=settings.notional_orders,
        cost_bps=settings.cost_bps + slippage,
        endpoint=settings.alpaca_base_url if settings.broker == "alpaca" else None,
    )


def guards(settings: Settings) -> Guards:
    """Execution's limits (the kill switch is :func:`kill_switch`)."""
    return Guards(
        max_order_notional=settings.max_order_notional,
        max_rebalance_notional=settings.max_rebalance_notional,
        price_band=settings.price_band,
        queue_when_closed=settings.queue_when_closed,
        order_timing=settings.order_timing,
        fill_timeout_seconds=settings.fill_timeout_seconds,
        poll_seconds=settings.fill_poll_seconds,
    )


def rebalance_lease(settings: Settings, as_of: str, flow_run_id: str | None) -> LeaseTerms:
    """The terms of the lease a run holds while it sends the orders of the ``as_of`` rebalance."""
    return LeaseTerms.rebalance(
        as_of,
        flow_run_id=flow_run_id,
        ttl_seconds=settings.lease_ttl_seconds,
        wait_seconds=settings.lease_wait_seconds,
    )


def kill_switch(settings: Settings) -> KillSwitch:
    """A run's kill switch: the setting, or the store's ``KILL_SWITCH`` marker (latched for this run)."""
    return KillSwitch(settings.kill_switch, store(settings))


@dataclass(frozen=True)
class Resources:
    """What a task takes from the composition root, for one :class:`Settings`: each resource is built on
    first use, once per process (see the module's notes), and each typed parameter from the settings."""

    settings: Settings

    @property
    def store(self) -> VersionedStore:
        return store(self.settings)

    @property
    def provider(self) -> PriceProvider:
        return provider(self.settings)

    @property
    def universe(self) -> UniverseSpec:
        return universe_spec(self.settings)

    @property
    def strategy(self) -> StrategyParams:
        return strategy_params(self.settings)

    @property
    def plan(self) -> PlanParams:
        return plan_params(self.settings)

    @property
    def guards(self) -> Guards:
        return guards(self.settings)

    def kill_switch(self) -> KillSwitch:
        """A new kill switch (each run latches its own)."""
        return kill_switch(self.settings)

    def broker(
        self, as_of: str, prices: SessionPrices, live_opt_in: bool = False, flow_run_id: str | None = None
    ) -> Broker:
        """The account at ``as_of``, knowing ``prices`` up to it (see :func:`broker`)."""
        return broker(
            self.settings, as_of=as_of, prices=prices, live_opt_in=live_opt_in, flow_run_id=flow_run_id
        )


def resources(settings: Settings) -> Resources:
    """The run's resources for ``settings`` (one per process per settings)."""
    return _once("resources", settings, Resources)
