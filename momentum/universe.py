"""Point-in-time universe membership: boolean frames (index dates, columns symbols).

Convention everywhere: a symbol is a member from its start date inclusive to its end date exclusive
(the day of removal is already outside), matching ``index_constitution.constituents_at``. Dates are
tz-naive; a frame row says who was a member on that day, so using it at t never looks past t.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import index_constitution as ic
import numpy as np
import pandas as pd

from momentum.settings import Settings

# index_constitution's S&P 500 history is complete (494-504 members) from about 2011; before that it
# misses names that left early and knows no join date for 244 removed names (see UNKNOWN_OPT_IN).
COVERAGE_START = pd.Timestamp("2011-01-01")
# The history's opt-in placeholder for "join date unknown": it marks 244 rows, all of names removed
# between 1976 and 2025 (AMD's first spell among them). It is not a real date: First Solar (IPO 2006,
# added 2009) and Under Armour (added 2014) carry it too.
UNKNOWN_OPT_IN = pd.Timestamp("1976-07-01")

_NEVER = np.iinfo(np.int64).max  # "still a member": an end later than any date
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]*([.\-][A-Z0-9]+)?$")


def _key(symbol: str) -> str:
    """The history's spelling: upper case, share class after a dot (BRK-B -> BRK.B)."""
    return symbol.strip().upper().replace("-", ".").replace("/", ".")


@lru_cache(maxsize=1)
def _sp500_rows() -> pd.DataFrame:
    """index_constitution S&P 500 history as (symbol, start, end) in int64 ns; end NaT -> never."""
    h = ic.history("sp500")
    start = h["opt-in"].astype("datetime64[ns]").to_numpy().astype(np.int64)
    end = h["opt-out"].astype("datetime64[ns]")
    end = np.where(end.isna(), _NEVER, end.to_numpy().astype(np.int64))
    return pd.DataFrame({"symbol": h["symbol"].astype(str).to_numpy(), "start": start, "end": end})


@lru_cache(maxsize=1)
def _ticker_aliases() -> dict[str, tuple[str, int]]:
    """Old ticker -> (current ticker, first change date ns) for ticker_change events whose old
    ticker has no history rows of its own (the history files members under the current ticker)."""
    ev = ic.events(index="sp500")
    ev = ev[(ev["event_type"] == "ticker_change") & ev["new_symbol"].notna() & (ev["new_symbol"] != "")]
    known = set(_sp500_rows()["symbol"])
    step = {o: (n, pd.Timestamp(d).value) for o, n, d in zip(ev["old_symbol"], ev["new_symbol"], ev["event_date"])
            if o not in known}
    aliases = {}
    for old, (new, when) in step.items():
        seen = {old}
        while new in step and new not in seen:  # follow chains A -> B -> C
            seen.add(new)
            new = step[new][0]
        aliases[old] = (new, when)
    return aliases


