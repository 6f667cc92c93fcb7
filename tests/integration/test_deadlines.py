"""Deadlines, not just timeouts: a server that sends its headers and then one byte every 2 s (no read
timeout ever fires) is cut off by the total deadline of an exchange and of an operation; an S3 endpoint
that accepts connections and never answers fails after a bounded number of bounded attempts. No timed
assertions: the outcome and message are asserted, and that the server would have needed far longer."""

from __future__ import annotations

import logging
import socket
import threading

import pandas as pd
import pytest

from momentum.brokers.alpaca import AlpacaBroker
from momentum.brokers.base import BrokerUnavailable, OrderRequest
from momentum.http_retry import HttpPolicy, Pacer
from momentum.providers.alpaca import AlpacaProvider
from momentum.providers.alpaca_http import MarketDataClient
from momentum.providers.alpaca_wire import MarketDataError
from momentum.store import StoreError, VersionedStore, _s3_limits
from tests.support.alpaca_data_server import AlpacaDataServer, embedded_market
from tests.support.alpaca_server import AlpacaServer

KEY_ID, SECRET = "CANARY-KEY-ID-789", "CANARY-SECRET-789"
START, END = pd.Timestamp("2022-01-03"), pd.Timestamp("2022-11-30")
# Reads wait up to 10 s for the next byte (longer than the trickle's 2 s gaps): only a deadline ends it.
POLICY = dict(timeout=10.0, attempt_seconds=3.0, backoff=0.01)


@pytest.fixture
def data_server():
    with AlpacaDataServer(embedded_market(), KEY_ID, SECRET) as srv:
        yield srv


def test_a_trickled_bars_answer_ends_in_one_line_naming_the_endpoint(data_server, caplog):
    data_server.trickle_next(2.0, n=2)
    waits: list[float] = []
    policy = HttpPolicy(**POLICY, max_retries=1, sleep=waits.append)
    client = MarketDataClient(
        data_server.base_url, KEY_ID, SECRET, policy=policy, pacer=Pacer(190, sleep=waits.append)
    )
    with caplog.at_level(logging.WARNING), pytest.raises(MarketDataError) as caught:
        AlpacaProvider(client).bars(START, END, ["AAPL", "KO"])
    line = str(caught.value)
    host = data_server.base_url.removeprefix("http://")
    assert "\n" not in line and KEY_ID not in line and SECRET not in line
    assert line.startswith("GET /v2/stocks/bars [AAPL..KO (2 symbols), 2022-01-03..2022-11-30, page 1]")
    assert f"gave up after 2 attempts (last: no complete answer within 3 s), at {host}/v2/stocks/bars" in line
    assert f"GET {host}/v2/stocks/bars: no complete answer within 3 s; closed the connection" in caplog.text
    cut = data_server.trickles[-2:]
    assert len(cut) == 2 and all(t.sent < t.length for t in cut)  # both answers were cut off...
    assert all(t.seconds_needed > 60 for t in cut)  # ...where the server would have needed minutes


def test_the_operation_deadline_spans_retries_and_names_the_endpoint(data_server):
    data_server.trickle_next(2.0, n=20)
    policy = HttpPolicy(**{**POLICY, "attempt_seconds": 2.0}, operation_seconds=5.0, max_retries=20)
    client = MarketDataClient(data_server.base_url, KEY_ID, SECRET, policy=policy, pacer=Pacer(190))
    with pytest.raises(MarketDataError, match=r"attempts in the 5 s it may take \(last: no complete answer"):
        client.get("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "1Day"}, "GET /v2/stocks/bars")
    assert (
        len(data_server.trickles) < 20
    )  # far fewer attempts than the retries allowed: the deadline ended it


@pytest.fixture
def trading():
    with AlpacaServer(KEY_ID, SECRET, cash=100_000.0, prices={"AAPL": 200.0}) as srv:
        yield srv


def test_a_trickled_order_answer_is_looked_up_not_resent(trading, caplog):
    trading.trickle_next("submit", 2.0)  # books the order, then trickles the answer
    broker = AlpacaBroker(
        trading.base_url, KEY_ID, SECRET, live=False, policy=HttpPolicy(**POLICY, sleep=lambda s: None)
    )
    order = OrderRequest(client_order_id="cid-trickle", symbol="AAPL", side="buy", qty=10)
    with caplog.at_level(logging.INFO):
        status = broker.submit(order)
    assert status.client_order_id == "cid-trickle" and status.qty == 10
    assert trading.posts == ["cid-trickle"] and trading.booked_count("cid-trickle") == 1  # booked once
    assert ("GET", "/v2/orders:by_client_order_id") in trading.requests  # found by its id
    host = trading.base_url.removeprefix("http://")
    assert f"POST {host}/v2/orders: no complete answer within 3 s; closed the connection" in caplog.text
    [cut] = trading.trickles
    assert cut.sent < cut.length and cut.seconds_needed > 60


def test_trickled_reads_give_up_within_the_operation_deadline(trading):
    trading.trickle_next("account", 2.0, n=20)
    policy = HttpPolicy(**{**POLICY, "attempt_seconds": 2.0}, operation_seconds=5.0, max_retries=20)
    broker = AlpacaBroker(trading.base_url, KEY_ID, SECRET, live=False, policy=policy)
    host = trading.base_url.removeprefix("http://")
    with pytest.raises(BrokerUnavailable) as caught:
        broker.account()
    line = str(caught.value)
    assert line.startswith(f"GET {host}/v2/account: gave up after ")
    assert "attempts in the 5 s it may take (last: no complete answer within" in line
    assert KEY_ID not in line and SECRET not in line
    assert len(trading.trickles) < 20


@pytest.fixture
def silent_s3(monkeypatch):
    """An S3 endpoint on loopback that accepts every connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    yield accepted
    listener.close()
    for conn in accepted:
        conn.close()


def test_an_s3_endpoint_that_stops_answering_fails_naming_the_store(silent_s3, monkeypatch):
    default_read = _s3_limits.READ_SECONDS
    monkeypatch.setattr(_s3_limits, "READ_SECONDS", 1)  # the same bounded attempts, each 1 s instead of 8
    url = "s3://silent-bucket/momentum"
    with pytest.raises(StoreError) as caught:
        VersionedStore(url).identity  # noqa: B018 - the first read of a store
    line = str(caught.value)
    assert "\n" not in line and f"store {url}" in line and "ReadTimeoutError" in line
    attempts = len(silent_s3)
    assert 1 <= attempts <= _s3_limits.S3FS_ATTEMPTS**2 * _s3_limits.BOTOCORE_ATTEMPTS
    assert attempts * (default_read + 1) < 90  # with the defaults: bounded attempts of bounded waits
