"""NYSE calendar: checked against an independent rule-based holiday list, and the rebalance schedule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momentum.calendar import (
    CALENDAR_END,
    CALENDAR_START,
    SUPPLEMENTARY_CLOSURES,
    OutsideCalendar,
    is_session,
    is_signal_session,
    next_session,
    next_signal_session,
    nyse_sessions,
    previous_session,
    rebalance_schedule,
    session_offset,
    signal_sessions,
)

UNSCHEDULED_CLOSURES = [
    "2001-09-11",
    "2001-09-12",
    "2001-09-13",
    "2001-09-14",  # September 11
    "2004-06-11",  # Reagan
    "2007-01-02",  # Ford
    "2012-10-29",
    "2012-10-30",  # Hurricane Sandy
    "2018-12-05",  # G. H. W. Bush
    "2025-01-09",  # Carter
]


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous algorithm), independent of pandas/dateutil."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """n-th (1-based; -1 = last) given weekday (Mon=0) of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """Saturday holidays close the Friday before, Sunday holidays the Monday after."""
    return day + dt.timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))


def _nyse_holidays(year: int) -> set[dt.date]:
    """NYSE full-day holidays of a year (rules valid 2000-2030)."""
    days = {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - dt.timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    }
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:  # NYSE does not close Dec 31 for a Saturday New Year's Day
        days.add(_observed(new_year))
    if year >= 2022:
        days.add(_observed(dt.date(year, 6, 19)))  # Juneteenth
    return days


def _expected_sessions(first_year: int, last_year: int) -> pd.DatetimeIndex:
    closed = {d for y in range(first_year, last_year + 1) for d in _nyse_holidays(y)}
    closed |= {pd.Timestamp(d).date() for d in UNSCHEDULED_CLOSURES}
    days = pd.bdate_range(f"{first_year}-01-01", f"{last_year}-12-31")
    return days[~np.isin(days.date, list(closed))]


def test_sessions_match_independent_nyse_rules_2000_2026() -> None:
    got = nyse_sessions("2000-01-01", "2026-12-31")
    expected = _expected_sessions(2000, 2026)
    missing, extra = expected.difference(got), got.difference(expected)
    assert missing.empty and extra.empty, (
        f"not sessions but should be: {list(missing.date)}; extra: {list(extra.date)}"
    )


@pytest.mark.parametrize("day", UNSCHEDULED_CLOSURES + [str(d.date()) for d in SUPPLEMENTARY_CLOSURES])
def test_unscheduled_closures_are_not_sessions(day: str) -> None:
    assert not is_session(day)


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        ("2001-09-10", True),
        ("2001-09-17", True),
        ("2012-10-31", True),
        ("2025-01-08", True),
        ("2025-01-10", True),
        ("2021-06-18", True),  # Juneteenth became an NYSE holiday in 2022
        ("2022-06-20", False),  # Juneteenth 2022 (Sunday) observed Monday
        ("2023-06-19", False),
        ("2026-06-19", False),
        ("2024-03-29", False),
        ("2025-04-18", False),
        ("2026-04-03", False),  # Good Friday
        ("2021-12-31", True),  # Saturday New Year's Day: no Friday closure
        ("2021-12-24", False),
        ("2026-07-03", False),  # Saturday holidays observed Friday
        ("2025-01-11", False),  # weekend
    ],
)
def test_specific_days(day: str, open_: bool) -> None:
    assert is_session(day) is open_


def test_year_counts_are_about_252() -> None:
    sessions = nyse_sessions(CALENDAR_START, CALENDAR_END)
    counts = pd.Series(sessions.year).value_counts()
    assert counts.between(248, 254).all(), counts[~counts.between(248, 254)]
    assert counts[2001] == 248 and counts[2012] == 250 and counts[2024] == 252 and counts[2025] == 250


def test_sessions_are_tz_naive_midnight_sorted_and_inclusive() -> None:
    s = nyse_sessions(dt.date(2024, 1, 2), pd.Timestamp("2024-01-31"))
    assert s.tz is None and s.is_monotonic_increasing and s.is_unique
    assert (s == s.normalize()).all()
    assert s[0] == pd.Timestamp("2024-01-02") and s[-1] == pd.Timestamp("2024-01-31")
    assert nyse_sessions("2024-01-06", "2024-01-07").empty  # a weekend
    assert nyse_sessions("2024-02-01", "2024-01-01").empty


def test_navigation() -> None:
    assert previous_session("2025-01-10") == pd.Timestamp("2025-01-08")
    assert next_session("2025-01-08") == pd.Timestamp("2025-01-10")
    assert next_session("2025-01-11") == pd.Timestamp("2025-01-13")
    assert previous_session("2025-01-11") == pd.Timestamp("2025-01-10")
    assert session_offset("2025-01-08", 0) == pd.Timestamp("2025-01-08")
    assert session_offset("2025-01-08", 1) == pd.Timestamp("2025-01-10")
    assert session_offset("2025-01-10", -1) == pd.Timestamp("2025-01-08")
    # a tz-aware instant uses its New York date: 03:00 UTC on the 10th is still the 9th in New York
    assert next_session(pd.Timestamp("2025-01-10 03:00", tz="UTC")) == pd.Timestamp("2025-01-10")


