"""Benchmark the validation gate: 500 symbols x 273 NYSE sessions of clean synthetic OHLCV bars.

Times ``import great_expectations`` on its own (a one-off per process, ~4-5 s), then
``validate_bars`` (target: under 3 s beyond the import on 2 cores).
Run: ``python benchmarks/validate_bench.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exchange_calendars as xc  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

N_SYMBOLS, N_SESSIONS, SEED, REPEAT = 500, 273, 42, 3
AS_OF = pd.Timestamp("2022-12-28")


def make_bars(sessions: pd.DatetimeIndex, n_symbols: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(sessions)
    start = rng.uniform(10, 300, n_symbols)
    close = start[:, None] * np.exp(np.cumsum(rng.normal(0.0003, 0.015, (n_symbols, n)), axis=1))
    open_ = np.concatenate([close[:, :1], close[:, :-1]], axis=1) * (1 + rng.normal(0, 0.003, close.shape))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, close.shape))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, close.shape))
    return pd.DataFrame(
        {
            "date": np.tile(sessions.to_numpy(dtype="datetime64[ns]"), n_symbols),
            "symbol": np.repeat([f"S{i:04d}" for i in range(n_symbols)], n),
            "adj_close": close.ravel(),
            "open": open_.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": rng.integers(10_000, 10_000_000, close.size).ravel(),
        }
    )


def main() -> None:
    calendar = xc.get_calendar("XNYS", start="1990-01-02", end="2030-12-31")
    sessions = pd.DatetimeIndex(calendar.sessions_in_range(AS_OF - pd.Timedelta(days=420), AS_OF))[
        -N_SESSIONS:
    ]
    bars = make_bars(sessions, N_SYMBOLS, SEED)

    t0 = time.perf_counter()
    import great_expectations  # noqa: F401

    t_import = time.perf_counter() - t0
    from momentum.validation import validate_bars

    times, result = [], None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        result = validate_bars(bars, as_of=AS_OF, sessions=sessions)
        times.append(time.perf_counter() - t0)

    print(
        f"bars: {N_SYMBOLS} symbols x {N_SESSIONS} sessions = {len(bars):,} rows "
        f"({sessions[0]:%Y-%m-%d}..{sessions[-1]:%Y-%m-%d}), cores: {os.cpu_count()}"
    )
    print(f"import great_expectations: {t_import:.2f} s")
    print(f"validate_bars first call:  {times[0]:.2f} s")
    print(
        f"validate_bars warm:        best {min(times[1:]):.2f} s, "
        f"median {statistics.median(times[1:]):.2f} s "
        f"({REPEAT - 1} runs)"
    )
    print(f"result: {result.summary}")
    target = 3.0
    print(f"target < {target:.1f} s beyond the import: {'OK' if times[0] < target else 'MISSED'}")


if __name__ == "__main__":
    main()
