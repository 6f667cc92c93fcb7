"""``momentum universe``: the point-in-time S&P 500 members on a date, with the date each joined."""

from __future__ import annotations

import json
import re
from typing import Optional

import typer

from momentum_cli.render import table
from momentum_cli.tool import fail

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def universe(
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Date YYYY-MM-DD (default: today)"),
    as_json: bool = typer.Option(
        False, "--json", help="Print as_of, count, members and sources as one JSON object"
    ),
) -> None:
    """List the S&P 500 members on a date and since when each has been one (renames included)."""
    import pandas as pd

    from momentum.universe import COMPLETE_FROM, sp500_members, sp500_sources

    try:
        if as_of and not _DATE.match(as_of):
            raise ValueError(f"bad date {as_of!r}")
        day = pd.Timestamp(as_of) if as_of else pd.Timestamp.today().normalize()
        listed = sp500_members(day)
    except ValueError as exc:
        fail(str(exc).splitlines()[0], "--as-of", "use YYYY-MM-DD, e.g. 2008-11-28")
    if day < COMPLETE_FROM:
        typer.echo(
            f"note: S&P 500 membership before {COMPLETE_FROM:%Y-%m-%d} is partial "
            "(only members with a known join date)",
            err=True,
        )
    members = [{"symbol": s, "since": f"{since:%Y-%m-%d}"} for s, since in listed.itertuples(index=False)]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "as_of": f"{day:%Y-%m-%d}",
                    "count": len(members),
                    "members": members,
                    "sources": sp500_sources(),
                }
            )
        )
        return
    typer.echo(f"S&P 500 members on {day:%Y-%m-%d}: {len(members)}")
    typer.echo(table(members))
