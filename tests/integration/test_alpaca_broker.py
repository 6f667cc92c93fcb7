"""End-to-end tests of AlpacaBroker against a local Alpaca-compatible HTTP server."""

from __future__ import annotations

import logging
import time
import traceback
from datetime import datetime

import pytest

from momentum.brokers.alpaca import AlpacaBroker
from momentum.brokers.base import (
    BrokerError,
    BrokerUnavailable,
    DuplicateOrderError,
    OrderRequest,
)
from momentum.http_retry import HttpPolicy
from tests.support.alpaca_server import AlpacaServer

KEY_ID = "CANARY-KEY-ID-456"
SECRET = "CANARY-SECRET-123"
PRICES = {"AAPL": 200.0, "MSFT": 400.0, "SPY": 500.0}


@pytest.fixture
def server():
    srv = AlpacaServer(KEY_ID, SECRET, cash=100_000.0, prices=PRICES)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_broker(server, sleeps):
    made = []

    def make(**kwargs) -> AlpacaBroker:
        key_id = kwargs.pop("key_id", KEY_ID)
        secret = kwargs.pop("secret_key", SECRET)
        policy = HttpPolicy(
            **{"timeout": 2.0, "max_retries": 3, "backoff": 0.01, "sleep": sleeps.append, **kwargs}
        )
        broker = AlpacaBroker(server.base_url, key_id, secret, live=False, policy=policy)
        made.append(broker)
        return broker

    yield make
    for b in made:
        b._http._session.close()


@pytest.fixture
def broker(make_broker):
    return make_broker()


def buy(cid: str, symbol: str = "AAPL", qty: float | None = 10, notional: float | None = None):
    return OrderRequest(client_order_id=cid, symbol=symbol, side="buy", qty=qty, notional=notional)


# ---------------------------------------------------------------------- parsing


def test_account_positions_clock_parse(server, broker):
    server.set_position("MSFT", 5, 380.0)
    acct = broker.account()
    assert acct.cash == pytest.approx(100_000.0)
    assert acct.equity == pytest.approx(100_000.0 + 5 * 400.0)
    (pos,) = broker.positions()
    assert (pos.symbol, pos.qty, pos.market_value) == ("MSFT", 5.0, pytest.approx(2000.0))

    clock = broker.clock()
    assert clock.is_open is True
    assert isinstance(clock.timestamp, datetime) and clock.timestamp.tzinfo is not None
    assert clock.next_open > clock.timestamp
    server.set_market_open(False)
    assert broker.clock().is_open is False


def test_clock_accepts_z_suffix(server, broker):
    server.set_clock(
        timestamp="2024-06-03T13:45:00Z", next_open="2024-06-04T13:30:00Z", next_close="2024-06-03T20:00:00Z"
    )
    clock = broker.clock()
    assert clock.timestamp.utcoffset().total_seconds() == 0
    assert clock.next_close.hour == 20


def test_submit_then_lookup_and_fill_updates_book(server, broker):
    status = broker.submit(buy("cid-1", qty=10))
    assert status.client_order_id == "cid-1"
    assert status.status == "filled" and status.terminal
    assert status.qty == 10 and status.filled_qty == 10
    assert status.filled_avg_price == pytest.approx(200.0)
    body = server.post_bodies[0]
    assert body == {
        "symbol": "AAPL",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "qty": "10",
        "client_order_id": "cid-1",
    }
    again = broker.get_by_client_id("cid-1")
    assert again == status
    assert broker.get_by_client_id("nope") is None
    assert broker.account().cash == pytest.approx(100_000.0 - 2_000.0)
    assert [(p.symbol, p.qty) for p in broker.positions()] == [("AAPL", 10.0)]
    assert server.booked_count("cid-1") == 1


def test_notional_order_sends_string_and_fills_fractionally(server, broker):
    status = broker.submit(buy("cid-n", symbol="SPY", qty=None, notional=1234.5))
    assert server.post_bodies[0]["notional"] == "1234.50"
    assert "qty" not in server.post_bodies[0]
    assert status.qty is None
    assert status.filled_qty == pytest.approx(1234.5 / 500.0)


def test_partial_fill_then_complete(server, broker):
    server.set_fill_mode("partial", fraction=0.4)
    status = broker.submit(buy("cid-p", qty=10))
    assert status.status == "partially_filled" and not status.terminal
    assert status.filled_qty == pytest.approx(4.0)
    assert [o.client_order_id for o in broker.open_orders()] == ["cid-p"]
    server.fill("cid-p")
    done = broker.get_by_client_id("cid-p")
    assert done.status == "filled" and done.filled_qty == pytest.approx(10.0)
    assert broker.open_orders() == []
    assert broker.positions()[0].qty == pytest.approx(10.0)


