"""Order planning (pure) and execution against the paper broker (store-backed)."""

from __future__ import annotations

import pandas as pd
import pytest

from momentum.brokers.base import DuplicateOrderError, OrderRequest
from momentum.brokers.paper import LEDGER, PaperBroker
from momentum.execution import Guards, GuardError, execute_plan, reconcile
from momentum.orders import client_order_id, plan_orders
from momentum.store import VersionedStore

PRICES = pd.Series({"A": 10.0, "B": 20.0, "C": 50.0})


def test_plan_whole_shares_sells_first_and_funded():
    plan = plan_orders(pd.Series({"A": 0.5, "B": 0.5}), pd.Series({"C": 100.0}), 1_000.0, PRICES,
                       rebalance_key="20220228", cost_bps=10)
    assert list(plan["side"]) == ["sell", "buy", "buy"] and plan.iloc[0]["symbol"] == "C"
    equity = 1_000 + 100 * 50
    # buys 300 A + 150 B cost 6000 * 1.001 = 6006; cash after sells 1000 + 5000 * 0.999 = 5995:
    # 11 dollars short, so the largest buy (A, first by symbol) loses ceil(11 / 10.01) = 2 shares
    assert plan.set_index("symbol").loc["A", "qty"] == equity * 0.5 / 10 - 2
    assert plan.set_index("symbol").loc["B", "qty"] == equity * 0.5 / 20
    proceeds = 5_000 * (1 - 0.001)
    spend = (plan.loc[plan["side"] == "buy", "est_value"] * 1.001).sum()
    assert spend <= 1_000 + proceeds and (plan["qty"] % 1 == 0).all()
    assert plan["client_order_id"].str.len().max() <= 48
    assert plan.iloc[0]["client_order_id"] == "mom-20220228-C-sell"


def test_plan_fractional_and_minimum_order_value():
    plan = plan_orders(pd.Series({"A": 1.0}), pd.Series({"A": 99.95}), 1.0, PRICES, rebalance_key="k",
                       fractional=True, min_order_value=5.0)
    assert plan.empty  # the 0.1-share top-up is worth $1 < $5
    plan = plan_orders(pd.Series({"C": 1.0}), pd.Series(dtype=float), 1_000.0, PRICES, rebalance_key="k", fractional=True)
    assert plan.iloc[0]["qty"] == pytest.approx(20.0)


def test_plan_refuses_missing_prices():
    with pytest.raises(ValueError, match="no valid reference price for D"):
        plan_orders(pd.Series({"D": 1.0}), pd.Series(dtype=float), 100.0, PRICES, rebalance_key="k")
    with pytest.raises(ValueError, match="longer than 48"):
        client_order_id("x" * 40, "SYMBOL", "sell")


@pytest.fixture
def broker(tmp_path):
    return PaperBroker(VersionedStore(str(tmp_path)), as_of="2022-02-28", prices=PRICES, initial_cash=1_000.0,
                       cost_bps=10)


def test_paper_broker_fills_refuses_duplicates_and_keeps_the_book(broker):
    status = broker.submit(OrderRequest("id-1", "A", "buy", qty=10))
    assert status.status == "filled" and status.filled_avg_price == 10.0
    with pytest.raises(DuplicateOrderError):
        broker.submit(OrderRequest("id-1", "A", "buy", qty=10))
    assert broker.get_by_client_id("id-1").filled_qty == 10
    assert broker.account().cash == pytest.approx(1_000 - 100 - 0.1)
    assert broker.submit(OrderRequest("id-2", "B", "sell", qty=1)).status == "rejected"  # long-only
    assert broker.submit(OrderRequest("id-3", "C", "buy", qty=100)).status == "rejected"  # no cash
    assert len(broker.store.refs(LEDGER)) == 3


def test_paper_broker_refuses_trading_in_the_past(broker):
    broker.submit(OrderRequest("id-1", "A", "buy", qty=1))
    earlier = PaperBroker(broker.store, as_of="2022-01-31", prices=PRICES, initial_cash=1_000.0)
    with pytest.raises(Exception, match="cannot trade on earlier 2022-01-31"):
        earlier.submit(OrderRequest("id-2", "A", "buy", qty=1))


def test_execute_twice_sends_each_order_once(broker):
    plan = plan_orders(pd.Series({"A": 0.5, "B": 0.5}), pd.Series(dtype=float), 1_000.0, PRICES, rebalance_key="r1", cost_bps=10)
    first = execute_plan(plan, broker, Guards(), PRICES)
    second = execute_plan(plan, broker, Guards(), PRICES)
    assert (first["status"] == "filled").all() and set(first["note"]) == {"sent"}
    assert set(second["note"]) == {"already at broker"}
    ledger = broker.store.read(broker.store.resolve(LEDGER).ref)
    assert ledger["client_order_id"].is_unique and len(ledger) == len(plan)
    assert reconcile(plan, {p.symbol: p.qty for p in broker.positions()}).empty


def test_crash_midway_then_rerun_completes_without_duplicates(broker, monkeypatch):
    plan = plan_orders(pd.Series({"A": 0.3, "B": 0.3, "C": 0.3}), pd.Series(dtype=float), 1_000.0, PRICES,
                       rebalance_key="r1", cost_bps=10)
    real_submit, sent = PaperBroker.submit, []

    def dies_after_two(self, order):
        if len(sent) == 2:
            raise SystemExit("process killed")
        sent.append(order.client_order_id)
        return real_submit(self, order)

    monkeypatch.setattr(PaperBroker, "submit", dies_after_two)
    with pytest.raises(SystemExit):
        execute_plan(plan, broker, Guards(), PRICES)
    monkeypatch.undo()
    outcome = execute_plan(plan, broker, Guards(), PRICES)
    assert (outcome["status"] == "filled").all()
    assert list(outcome["note"]).count("already at broker") == 2
    ledger = broker.store.read(broker.store.resolve(LEDGER).ref)
    assert sorted(ledger["client_order_id"]) == sorted(plan["client_order_id"])


def test_guards_stop_before_the_first_order(broker):
    plan = plan_orders(pd.Series({"A": 1.0}), pd.Series(dtype=float), 1_000.0, PRICES, rebalance_key="r1", cost_bps=10)
    for guards, message in [
        (Guards(kill_switch=True), "kill switch"),
        (Guards(max_order_notional=50), "exceeds max_order_notional"),
        (Guards(max_rebalance_notional=50), "exceeds max_rebalance_notional"),
    ]:
        with pytest.raises(GuardError, match=message):
            execute_plan(plan, broker, guards, PRICES)
    with pytest.raises(GuardError, match="outside ±10% of its last close"):
        execute_plan(plan, broker, Guards(), PRICES * 1.5)
    assert broker.store.refs(LEDGER) == []
