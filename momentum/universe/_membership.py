"""Point-in-time universe membership: boolean frames (index dates, columns symbols).

Convention everywhere: a symbol is a member from its start date inclusive to its end date exclusive
(the day of removal is already outside), matching ``index_constitution.constituents_at``. Dates are
tz-naive; a frame row says who was a member on that day, so using it at t never looks past t.

The S&P 500 history joins two sources (see ``docs/strategy.md``):

- before ``COMPLETE_FROM`` (1996-01-02): index-constitution rows with a known join date only, so the
  universe there is the members it can prove (a subset of the true index);
- ``COMPLETE_FROM`` .. ``SWITCH_DATE`` (2011-01-01): the vendored fja05680/sp500 spells
  (``momentum/data/sp500_ticker_start_end.csv``, MIT), tickers as they were spelled at the time;
- from ``SWITCH_DATE``: index-constitution, current to 2026-10, every row whatever its join date.

A company is keyed by its current ticker; index-constitution's ``ticker_change`` events link an old
ticker to it (FB -> META on 2022-06-09), so a renamed company is one continuous membership.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

import index_constitution as ic
import numpy as np
import pandas as pd

from momentum.universe._file import OPEN_END, OPEN_START, parse_universe, symbol_key

# From here the vendored spells list every member (487..505 at every month end to 2026-10).
COMPLETE_FROM = pd.Timestamp("1996-01-02")
# From here index-constitution (complete from about 2011, current to 2026-10) replaces the spells.
SWITCH_DATE = pd.Timestamp("2011-01-01")
# index-constitution's opt-in placeholder for "join date unknown" (244 rows, all of removed names).
# Not a real date (First Solar, added 2009, carries it), so such rows count only from SWITCH_DATE.
UNKNOWN_OPT_IN = pd.Timestamp("1976-07-01")
SPELLS_FILE = "sp500_ticker_start_end.csv"


def _ns(values: pd.Series) -> np.ndarray:
    """Dates as int64 ns, a missing (open) end as ``OPEN_END``."""
    dates = pd.to_datetime(values).astype("datetime64[ns]")
    return np.where(dates.isna(), OPEN_END, dates.to_numpy().astype(np.int64))


@lru_cache(maxsize=1)
def _ic_rows() -> pd.DataFrame:
    """index_constitution S&P 500 history as (symbol, start, end) in int64 ns; end NaT -> never."""
    h = ic.history("sp500")
    return pd.DataFrame(
        {"symbol": h["symbol"].astype(str).to_numpy(), "start": _ns(h["opt-in"]), "end": _ns(h["opt-out"])}
    )


@lru_cache(maxsize=1)
def _spell_rows() -> pd.DataFrame:
    """The vendored 1996.. spells as (symbol, start, end) in int64 ns (tickers as spelled then)."""
    with resources.files("momentum.data").joinpath(SPELLS_FILE).open("r") as handle:
        f = pd.read_csv(handle, dtype=str, keep_default_na=False)
    return pd.DataFrame(
        {
            "symbol": [symbol_key(t) for t in f["ticker"]],
            "start": _ns(f["start_date"]),
            "end": _ns(f["end_date"].replace("", None)),
        }
    )


@lru_cache(maxsize=1)
def _ticker_aliases() -> dict[str, tuple[str, int]]:
    """Old ticker -> (current ticker, change date ns) for ticker_change events whose old ticker has
    no index-constitution rows of its own (the history files members under the current ticker)."""
    ev = ic.events(index="sp500")
    ev = ev[(ev["event_type"] == "ticker_change") & ev["new_symbol"].notna() & (ev["new_symbol"] != "")]
    known = set(_ic_rows()["symbol"])
    step = {
        o: (n, pd.Timestamp(d).value)
        for o, n, d in zip(ev["old_symbol"], ev["new_symbol"], ev["event_date"], strict=True)
        if o not in known
    }
    aliases = {}
    for old, (new, when) in step.items():
        seen = {old}
        while new in step and new not in seen:  # follow chains A -> B -> C
            seen.add(new)
            new = step[new][0]
        aliases[old] = (new, when)
    return aliases


def _clip(rows: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Rows cut to [start, end); rows left empty are dropped."""
    out = rows.assign(start=np.maximum(rows["start"], start), end=np.minimum(rows["end"], end))
    return out[out["end"] > out["start"]]


