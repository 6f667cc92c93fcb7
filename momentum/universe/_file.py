"""A user's universe file -> membership intervals, and the symbol spelling membership is keyed by.

Either one symbol per line (member on every date), or a CSV whose first line is the header
``symbol[,start][,end]`` (member from start inclusive to end exclusive; an empty field is open-ended;
several rows per symbol allowed). ``#`` starts a comment; trailing blank lines are ignored. Dates are
tz-naive; intervals are int64 nanoseconds, an open end is :data:`OPEN_END`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from momentum.errors import PermanentError

OPEN_END = np.iinfo(np.int64).max  # "still a member": an end later than any date
OPEN_START = np.iinfo(np.int64).min  # "a member from the start": earlier than any date
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]*([.\-][A-Z0-9]+)?$")
_FORMAT = "one symbol per line, or a header symbol[,start][,end] and YYYY-MM-DD dates; '#' comments"


class UniverseFileError(PermanentError, ValueError):
    """A universe file line cannot be read: the run stops in one line naming the file and the line."""


def symbol_key(symbol: str) -> str:
    """The membership history's spelling: upper case, share class after a dot (BRK-B -> BRK.B)."""
    return symbol.strip().upper().replace("-", ".").replace("/", ".")


def _date(text: str, lineno: int, source: str) -> int | None:
    if not text:
        return None
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        ts = None
    if ts is None or ts is pd.NaT or ts.tz is not None:
        raise UniverseFileError(
            f"line {lineno}: bad date {text!r}", f"universe file {source}", "need a tz-naive date YYYY-MM-DD"
        )
    return ts.as_unit("ns").value


def _header(fields: list[str], line: str, lineno: int, source: str) -> list[str]:
    header = [f.lower() for f in fields]
    if len(set(header)) != len(header) or not set(header) <= {"symbol", "start", "end"}:
        raise UniverseFileError(
            f"line {lineno}: header must be symbol[,start][,end], got {line!r}",
            f"universe file {source}",
            _FORMAT,
        )
    return header


def _interval(
    record: dict[str, str], known: dict[str, int], lineno: int, source: str
) -> tuple[int, int, int]:
    """(column, start, end) of one data line; ``known``: symbol key -> column."""
    where = f"universe file {source}"
    symbol = record["symbol"].upper()
    if not _SYMBOL.match(symbol):
        raise UniverseFileError(f"line {lineno}: malformed symbol {record['symbol']!r}", where, _FORMAT)
    if symbol_key(symbol) not in known:
        raise UniverseFileError(
            f"line {lineno}: unknown symbol {symbol!r} (not among the data's symbols)",
            where,
            "remove it or fetch its bars",
        )
    start = _date(record.get("start", ""), lineno, source)
    end = _date(record.get("end", ""), lineno, source)
    start, end = OPEN_START if start is None else start, OPEN_END if end is None else end
    if end <= start:
        raise UniverseFileError(f"line {lineno}: end must be after start", where, "swap or fix the dates")
    return known[symbol_key(symbol)], start, end


def parse_universe(text: str, known: dict[str, int], source: str) -> pd.DataFrame:
    """Lines of a universe file -> intervals (col, start, end). ``known``: symbol key -> column;
    ``source`` names the file in errors."""
    header: list[str] | None = None
    rows: list[tuple[int, int, int]] = []
    for lineno, raw in enumerate(text.rstrip().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            if raw.strip():
                continue  # a comment line
            raise UniverseFileError(
                f"line {lineno}: blank line", f"universe file {source}", "use '#' to comment"
            )
        fields = [f.strip() for f in line.split(",")]
        if header is None and not rows and fields[0].lower() == "symbol":
            header = _header(fields, line, lineno, source)
            continue
        if len(fields) != (len(header) if header else 1):
            raise UniverseFileError(
                f"line {lineno}: expected {header or ['symbol']} fields, got {line!r}",
                f"universe file {source}",
                _FORMAT,
            )
        rows.append(_interval(dict(zip(header or ["symbol"], fields, strict=True)), known, lineno, source))
    if not rows:
        raise UniverseFileError("universe file lists no symbols", source, "add one symbol per line")
    return pd.DataFrame(rows, columns=["col", "start", "end"])
