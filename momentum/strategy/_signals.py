"""Momentum signals at one session, from wide daily adjusted closes.

Input ``closes``: index = sessions up to and including ``t`` (tz-naive), columns = symbols, values =
adjusted closes in dollars, NaN where a symbol has no bar. Windows count each symbol's own sessions
(its non-NaN rows), so a gap never shifts another symbol's window. Returns are fractions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def min_history(lookback: int) -> int:
    """Sessions of closes a symbol needs to be scored: a close at t and a complete ``lookback`` window."""
    return lookback + 1


def history_sessions(lookback: int, skip: int) -> int:
    """Sessions of bars a run reads to score one session: the momentum window plus the skip (273 by
    default), never fewer than :func:`min_history`."""
    return max(lookback + skip, min_history(lookback))


def trailing_window(closes: pd.DataFrame | np.ndarray, length: int) -> np.ndarray:
    """The last ``length`` valid closes of each symbol, oldest first: shape (length, n_symbols).

    Columns with fewer valid closes are NaN-padded at the top. Columns whose last ``length`` rows
    are all valid are copied as they are; only the others are gathered from their own bars.
    """
    values = np.asarray(closes, dtype="float64")
    if len(values) < length:
        return _gather(values, length)
    out = values[-length:].copy()
    gaps = np.flatnonzero(np.isnan(out).any(axis=0))
    if len(gaps):
        out[:, gaps] = _gather(values[:, gaps], length)
    return out


def _gather(values: np.ndarray, length: int) -> np.ndarray:
    valid = ~np.isnan(values)
    cols, rows = np.nonzero(valid.T)
    counts = valid.sum(axis=0)
    ends = np.cumsum(counts)
    pos = ends[None, :] - length + np.arange(length)[:, None]
    ok = pos >= (ends - counts)[None, :]
    out = np.full((length, values.shape[1]), np.nan)
    out[ok] = values[rows, cols][pos[ok]]
    return out


def longest_flat_run(window: np.ndarray) -> np.ndarray:
    """Per symbol, the longest run of consecutive sessions whose close equals the previous close."""
    flat = window[1:] == window[:-1]
    best = np.zeros(window.shape[1], dtype=int)
    some = np.flatnonzero(flat.any(axis=0))
    if len(some):
        part = flat[:, some]
        count = np.cumsum(part, axis=0, dtype=np.int32)
        reset = np.maximum.accumulate(np.where(part, 0, count), axis=0)
        best[some] = (count - reset).max(axis=0)
    return best


def signal_arrays(values: np.ndarray, lookback: int, skip: int) -> dict[str, np.ndarray]:
    """momentum, fip, history (sessions) and flat_run per column of ``values`` at its last row.

    ``values``: (sessions, symbols) adjusted closes up to ``t``, NaN = no bar. Symbols without a close
    at ``t`` get NaN signals and history 0; ``flat_run`` (the longest run of unchanged closes in the
    window) is measured for symbols with a full window and is 0 for the others. This is
    :func:`signals_at` at the last row, so the live score and the backtest share one computation.
    """
    values = np.asarray(values, dtype="float64")
    if not len(values):
        n = values.shape[1]
        return {
            "momentum": np.full(n, np.nan),
            "fip": np.full(n, np.nan),
            "history": np.zeros(n, int),
            "flat_run": np.zeros(n, int),
        }
    return {k: v[0] for k, v in signals_at(values, np.array([len(values) - 1]), None, lookback, skip).items()}


def signals_at(
    values: np.ndarray,
    ends: np.ndarray,
    starts: np.ndarray | None,
    lookback: int,
    skip: int,
) -> dict[str, np.ndarray]:
    """:func:`signal_arrays` at many sessions in one pass: row k holds the signals at row ``ends[k]``
    of ``values``, computed from rows ``starts[k]..ends[k]`` only (default: from row 0).

    Momentum is ``close[t-skip] / close[t-lookback] - 1`` (a fraction). Frog-in-the-pan is
    ``sign(momentum) * (share of down days - share of up days)`` over the daily moves of sessions
    t-lookback+1 .. t-skip; flat days (an unchanged close) count in neither bucket but stay in the
    denominator; lower is smoother. Symbols whose last ``lookback + 1`` rows are all bars (the common
    case) are computed for every session at once from window sums of daily move signs; a symbol with a
    gap inside its window gets the same computation on its own last ``lookback + 1`` bars.
    Arrays have shape (len(ends), n_symbols).
    """
    ends = np.asarray(ends, dtype=np.int64)
    starts = np.zeros_like(ends) if starts is None else np.asarray(starts, dtype=np.int64)
    first, mid = np.maximum(ends - lookback, 0), np.maximum(ends - skip, 0)
    holes = np.isnan(values)
    has_close = ~holes[ends]
    missing, gaps = _window_sums(holes, (starts, ends + 1), (first, ends + 1))
    history = np.where(has_close, (ends - starts + 1)[:, None] - missing, 0)
    net_up, moved = _move_counts(values, first, mid, ends)
    full = history >= min_history(lookback)
    dense = full & (gaps == 0)
    momentum = values[mid] / values[first] - 1.0
    out = {
        "momentum": np.where(dense, momentum, np.nan),
        "fip": np.where(dense, np.sign(momentum) * -net_up / (lookback - skip), np.nan),
        "history": history,
        "flat_run": _flat_runs(values, (ends - first)[:, None] - moved, first, min_history(lookback), dense),
    }
    _own_bars_where_gapped(out, values, (starts, ends), full & ~dense, lookback, skip)
    return out


def _move_counts(
    values: np.ndarray, first: np.ndarray, mid: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per window and column, up days minus down days over the daily moves into rows
    ``first[k]+1..mid[k]``, and the days that moved at all (up or down) into rows ``first[k]+1..ends[k]``;
    the rest of a dense window is flat. Ints of shape (len(first), n_columns)."""
    later, earlier = values[1:], values[:-1]
    moves = np.greater(later, earlier).view(np.int8) - np.less(later, earlier).view(np.int8)  # +1 up, -1 down
    (net_up,) = _window_sums(moves, (first, mid))
    (moved,) = _window_sums(np.abs(moves), (first, ends))
    return net_up, moved


