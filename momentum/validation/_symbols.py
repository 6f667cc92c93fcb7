"""Stage 3, symbols: a per-symbol summary computed with numpy (missing sessions, stale runs, one-day
moves, last bar) that GX checks at one row per symbol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from momentum.validation._checks import _day
from momentum.validation._gx import _Spec, _spec_factory, _symbols_locator
from momentum.validation._moves import classify_moves, move_events, move_texts
from momentum.validation._rows import _Prepared


@dataclass(frozen=True)
class _Events:
    """Events of one kind, sorted by symbol code then date: each one's symbol ``codes`` and ``dates``,
    ``texts`` (the details of the events at some positions) and ``counts`` (None: one each)."""

    codes: np.ndarray
    dates: np.ndarray
    texts: Callable[[np.ndarray], list[str]]
    counts: np.ndarray | None = None


def _first_per_symbol(n_symbols: int, events: _Events, name: str, out: dict[str, Any]) -> None:
    """Per-symbol count, first date and detail of ``events``, as the columns ``{name}_n``, ``_date``
    and ``_detail`` of ``out``."""
    codes, dates, texts, counts = events.codes, events.dates, events.texts, events.counts
    n = np.zeros(n_symbols, dtype=np.int64)
    first_date = np.full(n_symbols, np.datetime64("NaT"), dtype="datetime64[ns]")
    detail = np.full(n_symbols, "", dtype=object)
    if len(codes):
        n[:] = (
            np.bincount(codes, weights=counts, minlength=n_symbols).astype(np.int64)
            if counts is not None
            else np.bincount(codes, minlength=n_symbols)
        )
        uniq, first = np.unique(codes, return_index=True)
        first_date[uniq] = dates[first]
        detail[uniq] = texts(first)
        total = np.bincount(codes, minlength=n_symbols)
        many = uniq[total[uniq] > 1]
        for c in many:
            detail[c] += f" (+{total[c] - 1} more)"
    out[f"{name}_n"], out[f"{name}_date"], out[f"{name}_detail"] = n, first_date, detail


@dataclass(frozen=True)
class _Bars:
    """The sorted bars as arrays; ``same``: the previous row is the same symbol."""

    codes: np.ndarray
    pos: np.ndarray
    d: np.ndarray
    price: np.ndarray
    valid: np.ndarray
    same: np.ndarray
    n_sym: int


def _bars(p: _Prepared) -> _Bars:
    codes, valid = p.codes, p.codes >= 0
    same = np.r_[False, (codes[1:] == codes[:-1]) & valid[1:]]
    return _Bars(
        codes, p.pos, p.rows["date"].to_numpy(), p.rows["adj_close"].to_numpy(), valid, same, len(p.symbols)
    )


def _last_dates(b: _Bars) -> np.ndarray:
    if not b.n_sym:
        return np.zeros(0, dtype="datetime64[ns]")
    last = pd.Series(b.d[b.valid]).groupby(b.codes[b.valid]).max().reindex(range(b.n_sym))
    return last.to_numpy(dtype="datetime64[ns]")


def _missing_sessions(b: _Bars, sessions: pd.DatetimeIndex, out: dict[str, Any]) -> None:
    """Sessions missing inside each symbol's [first, last] bar -> ``missing_*``."""
    ok = np.flatnonzero((b.pos >= 0) & b.valid)
    pc, cc = b.pos[ok], b.codes[ok]
    gap = np.zeros(len(ok), dtype=np.int64)
    if len(ok) > 1:
        gap[1:] = np.where(cc[1:] == cc[:-1], pc[1:] - pc[:-1] - 1, 0)
    hole = np.flatnonzero(gap > 0)
    h_first = sessions[pc[hole] - gap[hole]].to_numpy() if len(hole) else np.zeros(0, "datetime64[ns]")

    def missing_text(idx: np.ndarray) -> list[str]:
        return [
            f"{gap[hole[i]]} session(s) missing from {_day(h_first[i])} (next bar {_day(b.d[ok[hole[i]]])})"
            for i in idx
        ]

    _first_per_symbol(b.n_sym, _Events(cc[hole], h_first, missing_text, gap[hole]), "missing", out)


def _stale_runs(b: _Bars, max_stale_sessions: int, recent_from: np.datetime64, out: dict[str, Any]) -> None:
    """Maximal runs of bars with an identical adj_close -> ``stale_*`` (recent) and ``stale_hist_*``."""
    with np.errstate(invalid="ignore"):
        eq = b.same & (b.price == np.r_[np.nan, b.price[:-1]])
    starts = np.flatnonzero(~eq)
    lengths = np.diff(np.r_[starts, len(b.price)])
    ends = starts + lengths - 1
    long = lengths > max_stale_sessions
    recent = b.d[ends] >= recent_from if len(ends) else np.zeros(0, dtype=bool)
    for name, mask in (("stale", recent), ("stale_hist", ~recent)):
        # GX applies the threshold to the longest run per symbol; details name the first long run
        sel = np.flatnonzero(mask & b.valid[starts]) if len(starts) else np.zeros(0, dtype=np.int64)
        longest = np.zeros(b.n_sym, dtype=np.int64)
        if len(sel):
            np.maximum.at(longest, b.codes[starts[sel]], lengths[sel])
        out[f"{name}_len"] = longest
        bad = sel[long[sel]]

        def stale_text(idx: np.ndarray, bad: np.ndarray = bad) -> list[str]:
            return [
                f"adj_close unchanged at {b.price[starts[bad[i]]]:g} for {lengths[bad[i]]} sessions "
                f"({_day(b.d[starts[bad[i]]])}..{_day(b.d[ends[bad[i]]])})"
                for i in idx
            ]

        _first_per_symbol(b.n_sym, _Events(b.codes[starts[bad]], b.d[starts[bad]], stale_text), name, out)


