"""Ingestion: resolve the as_of session, then fetch bars and the benchmark into the store."""

from __future__ import annotations

import pandas as pd
from prefect import task

from momentum import definitions
from momentum.calendar import checked_as_of, sessions_ending
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore
from momentum.strategy import history_sessions
from momentum.universe import run_symbols, universe_at
from tasks.common import RETRY, STAGE, current_flow_run_id, only_transient, open_store


def _params(settings: Settings, symbols: list[str] | None = None) -> dict:
    params = {"provider": settings.provider, "sessions": history_sessions(settings.lookback, settings.skip)}
    if settings.provider == "synthetic":
        params |= {
            "symbols": settings.synthetic_symbols,
            "n_sessions": settings.synthetic_sessions,
            "seed": settings.synthetic_seed,
        }
    if settings.provider == "alpaca":
        params |= {
            "source": settings.alpaca_data_url,
            "feed": settings.alpaca_data_feed,
            "adjustment": "all",
            "benchmark_symbol": settings.benchmark_symbol,
        }
    return params | ({"requested_symbols": symbols} if symbols is not None else {})


def fetch_symbols(settings: Settings, store: VersionedStore, as_of: str, live: bool) -> list[str] | None:
    """What a live provider is asked for: the universe at as_of plus the held positions (None: the
    provider's own full set). The benchmark is fetched by ``ingest-benchmark``."""
    if settings.provider != "alpaca":
        return None
    broker = definitions.broker(settings, as_of=as_of, prices=pd.Series(dtype=float), live_opt_in=live)
    held = [p.symbol for p in broker.positions()]
    return run_symbols(universe_at(definitions.universe_spec(settings), pd.Timestamp(as_of)), held)


@task(name="resolve-as-of")
def resolve_as_of(settings: Settings, as_of: str | None) -> str:
    """The requested session, or the provider's last session; never a future or non-trading day."""
    return checked_as_of(as_of, definitions.provider(settings).last_session()).strftime("%Y-%m-%d")


def _fetch_once(
    settings: Settings, dataset: str, as_of: str, fetch, symbols: list[str] | None = None
) -> DatasetRef:
    """The committed version for these parameters, or ``fetch(provider, params)`` written as a new one
    (only once every page arrived: a failed fetch writes nothing)."""
    store, params = open_store(settings), _params(settings, symbols)
    committed = store.lookup(dataset, as_of, params=params)
    if committed is not None:
        return committed
    frame = fetch(definitions.provider(settings), params)
    return store.write(
        dataset, as_of, frame, params=params, flow_run_id=current_flow_run_id(), known_new=True
    )  # the look-up above found none


@task(name="ingest", retry_condition_fn=only_transient, **RETRY, **STAGE)
def ingest(settings: Settings, as_of: str, live: bool = False) -> DatasetRef:
    """Bars for the history window ending at ``as_of`` -> dataset ``bars`` (never refetched if committed).

    Symbols the provider dropped (an invalid symbol) are recorded with the reason in the frame's
    ``rejected`` attribute, stored with the parquet file, so validation names them.
    """
    day = pd.Timestamp(as_of)
    symbols = fetch_symbols(settings, open_store(settings), as_of, live)

    def fetch(provider, params):
        start = sessions_ending(day, params["sessions"])[0]
        frame = provider.bars(start, day, symbols)
        frame.attrs["rejected"] = dict(getattr(provider, "rejected", {}))
        return frame

    return _fetch_once(settings, "bars", as_of, fetch, symbols)


@task(name="ingest-benchmark", retry_condition_fn=only_transient, **RETRY, **STAGE)
def ingest_benchmark(settings: Settings, as_of: str) -> DatasetRef:
    """The benchmark's closes up to ``as_of`` -> dataset ``benchmark`` (date, close)."""

    def fetch(provider, params):
        levels = provider.benchmark(None, pd.Timestamp(as_of)).tail(2 * params["sessions"])
        return pd.DataFrame({"date": levels.index.astype("datetime64[ns]"), "close": levels.to_numpy(float)})

    return _fetch_once(settings, "benchmark", as_of, fetch)
