"""Provider ``alpaca`` against the local Market Data server: paging, dates, symbols, faults, parsing.

The server (tests/support/alpaca_data_server.py) serves the embedded real closes, so every fetched frame
can be compared with what the ``embedded`` provider returns for the same symbols and dates.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from momentum import definitions
from momentum.errors import PermanentError
from momentum.http_retry import HttpPolicy, Pacer
from momentum.providers.alpaca import AlpacaProvider
from momentum.providers.alpaca_http import MarketDataClient
from momentum.providers.alpaca_wire import (
    MarketDataError,
    session_dates,
)
from momentum.providers.embedded import EmbeddedProvider
from momentum.settings import Settings
from momentum.universe import symbol_key

START, END = pd.Timestamp("2022-01-03"), pd.Timestamp("2022-11-30")
SYMBOLS = ["AAPL", "KO", "MSFT", "XOM"]


def provider(
    srv, *, timeout: float = 5.0, retries: int = 3, key: str | None = None, waits: list | None = None
):
    """A provider whose client records its waits instead of sleeping them (no timed assertions)."""
    sleep = waits.append if waits is not None else (lambda s: None)
    client = MarketDataClient(
        srv.base_url,
        key or srv.key_id,
        srv.secret_key,
        policy=HttpPolicy(timeout=timeout, max_retries=retries, backoff=0.01, sleep=sleep),
        pacer=Pacer(190, sleep=sleep),
    )
    return AlpacaProvider(client)


def embedded(symbols=SYMBOLS, start=START, end=END) -> pd.DataFrame:
    return EmbeddedProvider().bars(start, end, symbols)


def closes(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["date", "symbol", "adj_close"]].reset_index(drop=True)


def test_bars_equal_the_embedded_closes_in_one_page(alpaca_data):
    p = provider(alpaca_data)
    got = p.bars(START, END, SYMBOLS)
    assert closes(got).equals(embedded())
    assert alpaca_data.bar_requests == 1
    query = alpaca_data.queries[0]
    assert query == {
        "symbols": "AAPL,KO,MSFT,XOM",
        "timeframe": "1Day",
        "start": "2022-01-03",
        "end": "2022-11-30",
        "adjustment": "all",
        "feed": "sip",
        "limit": "10000",
        "sort": "asc",
    }
    assert (got["close"] == got["adj_close"]).all() and list(got.columns[:3]) == [
        "date",
        "symbol",
        "adj_close",
    ]


def test_paging_split_inside_a_symbol_follows_the_token_with_identical_params(alpaca_data):
    alpaca_data.page_cap = 37  # pages end in the middle of a symbol's bars, far below limit
    got = provider(alpaca_data).bars(START, END, SYMBOLS)
    assert closes(got).equals(embedded())
    rows = len(embedded())
    assert alpaca_data.bar_requests == -(-rows // 37)
    first, *rest = alpaca_data.queries
    assert "page_token" not in first and all(q.pop("page_token") for q in rest)
    assert all(q == first for q in rest)


def test_pages_shorter_than_limit_are_not_the_end(alpaca_data):
    alpaca_data.page_cap = 229  # the server returns fewer bars than limit, with a token
    got = provider(alpaca_data).bars(START, END, SYMBOLS)
    assert closes(got).equals(embedded()) and alpaca_data.bar_requests == -(-len(embedded()) // 229) > 1
    assert {q["limit"] for q in alpaca_data.queries} == {"10000"}


def test_new_york_date_rule_across_both_dst_changes(alpaca_data):
    for start, end in (("2022-03-09", "2022-03-16"), ("2022-11-02", "2022-11-09")):
        got = provider(alpaca_data).bars(pd.Timestamp(start), pd.Timestamp(end), ["AAPL"])
        assert closes(got).equals(embedded(["AAPL"], pd.Timestamp(start), pd.Timestamp(end)))
    winter, summer = session_dates(["2022-03-11T05:00:00Z", "2022-03-14T04:00:00Z"], "test")
    assert (winter, summer) == (pd.Timestamp("2022-03-11"), pd.Timestamp("2022-03-14"))
    with pytest.raises(MarketDataError, match="is not 00:00 New York"):
        session_dates(["2022-03-14T00:00:00Z"], "GET /v2/stocks/bars [test]")  # a truncated UTC date


def test_missing_symbols_are_just_missing_and_share_classes_use_a_dot():
    market = pd.DataFrame({"date": embedded(["KO"])["date"], "symbol": "BRK.B", "adj_close": 300.0})
    from tests.support.alpaca_data_server import AlpacaDataServer

    with AlpacaDataServer(pd.concat([embedded(["KO"]), market])) as srv:
        got = provider(srv).bars(START, END, ["KO", "BRK-B", "NOTLISTED"])
        assert sorted(got["symbol"].unique()) == ["BRK.B", "KO"]
        assert srv.queries[0]["symbols"] == "BRK.B,KO,NOTLISTED"
    assert symbol_key("brk/b") == "BRK.B"


def test_400_invalid_symbol_drops_it_with_a_reason_and_retries_the_rest(alpaca_data):
    alpaca_data.invalid = {"KO"}
    p = provider(alpaca_data)
    got = p.bars(START, END, SYMBOLS)
    assert closes(got).equals(embedded(["AAPL", "MSFT", "XOM"]))
    assert p.rejected == {"KO": "rejected by the data API (HTTP 400 invalid symbol: KO)"}
    assert [q["symbols"] for q in alpaca_data.queries] == ["AAPL,KO,MSFT,XOM", "AAPL,MSFT,XOM"]


def test_401_html_is_permanent_one_line_and_names_no_key(alpaca_data):
    p = provider(alpaca_data, key="WRONGKEYID0123")
    with pytest.raises(MarketDataError) as caught:
        p.bars(START, END, SYMBOLS)
    text = str(caught.value)
    assert "-> 401: an HTML page" in text and "MOMENTUM_ALPACA_KEY_ID" in text and "\n" not in text
    assert "WRONGKEYID0123" not in text and alpaca_data.secret_key not in text
    assert alpaca_data.auth_failures == 1  # not retried


def test_403_recent_sip_is_permanent_with_the_api_message(alpaca_data):
    alpaca_data.fail_next(
        status=403,
        body={"code": 42210000, "message": "subscription does not permit querying recent SIP data"},
    )
    with pytest.raises(
        MarketDataError,
        match="403: subscription does not permit querying recent SIP data "
        r"\(code 42210000\) \(the plan does not allow this request; the free plan",
    ):
        provider(alpaca_data).bars(START, END, SYMBOLS)
    assert alpaca_data.bar_requests == 1


def test_other_4xx_is_permanent(alpaca_data):
    alpaca_data.fail_next(status=422, body={"message": "end should not be before start"})
    with pytest.raises(PermanentError, match="422: end should not be before start"):
        provider(alpaca_data).bars(START, END, SYMBOLS)
    assert alpaca_data.bar_requests == 1


def test_429_without_headers_backs_off_then_succeeds(alpaca_data):
    waits: list[float] = []
    alpaca_data.fail_next(2, status=429)
    got = provider(alpaca_data, waits=waits).bars(START, END, SYMBOLS)
    assert closes(got).equals(embedded()) and alpaca_data.bar_requests == 3
    assert len(waits) == 2 and 0 < waits[0] < waits[1] <= 0.05  # jittered exponential backoff from 0.01 s


def test_429_waits_until_the_rate_limit_reset(alpaca_data):
    waits: list[float] = []
    reset = int(time.time()) + 30
    alpaca_data.fail_next(
        status=429,
        headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    provider(alpaca_data, waits=waits).bars(START, END, SYMBOLS)
    assert len(waits) == 1 and 25 < waits[0] <= 30


def test_500s_are_retried_and_give_up_permanently_when_exhausted(alpaca_data):
    alpaca_data.fail_next(2, status=500)
    assert closes(provider(alpaca_data).bars(START, END, SYMBOLS)).equals(embedded())
    alpaca_data.fail_next(4, status=503)
    with pytest.raises(PermanentError, match=r"gave up after 4 attempts \(last: HTTP 503\)"):
        provider(alpaca_data, retries=3).bars(START, END, SYMBOLS)


def test_a_timeout_is_retried(alpaca_data):
    alpaca_data.delay_next(3.0)
    got = provider(alpaca_data, timeout=0.5).bars(START, END, SYMBOLS)
    assert closes(got).equals(embedded()) and alpaca_data.bar_requests == 2


def test_a_connection_error_is_retried_then_permanent():
    from tests.support.alpaca_data_server import AlpacaDataServer

    srv = AlpacaDataServer(embedded()).start()
    p = provider(srv, retries=2)
    srv.stop()  # nothing listens on the port any more
    with pytest.raises(PermanentError, match=r"gave up after 3 attempts \(last: ConnectionError\)"):
        p.bars(START, END, SYMBOLS)


def test_a_non_json_body_fails_naming_the_request(alpaca_data):
    alpaca_data.respond_next("<html>maintenance</html>", status=200, content_type="text/html")
    with pytest.raises(
        MarketDataError,
        match=r"GET /v2/stocks/bars \[AAPL..XOM \(4 symbols\), 2022-01-03..2022-11-30, "
        r"page 1\] -> 200: the body is not JSON",
    ):
        provider(alpaca_data).bars(START, END, SYMBOLS)


def test_a_failed_page_returns_nothing_half_fetched(alpaca_data):
    alpaca_data.page_cap = 100
    p = provider(alpaca_data)
    calls = {"n": 0}
    real = p.client.get

    def second_page_breaks(path, params, what, deadline):
        calls["n"] += 1
        if calls["n"] == 3:
            alpaca_data.respond_next({"bars": {"AAPL": [{"t": "2022-02-01T05:00:00Z", "c": "oops"}]}})
        return real(path, params, what, deadline)

    p.client.get = second_page_breaks
    with pytest.raises(MarketDataError, match="page 3.*field 'o' is not a finite number"):
        p.bars(START, END, SYMBOLS)


def test_last_session_is_the_latest_close_at_least_20_minutes_ago(alpaca_data):
    def at(text: str) -> pd.Timestamp:
        p = AlpacaProvider(
            provider(alpaca_data).client, now=lambda: pd.Timestamp(text, tz="America/New_York")
        )
        return p.last_session()

    assert at("2026-11-30 17:30") == pd.Timestamp("2026-11-30")  # a 17:30 run scores today
    assert at("2026-11-30 16:15") == pd.Timestamp("2026-11-27")  # within 20 minutes: the session before
    assert at("2026-11-27 13:25") == pd.Timestamp("2026-11-27")  # the day after Thanksgiving closes at 13:00
    assert at("2026-11-29 09:00") == pd.Timestamp("2026-11-27")  # Sunday


def test_settings_refuse_iex_and_keys_are_required():
    with pytest.raises(ValueError, match="alpaca_data_feed 'iex' is refused"):
        Settings(provider="alpaca", alpaca_data_feed="iex")
    with pytest.raises(PermanentError, match="provider 'alpaca' needs API keys: set MOMENTUM_ALPACA_KEY_ID"):
        definitions.provider(Settings(provider="alpaca", alpaca_key_id=None, alpaca_secret_key=None))
    with pytest.raises(MarketDataError, match="refuses plain http to a non-loopback host"):
        MarketDataClient("http://data.example.com", "k", "s")