def _as_dates(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(dates)
    if idx.tz is not None:
        raise ValueError("dates must be tz-naive")
    if idx.hasnans:
        raise ValueError("dates must not contain NaT")
    return idx


def _frame(intervals: pd.DataFrame, symbols: Sequence[str], dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Boolean frame from intervals (col: column position, start/end: int64 ns, end exclusive)."""
    symbols, idx = list(symbols), _as_dates(dates)
    if len(set(symbols)) != len(symbols):
        raise ValueError("symbols must be unique")
    values = idx.as_unit("ns").asi8
    order = np.argsort(values, kind="stable")
    d = values[order]
    diff = np.zeros((len(d) + 1, len(symbols)), dtype=np.int64)
    cols = intervals["col"].to_numpy(dtype=np.int64)
    np.add.at(diff, (np.searchsorted(d, intervals["start"].to_numpy(np.int64), "left"), cols), 1)
    np.add.at(diff, (np.searchsorted(d, intervals["end"].to_numpy(np.int64), "left"), cols), -1)
    covered = np.empty((len(d), len(symbols)), dtype=bool)
    covered[order] = np.cumsum(diff[:-1], axis=0) > 0
    return pd.DataFrame(covered, index=idx, columns=pd.Index(symbols, dtype=object))


def sp500_membership(
    symbols: Sequence[str], dates: pd.DatetimeIndex, *, trust_unknown_opt_in: bool = False
) -> pd.DataFrame:
    """True where the symbol was an S&P 500 member on the date (``index_constitution`` history).

    Rule: member iff one of the symbol's history rows covers the date, opt-in inclusive to opt-out
    exclusive (re-entries are separate rows; overlapping rows are OR-ed). A symbol without rows is
    never a member. So a name that left before t, or joins after t, is never a member at t.
    Before ``COVERAGE_START`` the history is incomplete: missing names stay False (the universe is
    a subset of the true index; safe, but not survivorship-free), while listed names are trusted.
    Rows with the placeholder opt-in ``UNKNOWN_OPT_IN`` (join date unknown) count only from
    ``COVERAGE_START`` unless ``trust_unknown_opt_in``: trusting them would put First Solar in the
    2007 universe, two years before it joined (zero-length rows never count).

    Symbols are matched as BRK-B == BRK.B. An old ticker (e.g. FB, BK) with no rows of its own takes
    its successor's rows from ``ic.events`` ticker changes, cut at the change date (best effort; the
    embedded symbols need none of this, the history files them under their current tickers).

    Embedded 20 symbols (history checked, library 1.0.1): AAPL BAC CVX GE HD JNJ JPM KO LLY MRK PEP
    PFE PG WMT XOM members since before 1990; MSFT from 1994-06-01, UNH 1994-07-01, BBY 1999-06-29;
    RRC 2007-12-20..2018-06-18; AMD out 2013-09-20..2017-03-20, and before that only a placeholder
    row, so AMD is a member from 2011-01-01 (or 1976 with ``trust_unknown_opt_in``).
    """
    rows = _sp500_rows()
    if not trust_unknown_opt_in:
        rows = rows.assign(start=np.where(rows["start"] == UNKNOWN_OPT_IN.value, COVERAGE_START.value, rows["start"]))
    keys = pd.DataFrame({"col": np.arange(len(symbols)), "symbol": [_key(s) for s in symbols], "cut": _NEVER})
    aliases, have = _ticker_aliases(), set(rows["symbol"])
    for i, key in enumerate(keys["symbol"]):
        if key not in have and key in aliases:
            keys.loc[i, ["symbol", "cut"]] = aliases[key]
    merged = keys.merge(rows, on="symbol", how="inner")
    merged["end"] = np.minimum(merged["end"], merged["cut"])
    return _frame(merged[merged["end"] > merged["start"]], symbols, dates)


def _parse_date(text: str, lineno: int) -> int | None:
    if not text:
        return None
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"line {lineno}: bad date {text!r}") from exc
    if ts is pd.NaT or ts.tz is not None:
        raise ValueError(f"line {lineno}: bad date {text!r} (need a tz-naive date)")
    return ts.as_unit("ns").value


def _parse_universe(text: str, known: dict[str, int]) -> pd.DataFrame:
    """Lines of a universe file -> intervals (col, start, end). ``known``: symbol key -> column."""
    header: list[str] | None = None
    rows: list[tuple[int, int, int]] = []
    lines = text.rstrip().splitlines()
    for lineno, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            if raw.strip():
                continue  # a comment line
            raise ValueError(f"line {lineno}: blank line (use '#' to comment)")
        fields = [f.strip() for f in line.split(",")]
        if header is None and not rows and fields[0].lower() == "symbol":
            header = [f.lower() for f in fields]
            if len(set(header)) != len(header) or not set(header) <= {"symbol", "start", "end"}:
                raise ValueError(f"line {lineno}: header must be symbol[,start][,end], got {line!r}")
            continue
        if len(fields) != (len(header) if header else 1):
            raise ValueError(f"line {lineno}: expected {header or ['symbol']} fields, got {line!r}")
        record = dict(zip(header or ["symbol"], fields))
        symbol = record["symbol"].upper()
        if not _SYMBOL.match(symbol):
            raise ValueError(f"line {lineno}: malformed symbol {record['symbol']!r}")
        if _key(symbol) not in known:
            raise ValueError(f"line {lineno}: unknown symbol {symbol!r} (not among the data's symbols)")
        start = _parse_date(record.get("start", ""), lineno)
        end = _parse_date(record.get("end", ""), lineno)
        start = np.iinfo(np.int64).min if start is None else start
        end = _NEVER if end is None else end
        if end <= start:
            raise ValueError(f"line {lineno}: end must be after start")
        rows.append((known[_key(symbol)], start, end))
    if not rows:
        raise ValueError("universe file lists no symbols")
    return pd.DataFrame(rows, columns=["col", "start", "end"])


def file_membership(path: str, symbols: Sequence[str], dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Membership from a user file (reads ``path``); same frame shape as :func:`sp500_membership`.

    Either one symbol per line (member on every date), or a CSV whose first line is the header
    ``symbol[,start][,end]`` (member from start inclusive to end exclusive; an empty field is
    open-ended; several rows per symbol allowed). ``#`` starts a comment; trailing blank lines are
    ignored. A blank line inside the file, a malformed symbol or date, a wrong field count, end <=
    start, or a symbol not in ``symbols`` raises ValueError naming the line number.
    """
    known = {_key(s): i for i, s in enumerate(symbols)}
    return _frame(_parse_universe(Path(path).read_text(), known), symbols, dates)


def all_membership(symbols: Sequence[str], dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Every symbol a member on every date."""
    return _frame(pd.DataFrame({"col": range(len(symbols)), "start": np.iinfo(np.int64).min, "end": _NEVER}),
                  symbols, dates)


def members_at(membership: pd.DataFrame, as_of: object) -> set[str]:
    """Members on the last row dated at or before ``as_of`` (empty set before the first row)."""
    if not membership.index.is_monotonic_increasing:
        raise ValueError("membership index must be sorted")
    pos = membership.index.searchsorted(pd.Timestamp(as_of), side="right") - 1
    if pos < 0:
        return set()
    row = membership.iloc[pos]
    return set(row.index[row.to_numpy(dtype=bool)])


def universe_members(settings: Settings, symbols: Sequence[str], as_of: pd.Timestamp) -> set[str] | None:
    """The symbols in the configured universe at ``as_of``; None means every symbol (``all``).

    ``auto`` is the point-in-time S&P 500 for the embedded and alpaca data, every symbol otherwise.
    """
    kind = settings.universe
    if kind == "auto":
        kind = "sp500" if settings.provider in ("embedded", "alpaca") else "all"
    if kind == "all":
        return None
    dates = pd.DatetimeIndex([pd.Timestamp(as_of)])
    if kind == "sp500":
        return members_at(sp500_membership(symbols, dates), as_of)
    return members_at(file_membership(str(settings.universe_file), symbols, dates), as_of)


def sp500_members(as_of: pd.Timestamp) -> pd.DataFrame:
    """S&P 500 members on ``as_of``: columns ``symbol`` (Alpaca spelling, ``BRK.B``) and ``since`` (the
    day the current membership spell began), sorted by symbol. After the history's last date it is the
    latest known membership (see :mod:`momentum.membership_freshness`)."""
    rows = ic.constituents_at("sp500", pd.Timestamp(as_of))
    frame = pd.DataFrame({"symbol": rows["symbol"].astype(str).map(_key),
                          "since": pd.to_datetime(rows["opt-in"]).astype("datetime64[ns]")})
    return frame.drop_duplicates("symbol").sort_values("symbol", ignore_index=True)
