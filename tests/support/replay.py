"""The ``daily`` deployment's logic replayed session by session, without Prefect: each session the
catch-up rule picks the rebalance owed, and the same domain calls the rebalance flow's tasks make score
it, plan it against the paper account and send it (tasks/score.py, tasks/plan.py, tasks/execute.py).

Validation is left out (as in the backtest): the replayed data quarantines nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from momentum import definitions
from momentum.calendar import nyse_sessions, window_start
from momentum.execution import ExecutionHooks, backtest_reference, execute_plan
from momentum.portfolio import SessionPrices, plan_rebalance, session_prices
from momentum.providers import bars_to_wide
from momentum.run import owed_rebalance
from momentum.settings import Settings
from momentum.strategy import history_sessions, score_at
from momentum.universe import scored_members


@dataclass
class Replay:
    """The paper account's equity (dollars) after each replayed session, and its shares at the end."""

    equity: pd.Series
    shares: dict[str, float]


def _score(settings: Settings, bars: pd.DataFrame, benchmark: pd.Series, day: pd.Timestamp) -> pd.DataFrame:
    """tasks/score.py's call on the bars of the session ``day``."""
    res = definitions.resources(settings)
    closes = bars_to_wide(bars[["date", "symbol", "adj_close"]])
    return score_at(
        closes,
        members=scored_members(res.universe, list(closes.columns), [], day),
        quarantined=[],
        benchmark=benchmark.loc[:day],
        params=res.strategy,
    )


def _rebalance(settings: Settings, window, signal: str, market: SessionPrices, benchmark: pd.Series) -> None:
    """plan and execute (tasks/plan.py, tasks/execute.py) of the ``signal`` rebalance on the session of
    ``market``; the executions written as the execute task writes them."""
    res = definitions.resources(settings)
    bars = window(pd.Timestamp(signal))
    scores = _score(settings, bars, benchmark, pd.Timestamp(signal))
    day = f"{market.as_of:%Y-%m-%d}"
    prices = session_prices(bars, signal)
    orders = res.store.lookup("orders", signal, inputs={}, params={"replay": True})
    if orders is None:
        plan = plan_rebalance(scores, res.broker(day, market), prices.marks, signal, res.plan)
        orders = res.store.write("orders", signal, plan, params={"replay": True})
    broker = res.broker(day, market)
    outcomes = execute_plan(
        res.store.read(orders),
        broker,
        res.guards,
        market.marks,
        ExecutionHooks(kill_switch=res.kill_switch()),
    )
    executions = backtest_reference(outcomes, signal, settings.trade_offset, settings.order_timing, market)
    res.store.write("executions", signal, executions, inputs={"orders": orders}, content_addressed=True)


def replay_daily(settings: Settings, start: str, end: str) -> Replay:
    """Run every NYSE session in [start, end] as the ``daily`` deployment would (``only_on_schedule``)."""
    res = definitions.resources(settings)
    everything = res.provider.bars(None, pd.Timestamp(end))
    benchmark = res.provider.benchmark(None, pd.Timestamp(end))
    history = history_sessions(settings.lookback, settings.skip)

    def window(day: pd.Timestamp) -> pd.DataFrame:
        dates = everything["date"]
        return everything[(dates >= window_start(day, history)) & (dates <= day)]

    equity = {}
    for day in nyse_sessions(start, end):
        market = session_prices(window(day), f"{day:%Y-%m-%d}")
        owed = owed_rebalance(res.store, day, settings.rebalance_months)
        if owed is not None:
            _rebalance(settings, window, owed, market, benchmark)
        account = res.broker(f"{day:%Y-%m-%d}", market)
        equity[day] = account.account().equity
    shares = {p.symbol: p.qty for p in account.positions()}
    return Replay(pd.Series(equity), shares)
