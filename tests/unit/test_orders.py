"""Order planning (pure) and execution against the paper broker (store-backed)."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pandas as pd
import pytest

from momentum.brokers.base import (
    Account,
    BrokerError,
    BrokerUnavailable,
    DuplicateOrderError,
    MarketClock,
    OrderRequest,
    OrderStatus,
    Position,
)
from momentum.brokers.paper import LEDGER, PaperBroker, PaperTerms
from momentum.execution import (
    OUTCOME_COLUMNS,
    ExecutionHooks,
    GuardError,
    Guards,
    KillSwitch,
    execute_plan,
    reconcile,
    send_once,
)
from momentum.portfolio import Sizing, client_order_id, closes_only, plan_orders
from momentum.store import VersionedStore

PRICES = pd.Series({"A": 10.0, "B": 20.0, "C": 50.0})
FAST = Guards(fill_timeout_seconds=60.0, poll_seconds=5.0)


class FakeTime:
    """A monotonic clock (seconds) that only ``sleep`` moves: waits for fills take no wall-clock time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_plan(plan, broker, guards=FAST, prices=PRICES, **hooks):
    """:func:`execute_plan` on a fake clock."""
    time = FakeTime()
    return execute_plan(plan, broker, guards, prices, ExecutionHooks(sleep=time.sleep, clock=time, **hooks))


def plan_for(weights, held=None, *, cash=1_000.0, key="k", sizing=None) -> pd.DataFrame:
    """:func:`plan_orders` at PRICES from ``held`` shares and ``cash`` to the target ``weights``."""
    return plan_orders(
        pd.Series(weights, dtype=float),
        pd.Series(held or {}, dtype=float),
        cash,
        PRICES,
        rebalance_key=key,
        sizing=sizing or Sizing(),
    )


def test_plan_whole_shares_sells_first_and_funded():
    plan = plan_for({"A": 0.5, "B": 0.5}, {"C": 100.0}, key="20220228", sizing=Sizing(cost_bps=10))
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
    plan = plan_for({"A": 1.0}, {"A": 99.95}, cash=1.0, sizing=Sizing(fractional=True, min_order_value=5.0))
    assert plan.empty  # the 0.1-share top-up is worth $1 < $5
    plan = plan_for({"C": 1.0}, sizing=Sizing(fractional=True))
    assert plan.iloc[0]["qty"] == pytest.approx(20.0)


def test_plan_refuses_missing_prices():
    with pytest.raises(ValueError, match="no valid reference price for D"):
        plan_for({"D": 1.0}, cash=100.0)
    with pytest.raises(ValueError, match="longer than 48"):
        client_order_id("x" * 40, "SYMBOL", "sell")


@pytest.fixture
def broker(tmp_path):
    return PaperBroker(
        VersionedStore(str(tmp_path)),
        as_of="2022-02-28",
        prices=closes_only("2022-02-28", PRICES),
        terms=PaperTerms(1_000.0, cost_bps=10),
    )


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
    earlier = PaperBroker(
        broker.store, as_of="2022-01-31", prices=closes_only("2022-01-31", PRICES), terms=PaperTerms(1_000.0)
    )
    with pytest.raises(BrokerError, match="cannot trade on earlier 2022-01-31"):
        earlier.submit(OrderRequest("id-2", "A", "buy", qty=1))


def test_execute_twice_sends_each_order_once(broker):
    plan = plan_for({"A": 0.5, "B": 0.5}, key="r1", sizing=Sizing(cost_bps=10))
    first = run_plan(plan, broker, Guards())
    second = run_plan(plan, broker, Guards())
    assert (first["status"] == "filled").all() and set(first["note"]) == {"sent"}
    assert set(first["action"]) == {"submitted"} and set(second["action"]) == {"found_at_broker"}
    assert not first["pending"].any() and second["note"].str.startswith("already at the broker").all()
    ledger = broker.store.read(broker.store.resolve(LEDGER).ref)
    assert ledger["client_order_id"].is_unique and len(ledger) == len(plan)
    assert reconcile(plan, {p.symbol: p.qty for p in broker.positions()}).empty


