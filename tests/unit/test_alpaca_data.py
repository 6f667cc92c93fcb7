"""Provider ``alpaca`` without a server: symbol batches, page parsing and merging, the request pacer.
(Against the local Market Data server: tests/integration.)"""

from __future__ import annotations

import pytest

from momentum.http_retry import Pacer
from momentum.providers.alpaca import batches
from momentum.providers.alpaca_wire import (
    MarketDataError,
    merge_pages,
    parse_page,
)


def test_more_than_200_symbols_go_in_equal_batches():
    names = [f"S{i:03d}" for i in range(450)]
    parts = batches(names)
    assert [len(b) for b in parts] == [150, 150, 150] and sorted(sum(parts, [])) == names


@pytest.mark.parametrize(
    "body, message",
    [
        ({"next_page_token": None}, "the reply has no 'bars'"),
        ([1, 2], "the reply is not a JSON object"),
        (
            {"bars": {"A": [{"t": "2022-01-03T05:00:00Z", "o": 1, "h": 1, "l": 1, "c": "1.5", "v": 3}]}},
            "A bar t='2022-01-03T05:00:00Z': field 'c' is not a finite number",
        ),
        (
            {"bars": {"A": [{"t": "2022-01-03T05:00:00Z", "o": 1, "h": 1, "l": 1, "c": True, "v": 3}]}},
            "field 'c'",
        ),
        ({"bars": {"A": [{"o": 1}]}}, "not an object with a 't' string"),
        ({"bars": {"A": {}}}, "bars of 'A' are not a list"),
        ({"bars": {}, "next_page_token": 5}, "next_page_token is not a non-empty string or null"),
    ],
)
def test_malformed_pages_raise_naming_the_request(body, message):
    with pytest.raises(
        MarketDataError, match="GET /v2/stocks/bars \\[x\\]: .*" + message.replace("(", r"\(")
    ):
        parse_page(body, "GET /v2/stocks/bars [x]")


def bar(t: str, c: float) -> dict:
    return {"t": t, "o": c, "h": c, "l": c, "c": c, "v": 10}


def test_bars_null_is_an_empty_page_and_duplicates_and_order_follow_the_rules():
    assert parse_page({"bars": None, "next_page_token": None}, "w")[0].empty
    late, _ = parse_page({"bars": {"A": [bar("2022-01-05T05:00:00Z", 2.0)]}}, "w")
    early, _ = parse_page(
        {"bars": {"A": [bar("2022-01-04T05:00:00Z", 1.0)], "B": [bar("2022-01-04T05:00:00Z", 5.0)]}}, "w"
    )
    merged = merge_pages([late, early, early], "w")  # out of order, one page twice
    assert list(
        zip(merged["date"].dt.strftime("%m-%d"), merged["symbol"], merged["adj_close"], strict=True)
    ) == [
        ("01-04", "A", 1.0),
        ("01-04", "B", 5.0),
        ("01-05", "A", 2.0),
    ]
    clash, _ = parse_page({"bars": {"A": [bar("2022-01-05T05:00:00Z", 2.5)]}}, "w")
    with pytest.raises(MarketDataError, match="two different bars for A on 2022-01-05"):
        merge_pages([late, clash], "w")


def test_pacer_keeps_under_the_per_minute_limit():
    now, waits = [0.0], []
    pacer = Pacer(3, clock=lambda: now[0], sleep=lambda s: (waits.append(s), now.__setitem__(0, now[0] + s)))
    for t in (0.0, 1.0, 2.0, 10.0):
        now[0] = max(now[0], t)
        pacer.wait()
    assert waits == [50.0]  # the 4th request waits for the 1st to leave the 60 s window