def _spelled(rows: pd.DataFrame) -> pd.DataFrame:
    """index-constitution pieces (key = current ticker) split at renames into the ticker of the time."""
    renames = sorted(((new, when, old) for old, (new, when) in _ticker_aliases().items()), reverse=True)
    rows = rows.assign(ticker=rows["key"])
    for key, when, old in renames:  # latest change first: earlier pieces take the older ticker
        mine = (rows["key"] == key) & (rows["start"] < when)
        later = rows[mine & (rows["end"] > when)].assign(start=when)
        rows.loc[mine, "end"] = np.minimum(rows.loc[mine, "end"], when)
        rows.loc[mine, "ticker"] = old
        rows = pd.concat([rows, later], ignore_index=True)
    return rows


def _late_joins(rows: pd.DataFrame) -> np.ndarray:
    """Start (ns) from ``SWITCH_DATE`` of each index-constitution row: a placeholder row takes the
    start of the vendored spell of its ticker that ends on the same day, when that spell began after
    ``SWITCH_DATE`` (Under Armour: 2014-05-01) and was not a rename (a ticker index-constitution
    does not know, LB, leaving the spells that very day: BBWI, the new name, keeps SWITCH_DATE)."""
    spells = _spell_rows()
    unknown = ~spells["symbol"].isin(set(rows["symbol"]))
    renamed = set(spells.loc[unknown & (spells["end"] != OPEN_END), "end"])
    late = spells[(spells["start"] > SWITCH_DATE.value) & ~spells["start"].isin(renamed)].drop_duplicates(
        ["symbol", "end"]
    )
    joined = rows.merge(late.rename(columns={"start": "joined"}), on=["symbol", "end"], how="left")["joined"]
    placeholder = rows["start"].to_numpy() == UNKNOWN_OPT_IN.value
    return np.where(
        placeholder & joined.notna().to_numpy(),
        joined.fillna(0).to_numpy(np.int64),
        np.maximum(rows["start"].to_numpy(), SWITCH_DATE.value),
    )


@lru_cache(maxsize=1)
def _pieces() -> pd.DataFrame:
    """The joined S&P 500 history: key (current ticker), ticker (as spelled then), start, end (ns)."""
    rows = _ic_rows()
    known = rows[rows["start"] != UNKNOWN_OPT_IN.value]
    late = rows.assign(start=_late_joins(rows))
    ic_part = pd.concat(
        [_clip(known, OPEN_START, COMPLETE_FROM.value), _clip(late, SWITCH_DATE.value, OPEN_END)]
    )
    ic_part = _spelled(ic_part.rename(columns={"symbol": "key"}))
    spells = _clip(_spell_rows(), COMPLETE_FROM.value, SWITCH_DATE.value).rename(columns={"symbol": "ticker"})
    aliases = _ticker_aliases()
    spells["key"] = [
        aliases[t][0] if t in aliases and s < aliases[t][1] else t
        for t, s in zip(spells["ticker"], spells["start"], strict=True)
    ]
    out = pd.concat([ic_part, spells], ignore_index=True)[["key", "ticker", "start", "end"]]
    return out.sort_values(["key", "start"], ignore_index=True)


@lru_cache(maxsize=1)
def _spells() -> pd.DataFrame:
    """Continuous memberships per key: touching or overlapping pieces merged (key, start, end)."""
    p = _pieces()
    reach = p.groupby("key")["end"].cummax().groupby(p["key"]).shift(1)
    new = reach.isna() | (p["start"] > reach)
    return p.groupby(new.cumsum()).agg(key=("key", "first"), start=("start", "min"), end=("end", "max"))


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