def test_crash_midway_then_rerun_completes_without_duplicates(broker, monkeypatch):
    plan = plan_for({"A": 0.3, "B": 0.3, "C": 0.3}, key="r1", sizing=Sizing(cost_bps=10))
    real_submit, sent = PaperBroker.submit, []

    def dies_after_two(self, order):
        if len(sent) == 2:
            raise SystemExit("process killed")
        sent.append(order.client_order_id)
        return real_submit(self, order)

    monkeypatch.setattr(PaperBroker, "submit", dies_after_two)
    with pytest.raises(SystemExit):
        run_plan(plan, broker, Guards())
    monkeypatch.undo()
    outcome = run_plan(plan, broker, Guards())
    assert (outcome["status"] == "filled").all()
    assert list(outcome["action"]) == ["found_at_broker"] * 2 + ["submitted"]
    ledger = broker.store.read(broker.store.resolve(LEDGER).ref)
    assert sorted(ledger["client_order_id"]) == sorted(plan["client_order_id"])


def test_guards_stop_before_the_first_order(broker):
    plan = plan_for({"A": 1.0}, key="r1", sizing=Sizing(cost_bps=10))
    with pytest.raises(GuardError, match="kill switch"):
        run_plan(plan, broker, Guards(), kill_switch=KillSwitch(True))
    for guards, message in [
        (Guards(max_order_notional=50), "exceeds max_order_notional"),
        (Guards(max_rebalance_notional=50), "exceeds max_rebalance_notional"),
    ]:
        with pytest.raises(GuardError, match=message):
            run_plan(plan, broker, guards)
    with pytest.raises(GuardError, match="outside ±10% of its last close"):
        run_plan(plan, broker, Guards(), PRICES * 1.5)
    assert broker.store.refs(LEDGER) == []


def test_plan_notional_buys_and_input_checks():
    plan = plan_for(
        {"A": 0.5, "B": 0.5}, {"C": 10.0}, cash=100.0, sizing=Sizing(fractional=True, notional=True)
    )
    sells, buys = plan[plan["side"] == "sell"], plan[plan["side"] == "buy"]
    assert sells["notional"].isna().all() and (buys["notional"] <= buys["est_value"]).all()
    assert buys["notional"].tolist() == [300.0, 300.0] and buys["qty"].tolist() == [30.0, 15.0]
    with pytest.raises(ValueError, match="notional orders need fractional"):
        plan_for({"A": 1.0}, cash=100.0, sizing=Sizing(notional=True))
    with pytest.raises(ValueError, match="long-only"):
        plan_for({"A": 0.8, "B": 0.8}, cash=100.0)
    with pytest.raises(ValueError, match="characters outside"):
        client_order_id("k", "A B", "buy")
    assert client_order_id("20221130", "BRK.B", "sell") == "mom-20221130-BRK.B-sell"