def _one_day_moves(
    p: _Prepared, b: _Bars, max_daily_move: float, recent_from: np.datetime64, out: dict[str, Any]
) -> None:
    """Bad ticks, unadjusted splits, sudden moves, adjusted corporate actions -> ``<kind>_*``."""
    moves = classify_moves(p.rows, b.same, max_daily_move)
    for name, idx in move_events(moves, b.d >= recent_from).items():
        texts = move_texts(name.removesuffix("_hist"), idx, moves)
        _first_per_symbol(b.n_sym, _Events(b.codes[idx], b.d[idx], texts), name, out)


def _freshness(last_date: np.ndarray, as_of: pd.Timestamp, out: dict[str, Any]) -> None:
    """The last bar per symbol against as_of -> ``fresh_*``."""
    out["fresh_n"] = (
        (last_date < as_of.to_datetime64()).astype(np.int64) if len(last_date) else np.zeros(0, np.int64)
    )
    out["fresh_date"] = last_date
    out["fresh_detail"] = np.array(
        [f"last bar {_day(x)}, no bar on as_of {_day(as_of)}" for x in last_date], dtype=object
    )


def _symbol_summary(
    p: _Prepared,
    sessions: pd.DatetimeIndex,
    as_of: pd.Timestamp,
    *,
    max_stale_sessions: int,
    max_daily_move: float,
    recent_window: int,
) -> pd.DataFrame:
    """One row per symbol: last bar, missing sessions, stale runs, one-day moves, freshness (counts,
    first date and detail of each kind); ``recent_window`` sessions before as_of are the recent ones."""
    b = _bars(p)
    window_start = sessions[max(0, len(sessions) - recent_window)] if len(sessions) else as_of
    recent_from = window_start.to_datetime64()
    out: dict[str, Any] = {"symbol": p.symbols.astype(str), "last_date": _last_dates(b)}
    _missing_sessions(b, sessions, out)
    _stale_runs(b, max_stale_sessions, recent_from, out)
    _one_day_moves(p, b, max_daily_move, recent_from, out)
    _freshness(out["last_date"], as_of, out)
    return pd.DataFrame(out)


def _no_events(make: Callable[..., _Spec], loc: Callable[[str], Any], check: str, name: str) -> _Spec:
    """``check`` fails for every symbol with an event of kind ``name`` (``{name}_n`` above 0)."""
    return make(check, "ExpectColumnValuesToBeBetween", loc(name), column=f"{name}_n", max_value=0)


def _stale_specs(
    make: Callable[..., _Spec], loc: Callable[[str], Any], max_stale_sessions: int
) -> list[_Spec]:
    """The longest stale run per symbol, recent then history, at most ``max_stale_sessions`` bars."""
    return [
        make(
            "stale_run",
            "ExpectColumnValuesToBeBetween",
            loc("stale"),
            column="stale_len",
            max_value=max_stale_sessions,
        ),
        make(
            "stale_run_history",
            "ExpectColumnValuesToBeBetween",
            loc("stale_hist"),
            column="stale_hist_len",
            max_value=max_stale_sessions,
        ),
    ]


def _symbol_specs(summary: pd.DataFrame, as_of: pd.Timestamp, max_stale_sessions: int) -> list[_Spec]:
    """The per-symbol checks on the summary: missing sessions, stale runs, one-day moves (recent,
    then history), last bar on as_of."""
    make = _spec_factory("symbols")
    loc = lambda name: _symbols_locator(summary, name)  # noqa: E731
    return [
        _no_events(make, loc, "missing_session", "missing"),
        *_stale_specs(make, loc, max_stale_sessions),
        _no_events(make, loc, "bad_tick", "bad_tick"),
        _no_events(make, loc, "bad_tick_history", "bad_tick_hist"),
        _no_events(make, loc, "split_adjustment", "split"),
        _no_events(make, loc, "split_adjustment_history", "split_hist"),
        _no_events(make, loc, "sudden_move", "sudden"),
        _no_events(make, loc, "corporate_action", "corporate"),
        make(
            "symbol_freshness",
            "ExpectColumnValuesToBeBetween",
            loc("fresh"),
            column="last_date",
            min_value=as_of,
        ),
    ]