def sp500_membership(symbols: Sequence[str], dates: pd.DatetimeIndex) -> pd.DataFrame:
    """True where the symbol was an S&P 500 member on the date (the joined history, module docstring).

    A current ticker (META) is a member over its company's whole history, renames included; an old
    ticker with no rows of its own (FB) only over the pieces spelled that way (up to the change date).
    A symbol matching nothing is never a member. Symbols are matched as BRK-B == BRK.B.

    Embedded 20 symbols: AAPL BAC CVX GE HD JNJ JPM KO LLY MRK PEP PFE PG WMT XOM members since before
    1990; MSFT from 1994-06-01, UNH 1994-07-01, BBY 1999-06-30; RRC 2007-12-21..2018-06-18; AMD from
    1996-01-02 (its earlier join date is unknown) to 2013-09-23, and again from 2017-03-20.
    """
    pieces = _pieces()
    keys = pd.DataFrame({"col": np.arange(len(symbols)), "name": [symbol_key(s) for s in symbols]})
    current = keys["name"].isin(set(pieces["key"]))
    by_key = keys[current].merge(pieces, left_on="name", right_on="key")
    by_ticker = keys[~current].merge(pieces, left_on="name", right_on="ticker")
    return _frame(pd.concat([by_key, by_ticker], ignore_index=True), symbols, dates)


def sp500_members(as_of: pd.Timestamp) -> pd.DataFrame:
    """The S&P 500 members on ``as_of``: ``symbol`` (the ticker of that day) and ``since`` (the start
    of the current membership, continuous across renames), sorted by symbol.

    Before ``COMPLETE_FROM`` the list is partial (only members with a known join date).
    """
    day = pd.Timestamp(as_of)
    if day is pd.NaT or day.tz is not None:
        raise ValueError(f"as_of must be a tz-naive date, got {as_of!r}")
    if not pd.Timestamp.min <= day <= pd.Timestamp.max:
        raise ValueError(
            f"as_of {day.date().isoformat()} is outside "
            f"{pd.Timestamp.min:%Y-%m-%d} .. {pd.Timestamp.max:%Y-%m-%d}"
        )
    t = day.as_unit("ns").value
    pieces, spells = _pieces(), _spells()
    now = pieces[(pieces["start"] <= t) & (pieces["end"] > t)].drop_duplicates("key")
    spell = spells[(spells["start"] <= t) & (spells["end"] > t)]
    out = now.merge(spell, on="key", suffixes=("", "_spell"))
    return pd.DataFrame(
        {
            "symbol": out["ticker"].to_numpy(dtype=object),
            "since": pd.to_datetime(out["start_spell"].to_numpy(), unit="ns"),
        }
    ).sort_values("symbol", ignore_index=True)


def sp500_sources() -> list[dict]:
    """Where the S&P 500 history comes from, and which dates each source covers."""
    return [
        {
            "name": "fja05680/sp500",
            "licence": "MIT",
            "file": f"momentum/data/{SPELLS_FILE}",
            "from": f"{COMPLETE_FROM:%Y-%m-%d}",
            "to": f"{SWITCH_DATE - pd.Timedelta(days=1):%Y-%m-%d}",
        },
        {
            "name": f"index-constitution {metadata.version('index-constitution')}",
            "licence": "MIT",
            "from": f"{SWITCH_DATE:%Y-%m-%d}",
            "to": None,
            "before": f"{COMPLETE_FROM:%Y-%m-%d} (members with a known join date only)",
        },
    ]


def file_membership(path: str, symbols: Sequence[str], dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Membership from a user file (reads ``path``); same frame shape as :func:`sp500_membership`.

    Either one symbol per line (member on every date), or a CSV whose first line is the header
    ``symbol[,start][,end]`` (member from start inclusive to end exclusive; an empty field is
    open-ended; several rows per symbol allowed). ``#`` starts a comment; trailing blank lines are
    ignored. A blank line inside the file, a malformed symbol or date, a wrong field count, end <=
    start, or a symbol not in ``symbols`` raises :class:`~momentum.universe.UniverseFileError`
    naming the line number.
    """
    known = {symbol_key(s): i for i, s in enumerate(symbols)}
    return _frame(parse_universe(Path(path).read_text(), known, path), symbols, dates)


def members_at(membership: pd.DataFrame, as_of: object) -> set[str]:
    """Members on the last row dated at or before ``as_of`` (empty set before the first row)."""
    if not membership.index.is_monotonic_increasing:
        raise ValueError("membership index must be sorted")
    pos = membership.index.searchsorted(pd.Timestamp(as_of), side="right") - 1
    if pos < 0:
        return set()
    row = membership.iloc[pos]
    return set(row.index[row.to_numpy(dtype=bool)])