class FakeBroker:
    """An in-memory broker with knobs: hold (sells stay open), partial, reject, closed market, flaky
    lookups."""

    name, live = "fake", False

    def __init__(self, cash=1_000.0, positions=None, prices=PRICES):
        self.cash, self.held, self.prices = cash, dict(positions or {}), prices
        self.orders: dict[str, OrderStatus] = {}
        self.posts: list[str] = []
        self.hold, self.partial, self.reject, self.is_open = set(), set(), set(), True
        self.lookup_failures = 0

    def account(self):
        return Account(
            cash=self.cash, equity=self.cash + sum(q * self.prices[s] for s, q in self.held.items())
        )

    def positions(self):
        return [Position(s, q, q * self.prices[s]) for s, q in self.held.items() if q]

    def clock(self):
        now = datetime(2022, 11, 30, 15, tzinfo=timezone.utc)
        return MarketClock(now, self.is_open, datetime(2022, 12, 1, 14, 30, tzinfo=timezone.utc), now)

    def get_by_client_id(self, coid):
        if self.lookup_failures:
            self.lookup_failures -= 1
            raise BrokerUnavailable("lookup timed out")
        return self.orders.get(coid)

    def open_orders(self):
        return [o for o in self.orders.values() if not o.terminal]

    def cancel(self, broker_order_id):
        raise BrokerError("not supported")

    def submit(self, order):
        self.posts.append(order.client_order_id)
        if order.client_order_id in self.orders:
            raise DuplicateOrderError(order.client_order_id)
        if order.symbol in self.reject:
            raise BrokerError("POST /v2/orders -> 403: insufficient buying power")
        qty = order.qty if order.qty is not None else round(order.notional / self.prices[order.symbol], 6)
        filled = 0.0 if order.symbol in self.hold else qty / 2 if order.symbol in self.partial else qty
        status = (
            "accepted" if not filled or not self.is_open else "partially_filled" if filled < qty else "filled"
        )
        filled = filled if self.is_open else 0.0
        sign = 1 if order.side == "buy" else -1
        self.held[order.symbol] = self.held.get(order.symbol, 0.0) + sign * filled
        self.cash -= sign * filled * self.prices[order.symbol]
        result = OrderStatus(
            order.client_order_id,
            f"b-{len(self.orders)}",
            order.symbol,
            order.side,
            status,
            qty,
            filled,
            self.prices[order.symbol] if filled else None,
        )
        self.orders[order.client_order_id] = result
        return result


def rebalance_plan(broker: FakeBroker):
    return plan_for({"A": 0.5, "B": 0.5}, broker.held, cash=broker.cash, key="r1")


def test_a_sell_that_does_not_fill_blocks_the_buys_it_would_fund():
    broker = FakeBroker(cash=0.0, positions={"C": 20.0})
    broker.hold.add("C")
    plan = rebalance_plan(broker)
    out = run_plan(plan, broker).set_index("symbol")
    assert list(out.columns) == [c for c in OUTCOME_COLUMNS if c != "symbol"]
    assert out.loc["C", "status"] == "accepted" and "NOT FILLED within 60s" in out.loc["C", "note"]
    assert (out.loc[["A", "B"], "status"] == "blocked").all() and out["pending"].all()
    assert out.loc["A", "note"].startswith("BLOCKED: sell C (mom-r1-C-sell, accepted) did not fill")
    assert broker.posts == ["mom-r1-C-sell"]
    # only the buys the sell would fund are blocked: A fits in the cash (with a 10 % margin), B does not
    rich = FakeBroker(cash=3_300.0, positions={"C": 20.0})
    rich.hold.add("C")
    out = run_plan(rebalance_plan(rich), rich).set_index("symbol")
    assert out.loc["A", "status"] == "filled" and out.loc["B", "status"] == "blocked"
    assert "cash left $935.00" in out.loc["B", "note"]
    # the sell fills later: a re-run finds C and A and sends only B
    rich.hold.clear()
    rich.orders["mom-r1-C-sell"] = rich.orders["mom-r1-C-sell"].__class__(
        **{
            **rich.orders["mom-r1-C-sell"].__dict__,
            "status": "filled",
            "filled_qty": 20.0,
            "filled_avg_price": 50.0,
        }
    )
    rich.held["C"], rich.cash = 0.0, rich.cash + 1_000.0
    again = run_plan(rebalance_plan(FakeBroker(cash=3_300.0, positions={"C": 20.0})), rich)
    assert list(again["action"]) == ["found_at_broker", "found_at_broker", "submitted"]
    assert rich.posts == ["mom-r1-C-sell", "mom-r1-A-buy", "mom-r1-B-buy"]


