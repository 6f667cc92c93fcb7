"""``momentum``: run the pipeline, inspect the store, show the calendar."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional

import typer

from momentum_cli.backtest_cmd import backtest
from momentum_cli.render import run_text
from momentum_cli.serve_cmd import automations, serve
from momentum_cli.store_cmd import store_app
from momentum_cli.validate_cmd import validate

app = typer.Typer(help="A long-only US-equity momentum bot on a versioned parquet store.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(store_app, name="store")
app.command()(serve)
app.command()(automations)
app.command()(validate)
app.command()(backtest)


def fail(message: str) -> None:
    """One line on stderr, exit status 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def check_settings(**overrides: Any) -> None:
    """Fail fast, in one line, on a bad setting (environment or flags) before any run starts."""
    from pydantic import ValidationError

    from momentum.settings import Settings

    try:
        Settings().with_overrides(**overrides)
    except ValidationError as exc:
        fail("invalid settings: " + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()))
    except ValueError as exc:
        fail(str(exc))


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
            fail(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = parse_value(value)
    return out


@app.command()
def run(
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Signal session YYYY-MM-DD (default: last session in the data)"),
    store: Optional[str] = typer.Option(None, "--store", help="Store URL: a folder or s3://bucket/prefix"),
    provider: Optional[str] = typer.Option(None, "--provider", help="embedded | synthetic | alpaca | files"),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="qmom | momentum"),
    broker: Optional[str] = typer.Option(None, "--broker", help="paper | alpaca"),
    only_on_schedule: Optional[bool] = typer.Option(None, "--only-on-schedule/--always",
                                                    help="Plan and execute only on a rebalance signal session"),
    live: bool = typer.Option(False, "--live", help="Opt in to live trading (also needs MOMENTUM_LIVE_TRADING=true)"),
    set_: list[str] = typer.Option([], "--set", help="Any other setting, key=value (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as one JSON object"),
) -> None:
    """Run the whole pipeline once: ingest, validate, score, plan, execute."""
    overrides = parse_sets(set_)
    check_settings(store_url=store, provider=provider, strategy=strategy, broker=broker,
                   only_on_schedule=only_on_schedule, **overrides)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry calls: offline by default
    from flows.rebalance import rebalance

    try:
        summary = rebalance(as_of=as_of, store_url=store, provider=provider, strategy=strategy, broker=broker,
                            only_on_schedule=only_on_schedule, live=live, overrides=overrides)
    except Exception as exc:  # noqa: BLE001 - the CLI's job is a one-line reason
        fail(f"{type(exc).__name__}: {exc}".splitlines()[0])
    typer.echo(json.dumps(summary, default=str) if as_json else run_text(summary))


@app.command()
def calendar(
    year: Optional[int] = typer.Option(None, "--year", help="Calendar year (default: this year)"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Print the rebalance signal and trade sessions of a year."""
    import pandas as pd

    from momentum.calendar import rebalance_schedule
    from momentum.settings import Settings

    settings = Settings()
    y = year or pd.Timestamp.today().year
    schedule = rebalance_schedule(f"{y}-01-01", f"{y}-12-31", settings.rebalance_months, settings.trade_offset)
    rows = [{"signal_date": f"{r.signal_date:%Y-%m-%d}", "trade_date": f"{r.trade_date:%Y-%m-%d}"}
            for r in schedule.itertuples(index=False)]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    typer.echo(f"rebalance sessions {y} (signal at the close, trade {settings.trade_offset} session(s) later):")
    for row in rows:
        typer.echo(f"  signal {row['signal_date']}  trade {row['trade_date']}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
