"""Ingestion: resolve the as_of session, then fetch bars and the benchmark into the store."""

from __future__ import annotations

import pandas as pd
from prefect import task

from momentum.calendar import checked_as_of, nyse_sessions
from momentum.providers import make_provider
from momentum.settings import Settings
from momentum.store import DatasetRef
from tasks.common import RETRY, STAGE, current_flow_run_id, only_transient, open_store


def history_sessions(settings: Settings) -> int:
    """Sessions of bars a run needs: the momentum window plus the skip (273 by default)."""
    return max(settings.lookback + settings.skip, settings.lookback + 1)


def _params(settings: Settings) -> dict:
    params = {"provider": settings.provider, "sessions": history_sessions(settings)}
    if settings.provider == "synthetic":
        params |= {"symbols": settings.synthetic_symbols, "n_sessions": settings.synthetic_sessions,
                   "seed": settings.synthetic_seed}
    return params


@task(name="resolve-as-of")
def resolve_as_of(settings: Settings, as_of: str | None) -> str:
    """The requested session, or the provider's last session; never a future or non-trading day."""
    return checked_as_of(as_of, make_provider(settings).last_session()).strftime("%Y-%m-%d")


def _fetch_once(settings: Settings, dataset: str, as_of: str, fetch) -> DatasetRef:
    """The committed version for these parameters, or ``fetch(provider, params)`` written as a new one."""
    store, params = open_store(settings), _params(settings)
    committed = store.lookup(dataset, as_of, params=params)
    if committed is not None:
        return committed
    frame = fetch(make_provider(settings), params)
    return store.write(dataset, as_of, frame, params=params, flow_run_id=current_flow_run_id())


@task(name="ingest", retry_condition_fn=only_transient, **RETRY, **STAGE)
def ingest(settings: Settings, as_of: str) -> DatasetRef:
    """Bars for the history window ending at ``as_of`` -> dataset ``bars`` (never refetched if committed)."""
    day = pd.Timestamp(as_of)

    def fetch(provider, params):
        start = nyse_sessions(day - pd.Timedelta(days=2 * params["sessions"] + 30), day)[-params["sessions"]]
        return provider.bars(start, day)

    return _fetch_once(settings, "bars", as_of, fetch)


@task(name="ingest-benchmark", retry_condition_fn=only_transient, **RETRY, **STAGE)
def ingest_benchmark(settings: Settings, as_of: str) -> DatasetRef:
    """The benchmark's closes up to ``as_of`` -> dataset ``benchmark`` (date, close)."""

    def fetch(provider, params):
        levels = provider.benchmark(None, pd.Timestamp(as_of)).tail(2 * params["sessions"])
        return pd.DataFrame({"date": levels.index.astype("datetime64[ns]"), "close": levels.to_numpy(float)})

    return _fetch_once(settings, "benchmark", as_of, fetch)
