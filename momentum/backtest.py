"""The backtest engine: replays the live selection and order planning over history (pure, no Prefect).

For every rebalance signal session in range (``rebalance_schedule``):

1. Delistings: a held name without a close on the signal session is sold at its last close
   (commission and slippage charged), booked on the signal session, before anything else.
2. Selection: ``score_arrays`` (the core of the live ``score_at``) on the same window the live ingest stores (the last ``scoring_sessions``
   NYSE sessions up to the signal session, symbols with at least one bar in it), with the
   universe at that session. Live validation can quarantine symbols; the backtest does not
   validate, so nothing is quarantined here.
3. Planning: ``plan_quantities`` (the core of the live ``plan_orders``) on the targets, book, cash and
   signal-session closes, exactly as
   the live plan task calls it; the plan is kept verbatim in ``BacktestResult.orders``.
4. Fills: ``trade_offset`` sessions later, at that session's close, the planned share quantities are
   traded (sells first). A buy of a name without a close that session is dropped; a sell uses the
   last close. If the buys would overdraw cash at the fill prices, they are trimmed by the live rule
   (largest buy first, one share, or 1e-6 share when fractional, at a time).

Costs: ``cost_bps`` (commission) and ``slippage_bps`` are both charged in cash as bps / 1e4 of the
traded notional ``|qty| x close``; slippage charged this way equals filling at ``close x (1 +/- bps)``.
Planning funds buys with their sum. Between trades positions are constant, so the daily
mark-to-market is one matrix-vector product per holding period over forward-filled closes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from momentum.calendar import CALENDAR_START, DEFAULT_MONTHS, nyse_sessions, rebalance_schedule
from momentum.metrics import performance
from momentum.orders import PLAN_COLUMNS, fund_buys, plan_frame, plan_quantities
from momentum.selection import symbol_ranks
from momentum.settings import Settings
from momentum.signals import below_trend
from momentum.strategy import StrategyParams, score_arrays

Members = Callable[[pd.Timestamp], Collection[str] | None]
TRADE_COLUMNS = ["signal_date", "trade_date", "symbol", "side", "planned_qty", "qty", "price", "notional",
                 "cost", "reason"]
REBALANCE_COLUMNS = ["signal_date", "trade_date", "selected", "n_selected", "cash_before", "equity_before",
                     "bought", "sold", "costs", "turnover"]


@dataclass(frozen=True)
class BacktestConfig:
    """Simulation knobs: dates (None = the data's range), dollars, basis points, sessions."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    rebalance_months: tuple[int, ...] = DEFAULT_MONTHS
    trade_offset: int = 1
    initial_cash: float = 100_000.0
    cost_bps: float = 0.0
    slippage_bps: float = 0.0
    fractional: bool = False
    min_order_value: float = 1.0
    cash_buffer: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, start: object = None, end: object = None,
                      slippage_bps: float = 0.0) -> "BacktestConfig":
        fields = ("rebalance_months", "trade_offset", "initial_cash", "cost_bps", "fractional",
                  "min_order_value", "cash_buffer")
        return cls(start=None if start is None else pd.Timestamp(start), end=None if end is None else pd.Timestamp(end),
                   slippage_bps=slippage_bps, **{name: getattr(settings, name) for name in fields})


