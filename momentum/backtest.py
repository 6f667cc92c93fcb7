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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from momentum.backtest_result import BacktestResult, backtest_result, last_close, plans_frame, trades_frame
from momentum.calendar import CALENDAR_START, DEFAULT_MONTHS, nyse_sessions, rebalance_schedule
from momentum.orders import fund_buys, plan_quantities
from momentum.selection import symbol_ranks
from momentum.signals import below_trend, history_sessions, signals_at
from momentum.strategy import StrategyParams, score_signals

Members = Callable[[pd.Timestamp], Collection[str] | None]
DEFAULT_PARAMS = StrategyParams()  # the strategy's defaults: one frozen instance, shared by every call


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


def scoring_sessions(params: StrategyParams) -> int:
    """Sessions in the live scoring window (:func:`momentum.signals.history_sessions`)."""
    return history_sessions(params.lookback, params.skip)


def _every_symbol(_: pd.Timestamp) -> None:
    return None


@dataclass(frozen=True)
class _Panel:
    """The closes as one matrix (rows sessions, columns ``symbols``, NaN = no bar) and the fill rules:
    ``rate`` = commission + slippage as a fraction of notional, ``step`` = the share increment."""

    raw: np.ndarray
    symbols: np.ndarray
    ranks: np.ndarray
    rate: float
    step: float


@dataclass
class _Book:
    """The simulated account: shares per symbol, cash (dollars), and everything booked so far."""

    shares: np.ndarray
    cash: float
    events: list[tuple[int, np.ndarray, float]] = field(default_factory=list)
    trades: list[tuple] = field(default_factory=list)
    plans: list[tuple] = field(default_factory=list)
    rebalances: list[tuple] = field(default_factory=list)


def run_backtest(
    closes: pd.DataFrame,
    *,
    params: StrategyParams = DEFAULT_PARAMS,
    config: BacktestConfig = BacktestConfig(),
    members: Members = _every_symbol,
    benchmark: pd.Series | None = None,
) -> BacktestResult:
    """Replay the strategy on wide adjusted closes (index sessions, columns symbols, NaN = no bar).

    ``members(signal_date)`` is the universe (None = every symbol); ``benchmark`` levels are scaled to
    the initial cash. The default start is the first session with a full scoring window.
    """
    closes = closes.sort_index()
    dates, symbols = closes.index, closes.columns.to_numpy()
    panel = _Panel(
        closes.to_numpy(dtype="float64"),
        symbols,
        symbol_ranks(symbols),
        (config.cost_bps + config.slippage_bps) / 1e4,
        1e-6 if config.fractional else 1.0,
    )
    rows = _session_rows(dates, params, config)
    schedule, signal_rows, trade_rows = _schedule(dates, rows, config)
    starts = _window_starts(dates, schedule["signal_date"], scoring_sessions(params))
    signals = signals_at(panel.raw, signal_rows, starts, params.lookback, params.skip)
    book = _Book(np.zeros(len(symbols)), float(config.initial_cash))
    for k, (signal, trade) in enumerate(schedule.itertuples(index=False)):
        flows = _sell_delisted(book, panel, signal_rows[k], signal)
        to_cash = (
            params.regime_filter
            and benchmark is not None
            and below_trend(benchmark.loc[:signal], params.regime_window)
        )
        target = _target(
            panel, {name: values[k] for name, values in signals.items()}, members(signal), to_cash, params
        )
        _rebalance(book, panel, config, target, (signal_rows[k], trade_rows[k]), (signal, trade), flows)
    return backtest_result(
        dates[rows],
        rows,
        panel.raw,
        book.events,
        config.initial_cash,
        benchmark,
        book.rebalances,
        trades_frame(book.trades),
        plans_frame(symbols, book.plans),
    )


def _session_rows(dates: pd.DatetimeIndex, params: StrategyParams, config: BacktestConfig) -> np.ndarray:
    """Rows of the sessions in range: ``config`` start/end, by default the first session with a full
    scoring window to the last one."""
    start = (
        config.start if config.start is not None else dates[min(scoring_sessions(params) - 1, len(dates) - 1)]
    )
    end = config.end if config.end is not None else dates[-1]
    rows = np.flatnonzero((dates >= start) & (dates <= end))
    if not len(rows):
        raise ValueError(f"no sessions of data between {start:%Y-%m-%d} and {end:%Y-%m-%d}")
    return rows


