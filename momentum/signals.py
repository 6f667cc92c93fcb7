"""Momentum signals at one session, from wide daily adjusted closes.

Input ``closes``: index = sessions up to and including ``t`` (tz-naive), columns = symbols, values =
adjusted closes in dollars, NaN where a symbol has no bar. Windows count each symbol's own sessions
(its non-NaN rows), so a gap never shifts another symbol's window. Returns are fractions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def momentum_from_window(window: np.ndarray, lookback: int = 252, skip: int = 21) -> np.ndarray:
    """12-1 momentum ``close[t-skip] / close[t-lookback] - 1`` from a (lookback+1, n) window (fraction)."""
    return window[lookback - skip] / window[0] - 1.0


def fip_from_window(window: np.ndarray, lookback: int = 252, skip: int = 21) -> np.ndarray:
    """Frog-in-the-pan: ``sign(mom) * (share of negative days - share of positive days)``.

    Daily returns of sessions t-lookback+1 .. t-skip; flat days (an unchanged close) count in neither
    bucket but stay in the denominator. Lower is smoother. NaN when the window is incomplete.
    """
    path = window[: lookback - skip + 1]
    n = path.shape[0] - 1
    down = (path[1:] < path[:-1]).sum(axis=0)
    up = (path[1:] > path[:-1]).sum(axis=0)
    out = np.sign(momentum_from_window(window, lookback, skip)) * (down - up) / n
    return np.where(np.isnan(path).any(axis=0), np.nan, out)


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


def signal_arrays(values: np.ndarray, lookback: int = 252, skip: int = 21) -> dict[str, np.ndarray]:
    """momentum, fip, history (sessions) and flat_run per column of ``values`` at its last row.

    ``values``: (sessions, symbols) adjusted closes up to ``t``, NaN = no bar. Symbols without a close
    at ``t`` get NaN signals and history 0.
    """
    window = trailing_window(values, lookback + 1)
    has_close = ~np.isnan(values[-1]) if len(values) else np.zeros(values.shape[1], bool)
    history = np.where(has_close, (~np.isnan(values)).sum(axis=0), 0)
    return {
        "momentum": np.where(has_close, momentum_from_window(window, lookback, skip), np.nan),
        "fip": np.where(has_close, fip_from_window(window, lookback, skip), np.nan),
        "history": history,
        "flat_run": longest_flat_run(window),
    }


def momentum_signals(closes: pd.DataFrame, lookback: int = 252, skip: int = 21) -> pd.DataFrame:
    """:func:`signal_arrays` of wide closes as a frame indexed by symbol."""
    arrays = signal_arrays(closes.to_numpy(dtype="float64"), lookback, skip)
    return pd.DataFrame(arrays, index=pd.Index(closes.columns, name="symbol"))


def below_trend(benchmark: pd.Series, window: int = 200) -> bool:
    """True when the benchmark's last close is below its ``window``-session simple average."""
    levels = benchmark.dropna()
    if len(levels) < window:
        return False
    return bool(levels.iloc[-1] < levels.iloc[-window:].mean())