@dataclass(frozen=True)
class BacktestResult:
    """Curves per session (dollars; ``holdings`` = names held), one row per rebalance and per fill.

    ``rebalances``: signal_date, trade_date, selected (comma-joined), n_selected, cash_before (what
    the plan saw), equity_before (at the trade close, before trading), bought, sold, costs (dollars,
    delisting sales included), turnover = (bought + sold) / 2 / equity_before. ``orders``: the live plans with their signal_date.
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


def scoring_sessions(params: StrategyParams) -> int:
    """Sessions in the live scoring window: the momentum window plus the skip (``tasks.ingest``)."""
    return max(params.lookback + params.skip, params.lookback + 1)


def _every_symbol(_: pd.Timestamp) -> None:
    return None


def run_backtest(
    closes: pd.DataFrame, *, params: StrategyParams = StrategyParams(), config: BacktestConfig = BacktestConfig(),
    members: Members = _every_symbol, benchmark: pd.Series | None = None,
) -> BacktestResult:
    """Replay the strategy on wide adjusted closes (index sessions, columns symbols, NaN = no bar).

    ``members(signal_date)`` is the universe (None = every symbol); ``benchmark`` levels are scaled to
    the initial cash. The default start is the first session with a full scoring window.
    """
    closes = closes.sort_index()
    dates, symbols = closes.index, closes.columns.to_numpy()
    raw = closes.to_numpy(dtype="float64")
    px = closes.ffill().fillna(0.0).to_numpy()
    window = scoring_sessions(params)
    start = config.start if config.start is not None else dates[min(window - 1, len(dates) - 1)]
    end = config.end if config.end is not None else dates[-1]
    rows = np.flatnonzero((dates >= start) & (dates <= end))
    if not len(rows):
        raise ValueError(f"no sessions of data between {start:%Y-%m-%d} and {end:%Y-%m-%d}")
    schedule = rebalance_schedule(dates[rows[0]], dates[rows[-1]], config.rebalance_months, config.trade_offset)
    schedule = schedule[schedule["trade_date"] <= dates[rows[-1]]]
    rate, step = (config.cost_bps + config.slippage_bps) / 1e4, 1e-6 if config.fractional else 1.0
    shares, cash = np.zeros(len(symbols)), float(config.initial_cash)
    calendar = nyse_sessions(CALENDAR_START, dates[-1])
    ranks = symbol_ranks(symbols)
    events: list[tuple[int, np.ndarray, float]] = []
    trades, plans, rebalances = [], [], []
    for signal, trade in schedule.itertuples(index=False):
        i, j = dates.get_loc(signal), dates.get_loc(trade)
        delisted = np.where((shares != 0) & np.isnan(raw[i]), -shares, 0.0)
        cash, *flows = _fill(delisted, px[i], rate, cash, (signal, signal, "delisted"), symbols, delisted, trades)
        if delisted.any():
            shares = shares + delisted
            events.append((i, shares, cash))
        window_start = max(calendar[calendar.searchsorted(signal) - window + 1], dates[0])
        universe = members(signal)
        to_cash = (params.regime_filter and benchmark is not None
                   and below_trend(benchmark.loc[:signal], params.regime_window))
        core = score_arrays(
            raw[dates.searchsorted(window_start):i + 1], ranks, quarantined=None, to_cash=to_cash, params=params,
            member=None if universe is None else np.isin(symbols, list(universe)),
        )
        traded = np.flatnonzero((core["weight"] > 0) | (shares != 0))
        planned = np.zeros(len(symbols))
        planned[traded] = plan_quantities(
            core["weight"][traded], shares[traded], cash, raw[i, traded], fractional=config.fractional,
            min_order_value=config.min_order_value, cash_buffer=config.cash_buffer,
            cost_bps=config.cost_bps + config.slippage_bps,
        )
        plans.append((signal, traded, planned[traded], raw[i, traded], shares[traded], core["weight"][traded]))
        delta = _funded(planned, raw[j], px[j], cash, rate, step)
        equity_before, cash_before = cash + float(shares @ px[j]), cash
        cash, *more = _fill(delta, px[j], rate, cash, (signal, trade, "rebalance"), symbols, planned, trades)
        shares = shares + delta
        events.append((j, shares, cash))
        bought, sold, costs = (a + b for a, b in zip(flows, more))
        selected = sorted(symbols[core["selected"]])
        turnover = (bought + sold) / 2 / equity_before if equity_before > 0 else 0.0
        rebalances.append((signal, trade, ",".join(selected), len(selected), cash_before, equity_before,
                           bought, sold, costs, turnover))
    plans = _plans(symbols, plans)
    return _result(dates[rows], rows, px, events, config.initial_cash, benchmark, rebalances, trades, plans)


def _plans(symbols: np.ndarray, plans: list[tuple]) -> pd.DataFrame:
    """Every rebalance's live plan table in one frame, with its signal_date."""
    if not plans:
        return pd.DataFrame(columns=[*PLAN_COLUMNS, "signal_date"])
    signal, traded, *arrays = zip(*plans)
    keys = np.concatenate([np.full(len(t), f"{s:%Y%m%d}", dtype=object) for s, t in zip(signal, traded)])
    frame = plan_frame(symbols[np.concatenate(traded)], *map(np.concatenate, arrays), rebalance_key=keys)
    frame["signal_date"] = np.repeat(np.array(signal, dtype="datetime64[ns]"),
                                     [np.count_nonzero(d) for d in arrays[0]])  # rows come grouped by rebalance
    return frame


