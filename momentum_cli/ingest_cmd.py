"""``momentum ingest``: backfill the store's ``history`` (daily bars of the universe's members),
fetched once."""

from __future__ import annotations

import json
from typing import Any, Optional, cast

import typer

from momentum_cli.options import SETS, STORE, parse_sets
from momentum_cli.preflight import default_of
from momentum_cli.progress import VERBOSE, flow_output


def ingest_text(summary: dict[str, Any]) -> str:
    """The human summary of an ingest."""
    readjusted = ", ".join(summary["readjusted"]) or "none"
    return "\n".join(
        [
            f"history@{summary['as_of']}/{summary['version']}: {summary['symbols']} symbols, "
            f"{summary['start']} .. {summary['end']}",
            f"fetched {summary['sessions_fetched']} new session(s) in {summary['requests']} data request(s); "
            f"re-adjusted: {readjusted}",
            f"stored: {summary['path']}",
        ]
    )


def ingest(
    provider: Optional[str] = typer.Option(
        None, "--provider", help=f"alpaca (also: embedded | synthetic | files) {default_of('provider')}"
    ),
    start: str = typer.Option("2016-01-01", "--start", help="First day of the history YYYY-MM-DD"),
    end: Optional[str] = typer.Option(
        None, "--end", help="Last session YYYY-MM-DD (default: the provider's last session)"
    ),
    store: Optional[str] = STORE,
    set_: list[str] = SETS,
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as one JSON object"),
    verbose: bool = VERBOSE,
) -> None:
    """Backfill daily bars of the universe's members into the dataset ``history``; a rerun fetches
    only what is new."""
    from momentum_cli.preflight import check_ingest

    overrides = parse_sets(set_)
    check_ingest(start, end, store_url=store, provider=provider, **overrides)
    from flows.ingest import ingest as ingest_flow
    from momentum_cli.prefect_api import flow_runs_api

    # check_ingest has validated the provider's name against Settings; the flow's parameter is its Literal.
    with flow_runs_api(), flow_output(verbose):
        summary = ingest_flow(
            start=start, end=end, store_url=store, provider=cast(Any, provider), overrides=overrides
        )
    typer.echo(json.dumps(summary) if as_json else ingest_text(summary))
