"""Benchmark our backtest against vectorbt on the same synthetic panel, in one run.

20 years (5040 sessions) of seeded synthetic closes (``synthetic_panel``: late listings, delistings),
plain momentum, top 25, quarterly, 10 bps, fractional shares. Ours is the whole backtest: the live
selection (``signals_at`` + ``score_signals``, the core of ``score_at``) and planning
(``plan_quantities``, the core of ``plan_orders``) at every rebalance, fills and the daily
mark-to-market. vectorbt (``Portfolio.from_orders``, target percent, shared cash, sells first) only
simulates the same portfolio from our target weights, so its figure leaves out the selection work.
vectorbt is timed cold (numba JIT on a fresh cache) and warm (best of ``--repeat``).

Run: ``python benchmarks/backtest_bench.py [--symbols 500 5000] [--repeat 3]``
(needs ``pip install vectorbt``).
Targets from the issue: ours >= 20x faster than vectorbt warm; 5000 symbols in under 1 s of compute.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from momentum.backtest import BacktestConfig, BacktestResult, run_backtest  # noqa: E402
from momentum.providers import bars_to_wide  # noqa: E402
from momentum.providers.synthetic import synthetic_panel  # noqa: E402
from momentum.strategy import StrategyParams  # noqa: E402

SESSIONS, HOLDINGS, COST_BPS, CASH = 5040, 25, 10.0, 1_000_000.0
PARAMS = StrategyParams(strategy="momentum", holdings=HOLDINGS)
CONFIG = BacktestConfig(cost_bps=COST_BPS, fractional=True, initial_cash=CASH)


def best_of(repeat: int, fn):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def vectorbt_inputs(
    closes: pd.DataFrame, result: BacktestResult
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Our selections as target-percent orders on the trade sessions, with a sells-first call order."""
    size = pd.DataFrame(np.nan, index=closes.index, columns=closes.columns)
    for row in result.rebalances.itertuples():
        picks = row.selected.split(",") if row.selected else []
        size.loc[row.trade_date] = 0.0
        size.loc[row.trade_date, picks] = 1.0 / HOLDINGS
    entries = np.nan_to_num(size.to_numpy(), nan=0.0) > 0
    call_seq = np.argsort(entries, axis=1, kind="stable")  # exits (target 0) before entries, on every row
    return closes.ffill(), size, call_seq


def run_vectorbt(close: pd.DataFrame, size: pd.DataFrame, call_seq: np.ndarray) -> float:
    import vectorbt as vbt

    pf = vbt.Portfolio.from_orders(
        close,
        size,
        size_type="targetpercent",
        fees=COST_BPS / 1e4,
        init_cash=CASH,
        cash_sharing=True,
        group_by=True,
        call_seq=call_seq,
        freq="1D",
    )
    return float(pf.value().iloc[-1])


def bench(n_symbols: int, repeat: int) -> None:
    closes = bars_to_wide(synthetic_panel(n_symbols, SESSIONS, seed=7))
    run_backtest(closes.iloc[:400], params=PARAMS, config=CONFIG)  # warm caches (calendar, imports)
    ours, result = best_of(repeat, lambda: run_backtest(closes, params=PARAMS, config=CONFIG))
    close, size, call_seq = vectorbt_inputs(closes, result)
    cold, _ = best_of(1, lambda: run_vectorbt(close, size, call_seq))
    warm, vbt_equity = best_of(repeat, lambda: run_vectorbt(close, size, call_seq))
    print(
        f"{n_symbols} symbols x {len(closes)} sessions "
        f"({closes.index[0]:%Y-%m-%d}..{closes.index[-1]:%Y-%m-%d}), "
        f"{len(result.rebalances)} rebalances, top {HOLDINGS}, {COST_BPS:g} bps"
    )
    print(
        f"  ours (selection + planning + simulation): {ours:8.3f} s   final equity {result.final_equity:,.0f}"
    )
    print(f"  vectorbt simulation only, cold (JIT):     {cold:8.3f} s")
    print(f"  vectorbt simulation only, warm:           {warm:8.3f} s   final equity {vbt_equity:,.0f}")
    print(f"  ratio vectorbt warm / ours:               {warm / ours:8.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, nargs="+", default=[500])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, numpy {np.__version__}, pandas {pd.__version__}")
    for n in args.symbols:
        bench(n, args.repeat)


if __name__ == "__main__":
    main()
