"""Stage 3, symbols: a per-symbol summary computed with numpy (missing sessions, stale runs, one-day
moves, last bar) that GX checks at one row per symbol."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from momentum.validation._checks import _day
from momentum.validation._gx import _Spec, _spec_factory, _symbols_locator
from momentum.validation._rows import _Prepared

# Split factors a missed adjustment would leave in a series: k-for-1 splits divide the price by k,
# 1-for-k reverse splits multiply it by k.
_SPLIT_FACTORS = {2.0: "2-for-1", 3.0: "3-for-1", 4.0: "4-for-1", 5.0: "5-for-1", 10.0: "10-for-1", 1.5: "3-for-2"}
_SPLIT_TOLERANCE = math.log(1.01)  # "within ~1 %" of the ratio, in log terms
_REVERT_FRACTION = 0.25  # a move reverts when what is left after the next bar is <= 25 % of it


def _pct(log_move: float) -> str:
    return f"{math.expm1(log_move) * 100:+.1f}%"


def _split_name(log_move: float) -> str:
    factor = math.exp(-log_move) if log_move < 0 else math.exp(log_move)
    best = min(_SPLIT_FACTORS, key=lambda k: abs(math.log(k) - math.log(factor)))
    name = _SPLIT_FACTORS[best]
    if log_move > 0:  # the price went up: a reverse split, 1-for-k
        left, right = name.split("-for-")
        name = f"{right}-for-{left}"
    return name


def _split_like(x: np.ndarray) -> np.ndarray:
    logs = np.log(np.array(list(_SPLIT_FACTORS)))
    logs = np.concatenate([logs, -logs])
    with np.errstate(invalid="ignore"):
        dist = np.abs(x[:, None] - logs[None, :]).min(axis=1) if len(x) else np.zeros(0)
    return np.nan_to_num(dist, nan=np.inf) <= _SPLIT_TOLERANCE


def _first_per_symbol(n_symbols: int, codes: np.ndarray, dates: np.ndarray, texts: Callable[[np.ndarray], list[str]],
                      name: str, out: dict[str, Any], counts: np.ndarray | None = None) -> None:
    """Per-symbol count, first date and detail of events (events sorted by code, then date)."""
    n = np.zeros(n_symbols, dtype=np.int64)
    first_date = np.full(n_symbols, np.datetime64("NaT"), dtype="datetime64[ns]")
    detail = np.full(n_symbols, "", dtype=object)
    if len(codes):
        n[:] = np.bincount(codes, weights=counts, minlength=n_symbols).astype(np.int64) if counts is not None \
            else np.bincount(codes, minlength=n_symbols)
        uniq, first = np.unique(codes, return_index=True)
        first_date[uniq] = dates[first]
        detail[uniq] = texts(first)
        total = np.bincount(codes, minlength=n_symbols)
        many = uniq[total[uniq] > 1]
        for c in many:
            detail[c] += f" (+{total[c] - 1} more)"
    out[f"{name}_n"], out[f"{name}_date"], out[f"{name}_detail"] = n, first_date, detail


def _symbol_summary(p: _Prepared, sessions: pd.DatetimeIndex, as_of: pd.Timestamp, *, max_stale_sessions: int,
                    max_daily_move: float, recent_window: int) -> pd.DataFrame:
    rows, codes, pos = p.rows, p.codes, p.pos
    n_sym = len(p.symbols)
    d = rows["date"].to_numpy()
    price = rows["adj_close"].to_numpy()
    valid = codes >= 0
    same = np.r_[False, (codes[1:] == codes[:-1]) & valid[1:]]
    window_start = sessions[max(0, len(sessions) - recent_window)] if len(sessions) else as_of
    recent_from = window_start.to_datetime64()
    out: dict[str, Any] = {"symbol": p.symbols.astype(str)}

    if n_sym:
        last = pd.Series(d[valid]).groupby(codes[valid]).max().reindex(range(n_sym))
        out["last_date"] = last.to_numpy(dtype="datetime64[ns]")
    else:
        out["last_date"] = np.zeros(0, dtype="datetime64[ns]")

    # --- missing sessions inside each symbol's [first, last] bar
    ok = np.flatnonzero((pos >= 0) & valid)
    pc, cc = pos[ok], codes[ok]
    gap = np.zeros(len(ok), dtype=np.int64)
    if len(ok) > 1:
        gap[1:] = np.where(cc[1:] == cc[:-1], pc[1:] - pc[:-1] - 1, 0)
    hole = np.flatnonzero(gap > 0)
    h_codes, h_first = cc[hole], sessions[pc[hole] - gap[hole]].to_numpy() if len(hole) else np.zeros(0, "datetime64[ns]")

    def missing_text(idx: np.ndarray) -> list[str]:
        return [f"{gap[hole[i]]} session(s) missing from {_day(h_first[i])} (next bar {_day(d[ok[hole[i]]])})" for i in idx]

    _first_per_symbol(n_sym, h_codes, h_first, missing_text, "missing", out, counts=gap[hole])

    # --- stale runs: maximal runs of bars with an identical adj_close
    with np.errstate(invalid="ignore"):
        eq = same & (price == np.r_[np.nan, price[:-1]])
    starts = np.flatnonzero(~eq)
    lengths = np.diff(np.r_[starts, len(price)])
    ends = starts + lengths - 1
    long = lengths > max_stale_sessions
    recent = d[ends] >= recent_from if len(ends) else np.zeros(0, dtype=bool)
    for name, mask in (("stale", recent), ("stale_hist", ~recent)):
        # GX applies the threshold to the longest run per symbol; details name the first long run
        sel = np.flatnonzero(mask & valid[starts]) if len(starts) else np.zeros(0, dtype=np.int64)
        longest = np.zeros(n_sym, dtype=np.int64)
        if len(sel):
            np.maximum.at(longest, codes[starts[sel]], lengths[sel])
        out[f"{name}_len"] = longest
        bad = sel[long[sel]]

        def stale_text(idx: np.ndarray, bad: np.ndarray = bad) -> list[str]:
            return [f"adj_close unchanged at {price[starts[bad[i]]]:g} for {lengths[bad[i]]} sessions "
                    f"({_day(d[starts[bad[i]]])}..{_day(d[ends[bad[i]]])})" for i in idx]

        _first_per_symbol(n_sym, codes[starts[bad]], d[starts[bad]], stale_text, name, out)

    # --- one-day moves
    thr = math.log1p(max_daily_move)
    prev = np.r_[np.nan, price[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (price > 0) & np.isfinite(price)
        r = np.where(same & usable & np.r_[False, usable[:-1]], np.log(price / prev), np.nan)
    r_next = np.r_[r[1:], np.nan]
    split_like = _split_like(r)
    with np.errstate(invalid="ignore"):
        candidate = (np.abs(r) > thr) | split_like
        reverts = candidate & (np.sign(r_next) == -np.sign(r)) & (np.abs(r + r_next) <= _REVERT_FRACTION * np.abs(r))
    candidate &= ~np.r_[False, reverts[:-1]]  # the leg that undoes a bad tick is part of it
    moving = candidate & ~reverts
    if "close" in rows:
        close = rows["close"].to_numpy()
        cprev = np.r_[np.nan, close[:-1]]
        with np.errstate(invalid="ignore", divide="ignore"):
            usable_c = (close > 0) & np.isfinite(close)
            rc = np.where(same & usable_c & np.r_[False, usable_c[:-1]], np.log(close / cprev), np.nan)
            raw_known = ~np.isnan(rc)
            together = np.abs(r - rc) <= _SPLIT_TOLERANCE
            factor_jump = np.abs(r - rc) > thr
            corporate = raw_known & ((np.abs(rc) > thr) | _split_like(rc)) & ~candidate & ~np.r_[False, reverts[:-1]]
    else:
        rc = np.full(len(r), np.nan)
        raw_known = np.zeros(len(r), dtype=bool)
        together = factor_jump = corporate = raw_known
    split_err = moving & ((raw_known & together & split_like) | (raw_known & ~together & factor_jump)
                          | (~raw_known & split_like))
    sudden = moving & ~split_err
    in_window = d >= recent_from

    def move_text(kind: str, where: np.ndarray) -> Callable[[np.ndarray], list[str]]:
        def texts(idx: np.ndarray) -> list[str]:
            out_: list[str] = []
            for i in idx:
                j = where[i]
                if kind == "bad_tick":
                    out_.append(f"adj_close {_pct(r[j])} then {_pct(r_next[j])} the next session (reverted: bad tick)")
                elif kind == "split":
                    if raw_known[j] and together[j]:
                        out_.append(f"adj_close and close both {_pct(r[j])} ({_split_name(r[j])} ratio): split not adjusted")
                    elif raw_known[j]:
                        out_.append(f"adj_close {_pct(r[j])} while close {_pct(rc[j])}: adjustment factor jumped")
                    else:
                        out_.append(f"adj_close {_pct(r[j])} ({_split_name(r[j])} ratio within 1%), not reverted: "
                                    f"suspected unadjusted split")
                elif kind == "sudden":
                    extra = f", close {_pct(rc[j])}" if raw_known[j] else ""
                    out_.append(f"adj_close {_pct(r[j])} in one session{extra}, not reverted")
                else:
                    out_.append(f"close {_pct(rc[j])} while adj_close {_pct(r[j])}: corporate action adjusted")
            return out_
        return texts

    events = {
        "bad_tick": np.flatnonzero(reverts & in_window), "bad_tick_hist": np.flatnonzero(reverts & ~in_window),
        "split": np.flatnonzero(split_err & in_window), "split_hist": np.flatnonzero(split_err & ~in_window),
        "sudden": np.flatnonzero(sudden), "corporate": np.flatnonzero(corporate),
    }
    for name, idx in events.items():
        _first_per_symbol(n_sym, codes[idx], d[idx], move_text(name.removesuffix("_hist"), idx), name, out)

    # --- last bar per symbol
    out["fresh_n"] = (out["last_date"] < as_of.to_datetime64()).astype(np.int64) if n_sym else np.zeros(0, np.int64)
    out["fresh_date"] = out["last_date"]
    out["fresh_detail"] = np.array([f"last bar {_day(x)}, no bar on as_of {_day(as_of)}" for x in out["last_date"]],
                                   dtype=object)
    return pd.DataFrame(out)


def _symbol_specs(summary: pd.DataFrame, as_of: pd.Timestamp, max_stale_sessions: int) -> list[_Spec]:
    make = _spec_factory("symbols")
    loc = lambda name: _symbols_locator(summary, name)  # noqa: E731
    return [
        make("missing_session", "ExpectColumnValuesToBeBetween", loc("missing"), column="missing_n", max_value=0),
        make("stale_run", "ExpectColumnValuesToBeBetween", loc("stale"), column="stale_len", max_value=max_stale_sessions),
        make("stale_run_history", "ExpectColumnValuesToBeBetween", loc("stale_hist"), column="stale_hist_len",
             max_value=max_stale_sessions),
        make("bad_tick", "ExpectColumnValuesToBeBetween", loc("bad_tick"), column="bad_tick_n", max_value=0),
        make("bad_tick_history", "ExpectColumnValuesToBeBetween", loc("bad_tick_hist"), column="bad_tick_hist_n", max_value=0),
        make("split_adjustment", "ExpectColumnValuesToBeBetween", loc("split"), column="split_n", max_value=0),
        make("split_adjustment_history", "ExpectColumnValuesToBeBetween", loc("split_hist"), column="split_hist_n",
             max_value=0),
        make("sudden_move", "ExpectColumnValuesToBeBetween", loc("sudden"), column="sudden_n", max_value=0),
        make("corporate_action", "ExpectColumnValuesToBeBetween", loc("corporate"), column="corporate_n", max_value=0),
        make("symbol_freshness", "ExpectColumnValuesToBeBetween", loc("fresh"), column="last_date", min_value=as_of),
    ]
