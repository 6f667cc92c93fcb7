"""History tasks: the universe over a range, and the store's ``history`` brought up to date (fetched once)."""

from __future__ import annotations

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE as NO_CACHE

from momentum import definitions
from momentum.history import HISTORY_START as FIRST_DAY
from momentum.history import members_between, update_history
from momentum.settings import Settings
from tasks.common import current_flow_run_id, stage

HISTORY_START = f"{FIRST_DAY:%Y-%m-%d}"  # the ingest flow's default start


@task(name="history-symbols", cache_policy=NO_CACHE)
def history_symbols(settings: Settings, start: str, end: str) -> list[str]:
    """The universe's members at any time in ``[start, end]``, plus the benchmark."""
    return members_between(
        definitions.resources(settings).universe,
        pd.Timestamp(start),
        pd.Timestamp(end),
        settings.benchmark_symbol,
    )


@stage("ingest-history", cached=False)
def ingest_history(settings: Settings, symbols: list[str], start: str, end: str) -> dict:
    """Fetch what ``history`` lacks over ``[start, end]`` and commit it; returns the ``--json`` summary."""
    res = definitions.resources(settings)
    update = update_history(
        res.store,
        res.provider,
        symbols,
        pd.Timestamp(start),
        pd.Timestamp(end),
        flow_run_id=current_flow_run_id(),
    )
    return update.summary()
