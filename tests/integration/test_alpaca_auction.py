"""On-close (cls) and on-open (opg) orders against the local Alpaca trading stand-in, over HTTP.

At each instant the stand-in (its clock set there) accepts or refuses a raw order as Alpaca does, and the
client never sends one it knows will be refused: it says why in one line and the stand-in records no POST.
An accepted order is queued for its session's auction and, once the stand-in has run that auction, is
looked up filled at the auction price.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import requests

from momentum.brokers.alpaca import AlpacaBroker
from momentum.brokers.base import AuctionOrderRefused, OrderRequest
from momentum.http_retry import HttpPolicy
from tests.support.alpaca_server import AlpacaServer

KEY_ID = "AUCTION-KEY-ID"
SECRET = "AUCTION-SECRET"
PRICES = {"AAPL": 200.0, "MSFT": 400.0}
NY = ZoneInfo("America/New_York")
FRACTIONAL = {"code": 42210000, "message": "fractional orders must be DAY orders"}


def et(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


@pytest.fixture
def server():
    with AlpacaServer(KEY_ID, SECRET, cash=100_000.0, prices=PRICES) as srv:
        yield srv


@pytest.fixture
def make_broker(server):
    made: list[AlpacaBroker] = []

    def make() -> AlpacaBroker:
        policy = HttpPolicy(timeout=2.0, max_retries=1, backoff=0.01, sleep=lambda _: None)
        made.append(AlpacaBroker(server.base_url, KEY_ID, SECRET, live=False, policy=policy))
        return made[-1]

    yield make
    for broker in made:
        broker._http._session.close()


def post_raw(server: AlpacaServer, **body) -> requests.Response:
    """An order sent straight to the stand-in, as a client that checks nothing would send it."""
    headers = {"APCA-API-KEY-ID": KEY_ID, "APCA-API-SECRET-KEY": SECRET}
    body = {"symbol": "AAPL", "side": "buy", "type": "market", **body}
    return requests.post(f"{server.base_url}/v2/orders", json=body, headers=headers, timeout=5)


def order(cid: str, tif: str, qty: float | None = 10, notional: float | None = None) -> OrderRequest:
    return OrderRequest(cid, "AAPL", "buy", qty=qty, notional=notional, time_in_force=tif)  # type: ignore[arg-type]


# (time_in_force, instant in ET, accepted, the session whose auction fills it)
INSTANTS = [
    ("cls", "2026-12-01 15:49", True, "2026-12-01"),
    ("cls", "2026-12-01 15:51", False, None),
    ("cls", "2026-12-01 18:59", False, None),
    ("cls", "2026-12-01 19:01", True, "2026-12-02"),
    ("opg", "2026-12-01 09:27", True, "2026-12-01"),
    ("opg", "2026-12-01 09:29", False, None),
    ("opg", "2026-12-01 15:49", False, None),
    ("opg", "2026-12-01 15:51", False, None),
    ("opg", "2026-12-01 18:59", False, None),
    ("opg", "2026-12-01 19:01", True, "2026-12-02"),
    ("cls", "2026-11-27 12:49", True, "2026-11-27"),  # early close, 13:00 ET
    ("cls", "2026-11-27 12:51", False, None),
    ("opg", "2026-11-27 12:49", False, None),
    ("cls", "2026-11-27 19:01", True, "2026-11-30"),
    ("cls", "2026-12-05 11:00", True, "2026-12-07"),  # a Saturday
]


@pytest.mark.parametrize(("tif", "at", "accepted", "session"), INSTANTS)
def test_the_stand_in_answers_as_alpaca_and_the_client_sends_only_what_it_takes(
    server, make_broker, tif, at, accepted, session
):
    server.set_time(et(at))
    raw = post_raw(server, qty="3", time_in_force=tif, client_order_id="raw")
    if accepted:
        assert raw.status_code == 200 and raw.json()["status"] == "accepted"
        assert raw.json()["time_in_force"] == tif
        assert server.queued_for("raw") == pd.Timestamp(session)
    else:
        assert raw.status_code == 403
        assert raw.json() == {
            "code": 40310000,
            "message": f"{tif} orders must be submitted after 7:00pm and before "
            + ("3:55pm" if tif == "cls" else "9:28am"),
        }
        assert server.booked_count("raw") == 0

    broker = make_broker()
    if accepted:
        status = broker.submit(order("cid", tif))
        assert (status.status, status.filled_qty, status.filled_avg_price) == ("accepted", 0.0, None)
        assert server.queued_for("cid") == pd.Timestamp(session)
        assert server.post_bodies[-1]["time_in_force"] == tif
    else:
        with pytest.raises(AuctionOrderRefused) as refused:
            broker.submit(order("cid", tif))
        text = str(refused.value)
        assert "\n" not in text
        assert f"{tif} order 'cid' (buy 10 shares of AAPL) was not sent" in text
        assert f"the {tif} window is shut until {at[:10]} 19:00 ET" in text
        assert "order_timing=market" in text
        assert server.post_count("cid") == 0 and server.booked_count("cid") == 0


def test_the_clock_follows_the_calendar(server, make_broker):
    broker = make_broker()
    server.set_time(et("2026-11-27 12:49"))
    clock = broker.clock()
    assert clock.is_open and clock.timestamp == et("2026-11-27 12:49")
    assert clock.next_close == et("2026-11-27 13:00")  # early close
    assert clock.next_open == et("2026-11-30 09:30")
    server.set_time(et("2026-12-04 19:01"))  # a Friday evening
    clock = broker.clock()
    assert not clock.is_open
    assert (clock.next_open, clock.next_close) == (et("2026-12-07 09:30"), et("2026-12-07 16:00"))


def test_one_clock_reading_judges_a_batch(server, make_broker):
    server.set_time(et("2026-12-01 19:01"))
    broker = make_broker()
    for cid in ("b1", "b2", "b3"):
        assert broker.submit(order(cid, "cls")).status == "accepted"
    assert server.count_requests("GET", "/v2/clock") == 1
    assert sorted(server.posts) == ["b1", "b2", "b3"]


def test_fractional_auction_orders_are_refused_by_the_client_and_by_the_stand_in(server, make_broker):
    server.set_time(et("2026-12-01 19:01"))  # both windows open: only the quantity is wrong
    broker = make_broker()
    for tif in ("cls", "opg"):
        for cid, fractional in (
            (f"q-{tif}", order(f"q-{tif}", tif, qty=2.5)),
            (f"n-{tif}", order(f"n-{tif}", tif, qty=None, notional=500.0)),
        ):
            with pytest.raises(AuctionOrderRefused, match="not whole shares and was not sent"):
                broker.submit(fractional)
            assert server.post_count(cid) == 0
        for raw in ({"qty": "2.5"}, {"notional": "500"}):
            answer = post_raw(
                server, time_in_force=tif, client_order_id=f"raw-{tif}-{next(iter(raw))}", **raw
            )
            assert (answer.status_code, answer.json()) == (422, FRACTIONAL)
    assert server.count_requests("GET", "/v2/clock") == 0  # refused before asking anything
    assert server.booked_count("raw-cls-qty") == server.booked_count("raw-opg-notional") == 0
    day = broker.submit(order("day-frac", "day", qty=2.5))  # a day order may still be fractional
    assert day.status == "accepted" and server.queued_for("day-frac") is None


def test_a_queued_close_order_fills_at_the_closing_auction_price(server, make_broker):
    server.set_time(et("2026-12-01 19:01"))
    broker = make_broker()
    assert broker.submit(order("moc", "cls", qty=10)).status == "accepted"
    assert broker.submit(order("moo", "opg", qty=5)).status == "accepted"
    server.set_time(et("2026-12-02 10:00"))  # the market opens: an auction order does not fill at it
    assert server.order("moc")["status"] == "accepted"
    assert server.run_auction("2026-12-01", {"AAPL": 1.0}) == []  # not the session it was queued for
    assert server.run_auction("2026-12-02", {"AAPL": 201.25}) == ["moc"]
    filled = broker.get_by_client_id("moc")
    assert filled is not None
    assert (filled.status, filled.filled_qty, filled.filled_avg_price) == ("filled", 10.0, 201.25)
    assert server.cash == pytest.approx(100_000.0 - 10 * 201.25)
    assert server.position_qty("AAPL") == 10
    still = broker.get_by_client_id("moo")  # the opening auction's order waits for its own auction
    assert still is not None and still.status == "accepted" and still.filled_qty == 0
    assert server.run_auction("2026-12-02", {"AAPL": 199.5}, time_in_force="opg") == ["moo"]
    opened = broker.get_by_client_id("moo")
    assert opened is not None and (opened.status, opened.filled_avg_price) == ("filled", 199.5)
