"""On-close / on-open orders: the paper broker's auctions, execution inside the windows, the shortfall."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from momentum.brokers.base import BrokerError, OrderRequest
from momentum.brokers.paper import LEDGER, PaperBroker, PaperTerms
from momentum.execution import (
    ExecutionHooks,
    Guards,
    execute_plan,
    rebalance_shortfall,
    with_reference,
)
from momentum.portfolio import SessionPrices, session_prices
from momentum.run import execution_headline
from momentum.store import VersionedStore

DAYS = pd.to_datetime(["2022-11-29", "2022-11-30", "2022-12-01"])


def _bars(closes: dict[str, list[float]], opens: dict[str, list[float]] | None = None) -> pd.DataFrame:
    rows = []
    for symbol, values in closes.items():
        for i, (day, close) in enumerate(zip(DAYS, values, strict=True)):
            row = {"date": day, "symbol": symbol, "adj_close": close, "close": close}
            row["open"] = (opens or {}).get(symbol, values)[i]
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.dropna(subset=["adj_close"]) if opens is not None else frame.drop(columns=["open", "close"])


def _broker(store: VersionedStore, bars: pd.DataFrame, day: str, cash: float = 10_000.0) -> PaperBroker:
    return PaperBroker(
        store, as_of=day, prices=session_prices(bars, day), terms=PaperTerms(cash, cost_bps=10)
    )


@pytest.fixture
def store(tmp_path) -> VersionedStore:
    return VersionedStore(str(tmp_path))


def test_an_on_close_order_waits_for_the_next_sessions_close_and_fills_there_once(store):
    bars = _bars({"A": [9.0, 10.0, 12.0]})
    today = _broker(store, bars, "2022-11-30")
    status = today.submit(OrderRequest("c-1", "A", "buy", qty=100, time_in_force="cls"))
    assert (status.status, status.filled_qty) == ("accepted", 0.0)
    assert today.positions() == [] and today.account().cash == 10_000.0

    tomorrow = _broker(store, bars, "2022-12-01")
    filled = tomorrow.get_by_client_id("c-1")
    assert (filled.status, filled.filled_qty, filled.filled_avg_price) == ("filled", 100.0, 12.0)
    assert tomorrow.account().cash == pytest.approx(10_000.0 - 1_200.0 * 1.001)
    versions = len(store.refs(LEDGER))
    _broker(store, bars, "2022-12-01").positions()  # a second reader finds the fills committed
    assert len(store.refs(LEDGER)) == versions


def test_an_auction_sells_first_then_trims_the_buys_the_cash_cannot_cover(store):
    bars = _bars({"A": [10.0, 10.0, 10.0], "B": [10.0, 10.0, 20.0]})
    start = _broker(store, bars, "2022-11-29", cash=1_000.0)
    start.submit(OrderRequest("d-1", "A", "buy", qty=50))  # a day order: filled at once at 10
    day = _broker(store, bars, "2022-11-30", cash=1_000.0)
    day.submit(OrderRequest("c-b", "B", "buy", qty=50, time_in_force="cls"))
    day.submit(OrderRequest("c-a", "A", "sell", qty=50, time_in_force="cls"))

    after = _broker(store, bars, "2022-12-01", cash=1_000.0)
    sell, buy = after.get_by_client_id("c-a"), after.get_by_client_id("c-b")
    assert (sell.status, sell.filled_qty) == ("filled", 50.0)
    cash = 1_000.0 - 500 * 1.001 + 500 * 0.999
    assert (buy.status, buy.filled_qty) == ("expired", float(int(cash / (20 * 1.001))))
    assert after.account().cash >= 0


def test_a_buy_without_a_price_in_its_auction_does_not_fill_and_a_sell_takes_the_last_close(store):
    bars = _bars({"A": [10.0, 10.0, float("nan")], "B": [5.0, 5.0, float("nan")], "C": [1.0, 1.0, 1.0]})
    bars = bars.dropna(subset=["adj_close"])
    _broker(store, bars, "2022-11-29").submit(OrderRequest("d-1", "B", "buy", qty=10))
    day = _broker(store, bars, "2022-11-30")
    day.submit(OrderRequest("c-a", "A", "buy", qty=10, time_in_force="cls"))
    day.submit(OrderRequest("c-b", "B", "sell", qty=10, time_in_force="cls"))
    after = _broker(store, bars, "2022-12-01")
    assert after.get_by_client_id("c-a").status == "expired" and after.get_by_client_id("c-a").filled_qty == 0
    sold = after.get_by_client_id("c-b")
    assert (sold.status, sold.filled_avg_price) == ("filled", 5.0)


def test_on_open_orders_fill_at_the_adjusted_open_and_need_opens(store):
    with_opens = _bars({"A": [10.0, 10.0, 12.0]}, opens={"A": [10.0, 10.0, 11.0]})
    _broker(store, with_opens, "2022-11-30").submit(
        OrderRequest("o-1", "A", "buy", qty=10, time_in_force="opg")
    )
    assert _broker(store, with_opens, "2022-12-01").get_by_client_id("o-1").filled_avg_price == 11.0

    closes_only = _bars({"A": [10.0, 10.0, 12.0]})
    with pytest.raises(BrokerError, match="needs opening prices"):
        _broker(store, closes_only, "2022-11-30").submit(
            OrderRequest("o-2", "A", "buy", qty=10, time_in_force="opg")
        )


def test_auction_orders_are_whole_shares_and_sell_only_what_is_held(store):
    bars = _bars({"A": [10.0, 10.0, 10.0]})
    day = _broker(store, bars, "2022-11-30")
    assert day.submit(OrderRequest("f-1", "A", "buy", qty=1.5, time_in_force="cls")).status == "rejected"
    assert day.submit(OrderRequest("f-2", "A", "sell", qty=1, time_in_force="cls")).status == "rejected"


PLAN = pd.DataFrame(
    {
        "client_order_id": ["p-a", "p-b"],
        "symbol": ["A", "B"],
        "side": ["sell", "buy"],
        "qty": [10.0, 5.0],
        "target_qty": [0.0, 5.0],
        "ref_price": [10.0, 20.0],
        "est_value": [100.0, 100.0],
    }
)


class _Clocked(PaperBroker):
    """The paper account with its clock moved to ``at`` (New York time)."""

    at = "2022-11-30 19:30"

    def clock(self):
        clock = super().clock()
        return replace(clock, timestamp=pd.Timestamp(self.at, tz="America/New_York").to_pydatetime())


def test_execution_sends_auction_orders_in_their_window_and_holds_them_back_outside_it(store):
    bars = _bars({"A": [10.0, 10.0, 10.0], "B": [20.0, 20.0, 20.0]})
    _broker(store, bars, "2022-11-29").submit(OrderRequest("d-1", "A", "buy", qty=10))
    prices = session_prices(bars, "2022-11-30")
    shut = _Clocked(store, as_of="2022-11-30", prices=prices, terms=PaperTerms(10_000.0))
    shut.at = "2022-11-30 16:30"
    said: list[str] = []
    held = execute_plan(
        PLAN, shut, Guards(order_timing="close"), prices.marks, ExecutionHooks(log=said.append)
    )
    assert held["status"].tolist() == ["blocked", "blocked"] and held["pending"].all()
    assert "shut until 2022-11-30 19:00 ET" in held["note"].iloc[0] and "close of 2022-12-01" in said[0]
    assert execution_headline(held).attention == 2

    open_ = _Clocked(store, as_of="2022-11-30", prices=prices, terms=PaperTerms(10_000.0))
    sent = execute_plan(PLAN, open_, Guards(order_timing="close"), prices.marks)
    assert sent["status"].tolist() == ["accepted", "accepted"]
    assert sent["queued_for"].tolist() == ["2022-12-01", "2022-12-01"]
    assert (sent["time_in_force"] == "cls").all()
    headline = execution_headline(sent)
    assert (headline.queued, headline.attention, headline.queued_for) == (2, 0, "2022-12-01")


def test_the_shortfall_is_the_fill_against_the_backtests_price_worse_is_positive():
    rows = pd.DataFrame(
        {
            "symbol": ["A", "B", "C"],
            "side": ["buy", "sell", "buy"],
            "filled_qty": [10.0, 20.0, 0.0],
            "filled_avg_price": [101.0, 49.0, float("nan")],
            "time_in_force": ["cls"] * 3,
        }
    )
    unknown = with_reference(rows, "2022-12-01", None)
    assert rebalance_shortfall(unknown).bps is None
    assert "not known yet" in rebalance_shortfall(unknown).line()

    known = with_reference(rows, "2022-12-01", pd.Series({"A": 100.0, "B": 50.0, "C": 7.0}))
    assert known["shortfall_bps"].iloc[:2].tolist() == pytest.approx([100.0, 200.0])
    assert pd.isna(known["reference_price"].iloc[2])
    total = rebalance_shortfall(known)
    assert total.dollars == pytest.approx(10 * 1.0 + 20 * 1.0)
    assert total.bps == pytest.approx(30.0 / (10 * 100.0 + 20 * 50.0) * 1e4)
    assert total.reference == "the close of 2022-12-01"


def test_prices_known_at_a_session_are_those_up_to_it():
    prices = session_prices(_bars({"A": [9.0, 10.0, 12.0]}), "2022-11-30")
    assert isinstance(prices, SessionPrices) and prices.marks.to_dict() == {"A": 10.0}
    assert prices.knows(DAYS[1]) and not prices.knows(DAYS[2])
