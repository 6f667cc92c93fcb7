"""``momentum ingest``: backfill the store's ``history`` (daily bars of the universe's members), fetched once."""

from __future__ import annotations

import json
import os
from typing import Any, Optional

import typer


def ingest_text(summary: dict[str, Any]) -> str:
    """The human summary of an ingest."""
    readjusted = ", ".join(summary["readjusted"]) or "none"
    return "\n".join([
        f"history@{summary['as_of']}/{summary['version']}: {summary['symbols']} symbols, "
        f"{summary['start']} .. {summary['end']}",
        f"fetched {summary['sessions_fetched']} new session(s) in {summary['requests']} data request(s); "
        f"re-adjusted: {readjusted}",
        f"stored: {summary['path']}",
    ])


def ingest(
    provider: Optional[str] = typer.Option(None, "--provider", help="alpaca (also: embedded | synthetic | files)"),
    start: str = typer.Option("2016-01-01", "--start", help="First day of the history YYYY-MM-DD"),
    end: Optional[str] = typer.Option(None, "--end", help="Last session YYYY-MM-DD (default: the provider's last session)"),
    store: Optional[str] = typer.Option(None, "--store", help="Store URL: a folder or s3://bucket/prefix"),
    set_: list[str] = typer.Option([], "--set", help="Any other setting, key=value (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as one JSON object"),
) -> None:
    """Backfill daily bars of the universe's members into the dataset ``history``; a rerun fetches only what is new."""
    from momentum_cli.app import check_settings, fail, parse_sets

    overrides = parse_sets(set_)
    check_settings(store_url=store, provider=provider, **overrides)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry calls: offline by default
    from flows.ingest import ingest as ingest_flow

    try:
        summary = ingest_flow(start=start, end=end, store_url=store, provider=provider, overrides=overrides)
    except Exception as exc:  # noqa: BLE001 - the CLI's job is a one-line reason
        fail(f"{type(exc).__name__}: {exc}".splitlines()[0])
    typer.echo(json.dumps(summary) if as_json else ingest_text(summary))
