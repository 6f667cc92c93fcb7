"""The backtest's outputs: daily curves marked at the closes, and one frame each of rebalances, fills
and plans (the engine that books them: :mod:`momentum.backtest`). Dollars, shares, sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from momentum.backtest._metrics import performance
from momentum.portfolio import PLAN_COLUMNS, PlanArrays, plan_frame

if TYPE_CHECKING:
    from momentum.backtest._config import BacktestConfig

TRADE_COLUMNS = [
    "signal_date",
    "trade_date",
    "symbol",
    "side",
    "planned_qty",
    "qty",
    "price",
    "notional",
    "cost",
    "reason",
]
REBALANCE_COLUMNS = [
    "signal_date",
    "trade_date",
    "selected",
    "n_selected",
    "cash_before",
    "equity_before",
    "bought",
    "sold",
    "costs",
    "turnover",
]


@dataclass(frozen=True)
class BacktestResult:
    """Curves per session (dollars; ``holdings`` = names held), one row per rebalance and per fill.

    ``rebalances``: signal_date, trade_date, selected (comma-joined), n_selected, cash_before (what
    the plan saw), equity_before (at the fill prices, before trading), bought, sold, costs (dollars,
    delisting sales included), turnover = (bought + sold) / 2 / equity_before. ``orders``: the live
    plans with their signal_date.
    """

    equity: pd.Series
    cash: pd.Series
    holdings: pd.Series
    benchmark: pd.Series | None
    rebalances: pd.DataFrame
    trades: pd.DataFrame
    orders: pd.DataFrame

    @property
    def final_equity(self) -> float:
        return float(self.equity.iloc[-1])

    def metrics(self) -> dict:
        """Curve metrics against the benchmark, plus mean turnover per rebalance and average holdings."""
        out = performance(self.equity, self.benchmark)
        first = self.rebalances["trade_date"].min() if len(self.rebalances) else self.equity.index[-1]
        out["turnover"] = float(self.rebalances["turnover"].mean()) if len(self.rebalances) else 0.0
        out["avg_holdings"] = float(self.holdings.loc[first:].mean())
        out["rebalances"] = len(self.rebalances)
        out["final_equity"] = self.final_equity
        return out


def assumed_cost(result: BacktestResult, config: BacktestConfig) -> dict[str, float]:
    """The cost the backtest assumes, to set beside a live rebalance's implementation shortfall: ``bps``
    of traded notional (commission + slippage) and the ``dollars`` it charged over the whole run."""
    return {"bps": config.cost_bps + config.slippage_bps, "dollars": float(result.trades["cost"].sum())}


def plans_frame(symbols: np.ndarray, plans: list[tuple]) -> pd.DataFrame:
    """Every rebalance's live plan table in one frame, with its signal_date."""
    if not plans:
        return pd.DataFrame(columns=[*PLAN_COLUMNS, "signal_date"])
    signal, traded, *arrays = zip(*plans, strict=True)
    keys = np.concatenate(
        [np.full(len(t), f"{s:%Y%m%d}", dtype=object) for s, t in zip(signal, traded, strict=True)]
    )
    planned = PlanArrays(symbols[np.concatenate(traded)], *map(np.concatenate, arrays))
    frame = plan_frame(planned, rebalance_key=keys)
    frame["signal_date"] = np.repeat(
        np.array(signal, dtype="datetime64[ns]"), [np.count_nonzero(d) for d in arrays[0]]
    )  # rows come grouped by rebalance
    return frame


def last_close(raw: np.ndarray, row: int, cols: np.ndarray) -> np.ndarray:
    """Closes of ``cols`` at ``row``; a symbol without a bar there is priced at its last close before."""
    out = raw[row, cols].copy()
    missing = np.flatnonzero(np.isnan(out))
    if len(missing):
        seen = ~np.isnan(raw[: row + 1, cols[missing]])
        last = row - np.argmax(seen[::-1], axis=0)
        out[missing] = np.where(seen.any(axis=0), raw[last, cols[missing]], np.nan)
    return out


