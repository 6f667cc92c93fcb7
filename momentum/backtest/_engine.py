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
4. Fills: ``trade_offset`` sessions later, at that session's close (``order_timing`` close or
   market) or its adjusted open (``open``: needs the opens and ``trade_offset`` >= 1), the planned
   share quantities are traded with costs (the rules: :mod:`momentum.backtest`).

Between trades positions are constant, so the daily mark-to-market is one matrix-vector product per
holding period over the held names' closes (a missing close carried forward from the name's last one);
no full-panel copy is made.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np
import pandas as pd

from momentum.backtest._book import Book, Panel, RebalanceSessions, rebalance
from momentum.backtest._config import BacktestConfig, Prices
from momentum.backtest._result import BacktestResult, Booked, backtest_result, plans_frame, trades_frame
from momentum.calendar import CALENDAR_START, nyse_sessions, rebalance_schedule
from momentum.errors import PermanentError
from momentum.strategy import (
    StrategyParams,
    below_trend,
    history_sessions,
    score_signals,
    signals_at,
    symbol_ranks,
)

Members = Callable[[pd.Timestamp], Collection[str] | None]
DEFAULT_PARAMS = StrategyParams()  # the strategy's defaults: one frozen instance, shared by every call


def scoring_sessions(params: StrategyParams) -> int:
    """Sessions in the live scoring window (:func:`momentum.strategy.history_sessions`)."""
    return history_sessions(params.lookback, params.skip)


def _every_symbol(_: pd.Timestamp) -> None:
    return None


def run_backtest(
    prices: pd.DataFrame | Prices,
    *,
    params: StrategyParams = DEFAULT_PARAMS,
    config: BacktestConfig = BacktestConfig(),
    members: Members = _every_symbol,
    benchmark: pd.Series | None = None,
) -> BacktestResult:
    """Replay the strategy on wide adjusted closes (index sessions, columns symbols, NaN = no bar), or
    on :class:`Prices` (the closes and, for ``order_timing`` open, the adjusted opens).

    ``members(signal_date)`` is the universe (None = every symbol); ``benchmark`` levels are scaled to
    the initial cash. The default start is the first session with a full scoring window.
    """
    given = prices if isinstance(prices, Prices) else Prices(prices)
    closes = given.closes.sort_index()
    dates = closes.index
    panel = _panel(closes, _opens(closes, given.opens, config), config)
    rows = _session_rows(dates, params, config)
    schedule, signal_rows, trade_rows = _schedule(dates, rows, config)
    starts = _window_starts(dates, schedule["signal_date"], scoring_sessions(params))
    signals = signals_at(panel.raw, signal_rows, starts, params.lookback, params.skip)
    book = Book(np.zeros(len(panel.symbols)), float(config.initial_cash))
    for k, (signal, trade) in enumerate(schedule.itertuples(index=False)):
        to_cash = _to_cash(params, benchmark, signal)
        target = _target(
            panel, {name: values[k] for name, values in signals.items()}, members(signal), to_cash, params
        )
        rebalance(
            book, panel, config, target, RebalanceSessions(signal, trade, signal_rows[k], trade_rows[k])
        )
    return _result(dates, rows, panel, book, config.initial_cash, benchmark)


def _panel(closes: pd.DataFrame, opens: np.ndarray | None, config: BacktestConfig) -> Panel:
    """The closes (and opens) matrices with the symbols' ranks and the fill rules (cost rate, share
    step)."""
    symbols = closes.columns.to_numpy()
    return Panel(
        closes.to_numpy(dtype="float64"),
        symbols,
        symbol_ranks(symbols),
        (config.cost_bps + config.slippage_bps) / 1e4,
        1e-6 if config.fractional else 1.0,
        opens,
    )


def _opens(closes: pd.DataFrame, opens: pd.DataFrame | None, config: BacktestConfig) -> np.ndarray | None:
    """The adjusted opens on the closes' sessions and symbols when trades fill at the open, else None.
    Refused: no opens at all, and a trade at the open of the signal session itself (look-ahead)."""
    if config.order_timing != "open":
        return None
    if config.trade_offset < 1:
        raise PermanentError(
            "order_timing 'open' with trade_offset 0 would fill at the signal session's open, before the "
            "close the signal is computed from",
            "backtest",
            "set trade_offset 1 or more, or use order_timing close",
        )
    matrix = None if opens is None else opens.reindex(index=closes.index, columns=closes.columns)
    if matrix is None or matrix.isna().to_numpy().all():
        raise PermanentError(
            "order_timing 'open' fills at the trade session's open and the data has no opens",
            "backtest",
            "use order_timing close, or bars with open and close columns: provider synthetic, alpaca, "
            "or files with open and close",
        )
    return matrix.to_numpy(dtype="float64")


def _to_cash(params: StrategyParams, benchmark: pd.Series | None, signal: pd.Timestamp) -> bool:
    """The regime filter at the signal session: hold cash while the benchmark is below its trend."""
    return (
        params.regime_filter
        and benchmark is not None
        and below_trend(benchmark.loc[:signal], params.regime_window)
    )


def _result(
    dates: pd.DatetimeIndex,
    rows: np.ndarray,
    panel: Panel,
    book: Book,
    initial_cash: float,
    benchmark: pd.Series | None,
) -> BacktestResult:
    """The daily curves of the sessions in range (``rows``) and the frames of everything booked."""
    booked = Booked(
        events=book.events,
        rebalances=book.rebalances,
        trades=trades_frame(book.trades),
        plans=plans_frame(panel.symbols, book.plans),
    )
    return backtest_result(dates[rows], rows, panel.raw, booked, initial_cash, benchmark)


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


def _target(
    panel: Panel,
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


def _window_starts(dates: pd.DatetimeIndex, signal_dates: pd.Series, window: int) -> np.ndarray:
    """Row of ``dates`` where each signal session's live scoring window starts: ``window`` NYSE sessions
    up to and including the signal session (the data's first row if the window starts before it)."""
    calendar = nyse_sessions(CALENDAR_START, dates[-1])
    first = np.maximum(calendar.searchsorted(signal_dates) - window + 1, 0)
    return dates.searchsorted(calendar[first])
