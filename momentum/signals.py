"""Momentum signals at one session, from wide daily adjusted closes.

Input ``closes``: index = sessions up to and including ``t`` (tz-naive), columns = symbols, values =
adjusted closes in dollars, NaN where a symbol has no bar. Windows count each symbol's own sessions
(its non-NaN rows), so a gap never shifts another symbol's window. Returns are fractions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def trailing_window(closes: pd.DataFrame, length: int) -> np.ndarray:
    """The last ``length`` valid closes of each symbol, oldest first: shape (length, n_symbols).

    Columns with fewer valid closes are NaN-padded at the top. Vectorised: O(rows x symbols).
    """
    values = closes.to_numpy(dtype="float64")
    valid = ~np.isnan(values)
    cols, rows = np.nonzero(valid.T)
    counts = valid.sum(axis=0)
    ends = np.cumsum(counts)
    starts = ends - counts
    pos = ends[None, :] - length + np.arange(length)[:, None]
    ok = pos >= starts[None, :]
    out = np.full((length, values.shape[1]), np.nan)
    flat = values[rows, cols]
    out[ok] = flat[pos[ok]]
    return out


def momentum_from_window(window: np.ndarray, lookback: int = 252, skip: int = 21) -> np.ndarray:
    """12-1 momentum ``close[t-skip] / close[t-lookback] - 1`` from a (lookback+1, n) window (fraction)."""
    return window[lookback - skip] / window[0] - 1.0


def fip_from_window(window: np.ndarray, lookback: int = 252, skip: int = 21) -> np.ndarray:
    """Frog-in-the-pan: ``sign(mom) * (share of negative days - share of positive days)``.

    Daily returns of sessions t-lookback+1 .. t-skip; flat days count in neither bucket but stay in
    the denominator. Lower is smoother. NaN when the window is incomplete.
    """
    path = window[: lookback - skip + 1]
    daily = path[1:] / path[:-1] - 1.0
    n = daily.shape[0]
    neg = (daily < 0).sum(axis=0) / n
    pos = (daily > 0).sum(axis=0) / n
    mom = momentum_from_window(window, lookback, skip)
    out = np.sign(mom) * (neg - pos)
    return np.where(np.isnan(path).any(axis=0), np.nan, out)


def longest_flat_run(window: np.ndarray) -> np.ndarray:
    """Per symbol, the longest run of consecutive sessions whose close equals the previous close."""
    flat = np.diff(window, axis=0) == 0
    run = np.zeros(flat.shape[1], dtype=int)
    best = np.zeros(flat.shape[1], dtype=int)
    for row in flat:
        run = np.where(row, run + 1, 0)
        best = np.maximum(best, run)
    return best


def momentum_signals(closes: pd.DataFrame, lookback: int = 252, skip: int = 21) -> pd.DataFrame:
    """Per symbol at the last row ``t``: momentum, fip, history (sessions) and longest flat run.

    Symbols without a close at ``t`` get NaN signals and history 0.
    """
    window = trailing_window(closes, lookback + 1)
    has_close = closes.iloc[-1].notna().to_numpy() if len(closes) else np.zeros(closes.shape[1], bool)
    history = np.where(has_close, closes.notna().sum(axis=0).to_numpy(), 0)
    mom = momentum_from_window(window, lookback, skip)
    fip = fip_from_window(window, lookback, skip)
    mom = np.where(has_close, mom, np.nan)
    fip = np.where(has_close, fip, np.nan)
    return pd.DataFrame(
        {"momentum": mom, "fip": fip, "history": history, "flat_run": longest_flat_run(window)},
        index=pd.Index(closes.columns, name="symbol"),
    )


def below_trend(benchmark: pd.Series, window: int = 200) -> bool:
    """True when the benchmark's last close is below its ``window``-session simple average."""
    levels = benchmark.dropna()
    if len(levels) < window:
        return False
    return bool(levels.iloc[-1] < levels.iloc[-window:].mean())
