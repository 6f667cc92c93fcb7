"""History in the store, fetched once: what to fetch, which symbols were re-adjusted, how to merge.

The dataset ``history`` holds daily bars (the provider's columns) of every symbol requested over
``[start, end]``, one committed version per ``end`` (its as_of), one parquet object per calendar year
(part ``year=YYYY``). Its manifest's params record ``start``, ``end``, the ``symbols`` requested (a
symbol the provider knows nothing about is requested once, not every run) and the ``readjusted``
symbols of the update that made it.

Bringing it up to date (pure functions here, the store and provider calls in
:mod:`momentum.history`):

1. :func:`plan_fetches`: symbols new to the history get their whole range; the stored symbols get the
   sessions after the last committed one plus the ``OVERLAP`` sessions up to it (the overlap, so a
   symbol without a bar on the last session is still compared), and the sessions before the stored
   start when the start moves earlier. Nothing new: no fetch at all. The last committed session is the
   newest bar in the history, so a provider that had not updated yet is asked again next time.
2. :func:`readjusted_symbols`: an overlapping bar whose ``adj_close`` differs from the stored one by
   more than ``RTOL`` (relative) means a split or dividend re-adjusted that symbol's past: the symbol's
   whole range is fetched again (and replaces its stored bars).
3. :func:`merge_history`: stored bars win over equal overlapping ones (so unchanged years keep their
   objects), fetched bars add the new sessions, re-fetched symbols replace theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

HISTORY = "history"
RTOL = 1e-6  # relative change of an overlapping adj_close that counts as a re-adjustment
OVERLAP = 5  # stored sessions fetched again (up to the last committed one) to detect re-adjustments
KEYS = ["date", "symbol"]


@dataclass(frozen=True)
class Fetch:
    """One provider call: bars of ``symbols`` over ``[start, end]`` (sessions, inclusive)."""

    symbols: tuple[str, ...]
    start: pd.Timestamp
    end: pd.Timestamp


@dataclass(frozen=True)
class Coverage:
    """What a history version covers: its range and the symbols requested for it."""

    start: pd.Timestamp
    end: pd.Timestamp
    symbols: frozenset[str]

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "Coverage":
        return cls(pd.Timestamp(params["start"]), pd.Timestamp(params["end"]), frozenset(params["symbols"]))

    def params(self) -> dict[str, Any]:
        return {
            "start": f"{self.start:%Y-%m-%d}",
            "end": f"{self.end:%Y-%m-%d}",
            "symbols": sorted(self.symbols),
        }


def target_coverage(
    stored: Coverage | None, symbols: Iterable[str], start: pd.Timestamp, end: pd.Timestamp
) -> Coverage:
    """The coverage after the update: the union of the stored one and the requested one."""
    wanted = Coverage(pd.Timestamp(start), pd.Timestamp(end), frozenset(symbols))
    if stored is None:
        return wanted
    return Coverage(
        min(stored.start, wanted.start), max(stored.end, wanted.end), stored.symbols | wanted.symbols
    )


def plan_fetches(
    stored: Coverage | None, target: Coverage, sessions: pd.DatetimeIndex, overlap: int = OVERLAP
) -> list[Fetch]:
    """The provider calls that bring ``stored`` to ``target`` (empty: nothing new).

    ``sessions`` are the exchange sessions (at least those of ``target``'s range and the overlap).
    """
    if stored is None:
        return [Fetch(tuple(sorted(target.symbols)), target.start, target.end)]
    fetches, old = [], tuple(sorted(stored.symbols))
    new = tuple(sorted(target.symbols - stored.symbols))
    if new:
        fetches.append(Fetch(new, target.start, target.end))
    if old and target.end > stored.end:
        last = sessions.searchsorted(stored.end, side="right") - 1
        fetches.append(Fetch(old, max(sessions[max(last - overlap + 1, 0)], stored.start), target.end))
    before = sessions[(sessions >= target.start) & (sessions < stored.start)]
    if old and len(before):
        fetches.append(Fetch(old, target.start, before[-1]))
    return fetches


def readjusted_symbols(stored: pd.DataFrame, fetched: pd.DataFrame, rtol: float = RTOL) -> list[str]:
    """Symbols with an overlapping (date, symbol) bar whose adj_close moved by more than ``rtol``."""
    both = stored[KEYS + ["adj_close"]].merge(
        fetched[KEYS + ["adj_close"]], on=KEYS, suffixes=("_stored", "")
    )
    if not len(both):
        return []
    was, now = both["adj_close_stored"].to_numpy(float), both["adj_close"].to_numpy(float)
    moved = ~np.isclose(now, was, rtol=rtol, atol=0.0, equal_nan=True)
    return sorted(set(both.loc[moved, "symbol"].astype(str)))


def merge_history(stored: pd.DataFrame, fetched: pd.DataFrame, replaced: Iterable[str] = ()) -> pd.DataFrame:
    """Stored bars (less the ``replaced`` symbols) plus the fetched bars they do not already hold,
    sorted by (date, symbol)."""
    replaced = set(replaced)
    kept = stored[~stored["symbol"].isin(replaced)]
    keys = pd.MultiIndex.from_frame(kept[KEYS])
    fresh = fetched[fetched["symbol"].isin(replaced) | ~pd.MultiIndex.from_frame(fetched[KEYS]).isin(keys)]
    frames = [f for f in (kept, fresh) if len(f)]
    merged = pd.concat(frames, ignore_index=True) if frames else fetched.iloc[:0]
    return merged.sort_values(KEYS, kind="stable", ignore_index=True)


def year_key(year: int) -> str:
    return f"year={year}"


def years_of(bars: pd.DataFrame) -> list[str]:
    """The part keys (``year=YYYY``) the bars fall in."""
    return [year_key(int(y)) for y in sorted(pd.DatetimeIndex(bars["date"]).year.unique())]


def split_by_year(bars: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One frame per calendar year of ``date`` (each sorted by date, symbol, index reset)."""
    years = pd.DatetimeIndex(bars["date"]).year
    return {year_key(int(y)): bars[years == y].reset_index(drop=True) for y in sorted(years.unique())}


def new_sessions(stored: Coverage | None, fetched: pd.DataFrame) -> int:
    """Sessions the fetch added to the history: fetched dates outside the stored range."""
    dates = pd.DatetimeIndex(fetched["date"].unique()) if len(fetched) else pd.DatetimeIndex([])
    if stored is None:
        return len(dates)
    return int(((dates > stored.end) | (dates < stored.start)).sum())


def benchmark_split(bars: pd.DataFrame, benchmark_symbol: str) -> tuple[pd.DataFrame, pd.Series]:
    """History bars -> (the other symbols' bars, the benchmark's adj_close by date)."""
    mine = bars["symbol"] == benchmark_symbol
    level = bars[mine].set_index("date")["adj_close"].astype("float64").rename("benchmark")
    return bars[~mine].reset_index(drop=True), level
