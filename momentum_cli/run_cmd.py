"""``momentum run``: the whole pipeline once (the rebalance flow), then its summary or ``--json``."""

from __future__ import annotations

import json
from typing import Optional

import typer

from momentum_cli.options import parse_sets
from momentum_cli.preflight import check_run, default_of
from momentum_cli.progress import VERBOSE, flow_output
from momentum_cli.render import run_text
from momentum_cli.tool import fail


def run(
    as_of: Optional[str] = typer.Option(
        None,
        "--as-of",
        metavar="DATE",
        help="Session to score, YYYY-MM-DD (default: the provider's last session)",
    ),
    store: Optional[str] = typer.Option(
        None, "--store", metavar="URL", help=f"A folder or s3://bucket/prefix {default_of('store_url')}"
    ),
    provider: Optional[str] = typer.Option(
        None,
        "--provider",
        metavar="NAME",
        help=f"embedded | synthetic | alpaca | files {default_of('provider')}",
    ),
    strategy: Optional[str] = typer.Option(
        None, "--strategy", metavar="NAME", help=f"qmom | momentum {default_of('strategy')}"
    ),
    broker: Optional[str] = typer.Option(
        None, "--broker", metavar="NAME", help=f"paper | alpaca {default_of('broker')}"
    ),
    only_on_schedule: Optional[bool] = typer.Option(
        None,
        "--only-on-schedule/--always",
        help="Plan and execute only the rebalance a signal session owes, or at as_of whatever the calendar "
        f"{default_of('only_on_schedule')}",
    ),
    order_timing: Optional[str] = typer.Option(
        None,
        "--order-timing",
        metavar="WHEN",
        help="close (the trade session's closing auction) | open (its opening auction) | market "
        f"{default_of('order_timing')}",
    ),
    live: bool = typer.Option(
        False, "--live", help="Opt in to live trading (also needs MOMENTUM_LIVE_TRADING=true)"
    ),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="Any other setting (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as one JSON object"),
    verbose: bool = VERBOSE,
) -> None:
    """Run the whole pipeline once: ingest, validate, score, plan, execute.

    Exit status 1 when a stage failed or orders were left rejected, unfilled or not sent (the summary is
    still printed and everything is committed)."""
    named = {
        "store_url": store,
        "provider": provider,
        "strategy": strategy,
        "broker": broker,
        "only_on_schedule": only_on_schedule,
        "order_timing": order_timing,
    }
    overrides = parse_sets(set_)
    _, day = check_run(as_of, **named, **overrides)
    from flows.rebalance import rebalance
    from momentum_cli.prefect_api import flow_runs_api

    with flow_runs_api(), flow_output(verbose):
        state = rebalance(as_of=day, **named, live=live, overrides=overrides, return_state=True)
        summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        raise summary
    from momentum.run import RunSummary

    typer.echo(json.dumps(summary, default=str) if as_json else run_text(RunSummary.from_json(summary)))
    if state.is_failed():
        fail(state.message or "the run failed")
