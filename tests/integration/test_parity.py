"""Parity by construction: the paper account run the ``daily`` deployment's way equals the backtest.

A year of the embedded data replayed session by session (the catch-up rule, the paper broker,
``order_timing=close``: orders sent after the signal session's close, queued for the next session's
closing auction) ends every session with the equity and, at the end, the shares that ``momentum
backtest`` computes for the same period, to a relative 1e-9, commission included. The same for
``order_timing=open`` on the synthetic OHLC data (filled at the next session's adjusted open).
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import pytest

from momentum import definitions
from momentum.backtest import Prices, run_backtest
from momentum.providers import adjusted_opens, bars_to_wide
from momentum.settings import Settings
from momentum.universe import universe_members
from tests.support.replay import replay_daily

START, END = "2021-11-30", "2022-12-28"  # a signal session to the data's last session: five rebalances
SYNTHETIC = ("2023-11-30", "2024-12-31")  # the same on the synthetic data (it ends 2024-12-31)


def _backtest(settings: Settings, start: str, end: str):
    res = definitions.resources(settings)
    bars = res.provider.bars(None, pd.Timestamp(end))
    closes = bars_to_wide(bars)
    opens = adjusted_opens(bars) if settings.order_timing == "open" else None
    return run_backtest(
        Prices(closes, opens),
        params=res.strategy,
        config=definitions.backtest_config(settings, start, end),
        members=partial(universe_members, res.universe, list(closes.columns)),
        benchmark=res.provider.benchmark(None, pd.Timestamp(end)),
    )


@pytest.mark.parametrize(
    ("provider", "timing", "span"),
    [("embedded", "close", (START, END)), ("synthetic", "open", SYNTHETIC)],
    ids=["close-embedded", "open-synthetic"],
)
def test_a_year_of_daily_runs_on_the_paper_broker_equals_the_backtest(tmp_path, provider, timing, span):
    settings = Settings(
        store_url=str(tmp_path / "store"), provider=provider, cost_bps=5.0, order_timing=timing
    )
    replay = replay_daily(settings, *span)
    backtest = _backtest(settings, *span)

    assert len(backtest.rebalances) == 5
    expected = backtest.equity.reindex(replay.equity.index)
    assert expected.notna().all()
    pd.testing.assert_series_equal(replay.equity, expected, check_names=False, rtol=1e-9, atol=0.0)
    trades = backtest.trades
    signed = trades["qty"].where(trades["side"] == "buy", -trades["qty"])
    held = signed.groupby(trades["symbol"]).sum()
    assert {s: q for s, q in held.items() if q} == pytest.approx(replay.shares, rel=1e-9)
    traded = backtest.trades["trade_date"].drop_duplicates()
    assert (traded.dt.strftime("%Y-%m-%d") > span[0]).all()  # filled at the next session, not the signal's
