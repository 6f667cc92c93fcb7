"""Alpaca's on-close (cls) and on-open (opg) windows as a pure rule, and the order body that carries them.

Instants are written in New York time (whatever its UTC offset that day) or in UTC where the offset is
the point; sessions are NYSE sessions (2026-11-26 Thanksgiving, 2026-11-27 closes at 13:00 ET, 2026-12-25
Christmas; daylight saving time starts 2026-03-08 and ends 2026-11-01).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from momentum.brokers import ORDER_TIMINGS, TIME_IN_FORCE, AuctionSlot, auction_slot
from momentum.brokers.alpaca_wire import order_body
from momentum.brokers.base import AuctionOrderRefused, OrderRequest
from tests.support.alpaca_auction import queued_session

NY = ZoneInfo("America/New_York")


def et(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# (time_in_force, instant in ET, accepted, the session whose auction fills it)
WINDOWS = [
    # a normal session, Tuesday 2026-12-01 (close 16:00 ET)
    ("cls", "2026-12-01 15:49", True, "2026-12-01"),
    ("cls", "2026-12-01 15:49:59", True, "2026-12-01"),
    ("cls", "2026-12-01 15:50", False, "2026-12-02"),
    ("cls", "2026-12-01 15:51", False, "2026-12-02"),
    ("cls", "2026-12-01 18:59", False, "2026-12-02"),
    ("cls", "2026-12-01 19:00", True, "2026-12-02"),
    ("cls", "2026-12-01 19:01", True, "2026-12-02"),
    ("cls", "2026-12-01 00:30", True, "2026-12-01"),
    ("opg", "2026-12-01 09:27", True, "2026-12-01"),
    ("opg", "2026-12-01 09:28", False, "2026-12-02"),
    ("opg", "2026-12-01 09:29", False, "2026-12-02"),
    ("opg", "2026-12-01 15:49", False, "2026-12-02"),
    ("opg", "2026-12-01 18:59", False, "2026-12-02"),
    ("opg", "2026-12-01 19:01", True, "2026-12-02"),
    # an early close (13:00 ET) the day after Thanksgiving: cls shuts at 12:50
    ("cls", "2026-11-27 12:49", True, "2026-11-27"),
    ("cls", "2026-11-27 12:51", False, "2026-11-30"),
    ("cls", "2026-11-27 15:49", False, "2026-11-30"),
    ("cls", "2026-11-27 19:01", True, "2026-11-30"),
    ("opg", "2026-11-27 09:27", True, "2026-11-27"),
    ("opg", "2026-11-27 12:49", False, "2026-11-30"),
    # Friday evening, the weekend: the next session is Monday
    ("cls", "2026-12-04 19:01", True, "2026-12-07"),
    ("opg", "2026-12-05 10:00", True, "2026-12-07"),
    ("cls", "2026-12-06 15:55", True, "2026-12-07"),
    # holidays: Thanksgiving (no session) queues for the early-close Friday; Christmas for the Monday
    ("cls", "2026-11-26 15:55", True, "2026-11-27"),
    ("opg", "2026-11-26 12:00", True, "2026-11-27"),
    ("cls", "2026-11-25 19:01", True, "2026-11-27"),
    ("cls", "2026-12-25 11:00", True, "2026-12-28"),
]


@pytest.mark.parametrize(("tif", "at", "accepted", "session"), WINDOWS)
def test_the_windows_at_each_instant(tif, at, accepted, session):
    slot = auction_slot(tif, et(at))
    assert isinstance(slot, AuctionSlot)
    assert (slot.accepted, slot.session) == (accepted, day(session))
    assert (slot.reopens is None) == accepted


def test_a_refused_order_reopens_at_19_et_the_same_day_and_says_so():
    slot = auction_slot("cls", et("2026-12-01 15:51"))
    assert slot.reopens == pd.Timestamp("2026-12-01 19:00", tz=NY)
    text = slot.describe()
    assert "\n" not in text
    assert "cls window is shut until 2026-12-01 19:00 ET" in text
    assert "15:51 ET" in text and "the close of 2026-12-02" in text
    opg = auction_slot("opg", et("2026-11-27 09:29")).describe()
    assert "opg window is shut until 2026-11-27 19:00 ET" in opg and "the open of 2026-11-30" in opg
    assert auction_slot("cls", et("2026-12-01 19:01")).describe() == (
        "queued for the close of 2026-12-02 (cls order)"
    )


@pytest.mark.parametrize(
    ("utc", "accepted", "session"),
    [
        # Friday before daylight saving time starts: 15:49 EST is 20:49 UTC
        ("2026-03-06 20:49", True, "2026-03-06"),
        ("2026-03-06 20:51", False, "2026-03-09"),
        # Sunday, during the change: no session, queued for Monday
        ("2026-03-08 07:30", True, "2026-03-09"),
        # Monday after: 15:49 EDT is 19:49 UTC, and 20:49 UTC (16:49 EDT) is past the cut-off
        ("2026-03-09 19:49", True, "2026-03-09"),
        ("2026-03-09 19:51", False, "2026-03-10"),
        ("2026-03-09 20:49", False, "2026-03-10"),
        # 19:01 EDT is 23:01 UTC; in winter 19:01 EST is 00:01 UTC the next calendar day
        ("2026-03-09 23:01", True, "2026-03-10"),
        ("2026-10-30 22:59", False, "2026-11-02"),
        ("2026-10-30 23:01", True, "2026-11-02"),
        ("2026-11-02 20:49", True, "2026-11-02"),
        ("2026-11-02 20:51", False, "2026-11-03"),
        ("2026-11-03 00:01", True, "2026-11-03"),
        ("2026-11-02 23:59", False, "2026-11-03"),
    ],
)
def test_windows_are_new_york_times_whatever_the_utc_offset(utc, accepted, session):
    aware = pd.Timestamp(utc, tz="UTC")
    slot = auction_slot("cls", aware)
    assert (slot.accepted, slot.session) == (accepted, day(session))
    naive = auction_slot("cls", pd.Timestamp(utc))  # a naive instant is read as UTC
    assert (naive.accepted, naive.session) == (accepted, day(session))


def test_only_auction_orders_have_a_window():
    with pytest.raises(ValueError, match="cls or opg"):
        auction_slot("day", et("2026-12-01 10:00"))


def test_order_timings_map_to_alpaca_time_in_force():
    assert [TIME_IN_FORCE[timing] for timing in ORDER_TIMINGS] == ["cls", "opg", "day"]


def order(tif: str, qty: float | None = 10, notional: float | None = None) -> OrderRequest:
    return OrderRequest("cid-1", "AAPL", "buy", qty=qty, notional=notional, time_in_force=tif)  # type: ignore[arg-type]


@pytest.mark.parametrize("tif", ["day", "cls", "opg"])
def test_the_order_body_carries_the_time_in_force(tif):
    assert order_body(order(tif))["time_in_force"] == tif
    assert order_body(order(tif, qty=10.0))["qty"] == "10"


def test_fractional_and_notional_auction_orders_are_refused_in_one_line():
    for tif in ("cls", "opg"):
        for fractional in (order(tif, qty=2.5), order(tif, qty=None, notional=500.0)):
            with pytest.raises(AuctionOrderRefused) as refused:
                order_body(fractional)
            text = str(refused.value)
            assert "\n" not in text and f"{tif} order 'cid-1'" in text
            assert "whole shares" in text and "order_timing=market" in text
    assert order_body(order("day", qty=2.5))["qty"] == "2.5"  # a day order may be fractional
    assert order_body(order("day", qty=None, notional=500.0))["notional"] == "500.00"


def test_an_unknown_time_in_force_is_a_programming_error():
    with pytest.raises(ValueError, match="time_in_force"):
        order_body(order("gtc"))


@pytest.mark.parametrize("start", ["2026-11-23", "2026-03-05", "2026-10-29"])
def test_the_rule_agrees_with_an_independent_reading_of_alpacas_documentation(start):
    """Every 5 minutes over 5 days (Thanksgiving week with its early close; the two DST changes): the
    client's rule and the trading stand-in's own reading of Alpaca's sentences give the same answer."""
    for instant in pd.date_range(start, periods=5 * 24 * 12, freq="5min", tz=NY):
        for tif in ("cls", "opg"):
            slot = auction_slot(tif, instant)
            assert queued_session(tif, instant.to_pydatetime()) == (slot.session if slot.accepted else None)