def test_held_order_open_then_cancel(server, broker):
    server.set_fill_mode("hold", hold_status="new")
    status = broker.submit(buy("cid-h", qty=3))
    assert status.status == "new" and status.filled_qty == 0 and status.filled_avg_price is None
    (open_order,) = broker.open_orders()
    broker.cancel(open_order.broker_order_id)
    assert broker.get_by_client_id("cid-h").status == "canceled"
    assert broker.open_orders() == []
    with pytest.raises(BrokerError, match="not cancelable"):
        broker.cancel(open_order.broker_order_id)
    with pytest.raises(BrokerError, match="404"):
        broker.cancel("no-such-order")


def test_market_closed_orders_wait_until_open(server, broker):
    server.set_market_open(False)
    status = broker.submit(buy("cid-c", qty=2))
    assert status.status == "accepted" and status.filled_qty == 0
    server.set_market_open(True)
    assert broker.get_by_client_id("cid-c").status == "filled"


def test_sell_more_than_held_is_a_plain_broker_error(server, broker):
    server.set_position("AAPL", 1)
    with pytest.raises(BrokerError, match="insufficient qty") as info:
        broker.submit(OrderRequest("cid-s", "AAPL", "sell", qty=5))
    assert not isinstance(info.value, (DuplicateOrderError, BrokerUnavailable))


# ---------------------------------------------------------------------- idempotency


def test_duplicate_client_order_id_raises(server, broker):
    broker.submit(buy("cid-d"))
    with pytest.raises(DuplicateOrderError, match="cid-d"):
        broker.submit(buy("cid-d"))
    assert server.booked_count("cid-d") == 1
    assert server.post_count("cid-d") == 2


def test_other_40010001_validation_error_is_not_a_duplicate(server, broker):
    with pytest.raises(BrokerError, match="not found") as info:
        broker.submit(buy("cid-x", symbol="ZZZZ"))
    assert not isinstance(info.value, DuplicateOrderError)
    assert "422" in str(info.value) and "POST /v2/orders" in str(info.value)


def test_429_on_post_waits_retry_after_then_succeeds(server, broker, sleeps):
    server.fail_next("submit", 1, status=429, retry_after=7)
    status = broker.submit(buy("cid-r"))
    assert status.status == "filled"
    assert sleeps == [7.0]
    assert server.post_count("cid-r") == 2  # the 429 was not processed, so re-posting is safe
    assert server.booked_count("cid-r") == 1


def test_429_on_get_honours_rate_limit_reset(server, broker, sleeps):
    server.fail_next("account", 1, status=429, rate_limit_reset=time.time() + 30)
    broker.account()
    assert len(sleeps) == 1 and 27 <= sleeps[0] <= 31


def test_429_without_hints_uses_exponential_backoff(server, make_broker, sleeps):
    broker = make_broker(backoff=0.5, max_retries=3)
    server.fail_next("positions", 3, status=429)
    assert broker.positions() == []
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] < 0.6 and 1.0 <= sleeps[1] < 1.2 and 2.0 <= sleeps[2] < 2.4


def test_get_retries_5xx_then_gives_up(server, broker, sleeps):
    server.fail_next("clock", 2, status=503)
    assert broker.clock().is_open
    server.fail_next("clock", 10, status=500)
    with pytest.raises(BrokerUnavailable, match=r"GET 127\.0\.0\.1:\d+/v2/clock: gave up after 4 attempts"):
        broker.clock()
    assert server.count_requests("GET", "/v2/clock") == 3 + 4  # 2 fails + ok, then 1 + 3 retries


def test_500_after_accept_looks_up_instead_of_resubmitting(server, broker):
    server.fail_next("submit", 1, status=500, after_accept=True)
    status = broker.submit(buy("cid-500"))
    assert status.client_order_id == "cid-500" and status.status == "filled"
    assert server.posts == ["cid-500"]  # never re-posted
    assert server.booked_count("cid-500") == 1
    assert server.count_requests("GET", "/v2/orders:by_client_order_id") == 1


def test_500_before_accept_reposts_once_not_found(server, broker):
    server.fail_next("submit", 1, status=500)  # the order never reached the book
    status = broker.submit(buy("cid-500b"))
    assert status.status == "filled"
    assert server.posts == ["cid-500b", "cid-500b"]
    assert server.booked_count("cid-500b") == 1


def test_timeout_after_accept_returns_the_booked_order(server, make_broker):
    broker = make_broker(timeout=0.2)
    server.accept_then_timeout(seconds=30.0)  # longer than the test: only the client's timeout ends the POST
    status = broker.submit(buy("cid-t"))
    assert ("GET", "/v2/orders:by_client_order_id") in server.requests  # found by its id after the timeout
    assert status.client_order_id == "cid-t"
    assert server.posts == ["cid-t"]
    assert server.booked_count("cid-t") == 1


def test_duplicate_on_retry_after_unknown_outcome_returns_existing(server, broker):
    # POST booked but answered 500; the first lookup misses (replica lag), the re-POST is refused
    # as a duplicate: that duplicate is our own order, so it is returned, not raised.
    server.fail_next("submit", 1, status=500, after_accept=True)
    server.respond_next("by_client_order_id", {"code": 40410000, "message": "order not found"}, status=404)
    status = broker.submit(buy("cid-race"))
    assert status.client_order_id == "cid-race"
    assert server.posts == ["cid-race", "cid-race"]
    assert server.booked_count("cid-race") == 1


