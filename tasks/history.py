"""History tasks: the universe over a range, and the store's ``history`` brought up to date (fetched once)."""

from __future__ import annotations

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE as NO_CACHE

from momentum import definitions
from momentum.history import HistoryUpdate, benchmark_split, members_between, read_history, update_history
from momentum.providers import bars_to_wide
from momentum.settings import Settings
from momentum.store import VersionedStore
from momentum.universe import symbol_key
from tasks.common import RETRY, current_flow_run_id, only_transient, open_store

HISTORY_START = "2016-01-01"  # the default backfill start: where the free Alpaca plan's history begins


@task(name="history-symbols", cache_policy=NO_CACHE)
def history_symbols(settings: Settings, start: str, end: str) -> list[str]:
    """The universe's members at any time in ``[start, end]``, plus the benchmark."""
    return members_between(
        definitions.universe_spec(settings), pd.Timestamp(start), pd.Timestamp(end), settings.benchmark_symbol
    )


def _update(
    settings: Settings, symbols: list[str], start: str, end: str
) -> tuple[VersionedStore, HistoryUpdate]:
    store = open_store(settings)
    return store, update_history(
        store,
        definitions.provider(settings),
        symbols,
        pd.Timestamp(start),
        pd.Timestamp(end),
        flow_run_id=current_flow_run_id(),
    )


@task(name="ingest-history", retry_condition_fn=only_transient, cache_policy=NO_CACHE, **RETRY)
def ingest_history(settings: Settings, symbols: list[str], start: str, end: str) -> dict:
    """Fetch what ``history`` lacks over ``[start, end]`` and commit it; returns the ``--json`` summary."""
    return _update(settings, symbols, start, end)[1].summary()


def stored_history(settings: Settings, end: pd.Timestamp) -> tuple[pd.DataFrame, pd.Series]:
    """Wide closes and the benchmark from the committed history, brought up to date to ``end`` first."""
    symbols = members_between(
        definitions.universe_spec(settings), pd.Timestamp(HISTORY_START), end, settings.benchmark_symbol
    )
    store, update = _update(settings, symbols, HISTORY_START, f"{end:%Y-%m-%d}")
    bars = read_history(store, update.ref, end)
    others, benchmark = benchmark_split(bars, symbol_key(settings.benchmark_symbol))
    return bars_to_wide(others), benchmark
