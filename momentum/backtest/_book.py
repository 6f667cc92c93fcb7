"""The backtest's simulated account: the live plan at the signal session, the fills at the trade
session, and the booking of both (the loop that drives it: :mod:`momentum.backtest`).

Fills: the planned share quantities trade at the trade session's close (``order_timing`` close or
market; sells first). A buy of a name without a close that session is dropped; a sell uses the last
close. With ``order_timing`` open they trade at the trade session's adjusted open instead (open x
adj_close / close of its bar, the open on the closes' adjusted scale); a buy of a name without an open
that session is dropped, a sell uses the last close before that session (the last price known at the
open). If the buys would overdraw cash at the fill prices, they are trimmed by the live rule (largest
buy first, one share, or 1e-6 share when fractional, at a time). Delisted holdings are sold at their last
close on the signal session and every session is marked at its closes, whatever the timing.

Costs: ``cost_bps`` (commission) and ``slippage_bps`` are both charged in cash as bps / 1e4 of the
traded notional ``|qty| x fill price``; slippage charged this way equals filling at ``price x (1 +/-
bps)``. Planning funds buys with their sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from momentum.backtest._config import BacktestConfig
from momentum.backtest._result import last_close
from momentum.portfolio import funded_fills, plan_quantities


@dataclass(frozen=True)
class Panel:
    """The closes as one matrix (rows sessions, columns ``symbols``, NaN = no bar) and the fill rules:
    ``rate`` = commission + slippage as a fraction of notional, ``step`` = the share increment,
    ``opens`` = the adjusted opens the trades fill at (same shape; None: they fill at the closes)."""

    raw: np.ndarray
    symbols: np.ndarray
    ranks: np.ndarray
    rate: float
    step: float
    opens: np.ndarray | None = None


@dataclass
class Book:
    """The simulated account: shares per symbol, cash (dollars), and everything booked so far."""

    shares: np.ndarray
    cash: float
    events: list[tuple[int, np.ndarray, float]] = field(default_factory=list)
    trades: list[tuple] = field(default_factory=list)
    plans: list[tuple] = field(default_factory=list)
    rebalances: list[tuple] = field(default_factory=list)


@dataclass(frozen=True)
class RebalanceSessions:
    """One rebalance's signal and trade sessions and their rows in the :class:`Panel`."""

    signal: pd.Timestamp
    trade: pd.Timestamp
    signal_row: int
    trade_row: int


@dataclass(frozen=True)
class Fills:
    """Shares ``delta`` of the panel columns ``cols`` filled at ``prices`` (``planned``: the planned shares;
    ``when``: signal date, fill date, reason)."""

    cols: np.ndarray
    delta: np.ndarray
    prices: np.ndarray
    planned: np.ndarray
    when: tuple[pd.Timestamp, pd.Timestamp, str]


def _sell_delisted(book: Book, panel: Panel, row: int, signal: pd.Timestamp) -> list[float]:
    """Sell every held name without a close at the signal session at its last close, booked on the
    signal session; returns the bought, sold and cost dollars."""
    held = np.flatnonzero(book.shares)
    gone = held[np.isnan(panel.raw[row, held])]
    sold = -book.shares[gone]
    flows = _fill(
        book, panel, Fills(gone, sold, last_close(panel.raw, row, gone), sold, (signal, signal, "delisted"))
    )
    if len(gone):
        book.shares = book.shares.copy()
        book.shares[gone] = 0.0
        book.events.append((row, book.shares, book.cash))
    return flows


def rebalance(
    book: Book, panel: Panel, config: BacktestConfig, target: dict[str, np.ndarray], at: RebalanceSessions
) -> None:
    """Sell the delisted holdings at the signal session, plan at its closes (the live plan), fill at the
    trade session's close or open, book it all."""
    flows = _sell_delisted(book, panel, at.signal_row, at.signal)
    i, j, days = at.signal_row, at.trade_row, (at.signal, at.trade)
    traded, planned = _plan(book, panel, config, target["weight"], i, at.signal)
    price, quoted = _fill_prices(panel, j, traded)
    delta = funded_fills(planned, price, quoted, book.cash, panel.rate, panel.step)
    equity_before, cash_before = book.cash + float(book.shares[traded] @ price), book.cash
    more = _fill(book, panel, Fills(traded, delta, price, planned, (at.signal, at.trade, "rebalance")))
    book.shares = book.shares.copy()
    book.shares[traded] += delta
    book.events.append((j, book.shares, book.cash))
    bought, sold, costs = (a + b for a, b in zip(flows, more, strict=True))
    selected = sorted(panel.symbols[target["selected"]])
    _book_rebalance(book, days, selected, (cash_before, equity_before), (bought, sold, costs))


def _plan(
    book: Book, panel: Panel, config: BacktestConfig, weight: np.ndarray, row: int, signal: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    """The live plan at the closes of row ``row``: the columns it covers (a target weight or a holding)
    and their planned shares, kept verbatim in ``book.plans``."""
    traded = np.flatnonzero((weight > 0) | (book.shares != 0))
    planned = plan_quantities(
        weight[traded], book.shares[traded], book.cash, panel.raw[row, traded], config.sizing()
    )
    book.plans.append((signal, traded, planned, panel.raw[row, traded], book.shares[traded], weight[traded]))
    return traded, planned


def _book_rebalance(
    book: Book,
    days: tuple[pd.Timestamp, pd.Timestamp],
    selected: list[str],
    before: tuple[float, float],
    flows: tuple[float, float, float],
) -> None:
    """One row of ``book.rebalances``: the selection, the cash and equity before trading, the bought,
    sold and cost dollars, and turnover = (bought + sold) / 2 / equity_before (0 without equity)."""
    (cash_before, equity_before), (bought, sold, costs) = before, flows
    turnover = (bought + sold) / 2 / equity_before if equity_before > 0 else 0.0
    book.rebalances.append(
        (*days, ",".join(selected), len(selected), cash_before, equity_before, bought, sold, costs, turnover)
    )


def _fill_prices(panel: Panel, row: int, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fill price of ``cols`` at session ``row`` and whether each is quoted there: the close, or
    with opens the adjusted open; an unquoted one's price is the last close before it (for sells)."""
    if panel.opens is None:
        return last_close(panel.raw, row, cols), ~np.isnan(panel.raw[row, cols])
    opening = panel.opens[row, cols]
    quoted = ~np.isnan(opening)
    return np.where(quoted, opening, last_close(panel.raw, row - 1, cols)), quoted


def _fill(book: Book, panel: Panel, fills: Fills) -> list[float]:
    """Book the non-zero ``fills.delta`` into ``book.trades`` and ``book.cash`` (costs at the panel's
    rate); return the bought and sold notional and the costs (dollars)."""
    done = fills.delta != 0
    if not done.any():
        return [0.0, 0.0, 0.0]
    delta, prices = fills.delta[done], fills.prices[done]
    notional = np.abs(delta) * prices
    cost = panel.rate * notional
    book.trades.append(
        (
            fills.when,
            panel.symbols[fills.cols[done]],
            delta,
            np.abs(fills.planned[done]),
            prices,
            notional,
            cost,
        )
    )
    bought, costs = float(notional[delta > 0].sum()), float(cost.sum())
    book.cash = book.cash - float(delta @ prices) - costs
    return [bought, float(notional.sum()) - bought, costs]
