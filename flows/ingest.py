"""The ingest flow: backfill daily bars of the universe's members into the store's ``history``
(fetched once)."""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from momentum.settings import Settings, flow_timeout_seconds
from tasks.history import HISTORY_START, history_symbols, ingest_history
from tasks.ingest import resolve_as_of


@flow(name="ingest-history", log_prints=True, timeout_seconds=flow_timeout_seconds())
def ingest(
    start: str = HISTORY_START,
    end: str | None = None,
    store_url: str | None = None,
    provider: Literal["embedded", "synthetic", "alpaca", "files"] | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict:
    """Bring ``history`` up to ``end`` (default: the provider's last session) from ``start``; returns
    the summary.

    Parameters left empty come from ``MOMENTUM_*`` settings; ``overrides`` sets any other setting.
    """
    settings = Settings().with_overrides(overrides, store_url=store_url, provider=provider)
    day = resolve_as_of(settings, end)
    symbols = history_symbols(settings, start, day)
    return ingest_history(settings, symbols, start, day)
