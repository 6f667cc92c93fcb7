"""``momentum calendar``: the rebalance signal and trade sessions of a year."""

from __future__ import annotations

import json
from typing import Optional

import typer


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
