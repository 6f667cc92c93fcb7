"""``momentum``: run the pipeline, inspect the store, show the calendar."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from momentum_cli.automations_cmd import automations
from momentum_cli.backtest_cmd import backtest
from momentum_cli.ingest_cmd import ingest
from momentum_cli.preflight import check_run, default_of
from momentum_cli.render import run_text
from momentum_cli.serve_cmd import serve
from momentum_cli.store_cmd import store_app
from momentum_cli.tool import OneLineGroup, fail
from momentum_cli.universe_cmd import universe
from momentum_cli.validate_cmd import validate

app = typer.Typer(
    help="A long-only US-equity momentum bot on a versioned parquet store. Exit status 0: the command "
    "did what it was asked; 1: it failed, and one line on stderr says what, where and how to fix it.",
    cls=OneLineGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(store_app, name="store")
app.command()(serve)
app.command()(automations)
app.command()(validate)
app.command()(backtest)
app.command()(universe)
app.command()(ingest)


def _version(value: bool) -> None:
    if value:
        from momentum import __version__

        typer.echo(f"momentum {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="On a failure, print the traceback before the one-line reason "
        "(also MOMENTUM_DEBUG=1; accepted anywhere on the command line).",
    ),
) -> None:
    """Global options. ``--debug`` is read by :class:`~momentum_cli.tool.OneLineGroup` wherever it
    stands; it is declared here for ``--help``."""


def parse_value(text: str) -> Any:
    """A flag value: JSON when it parses (numbers, true/false, lists), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs -> overrides."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            fail(f"--set expects key=value, got {pair!r}", "--set", "e.g. --set lookback=126")
        out[key.strip()] = parse_value(value)
    return out


@app.command()
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
    live: bool = typer.Option(
        False, "--live", help="Opt in to live trading (also needs MOMENTUM_LIVE_TRADING=true)"
    ),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="Any other setting (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as one JSON object"),
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
    }
    overrides = parse_sets(set_)
    _, day = check_run(as_of, **named, **overrides)
    from flows.rebalance import rebalance
    from momentum_cli.prefect_api import flow_runs_api

    with flow_runs_api():
        state = rebalance(as_of=day, **named, live=live, overrides=overrides, return_state=True)
        summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        raise summary
    from momentum.run import RunSummary

    typer.echo(json.dumps(summary, default=str) if as_json else run_text(RunSummary.from_json(summary)))
    if state.is_failed():
        fail(state.message or "the run failed")


@app.command()
def calendar(
    year: Optional[int] = typer.Option(None, "--year", help="Calendar year (default: this year)"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Print the rebalance signal and trade sessions of a year."""
    import pandas as pd

    from momentum.calendar import rebalance_schedule
    from momentum_cli.preflight import checked_settings

    settings = checked_settings()
    y = year or pd.Timestamp.today().year
    schedule = rebalance_schedule(
        f"{y}-01-01", f"{y}-12-31", settings.rebalance_months, settings.trade_offset
    )
    rows = [
        {"signal_date": f"{r.signal_date:%Y-%m-%d}", "trade_date": f"{r.trade_date:%Y-%m-%d}"}
        for r in schedule.itertuples(index=False)
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    typer.echo(
        f"rebalance sessions {y} (signal at the close, trade {settings.trade_offset} session(s) later):"
    )
    for row in rows:
        typer.echo(f"  signal {row['signal_date']}  trade {row['trade_date']}")


def main() -> None:
    app(prog_name="momentum")