def test_partial_fills_and_rejections_are_reported_and_not_resent():
    broker = FakeBroker(cash=2_000.0)
    broker.partial.add("A")
    broker.reject.add("B")
    plan = rebalance_plan(broker)
    out = run_plan(plan, broker).set_index("symbol")
    assert (
        out.loc["A", "status"] == "partially_filled" and "PARTIAL: filled 50 of 100" in out.loc["A", "note"]
    )
    assert out.loc["B", "status"] == "rejected" and "insufficient buying power" in out.loc["B", "note"]
    assert out.loc["B", "action"] == "refused" and not out.loc["B", "pending"]
    again = run_plan(plan, broker).set_index("symbol")
    assert again.loc["A", "action"] == "found_at_broker" and broker.posts.count("mom-r1-A-buy") == 1
    assert set(reconcile(plan, {p.symbol: p.qty for p in broker.positions()})["symbol"]) == {"A", "B"}


def test_market_closed_sends_nothing_unless_queueing():
    broker = FakeBroker()
    broker.is_open = False
    plan = rebalance_plan(broker)
    out = run_plan(plan, broker)
    assert set(out["status"]) == {"not_sent"} and broker.posts == []
    assert out["note"].str.startswith("NOT SENT: market closed (next open 2022-12-01T14:30:00+00:00)").all()
    queued = run_plan(plan, broker, Guards(queue_when_closed=True))
    assert set(queued["status"]) == {"accepted"} and queued["note"].str.contains("queued at the broker").all()


def test_unknown_outcome_is_looked_up_never_resubmitted_blindly():
    broker = FakeBroker()
    order = OrderRequest("id-9", "A", "buy", qty=1)
    broker.lookup_failures = 1
    with pytest.raises(BrokerUnavailable):
        send_once(broker, order)  # cannot tell whether it is booked: raise, submit nothing
    assert broker.posts == []
    sent = send_once(broker, order)
    assert sent.action == "submitted" and sent.status.status == "filled"
    assert send_once(broker, order).action == "found_at_broker" and broker.posts == ["id-9"]


def test_conflicting_order_under_the_same_id_is_flagged_and_kill_switch_mid_run():
    broker = FakeBroker(cash=2_000.0)
    broker.submit(OrderRequest("mom-r1-A-buy", "A", "buy", qty=3))  # same id, another quantity
    plan = rebalance_plan(broker)
    out = run_plan(plan, broker).set_index("symbol")
    assert out.loc["A", "note"].startswith("CONFLICT") and broker.posts.count("mom-r1-A-buy") == 1
    marker = SimpleNamespace(set=iter([False, False, True]))  # before the broker, before A, before B
    switch = KillSwitch(False, SimpleNamespace(marker_exists=lambda name: next(marker.set)), every_seconds=0)
    fresh = FakeBroker(cash=2_000.0)
    out = run_plan(rebalance_plan(fresh), fresh, kill_switch=switch).set_index("symbol")
    assert out.loc["A", "status"] == "filled" and out.loc["B", "status"] == "not_sent"
    assert "kill switch engaged during the run" in out.loc["B", "note"] and fresh.posts == ["mom-r1-A-buy"]


def test_reconcile_tolerates_notional_estimates_only():
    plan = plan_for({"A": 1.0}, sizing=Sizing(fractional=True, notional=True))
    assert reconcile(plan, {"A": 99.5}).empty
    assert len(reconcile(plan, {"A": 90.0})) == 1
    whole = plan_for({"A": 1.0})
    assert reconcile(whole, {"A": 99.0})["difference"].tolist() == [-1.0]


def test_paper_fill_price_rule_applies_slippage_against_the_order(tmp_path):
    broker = PaperBroker(
        VersionedStore(str(tmp_path)),
        as_of="2022-02-28",
        prices=closes_only("2022-02-28", PRICES),
        terms=PaperTerms(1_000.0, slippage_bps=50),
    )
    buy = broker.submit(OrderRequest("s-1", "A", "buy", qty=10))
    sell = broker.submit(OrderRequest("s-2", "A", "sell", qty=4))
    assert buy.filled_avg_price == pytest.approx(10.0 * 1.005) and sell.filled_avg_price == pytest.approx(
        10.0 * 0.995
    )
    assert broker.account().cash == pytest.approx(1_000 - 10 * 10.05 + 4 * 9.95)
