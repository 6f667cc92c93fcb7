"""``order_timing`` in the backtest: ``open`` fills at the trade session's adjusted open (marks stay at
the closes, costs as at the close), ``close`` and ``market`` at its close; the refusals; the assumed
cost and the timing among the report's assumptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from momentum.backtest import BacktestConfig, Prices, assumed_cost, assumptions, run_backtest
from momentum.calendar import session_offset
from momentum.errors import PermanentError
from momentum.providers import adjusted_opens, bars_to_wide
from momentum.providers.synthetic import synthetic_panel
from momentum.strategy import StrategyParams
from momentum.universe import UniverseSpec

PARAMS = StrategyParams(strategy="momentum", holdings=4)


@pytest.fixture(scope="module")
def ohlc() -> pd.DataFrame:
    """30 symbols x 600 sessions of OHLC bars whose adjusted closes differ from the raw ones: a 2 %
    dividend adjustment on every bar before the 400th session, and a 2-for-1 split of S0003 at it."""
    bars = synthetic_panel(30, 600, seed=5)
    cut = np.sort(bars["date"].unique())[400]
    factor = np.where(bars["date"] < cut, 0.98, 1.0)
    split = (bars["symbol"] == "S0003") & (bars["date"] < cut)
    for column in ("open", "close"):
        bars[column] = np.where(split, bars[column] * 2, bars[column])
    return bars.assign(adj_close=bars["close"] * factor / np.where(split, 2.0, 1.0))


def _open(ohlc: pd.DataFrame, config: BacktestConfig):
    return run_backtest(Prices(bars_to_wide(ohlc), adjusted_opens(ohlc)), params=PARAMS, config=config)


def test_adjusted_opens_are_the_open_on_the_adjusted_scale(ohlc):
    opens = adjusted_opens(ohlc)
    bar = ohlc.iloc[1234]
    assert opens.at[bar["date"], bar["symbol"]] == pytest.approx(
        bar["open"] * bar["adj_close"] / bar["close"], rel=1e-15
    )
    assert opens.index.equals(bars_to_wide(ohlc).index) and list(opens.columns) == sorted(opens.columns)
    assert adjusted_opens(ohlc.drop(columns=["open"])) is None  # closes-only bars carry no opens


def test_open_fills_every_trade_at_the_trade_sessions_adjusted_open(ohlc):
    config = BacktestConfig(order_timing="open", cost_bps=7.0, slippage_bps=3.0)
    result, opens, closes = _open(ohlc, config), adjusted_opens(ohlc), bars_to_wide(ohlc)
    fills = result.trades[result.trades["reason"] == "rebalance"]
    assert len(fills) > 20 and (fills["side"] == "sell").any()
    expected = [opens.at[d, s] for d, s in zip(fills["trade_date"], fills["symbol"], strict=True)]
    assert fills["price"].tolist() == expected
    assert all(
        t == session_offset(s, 1) for s, t in zip(fills["signal_date"], fills["trade_date"], strict=True)
    )
    assert not np.allclose(
        fills["price"], [closes.at[d, s] for d, s in zip(fills["trade_date"], fills["symbol"], strict=True)]
    )
    # costs as at the close: commission + slippage on the traded notional, here at the open
    np.testing.assert_allclose(fills["cost"], 10e-4 * fills["qty"] * fills["price"], rtol=1e-12)
    # planned at the signal session's closes, as with every timing
    plan = result.orders[result.orders["signal_date"] == fills["signal_date"].iloc[0]]
    assert (plan["ref_price"].to_numpy() == closes.loc[plan["signal_date"].iloc[0], plan["symbol"]]).all()


def test_open_marks_every_session_at_its_closes(ohlc):
    result, closes = _open(ohlc, BacktestConfig(order_timing="open", cost_bps=5.0)), bars_to_wide(ohlc)
    signed = np.where(result.trades["side"] == "buy", 1.0, -1.0) * result.trades["qty"]
    flows = (
        (signed * result.trades["price"] + result.trades["cost"]).groupby(result.trades["trade_date"]).sum()
    )
    shares = (
        signed.groupby([result.trades["trade_date"], result.trades["symbol"]]).sum().unstack(fill_value=0)
    )
    days = result.equity.index
    held = shares.reindex(days, fill_value=0.0).cumsum()
    cash = 100_000.0 - flows.reindex(days, fill_value=0.0).cumsum()
    marked = cash + (held * closes.ffill().loc[days, held.columns]).sum(axis=1)
    np.testing.assert_allclose(result.equity.to_numpy(), marked.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(result.cash.to_numpy(), cash.to_numpy(), rtol=1e-9)


def test_without_an_open_a_buy_is_dropped_and_a_sale_uses_the_last_close(ohlc):
    config = BacktestConfig(order_timing="open")
    full = _open(ohlc, config).trades.query("reason == 'rebalance'")
    day = next(d for d, f in full.groupby("trade_date") if set(f["side"]) == {"buy", "sell"})
    first = full[full["trade_date"] == day]
    bought = first.loc[first["side"] == "buy", "symbol"].iloc[0]
    sold = first.loc[first["side"] == "sell", "symbol"].iloc[0]
    blank = ohlc["symbol"].isin([bought, sold]) & (ohlc["date"] == day)
    gapped = ohlc.assign(open=ohlc["open"].mask(blank))
    trades = _open(gapped, config).trades.query("reason == 'rebalance' and trade_date == @day")
    assert bought not in set(trades["symbol"])
    sale = trades[trades["symbol"] == sold].iloc[0]
    before = bars_to_wide(ohlc).loc[:day].iloc[-2]  # the session before the trade session
    assert sale["side"] == "sell" and sale["price"] == before[sold]


def test_close_and_market_fill_at_the_close_and_ignore_the_opens(ohlc):
    closes, opens = bars_to_wide(ohlc), adjusted_opens(ohlc)
    alone = run_backtest(closes, params=PARAMS)
    for timing in ("close", "market"):
        given = run_backtest(Prices(closes, opens), params=PARAMS, config=BacktestConfig(order_timing=timing))
        pd.testing.assert_frame_equal(given.trades, alone.trades)
        pd.testing.assert_series_equal(given.equity, alone.equity)
    fills = alone.trades[alone.trades["reason"] == "rebalance"]
    assert fills["price"].tolist() == [
        closes.at[d, s] for d, s in zip(fills["trade_date"], fills["symbol"], strict=True)
    ]


@pytest.mark.parametrize(
    "opens, offset, message",
    [
        (None, 1, "order_timing 'open' fills at the trade session's open and the data has no opens"),
        ("blank", 1, "the data has no opens"),
        ("given", 0, "trade_offset 0 would fill at the signal session's open"),
    ],
)
def test_open_is_refused_in_one_line_without_opens_or_with_look_ahead(ohlc, opens, offset, message):
    closes = bars_to_wide(ohlc)
    panel = {None: None, "blank": closes * np.nan, "given": adjusted_opens(ohlc)}[opens]
    with pytest.raises(PermanentError, match=message) as refused:
        run_backtest(Prices(closes, panel), config=BacktestConfig(order_timing="open", trade_offset=offset))
    assert "\n" not in str(refused.value) and refused.value.where == "backtest" and refused.value.fix


def test_the_assumed_cost_and_the_timing_are_stated(ohlc):
    config = BacktestConfig(order_timing="open", cost_bps=4.0, slippage_bps=2.5)
    result = _open(ohlc, config)
    cost = assumed_cost(result, config)
    assert cost == {"bps": 6.5, "dollars": pytest.approx(result.trades["cost"].sum(), rel=1e-12)}
    assert cost["dollars"] == pytest.approx(result.rebalances["costs"].sum(), rel=1e-12)
    spec = UniverseSpec(universe="all", provider="synthetic")
    items = assumptions(PARAMS, config, spec, result, "index")
    assert "1 session(s) later at the open" in items["parameters"]
    assert items["order timing"].startswith("open: ") and "adjusted open" in items["order timing"]
    assert items["assumed cost"].startswith("6.5 bps of traded notional")
    assert f"${cost['dollars']:,.2f}" in items["assumed cost"]
    closing = assumptions(PARAMS, BacktestConfig(), spec, result, "index")
    assert "later at the close" in closing["parameters"] and closing["order timing"].startswith("close: ")
