"""``momentum``: the command group. It only registers the commands (one ``*_cmd.py`` module each) and
declares the global options."""

from __future__ import annotations

import typer

from momentum_cli.automations_cmd import automations
from momentum_cli.backtest_cmd import backtest
from momentum_cli.calendar_cmd import calendar
from momentum_cli.config_cmd import config
from momentum_cli.ingest_cmd import ingest
from momentum_cli.run_cmd import run
from momentum_cli.serve_cmd import serve
from momentum_cli.store_cmd import store_app
from momentum_cli.tool import OneLineGroup
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
for command in (serve, automations, validate, backtest, universe, ingest, run, calendar, config):
    app.command()(command)


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


def main() -> None:
    app(prog_name="momentum")
