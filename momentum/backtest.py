"""The backtest engine: replays the live selection and order planning over history (pure, no Prefect).

For every rebalance signal session in range (``rebalance_schedule``):

1. Delistings: a held name without a close on the signal session is sold at its last close
   (commission and slippage charged), booked on the signal session, before anything else.
2. Selection: the live ``score_at`` in two steps. ``signals_at`` computes the signals of every
   signal session in one pass, each from the same window the live ingest stores (the last
   ``scoring_sessions`` NYSE sessions up to that session; ``score_at`` is ``signals_at`` at one
   session); ``score_signals`` then applies eligibility, the universe at that session and the
   selection. Live validation can quarantine symbols; the backtest does not validate, so nothing is
   quarantined here.
3. Planning: ``plan_quantities`` (the core of the live ``plan_orders``) on the targets, book, cash and
   signal-session closes, exactly as the live plan task calls it; the plan is kept verbatim in
   ``BacktestResult.orders``.
4. Fills: ``trade_offset`` sessions later, at that session's close, the planned share quantities are
   traded (sells first). A buy of a name without a close that session is dropped; a sell uses the
   last close. If the buys would overdraw cash at the fill prices, they are trimmed by the live rule
   (largest buy first, one share, or 1e-6 share when fractional, at a time).

Costs: ``cost_bps`` (commission) and ``slippage_bps`` are both charged in cash as bps / 1e4 of the
traded notional ``|qty| x close``; slippage charged this way equals filling at ``close x (1 +/- bps)``.
Planning funds buys with their sum. Between trades positions are constant, so the daily
mark-to-market is one matrix-vector product per holding period over the held names' closes (a
missing close carried forward from the name's last one); no full-panel copy is made.
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
from momentum.signals import below_trend, history_sessions, signals_at
from momentum.strategy import StrategyParams, score_signals

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
    """Sessions in the live scoring window (:func:`momentum.signals.history_sessions`)."""
    return history_sessions(params.lookback, params.skip)


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
    window = scoring_sessions(params)
    start = config.start if config.start is not None else dates[min(window - 1, len(dates) - 1)]
    end = config.end if config.end is not None else dates[-1]
    rows = np.flatnonzero((dates >= start) & (dates <= end))
    if not len(rows):
        raise ValueError(f"no sessions of data between {start:%Y-%m-%d} and {end:%Y-%m-%d}")
    schedule = rebalance_schedule(dates[rows[0]], dates[rows[-1]], config.rebalance_months, config.trade_offset)
    schedule = schedule[schedule["trade_date"] <= dates[rows[-1]]]
    signal_rows, trade_rows = dates.get_indexer(schedule["signal_date"]), dates.get_indexer(schedule["trade_date"])
    missing = sorted(set(schedule["signal_date"][signal_rows < 0]) | set(schedule["trade_date"][trade_rows < 0]))
    if missing:
        raise ValueError("no row in the closes for the rebalance session(s) "
                         + ", ".join(f"{day:%Y-%m-%d}" for day in missing))
    signals = signals_at(raw, signal_rows, _window_starts(dates, schedule["signal_date"], window), params.lookback,
                         params.skip)
    rate, step = (config.cost_bps + config.slippage_bps) / 1e4, 1e-6 if config.fractional else 1.0
    shares, cash = np.zeros(len(symbols)), float(config.initial_cash)
    ranks = symbol_ranks(symbols)
    events: list[tuple[int, np.ndarray, float]] = []
    trades, plans, rebalances = [], [], []
    for k, (signal, trade) in enumerate(schedule.itertuples(index=False)):
        i, j = signal_rows[k], trade_rows[k]
        held = np.flatnonzero(shares)
        gone = held[np.isnan(raw[i, held])]
        cash, *flows = _fill(gone, -shares[gone], _last_close(raw, i, gone), -shares[gone], cash, rate,
                             (signal, signal, "delisted"), symbols, trades)
        if len(gone):
            shares = shares.copy()
            shares[gone] = 0.0
            events.append((i, shares, cash))
        universe = members(signal)
        to_cash = (params.regime_filter and benchmark is not None
                   and below_trend(benchmark.loc[:signal], params.regime_window))
        core = score_signals(
            {name: values[k] for name, values in signals.items()}, ranks, quarantined=None, to_cash=to_cash,
            params=params, member=None if universe is None else np.isin(symbols, list(universe)),
        )
        traded = np.flatnonzero((core["weight"] > 0) | (shares != 0))
        planned = plan_quantities(
            core["weight"][traded], shares[traded], cash, raw[i, traded], fractional=config.fractional,
            min_order_value=config.min_order_value, cash_buffer=config.cash_buffer,
            cost_bps=config.cost_bps + config.slippage_bps,
        )
        plans.append((signal, traded, planned, raw[i, traded], shares[traded], core["weight"][traded]))
        price = _last_close(raw, j, traded)
        delta = _funded(planned, raw[j, traded], price, cash, rate, step)
        equity_before, cash_before = cash + float(shares[traded] @ price), cash
        cash, *more = _fill(traded, delta, price, planned, cash, rate, (signal, trade, "rebalance"), symbols, trades)
        shares = shares.copy()
        shares[traded] += delta
        events.append((j, shares, cash))
        bought, sold, costs = (a + b for a, b in zip(flows, more))
        selected = sorted(symbols[core["selected"]])
        turnover = (bought + sold) / 2 / equity_before if equity_before > 0 else 0.0
        rebalances.append((signal, trade, ",".join(selected), len(selected), cash_before, equity_before,
                           bought, sold, costs, turnover))
    return _result(dates[rows], rows, raw, events, config.initial_cash, benchmark, rebalances, _trades(trades),
                   _plans(symbols, plans))


def _window_starts(dates: pd.DatetimeIndex, signal_dates: pd.Series, window: int) -> np.ndarray:
    """Row of ``dates`` where each signal session's live scoring window starts: ``window`` NYSE sessions
    up to and including the signal session (the data's first row if the window starts before it)."""
    calendar = nyse_sessions(CALENDAR_START, dates[-1])
    first = np.maximum(calendar.searchsorted(signal_dates) - window + 1, 0)
    return dates.searchsorted(calendar[first])


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


def _last_close(raw: np.ndarray, row: int, cols: np.ndarray) -> np.ndarray:
    """Closes of ``cols`` at ``row``; a symbol without a bar there is priced at its last close before."""
    out = raw[row, cols].copy()
    missing = np.flatnonzero(np.isnan(out))
    if len(missing):
        seen = ~np.isnan(raw[: row + 1, cols[missing]])
        last = row - np.argmax(seen[::-1], axis=0)
        out[missing] = np.where(seen.any(axis=0), raw[last, cols[missing]], np.nan)
    return out


def _funded(planned: np.ndarray, close: np.ndarray, price: np.ndarray, cash: float, rate: float,
            step: float) -> np.ndarray:
    """The planned shares that fill: buys of names without a close dropped, buys trimmed if unfunded."""
    delta = np.where(np.isnan(close) & (planned > 0), 0.0, planned)
    if cash - float(delta @ price) - rate * float(np.abs(delta) @ price) >= -1e-9:
        return delta
    traded = np.flatnonzero(delta)
    delta[traded] = fund_buys(delta[traded], cash, price[traded], rate, step)
    return delta


def _fill(cols: np.ndarray, delta: np.ndarray, prices: np.ndarray, planned: np.ndarray, cash: float, rate: float,
          when: tuple, symbols: np.ndarray, trades: list) -> tuple[float, float, float, float]:
    """Book the non-zero ``delta`` shares of ``cols`` at ``prices`` into ``trades`` (``when``: signal,
    fill date, reason); return cash afterwards, bought and sold notional and costs (dollars)."""
    done = delta != 0
    if not done.any():
        return cash, 0.0, 0.0, 0.0
    delta, prices = delta[done], prices[done]
    notional = np.abs(delta) * prices
    cost = rate * notional
    trades.append((when, symbols[cols[done]], delta, np.abs(planned[done]), prices, notional, cost))
    bought, costs = float(notional[delta > 0].sum()), float(cost.sum())
    return cash - float(delta @ prices) - costs, bought, float(notional.sum()) - bought, costs


def _trades(fills: list[tuple]) -> pd.DataFrame:
    """The booked fills as one frame (:data:`TRADE_COLUMNS`), in booking order."""
    if not fills:
        return pd.DataFrame(columns=TRADE_COLUMNS)
    when, symbol, delta, planned, price, notional, cost = zip(*fills)
    sizes = [len(s) for s in symbol]
    signal, trade, reason = zip(*when)
    signal, trade = (np.repeat(np.array(dates, dtype="datetime64[ns]"), sizes) for dates in (signal, trade))
    delta = np.concatenate(delta)
    return pd.DataFrame({
        "signal_date": signal, "trade_date": trade, "symbol": np.concatenate(symbol),
        "side": np.where(delta < 0, "sell", "buy"), "planned_qty": np.concatenate(planned), "qty": np.abs(delta),
        "price": np.concatenate(price), "notional": np.concatenate(notional), "cost": np.concatenate(cost),
        "reason": np.repeat(np.array(reason, dtype=object), sizes),
    }, columns=TRADE_COLUMNS)


def _marks(raw: np.ndarray, lo: int, hi: int, cols: np.ndarray) -> np.ndarray:
    """Closes of ``cols`` on rows lo..hi-1, a missing one carried forward from the symbol's last close."""
    block = raw[lo:hi, cols]
    if not np.isnan(block).any():
        return block
    block = block.copy()
    block[0] = _last_close(raw, lo, cols)
    last = np.where(np.isnan(block), 0, np.arange(len(block))[:, None])
    np.maximum.accumulate(last, axis=0, out=last)
    return block[last, np.arange(len(cols))]


def _result(
    sessions: pd.DatetimeIndex, rows: np.ndarray, raw: np.ndarray, events: list, initial_cash: float,
    benchmark: pd.Series | None, rebalances: list, trades: pd.DataFrame, plans: pd.DataFrame,
) -> BacktestResult:
    """Daily curves: the state after the last event at or before each session, marked at its close."""
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
        equity=pd.Series(equity, index=sessions, name="equity"), cash=pd.Series(cash, index=sessions, name="cash"),
        holdings=pd.Series(holdings.astype(int), index=sessions, name="holdings"), benchmark=bench,
        rebalances=_rebalances(rebalances), trades=trades, orders=plans,
    )


def _rebalances(rows: list[tuple]) -> pd.DataFrame:
    """One row per rebalance (:data:`REBALANCE_COLUMNS`), built column by column."""
    if not rows:
        return pd.DataFrame(columns=REBALANCE_COLUMNS)
    data = dict(zip(REBALANCE_COLUMNS, zip(*rows)))
    for name in ("signal_date", "trade_date"):
        data[name] = np.array(data[name], dtype="datetime64[ns]")
    return pd.DataFrame(data, columns=REBALANCE_COLUMNS)
