"""``momentum validate PATH``: run the validation gate on a user's own bars file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from momentum_cli.tool import fail


def read_bars(path: Path):
    """The provider's reader (:func:`momentum.providers.files.read_bars`) on a local file named on the command
    line: an empty, binary or unparsable file stops the command with one line naming it and the problem."""
    from momentum.providers import files
    from momentum_cli.preflight import readable_file

    readable_file(path, "the bars file")
    fix = "give a csv or parquet file with columns date, symbol, adj_close"
    parquet = path.suffix.lower() in {".parquet", ".pq"}
    if not parquet and b"\x00" in path.read_bytes()[:8192]:
        fail("the bars file is not a text csv (binary content)", str(path), fix)
    try:
        return files.read_bars(str(path))
    except UnicodeDecodeError:
        fail("the bars file is not a text csv (binary content)", str(path), fix)
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow parse errors: name the file, not a traceback
        fail(
            f"the bars file cannot be parsed ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            str(path),
            fix,
        )


def bar_dates(bars, path: Path):
    """The file's dates, or one line naming the file and its date column when they cannot be dates of
    the NYSE calendar (dates before it starts, as numbers read as dates are; dates after today)."""
    import pandas as pd

    from momentum.calendar import CALENDAR_START

    if "date" not in bars:
        return pd.Series(dtype="datetime64[ns]")
    where = f"{path} column date"
    dates = pd.to_datetime(bars["date"], errors="coerce").dropna()
    if len(dates) and dates.min() < CALENDAR_START:
        fail(
            f"dates before the NYSE calendar starts {CALENDAR_START:%Y-%m-%d} (first "
            f"{dates.min():%Y-%m-%d}: numbers such as 20221128 are not dates)",
            where,
            "write the dates as YYYY-MM-DD",
        )
    today = pd.Timestamp.today().normalize()
    if len(dates) and dates.max().normalize() > today:
        fail(
            f"bars dated in the future (last {dates.max():%Y-%m-%d}, today is {today:%Y-%m-%d})",
            where,
            "check the file's dates",
        )
    return dates


def validate(
    path: Path = typer.Argument(
        ..., metavar="PATH", help="csv or parquet: date, symbol, adj_close[, open, high, low, close, volume]"
    ),
    as_of: Optional[str] = typer.Option(
        None, "--as-of", help="Expected last session (default: the last date in the file)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as one JSON object"),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the HTML report here"),
) -> None:
    """Validate a bars file; exit 1 when it fails at dataset level (the run would be blocked)."""
    import pandas as pd

    from momentum.calendar import is_session, nyse_sessions, previous_session
    from momentum.strategy import min_history
    from momentum.validation import GateLimits, render_html, validate_bars
    from momentum_cli.preflight import checked_date, checked_settings

    checked_date(as_of, "--as-of")
    settings = checked_settings()
    bars = read_bars(path)
    dates = bar_dates(bars, path)
    day = (
        pd.Timestamp(as_of)
        if as_of
        else (dates.max().normalize() if len(dates) else pd.Timestamp.today().normalize())
    )
    if not is_session(day):
        day = previous_session(day)
    start = dates.min().normalize() if len(dates) else day
    result = validate_bars(
        bars,
        as_of=day,
        sessions=nyse_sessions(min(start, day), day),
        limits=GateLimits(
            min_history=min_history(settings.lookback),
            max_stale_sessions=settings.max_stale_sessions,
            max_quarantine_fraction=settings.max_quarantine_fraction,
        ),
    )
    if html:
        html.write_text(render_html(result, title=f"Validation of {path.name}"))
    problems = result.table[(result.table["status"] != "passed") & (result.table["symbol"] != "")]
    if as_json:
        records = json.loads(problems.to_json(orient="records", date_format="iso"))
        typer.echo(
            json.dumps(
                {
                    "passed": result.passed,
                    "as_of": f"{day:%Y-%m-%d}",
                    "summary": result.summary,
                    "quarantined": list(result.quarantined),
                    "findings": records,
                }
            )
        )
    else:
        typer.echo(result.summary)
        for row in problems.itertuples(index=False):
            typer.echo(f"  [{row.severity}] {row.message}")
    if not result.passed:
        fail("validation failed", str(path), "the findings above say what to fix; --json lists them all")
