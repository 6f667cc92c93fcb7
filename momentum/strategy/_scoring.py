"""The strategy at one signal session: signals -> eligibility -> selection, shared by live and backtest."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from momentum.errors import PermanentError
from momentum.strategy._params import EQUAL_WEIGHT, StrategyParams
from momentum.strategy._selection import (
    eligibility_codes,
    holdings_count,
    pick,
    reason_texts,
    score_table,
    symbol_ranks,
)
from momentum.strategy._signals import below_trend, min_history, signal_arrays


def score_signals(
    signals: dict[str, np.ndarray],
    symbol_rank: np.ndarray,
    *,
    member: np.ndarray | None,
    quarantined: np.ndarray | None,
    to_cash: bool,
    params: StrategyParams,
) -> dict[str, np.ndarray]:
    """Eligibility, selection and weights from one session's signal arrays (``signals.signal_arrays``);
    the backtest computes the signals of all its sessions at once and calls this per rebalance."""
    out = dict(signals)
    blocked = np.zeros(len(out["history"]), bool) if quarantined is None else quarantined
    out["code"] = eligibility_codes(
        out,
        member=member,
        quarantined=blocked,
        min_history=min_history(params.lookback),
        max_stale_sessions=params.max_stale_sessions,
    )
    eligible = out["code"] == 0
    if params.strategy == EQUAL_WEIGHT:  # every member with a close at the session (history rules waived)
        with_close = ~blocked & (np.asarray(out["history"]) > 0)
        out["in_pool"] = out["selected"] = with_close if member is None else with_close & member
        holdings = int(out["selected"].sum())
    else:
        holdings = holdings_count(
            int(eligible.sum()),
            min_holdings=params.min_holdings,
            fraction=params.holdings_fraction,
            fixed=params.holdings,
        )
        out["in_pool"], out["selected"] = pick(
            out["momentum"], out["fip"], eligible, symbol_rank, holdings=holdings, strategy=params.strategy
        )
    weight = 0.0 if to_cash or holdings == 0 else 1.0 / holdings
    out["weight"] = np.where(out["selected"], weight, 0.0)
    return out


def score_at(
    closes: pd.DataFrame,
    *,
    members: Collection[str] | None,
    quarantined: Collection[str] = (),
    benchmark: pd.Series | None = None,
    params: StrategyParams = StrategyParams(),
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The score table at session ``as_of`` (default: the last row) from wide adjusted closes.

    Rows after ``as_of`` are cut off here, so nothing computed at ``as_of`` can see later data.
    Columns: symbol, momentum, fip, eligible, reason, in_pool, selected, weight; sorted by symbol.
    """
    if as_of is not None:
        closes, benchmark = _up_to(closes, benchmark, pd.Timestamp(as_of))
    symbols = closes.columns.to_numpy(dtype=object)
    to_cash = params.regime_filter and benchmark is not None and below_trend(benchmark, params.regime_window)
    core = score_signals(
        signal_arrays(closes.to_numpy(dtype="float64"), params.lookback, params.skip),
        symbol_ranks(symbols),
        member=None if members is None else np.isin(symbols, list(members)),
        quarantined=np.isin(symbols, list(quarantined)),
        to_cash=to_cash,
        params=params,
    )
    return score_table(
        symbols,
        {
            **core,
            "eligible": core["code"] == 0,
            "reason": reason_texts(
                core["code"],
                min_history=min_history(params.lookback),
                max_stale_sessions=params.max_stale_sessions,
            ),
        },
    )


def _up_to(
    closes: pd.DataFrame, benchmark: pd.Series | None, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.Series | None]:
    """The closes and benchmark levels cut off after session ``as_of``; the closes must have that row."""
    closes = closes.loc[:as_of]
    benchmark = None if benchmark is None else benchmark.loc[:as_of]
    if not len(closes) or closes.index[-1] != as_of:
        raise PermanentError(
            f"no closes on the session {as_of:%Y-%m-%d}",
            "the bars",
            "fetch that session's bars, or score a session the data covers",
        )
    return closes, benchmark