def test_persistent_5xx_on_post_raises_transient_and_never_double_books(server, make_broker, sleeps):
    broker = make_broker(max_retries=2)
    server.fail_next("submit", 10, status=502)
    with pytest.raises(BrokerUnavailable, match="cid-f"):
        broker.submit(buy("cid-f"))
    assert server.post_count("cid-f") == 3
    assert server.count_requests("GET", "/v2/orders:by_client_order_id") == 3
    assert server.booked_count("cid-f") == 0
    assert len(sleeps) == 2


def test_connection_refused_is_transient(make_broker, server):
    url = server.base_url
    server.stop()
    policy = HttpPolicy(timeout=0.5, max_retries=1, sleep=lambda s: None)
    broker = AlpacaBroker(url, KEY_ID, SECRET, live=False, policy=policy)
    with pytest.raises(BrokerUnavailable):
        broker.account()


# ---------------------------------------------------------------------- malformed answers


def test_malformed_json_is_broker_error(server, broker):
    server.respond_next("account", b"{not json")
    with pytest.raises(BrokerError, match="malformed JSON") as info:
        broker.account()
    assert "GET /v2/account" in str(info.value)


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"cash": "100"}, "equity"),
        ({"cash": "abc", "equity": "1"}, "cash"),
        ({"cash": "NaN", "equity": "1"}, "cash"),
        ({"cash": True, "equity": "1"}, "cash"),
        ([1, 2], "object"),
    ],
)
def test_bad_account_fields_name_the_field(server, broker, payload, field):
    server.respond_next("account", payload)
    with pytest.raises(BrokerError, match=field):
        broker.account()


def test_order_missing_field_names_it(server, broker):
    server.respond_next("submit", {"client_order_id": "cid-m", "symbol": "AAPL", "side": "buy"})
    with pytest.raises(BrokerError, match="'id'|'status'|'filled_qty'"):
        broker.submit(buy("cid-m"))


def test_position_bad_qty_names_field(server, broker):
    server.respond_next("positions", [{"symbol": "AAPL", "qty": "ten", "market_value": "1"}])
    with pytest.raises(BrokerError, match=r"positions\[0\].*'qty'"):
        broker.positions()


def test_clock_bad_timestamp(server, broker):
    server.set_clock(next_open="tomorrow-ish")
    with pytest.raises(BrokerError, match="next_open"):
        broker.clock()


# ---------------------------------------------------------------------- guards


def test_request_validation_happens_before_any_post(server, broker):
    with pytest.raises(ValueError):
        broker.submit(OrderRequest("c1", "AAPL", "buy", qty=1, notional=100))
    with pytest.raises(ValueError):
        broker.submit(OrderRequest("c2", "AAPL", "buy"))
    with pytest.raises(ValueError):
        broker.submit(OrderRequest("c3", "AAPL", "buy", qty=-1))
    with pytest.raises(ValueError):
        broker.submit(OrderRequest("x" * 129, "AAPL", "buy", qty=1))
    assert server.posts == []


# ---------------------------------------------------------------------- secrets


def test_secrets_never_leak(server, make_broker, caplog):
    caplog.set_level(logging.DEBUG)
    broker = make_broker(max_retries=1)
    texts = [repr(broker), str(broker)]

    # wrong secret -> 401
    bad = make_broker(secret_key=SECRET + "-WRONG", max_retries=0)
    with pytest.raises(BrokerError) as info:
        bad.account()
    assert "401" in str(info.value)
    texts += [str(info.value), repr(info.value), repr(bad)]

    # an error message that echoes the keys back
    server.respond_next("account", {"code": 40310000, "message": f"bad key {KEY_ID}/{SECRET}"}, status=403)
    with pytest.raises(BrokerError) as info:
        broker.account()
    texts += [str(info.value), repr(info.value)]

    # transient failures and retries (log lines)
    server.fail_next("submit", 5, status=500)
    with pytest.raises(BrokerUnavailable) as info:
        broker.submit(buy("cid-s"))
    texts += [str(info.value)]
    server.fail_next("account", 5, status=429)
    with pytest.raises(BrokerUnavailable) as info:
        broker.account()
    texts += [str(info.value), "".join(traceback.format_exception(info.value))]

    # a timeout (requests' own exception text never reaches ours, headers never do)
    slow = make_broker(timeout=0.1, max_retries=0)
    server.delay_next("positions", 2.0)
    with pytest.raises(BrokerUnavailable) as info:
        slow.positions()
    texts += [str(info.value), "".join(traceback.format_exception(info.value))]

    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert any("rate limited" in t for t in texts)  # logging did happen
    for text in texts:
        assert SECRET not in text
        assert KEY_ID not in text
