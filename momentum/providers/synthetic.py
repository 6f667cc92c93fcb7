"""Seeded, deterministic synthetic OHLCV on real NYSE sessions, for scale tests and benchmarks.

Each symbol follows a geometric random walk with its own drift and volatility; about 15 % of the
symbols list late and about 10 % delist early, so windows, eligibility and delistings get exercised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from momentum.calendar import nyse_sessions
from momentum.providers import only_symbols

SYNTHETIC_END = pd.Timestamp("2024-12-31")


def synthetic_panel(
    n_symbols: int, n_sessions: int, seed: int, end: pd.Timestamp = SYNTHETIC_END
) -> pd.DataFrame:
    """Long bars (date, symbol, open, high, low, close, volume, adj_close) for the last sessions to
    ``end``."""
    sessions = nyse_sessions(end - pd.Timedelta(days=int(n_sessions * 1.6) + 30), end)[-n_sessions:]
    rng = np.random.default_rng(seed)
    drift = rng.normal(0.0003, 0.0004, n_symbols)
    vol = rng.uniform(0.01, 0.03, n_symbols)
    log_ret = drift + vol * rng.standard_normal((n_sessions, n_symbols))
    close = 20.0 * np.exp(rng.uniform(0, 2, n_symbols)) * np.exp(np.cumsum(log_ret, axis=0))
    listed = np.ones((n_sessions, n_symbols), dtype=bool)
    late = rng.random(n_symbols) < 0.15
    first = np.where(late, rng.integers(1, max(2, n_sessions // 2), n_symbols), 0)
    early = rng.random(n_symbols) < 0.10
    last = np.where(early, rng.integers(n_sessions // 2, n_sessions - 1, n_symbols), n_sessions - 1)
    rows = np.arange(n_sessions)[:, None]
    listed &= (rows >= first[None, :]) & (rows <= last[None, :])
    gap = np.exp(rng.normal(0, 0.003, close.shape))
    open_ = np.vstack([close[:1], close[:-1]]) * gap
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.005, close.shape)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.005, close.shape)))
    volume = rng.integers(10_000, 5_000_000, close.shape).astype("float64")
    symbols = np.array([f"S{i:04d}" for i in range(n_symbols)])
    d_idx, s_idx = np.nonzero(listed)
    frame = pd.DataFrame(
        {
            "date": sessions.values[d_idx].astype("datetime64[ns]"),
            "symbol": symbols[s_idx],
            "open": open_[d_idx, s_idx].round(4),
            "high": high[d_idx, s_idx].round(4),
            "low": low[d_idx, s_idx].round(4),
            "close": close[d_idx, s_idx].round(4),
            "volume": volume[d_idx, s_idx],
        }
    )
    frame["adj_close"] = frame["close"]
    return frame


class SyntheticProvider:
    """Deterministic synthetic bars: same seed and sizes, same data."""

    name = "synthetic"
    needs_symbols = False

    def __init__(self, n_symbols: int = 50, n_sessions: int = 1260, seed: int = 7) -> None:
        self._sizes = {"symbols": n_symbols, "n_sessions": n_sessions, "seed": seed}
        self._panel = synthetic_panel(n_symbols, n_sessions, seed)

    def lineage(self) -> dict[str, object]:
        """The sizes and the seed: the same ones make the same data."""
        return dict(self._sizes)

    def _window(self, start: pd.Timestamp | None, end: pd.Timestamp) -> pd.DataFrame:
        dates = self._panel["date"]
        mask = dates <= pd.Timestamp(end)
        if start is not None:
            mask &= dates >= pd.Timestamp(start)
        return self._panel[mask]

    def bars(
        self, start: pd.Timestamp | None, end: pd.Timestamp, symbols: Sequence[str] | None = None
    ) -> pd.DataFrame:
        return only_symbols(self._window(start, end), symbols)

    def benchmark(self, start: pd.Timestamp | None, end: pd.Timestamp) -> pd.Series:
        """An equal-weight index of the listed symbols, starting at 100."""
        wide = self._window(start, end).pivot(index="date", columns="symbol", values="adj_close")
        daily = wide.pct_change().mean(axis=1).fillna(0.0)
        return (100.0 * (1 + daily).cumprod()).rename("benchmark")

    def last_session(self) -> pd.Timestamp:
        return pd.Timestamp(self._panel["date"].iloc[-1])