def test_errors() -> None:
    with pytest.raises(ValueError, match="outside"):
        nyse_sessions("1989-12-01", "1990-02-01")
    with pytest.raises(ValueError, match="outside"):
        is_session("2031-01-02")
    with pytest.raises(ValueError, match="not an NYSE session"):
        session_offset("2025-01-09", 1)
    with pytest.raises(ValueError):
        previous_session(CALENDAR_START)
    with pytest.raises(OutsideCalendar, match="no signal session after 2030-11-29"):
        next_signal_session("2030-11-29")
    with pytest.raises(ValueError):
        signal_sessions("2020-01-01", "2020-12-31", months=(13,))
    with pytest.raises(ValueError):
        rebalance_schedule("2020-01-01", "2020-12-31", trade_offset=-1)
    with pytest.raises(ValueError, match="beyond"):
        rebalance_schedule("2030-01-01", "2030-12-31", months=(12,))


def test_signal_sessions_are_last_session_of_month_never_a_holiday() -> None:
    signals = signal_sessions(CALENDAR_START, CALENDAR_END, months=range(1, 13))
    assert len(signals) == 41 * 12
    assert all(is_session(d) for d in signals)
    following = pd.DatetimeIndex([next_session(d) for d in signals[:-1]])
    assert (following.month != signals[:-1].month).all()
    # last weekday of the month is a holiday: Memorial Day 2021-05-31, Good Friday 2024-03-29
    assert pd.Timestamp("2021-05-28") in signal_sessions("2021-01-01", "2021-12-31")
    assert list(signal_sessions("2024-03-01", "2024-03-31", months=(3,))) == [pd.Timestamp("2024-03-28")]


def test_signal_sessions_judge_month_end_on_whole_calendar() -> None:
    assert signal_sessions("2024-02-01", "2024-02-15").empty
    assert list(signal_sessions("2024-02-29", "2024-02-29")) == [pd.Timestamp("2024-02-29")]


def test_rebalance_schedule() -> None:
    sched = rebalance_schedule("2000-01-01", "2026-12-31")
    assert list(sched.columns) == ["signal_date", "trade_date"]
    assert len(sched) == 27 * 4
    assert set(sched["signal_date"].dt.month) == {2, 5, 8, 11}
    assert all(is_session(d) for d in sched["trade_date"])
    assert all(next_session(s) == t for s, t in zip(sched["signal_date"], sched["trade_date"], strict=True))
    first = sched.iloc[0]
    assert (first["signal_date"], first["trade_date"]) == (
        pd.Timestamp("2000-02-29"),
        pd.Timestamp("2000-03-01"),
    )
    same_day = rebalance_schedule("2020-01-01", "2020-12-31", trade_offset=0)
    assert (same_day["signal_date"] == same_day["trade_date"]).all()
    later = rebalance_schedule("2020-01-01", "2020-12-31", months=(1, 7), trade_offset=5)
    assert list(later["trade_date"]) == [session_offset(d, 5) for d in later["signal_date"]]


def test_is_and_next_signal_session() -> None:
    assert is_signal_session("2024-05-31")
    assert not is_signal_session("2024-05-31", months=(6,))
    assert not is_signal_session("2024-05-30")
    assert not is_signal_session("2021-05-31")  # Memorial Day
    assert next_signal_session("2024-05-31") == pd.Timestamp("2024-08-30")
    assert next_signal_session("2024-05-30") == pd.Timestamp("2024-05-31")
    assert next_signal_session("2021-05-29", months=(5,)) == pd.Timestamp("2022-05-31")


# Up to the day before the calendar's last signal session: from then on there is no next one to find
# (asking raises OutsideCalendar: test_errors).
LAST_SIGNAL = signal_sessions("2030-01-01", "2030-12-31")[-1]
days = st.dates(min_value=dt.date(1990, 2, 1), max_value=(LAST_SIGNAL - pd.Timedelta(days=1)).date())


@settings(max_examples=200, deadline=None)
@given(days)
def test_navigation_properties(day: dt.date) -> None:
    ts = pd.Timestamp(day)
    prev, nxt = previous_session(day), next_session(day)
    assert prev < ts < nxt
    assert nyse_sessions(prev, nxt).tolist() == ([prev, ts, nxt] if is_session(day) else [prev, nxt])
    assert session_offset(prev, 1) == (ts if is_session(day) else nxt)
    sig = next_signal_session(day)
    assert sig > ts and is_signal_session(sig)
    assert signal_sessions(ts + pd.Timedelta(days=1), sig - pd.Timedelta(days=1)).empty
