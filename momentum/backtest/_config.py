"""The backtest's simulation knobs and the prices it runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from momentum.calendar import DEFAULT_MONTHS
from momentum.portfolio import Sizing


@dataclass(frozen=True)
class BacktestConfig:
    """Simulation knobs: dates (None = the data's range), dollars, basis points, sessions.

    ``order_timing``: ``close`` and ``market`` fill at the trade session's close, ``open`` at its
    adjusted open (the rules: :mod:`momentum.backtest`)."""

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
    order_timing: Literal["close", "open", "market"] = "close"

    def sizing(self) -> Sizing:
        """The live planning rules of the simulated plans: buys funded after commission and slippage."""
        return Sizing(
            fractional=self.fractional,
            min_order_value=self.min_order_value,
            cash_buffer=self.cash_buffer,
            cost_bps=self.cost_bps + self.slippage_bps,
        )


@dataclass(frozen=True)
class Prices:
    """What a backtest trades at: wide adjusted ``closes`` (index sessions, columns symbols, NaN = no
    bar) and, for ``order_timing`` open, the adjusted ``opens`` (open x adj_close / close of each bar;
    same sessions and symbols)."""

    closes: pd.DataFrame
    opens: pd.DataFrame | None = None
