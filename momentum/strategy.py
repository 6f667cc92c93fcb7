"""The strategy at one signal session: signals -> eligibility -> selection, shared by live and backtest."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass

import pandas as pd

from momentum.selection import eligibility_reasons, holdings_count, select
from momentum.settings import Settings
from momentum.signals import below_trend, momentum_signals


@dataclass(frozen=True)
class StrategyParams:
    """Windows in sessions; ``holdings`` fixes H, else H = max(min_holdings, round(fraction * eligible))."""

    strategy: str = "qmom"
    lookback: int = 252
    skip: int = 21
    min_holdings: int = 5
    holdings_fraction: float = 0.05
    holdings: int | None = None
    max_stale_sessions: int = 20
    regime_filter: bool = False
    regime_window: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> "StrategyParams":
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict:
        return asdict(self)


def score_at(
    closes: pd.DataFrame, *, members: Collection[str] | None, quarantined: Collection[str] = (),
    benchmark: pd.Series | None = None, params: StrategyParams = StrategyParams(),
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The score table at session ``as_of`` (default: the last row) from wide adjusted closes.

    Rows after ``as_of`` are cut off here, so nothing computed at ``as_of`` can see later data.
    """
    if as_of is not None:
        closes = closes.loc[: pd.Timestamp(as_of)]
        benchmark = None if benchmark is None else benchmark.loc[: pd.Timestamp(as_of)]
        if not len(closes) or closes.index[-1] != pd.Timestamp(as_of):
            raise ValueError(f"no closes on the session {pd.Timestamp(as_of):%Y-%m-%d}")
    signals = momentum_signals(closes, params.lookback, params.skip)
    reasons = eligibility_reasons(
        signals, members=members, quarantined=quarantined,
        min_history=params.lookback + 1, max_stale_sessions=params.max_stale_sessions,
    )
    holdings = holdings_count(
        int((reasons == "").sum()), min_holdings=params.min_holdings,
        fraction=params.holdings_fraction, fixed=params.holdings,
    )
    to_cash = params.regime_filter and benchmark is not None and below_trend(benchmark, params.regime_window)
    return select(signals, reasons, holdings=holdings, strategy=params.strategy, to_cash=to_cash)
