"""The bars a backtest runs on: the provider's whole set, or, for a live source that must be told its
symbols, the store's ``history`` of the universe brought up to date first (fetched once, kept)."""

from __future__ import annotations

import pandas as pd

from momentum.history._coverage import benchmark_split
from momentum.history._update import members_between, read_history, update_history
from momentum.providers import PriceProvider
from momentum.providers.alpaca import HISTORY_START
from momentum.store import VersionedStore
from momentum.universe import UniverseSpec, symbol_key


def backtest_bars(
    store: VersionedStore,
    provider: PriceProvider,
    universe: UniverseSpec,
    benchmark_symbol: str,
    end: pd.Timestamp,
    flow_run_id: str | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """The bars up to ``end`` (long, as the provider gives them) and the benchmark. A provider that needs
    symbols is read through ``history`` (its universe's members since :data:`HISTORY_START` plus
    ``benchmark_symbol``, updated and committed first, recorded with ``flow_run_id``)."""
    if not provider.needs_symbols:
        return provider.bars(None, end), provider.benchmark(None, end)
    symbols = members_between(universe, HISTORY_START, end, benchmark_symbol)
    update = update_history(store, provider, symbols, HISTORY_START, end, flow_run_id=flow_run_id)
    return benchmark_split(read_history(store, update.ref, end), symbol_key(benchmark_symbol))