def _schedule(
    dates: pd.DatetimeIndex, rows: np.ndarray, config: BacktestConfig
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rebalances whose trade falls in range, with the rows of their signal and trade sessions."""
    schedule = rebalance_schedule(
        dates[rows[0]], dates[rows[-1]], config.rebalance_months, config.trade_offset
    )
    schedule = schedule[schedule["trade_date"] <= dates[rows[-1]]]
    signal_rows, trade_rows = (
        dates.get_indexer(schedule["signal_date"]),
        dates.get_indexer(schedule["trade_date"]),
    )
    missing = sorted(
        set(schedule["signal_date"][signal_rows < 0]) | set(schedule["trade_date"][trade_rows < 0])
    )
    if missing:
        raise ValueError(
            "no row in the closes for the rebalance session(s) "
            + ", ".join(f"{day:%Y-%m-%d}" for day in missing)
        )
    return schedule, signal_rows, trade_rows


def _sell_delisted(book: _Book, panel: _Panel, row: int, signal: pd.Timestamp) -> list[float]:
    """Sell every held name without a close at the signal session at its last close, booked on the
    signal session; returns the bought, sold and cost dollars."""
    held = np.flatnonzero(book.shares)
    gone = held[np.isnan(panel.raw[row, held])]
    book.cash, *flows = _fill(
        gone,
        -book.shares[gone],
        last_close(panel.raw, row, gone),
        -book.shares[gone],
        book.cash,
        panel.rate,
        (signal, signal, "delisted"),
        panel.symbols,
        book.trades,
    )
    if len(gone):
        book.shares = book.shares.copy()
        book.shares[gone] = 0.0
        book.events.append((row, book.shares, book.cash))
    return flows


def _target(
    panel: _Panel,
    signals: dict[str, np.ndarray],
    universe: Collection[str] | None,
    to_cash: bool,
    params: StrategyParams,
) -> dict[str, np.ndarray]:
    """The live eligibility and selection at one signal session (nothing quarantined: no validation)."""
    member = None if universe is None else np.isin(panel.symbols, list(universe))
    return score_signals(
        signals, panel.ranks, quarantined=None, to_cash=to_cash, params=params, member=member
    )


def _rebalance(
    book: _Book,
    panel: _Panel,
    config: BacktestConfig,
    target: dict[str, np.ndarray],
    rows: tuple[int, int],
    days: tuple[pd.Timestamp, pd.Timestamp],
    flows: list[float],
) -> None:
    """Plan at the signal session's closes (the live plan), fill at the trade session's, book it all."""
    (i, j), (signal, trade) = rows, days
    traded = np.flatnonzero((target["weight"] > 0) | (book.shares != 0))
    planned = plan_quantities(
        target["weight"][traded],
        book.shares[traded],
        book.cash,
        panel.raw[i, traded],
        fractional=config.fractional,
        min_order_value=config.min_order_value,
        cash_buffer=config.cash_buffer,
        cost_bps=config.cost_bps + config.slippage_bps,
    )
    book.plans.append(
        (signal, traded, planned, panel.raw[i, traded], book.shares[traded], target["weight"][traded])
    )
    price = last_close(panel.raw, j, traded)
    delta = _funded(planned, panel.raw[j, traded], price, book.cash, panel.rate, panel.step)
    equity_before, cash_before = book.cash + float(book.shares[traded] @ price), book.cash
    book.cash, *more = _fill(
        traded,
        delta,
        price,
        planned,
        book.cash,
        panel.rate,
        (signal, trade, "rebalance"),
        panel.symbols,
        book.trades,
    )
    book.shares = book.shares.copy()
    book.shares[traded] += delta
    book.events.append((j, book.shares, book.cash))
    bought, sold, costs = (a + b for a, b in zip(flows, more, strict=True))
    selected = sorted(panel.symbols[target["selected"]])
    turnover = (bought + sold) / 2 / equity_before if equity_before > 0 else 0.0
    book.rebalances.append(
        (
            signal,
            trade,
            ",".join(selected),
            len(selected),
            cash_before,
            equity_before,
            bought,
            sold,
            costs,
            turnover,
        )
    )


def _window_starts(dates: pd.DatetimeIndex, signal_dates: pd.Series, window: int) -> np.ndarray:
    """Row of ``dates`` where each signal session's live scoring window starts: ``window`` NYSE sessions
    up to and including the signal session (the data's first row if the window starts before it)."""
    calendar = nyse_sessions(CALENDAR_START, dates[-1])
    first = np.maximum(calendar.searchsorted(signal_dates) - window + 1, 0)
    return dates.searchsorted(calendar[first])


def _funded(
    planned: np.ndarray, close: np.ndarray, price: np.ndarray, cash: float, rate: float, step: float
) -> np.ndarray:
    """The planned shares that fill: buys of names without a close dropped, buys trimmed if unfunded."""
    delta = np.where(np.isnan(close) & (planned > 0), 0.0, planned)
    if cash - float(delta @ price) - rate * float(np.abs(delta) @ price) >= -1e-9:
        return delta
    traded = np.flatnonzero(delta)
    delta[traded] = fund_buys(delta[traded], cash, price[traded], rate, step)
    return delta


def _fill(
    cols: np.ndarray,
    delta: np.ndarray,
    prices: np.ndarray,
    planned: np.ndarray,
    cash: float,
    rate: float,
    when: tuple,
    symbols: np.ndarray,
    trades: list,
) -> tuple[float, float, float, float]:
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