def _own_bars_where_gapped(
    out: dict[str, np.ndarray],
    values: np.ndarray,
    windows: tuple[np.ndarray, np.ndarray],
    gapped: np.ndarray,
    lookback: int,
    skip: int,
) -> None:
    """Signals of the symbols with a full history but a gap in the window (rows ``starts[k]..ends[k]``
    of ``windows = (starts, ends)``), from their own last bars."""
    starts, ends = windows
    for k in np.flatnonzero(gapped.any(axis=1)):
        cols = np.flatnonzero(gapped[k])
        own_bars = trailing_window(values[starts[k] : ends[k] + 1, cols], min_history(lookback))  # gapless
        own = signals_at(own_bars, np.array([lookback]), None, lookback, skip)
        for name in ("momentum", "fip", "flat_run"):
            out[name][k, cols] = own[name][0]


def _flat_runs(
    values: np.ndarray, flats: np.ndarray, first: np.ndarray, length: int, dense: np.ndarray
) -> np.ndarray:
    """Longest run of unchanged closes in each dense window of ``values`` (``length`` rows from
    ``first[k]``; 0 outside dense windows), given each window's count of ``flats`` (flat days): measured
    only where a window has two flat days or more, in batches of bounded size."""
    flats = np.where(dense, flats, 0)
    runs = np.minimum(flats, 1)  # one flat day is a run of one
    k, cols = np.nonzero(flats > 1)
    step = max(1, 2**22 // length)  # windows per batch: at most 4M closes (32 MB) gathered at once
    for lo in range(0, len(k), step):
        kk, cc = k[lo : lo + step], cols[lo : lo + step]
        runs[kk, cc] = longest_flat_run(values[first[kk][None, :] + np.arange(length)[:, None], cc])
    return runs


def _window_sums(x: np.ndarray, *windows: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """For each (lo, hi) pair of row arrays, the column sums of rows lo[k]..hi[k]-1 of ``x`` (bool or
    small ints): (len(lo), n_columns) ints. Overlapping windows share work: ``x`` is summed once per
    segment between consecutive window edges."""
    cuts = np.unique(np.concatenate([[0, len(x)], *(edge for pair in windows for edge in pair)]))
    data = x.view(np.int8) if x.dtype == bool else x
    totals = np.zeros((len(cuts), x.shape[1]), dtype=np.int64)
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True), start=1):
        totals[i] = data[a:b].sum(axis=0, dtype=np.int32)
    np.cumsum(totals, axis=0, out=totals)
    return [totals[np.searchsorted(cuts, hi)] - totals[np.searchsorted(cuts, lo)] for lo, hi in windows]


def below_trend(benchmark: pd.Series, window: int) -> bool:
    """True when the benchmark's last close is below its ``window``-session simple average."""
    levels = benchmark.dropna()
    if len(levels) < window:
        return False
    return bool(levels.iloc[-1] < levels.iloc[-window:].mean())
