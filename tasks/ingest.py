"""Ingestion: resolve the as_of session, then fetch bars and the benchmark into the store."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from prefect import task

from momentum import definitions
from momentum.calendar import checked_as_of, window_start
from momentum.portfolio import closes_only
from momentum.providers import PriceProvider, fetch_lineage
from momentum.settings import Settings
from momentum.store import DatasetRef
from momentum.strategy import history_sessions
from momentum.universe import run_symbols, universe_at
from tasks.common import current_flow_run_id, stage


@task(name="resolve-as-of")
def resolve_as_of(settings: Settings, as_of: str | None) -> str:
    """The requested session, or the provider's last session; never a future or non-trading day."""
    return checked_as_of(as_of, definitions.resources(settings).provider.last_session()).strftime("%Y-%m-%d")


def _fetch_once(
    settings: Settings,
    dataset: str,
    as_of: str,
    fetch: Callable[[PriceProvider, int], pd.DataFrame],
    symbols: list[str] | None = None,
) -> DatasetRef:
    """The committed version for these parameters, or ``fetch(provider, sessions)`` written as a new one
    (only once every page arrived: a failed fetch writes nothing)."""
    res = definitions.resources(settings)
    sessions = history_sessions(settings.lookback, settings.skip)
    params = fetch_lineage(res.provider, sessions, symbols)
    committed = res.store.lookup(dataset, as_of, params=params)
    if committed is not None:
        return committed
    frame = fetch(res.provider, sessions)
    return res.store.write(
        dataset, as_of, frame, params=params, flow_run_id=current_flow_run_id(), known_new=True
    )  # the look-up above found none


@stage("ingest")
def ingest(settings: Settings, as_of: str, live: bool = False) -> DatasetRef:
    """Bars for the history window ending at ``as_of`` -> dataset ``bars`` (never refetched if committed).

    A provider that must be told its symbols is asked for the universe at as_of plus the held positions
    and the symbols of the orders open at the broker (queued for an auction that needs their price).
    Symbols it dropped (an invalid symbol) are recorded with the reason in the frame's ``rejected``
    attribute, stored with the parquet file, so validation names them.
    """
    res, day = definitions.resources(settings), pd.Timestamp(as_of)
    symbols = None
    if res.provider.needs_symbols:
        account = res.broker(as_of, closes_only(as_of, pd.Series(dtype=float)), live)
        held = [p.symbol for p in account.positions()] + [o.symbol for o in account.open_orders()]
        symbols = run_symbols(universe_at(res.universe, day), held)

    def fetch(provider: PriceProvider, sessions: int) -> pd.DataFrame:
        frame = provider.bars(window_start(day, sessions), day, symbols)
        frame.attrs["rejected"] = dict(getattr(provider, "rejected", {}))
        return frame

    return _fetch_once(settings, "bars", as_of, fetch, symbols)


@stage("ingest-benchmark")
def ingest_benchmark(settings: Settings, as_of: str) -> DatasetRef:
    """The benchmark's closes up to ``as_of`` -> dataset ``benchmark`` (date, close)."""

    def fetch(provider: PriceProvider, sessions: int) -> pd.DataFrame:
        levels = provider.benchmark(None, pd.Timestamp(as_of)).tail(2 * sessions)
        return pd.DataFrame({"date": levels.index.astype("datetime64[ns]"), "close": levels.to_numpy(float)})

    return _fetch_once(settings, "benchmark", as_of, fetch)
