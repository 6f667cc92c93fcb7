"""``momentum validate PATH``: run the validation gate on a user's own bars file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def validate(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="csv or parquet: date, symbol, adj_close[, open, high, low, close, volume]"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Expected last session (default: the last date in the file)"),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as one JSON object"),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the HTML report here"),
) -> None:
    """Validate a bars file; exit 1 when it fails at dataset level (the run would be blocked)."""
    import pandas as pd

    from momentum.calendar import nyse_sessions, previous_session, is_session
    from momentum.providers.files import read_bars
    from momentum.settings import Settings
    from momentum.validation import render_html, validate_bars

    settings = Settings()
    bars = read_bars(str(path))
    dates = pd.to_datetime(bars["date"], errors="coerce").dropna() if "date" in bars else pd.Series(dtype="datetime64[ns]")
    day = pd.Timestamp(as_of) if as_of else (dates.max().normalize() if len(dates) else pd.Timestamp.today().normalize())
    if not is_session(day):
        day = previous_session(day)
    start = dates.min().normalize() if len(dates) else day
    result = validate_bars(
        bars, as_of=day, sessions=nyse_sessions(min(start, day), day), min_history=settings.lookback + 1,
        max_stale_sessions=settings.max_stale_sessions, max_quarantine_fraction=settings.max_quarantine_fraction,
    )
    if html:
        html.write_text(render_html(result, title=f"Validation of {path.name}"))
    problems = result.table[(result.table["status"] != "passed") & (result.table["symbol"] != "")]
    if as_json:
        records = json.loads(problems.to_json(orient="records", date_format="iso"))
        typer.echo(json.dumps({"passed": result.passed, "as_of": f"{day:%Y-%m-%d}", "summary": result.summary,
                               "quarantined": list(result.quarantined), "findings": records}))
    else:
        typer.echo(result.summary)
        for row in problems.itertuples(index=False):
            when = "" if pd.isna(row.date) else f" {row.date:%Y-%m-%d}"
            typer.echo(f"  [{row.severity}] {row.check} {row.symbol}{when}: {row.message}")
    if not result.passed:
        raise typer.Exit(1)
