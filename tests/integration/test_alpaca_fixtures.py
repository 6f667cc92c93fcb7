"""The Alpaca adapter fed Alpaca's own SDK fixtures (tests/support/alpaca_py_fixtures.py) through the
local server, and an account that cannot trade stopping the run before planning."""

from __future__ import annotations

import pytest

from flows.rebalance import rebalance
from momentum.brokers.alpaca import AlpacaBroker
from momentum.brokers.base import BrokerError
from momentum.errors import PermanentError
from momentum.http_retry import HttpPolicy
from momentum.store import VersionedStore
from tests.support.alpaca_py_fixtures import ACCOUNT, LISTED_ORDER, ORDER_BY_CLIENT_ID
from tests.support.alpaca_server import AlpacaServer

KEY_ID, SECRET = "fixture-key-id", "fixture-secret"


@pytest.fixture
def server():
    srv = AlpacaServer(KEY_ID, SECRET, cash=100_000.0, prices={"AAPL": 147.6}).start()
    yield srv
    srv.stop()


@pytest.fixture
def broker(server):
    return AlpacaBroker(
        server.base_url, KEY_ID, SECRET, live=False, policy=HttpPolicy(timeout=2.0, max_retries=0)
    )


def test_an_unfilled_listed_order_with_zero_fill_numbers_parses(server, broker):
    server.respond_next("list_orders", [LISTED_ORDER])
    (order,) = broker.open_orders()
    assert (order.broker_order_id, order.symbol, order.side, order.status) == (
        "0b11f089-722d-4ced-9beb-e2eeed3637dc",
        "SPY",
        "buy",
        "new",
    )
    assert order.qty == 1.0 and order.filled_qty == 0.0 and order.filled_avg_price is None
    assert not order.terminal


def test_order_by_client_id_with_numbers_as_json_numbers_and_strings(server, broker):
    server.respond_next("by_client_order_id", ORDER_BY_CLIENT_ID)
    order = broker.get_by_client_id("eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4")
    assert order is not None and order.broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert (order.qty, order.filled_qty, order.filled_avg_price, order.status) == (1.0, 0.0, None, "accepted")


def test_the_sdk_account_fixture_gives_cash_and_equity(server, broker):
    server.respond_next("account", ACCOUNT)
    account = broker.account()
    assert (account.cash, account.equity) == (-23140.2, 103820.56)


@pytest.mark.parametrize(
    "fields, named",
    [
        ({"status": "ACCOUNT_UPDATED"}, "status ACCOUNT_UPDATED"),
        ({"status": "INACTIVE"}, "status INACTIVE"),
        ({"trading_blocked": True}, "trading_blocked"),
        ({"account_blocked": True}, "account_blocked"),
        ({"trade_suspended_by_user": True}, "trade_suspended_by_user"),
        ({"status": "SUBMITTED", "trading_blocked": True}, "status SUBMITTED, trading_blocked"),
    ],
)
def test_an_account_that_cannot_trade_is_a_permanent_one_line_error(server, broker, fields, named):
    server.respond_next("account", {**ACCOUNT, **fields})
    with pytest.raises(PermanentError) as info:
        broker.account()
    message = str(info.value)
    assert f"the account cannot trade ({named})" in message and "\n" not in message
    assert info.value.where == f"Alpaca account at {server.base_url}" and info.value.fix
    assert KEY_ID not in message and SECRET not in message


@pytest.mark.parametrize(
    "fields, field", [({"status": None}, "status"), ({"trading_blocked": "no"}, "trading_blocked")]
)
def test_a_malformed_account_state_names_the_field(server, broker, fields, field):
    server.respond_next("account", {**ACCOUNT, **fields})
    with pytest.raises(BrokerError, match=field):
        broker.account()


@pytest.mark.usefixtures("prefect_api")
def test_a_blocked_account_stops_the_run_before_planning(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MOMENTUM_ALPACA_KEY_ID", KEY_ID)
    monkeypatch.setenv("MOMENTUM_ALPACA_SECRET_KEY", SECRET)
    server.set_account(status="ACCOUNT_UPDATED", trading_blocked=True)
    url = str(tmp_path / "store")
    state = rebalance(
        as_of="2022-11-30",
        store_url=url,
        broker="alpaca",
        overrides={"alpaca_base_url": server.base_url},
        return_state=True,
    )
    assert state.is_failed()
    blocked = r"the account cannot trade \(status ACCOUNT_UPDATED, trading_blocked\)"
    with pytest.raises(PermanentError, match=blocked):
        state.result()
    store = VersionedStore(url)
    assert store.refs("scores") and store.refs("orders") == [] and server.posts == []
    assert server.count_requests("GET", "/v2/account") == 1  # a permanent error: not retried