def _funded(planned: np.ndarray, close: np.ndarray, price: np.ndarray, cash: float, rate: float,
            step: float) -> np.ndarray:
    """The planned shares that fill: buys of names without a close dropped, buys trimmed if unfunded."""
    delta = np.where(np.isnan(close) & (planned > 0), 0.0, planned)
    if cash - float(delta @ price) - rate * float(np.abs(delta) @ price) >= -1e-9:
        return delta
    traded = np.flatnonzero(delta)
    delta[traded] = fund_buys(delta[traded], cash, price[traded], rate, step)
    return delta


def _fill(delta: np.ndarray, prices: np.ndarray, rate: float, cash: float, when: tuple, symbols: np.ndarray,
          planned: np.ndarray, trades: list) -> tuple[float, float, float, float]:
    """Book the non-zero ``delta`` shares at ``prices`` into ``trades`` (``when``: signal, fill date,
    reason); return cash afterwards, bought and sold notional and costs (dollars)."""
    idx = np.flatnonzero(delta)
    notional = np.abs(delta[idx]) * prices[idx]
    cost = rate * notional
    for k, col in enumerate(idx):
        side = "sell" if delta[col] < 0 else "buy"
        trades.append((*when[:2], symbols[col], side, abs(planned[col]), abs(delta[col]), prices[col],
                       notional[k], cost[k], when[2]))
    buys = delta[idx] > 0
    return (cash - float(delta[idx] @ prices[idx]) - float(cost.sum()), float(notional[buys].sum()),
            float(notional[~buys].sum()), float(cost.sum()))


def _result(
    sessions: pd.DatetimeIndex, rows: np.ndarray, px: np.ndarray, events: list, initial_cash: float,
    benchmark: pd.Series | None, rebalances: list, trades: list, plans: pd.DataFrame,
) -> BacktestResult:
    """Daily curves: the state after the last event at or before each session, marked at its close."""
    equity = np.full(len(rows), float(initial_cash))
    cash, holdings = equity.copy(), np.zeros(len(rows))
    at = np.array([e[0] for e in events], dtype=int)
    for k, (row, shares, cash_k) in enumerate(events):
        lo = np.searchsorted(rows, row)
        hi = np.searchsorted(rows, at[k + 1]) if k + 1 < len(events) else len(rows)
        held = np.flatnonzero(shares)
        equity[lo:hi] = cash_k + px[rows[lo:hi]][:, held] @ shares[held]
        cash[lo:hi], holdings[lo:hi] = cash_k, len(held)
    bench = None
    if benchmark is not None:
        levels = benchmark.reindex(sessions).ffill().bfill()
        bench = (levels / levels.iloc[0] * initial_cash).rename("benchmark")
    return BacktestResult(
        equity=pd.Series(equity, index=sessions, name="equity"), cash=pd.Series(cash, index=sessions, name="cash"),
        holdings=pd.Series(holdings.astype(int), index=sessions, name="holdings"), benchmark=bench,
        rebalances=pd.DataFrame(rebalances, columns=REBALANCE_COLUMNS),
        trades=pd.DataFrame(trades, columns=TRADE_COLUMNS),
        orders=plans,
    )
