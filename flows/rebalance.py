"""The rebalance flow: ingest -> validate -> score -> plan -> execute -> account -> summary."""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from momentum.calendar import is_signal_session
from momentum.settings import Settings
from tasks.execute import execute, snapshot_account
from tasks.ingest import ingest, ingest_benchmark, resolve_as_of
from tasks.plan import plan
from tasks.score import score
from tasks.summary import summarize
from tasks.validate import validate


@flow(name="rebalance", log_prints=True)
def rebalance(
    as_of: str | None = None,
    store_url: str | None = None,
    provider: Literal["embedded", "synthetic"] | None = None,
    strategy: Literal["qmom", "momentum"] | None = None,
    broker: Literal["paper", "alpaca"] | None = None,
    only_on_schedule: bool | None = None,
    live: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict:
    """One run at ``as_of`` (default: the provider's last session); returns the run summary.

    Parameters left empty come from ``MOMENTUM_*`` settings; ``overrides`` sets any other setting.
    ``live`` is the explicit live-trading opt-in (also needs MOMENTUM_LIVE_TRADING=true).
    """
    settings = Settings().with_overrides(
        store_url=store_url, provider=provider, strategy=strategy, broker=broker,
        only_on_schedule=only_on_schedule, **(overrides or {}),
    )
    day = resolve_as_of(settings, as_of)
    refs = {"bars": ingest(settings, day), "benchmark": ingest_benchmark(settings, day)}
    refs["validation"] = validate(settings, refs["bars"])
    refs["scores"] = score(settings, refs["bars"], refs["validation"], refs["benchmark"])
    if not settings.only_on_schedule or is_signal_session(day, settings.rebalance_months):
        refs["orders"] = plan(settings, refs["scores"], refs["bars"], live)
        refs["executions"] = execute(settings, refs["orders"], refs["bars"], live)
        refs["account"] = snapshot_account(settings, refs["orders"], refs["executions"], refs["bars"], live)
    return summarize(settings, refs)