def trades_frame(fills: list[tuple]) -> pd.DataFrame:
    """The booked fills as one frame (:data:`TRADE_COLUMNS`), in booking order."""
    if not fills:
        return pd.DataFrame(columns=TRADE_COLUMNS)
    when, symbol, deltas, planned, price, notional, cost = zip(*fills, strict=True)
    sizes = [len(s) for s in symbol]
    signals, trades, reason = zip(*when, strict=True)
    signal, trade = (np.repeat(np.array(dates, dtype="datetime64[ns]"), sizes) for dates in (signals, trades))
    delta = np.concatenate(deltas)
    return pd.DataFrame(
        {
            "signal_date": signal,
            "trade_date": trade,
            "symbol": np.concatenate(symbol),
            "side": np.where(delta < 0, "sell", "buy"),
            "planned_qty": np.concatenate(planned),
            "qty": np.abs(delta),
            "price": np.concatenate(price),
            "notional": np.concatenate(notional),
            "cost": np.concatenate(cost),
            "reason": np.repeat(np.array(reason, dtype=object), sizes),
        },
        columns=TRADE_COLUMNS,
    )


def _marks(raw: np.ndarray, lo: int, hi: int, cols: np.ndarray) -> np.ndarray:
    """Closes of ``cols`` on rows lo..hi-1, a missing one carried forward from the symbol's last close."""
    block = raw[lo:hi, cols]
    if not np.isnan(block).any():
        return block
    block = block.copy()
    block[0] = last_close(raw, lo, cols)
    last = np.where(np.isnan(block), 0, np.arange(len(block))[:, None])
    np.maximum.accumulate(last, axis=0, out=last)
    return block[last, np.arange(len(cols))]


@dataclass(frozen=True)
class Booked:
    """Everything the simulated book recorded: ``events`` (the panel row, shares and cash after each
    change), one tuple per rebalance (:data:`REBALANCE_COLUMNS`), and the fills and plans as frames."""

    events: list[tuple[int, np.ndarray, float]]
    rebalances: list[tuple]
    trades: pd.DataFrame
    plans: pd.DataFrame


def backtest_result(
    sessions: pd.DatetimeIndex,
    rows: np.ndarray,
    raw: np.ndarray,
    booked: Booked,
    initial_cash: float,
    benchmark: pd.Series | None,
) -> BacktestResult:
    """Daily curves of the ``sessions`` (rows ``rows`` of the closes ``raw``): the state after the last
    event at or before each session, marked at its close; and the frames of everything ``booked``."""
    events = booked.events
    equity = np.full(len(rows), float(initial_cash))
    cash, holdings = equity.copy(), np.zeros(len(rows))
    at = np.array([e[0] for e in events], dtype=int)
    for k, (row, shares, cash_k) in enumerate(events):
        lo = np.searchsorted(rows, row)
        hi = np.searchsorted(rows, at[k + 1]) if k + 1 < len(events) else len(rows)
        held = np.flatnonzero(shares)
        if hi > lo:
            equity[lo:hi] = cash_k + _marks(raw, rows[lo], rows[hi - 1] + 1, held) @ shares[held]
        cash[lo:hi], holdings[lo:hi] = cash_k, len(held)
    bench = None
    if benchmark is not None:
        levels = benchmark.reindex(sessions).ffill().bfill()
        bench = (levels / levels.iloc[0] * initial_cash).rename("benchmark")
    return BacktestResult(
        equity=pd.Series(equity, index=sessions, name="equity"),
        cash=pd.Series(cash, index=sessions, name="cash"),
        holdings=pd.Series(holdings.astype(int), index=sessions, name="holdings"),
        benchmark=bench,
        rebalances=_rebalances(booked.rebalances),
        trades=booked.trades,
        orders=booked.plans,
    )


def _rebalances(rows: list[tuple]) -> pd.DataFrame:
    """One row per rebalance (:data:`REBALANCE_COLUMNS`), built column by column."""
    if not rows:
        return pd.DataFrame(columns=REBALANCE_COLUMNS)
    data: dict[str, Any] = dict(zip(REBALANCE_COLUMNS, zip(*rows, strict=True), strict=True))
    for name in ("signal_date", "trade_date"):
        data[name] = np.array(data[name], dtype="datetime64[ns]")
    return pd.DataFrame(data, columns=REBALANCE_COLUMNS)
