"""NYSE trading sessions and the rebalance schedule.

Sessions are NYSE trading days (``exchange_calendars`` "XNYS", 1990-01-02..2030-12-31) returned as
tz-naive ``pd.Timestamp`` at midnight. Inputs may be str/date/Timestamp; time of day is ignored and
tz-aware inputs are first converted to New York time. Dates outside the calendar raise
:class:`OutsideCalendar` (a ValueError too).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from functools import lru_cache

import exchange_calendars as xc
import numpy as np
import pandas as pd

from momentum.errors import PermanentError

CALENDAR_START = pd.Timestamp("1990-01-02")  # exchange_calendars rejects an earlier XNYS start
CALENDAR_END = pd.Timestamp("2030-12-31")
DEFAULT_MONTHS: tuple[int, ...] = (2, 5, 8, 11)
_COVERS = f"the NYSE calendar covers {CALENDAR_START.date()}..{CALENDAR_END.date()}"

# Unscheduled closures we enforce even if an exchange_calendars release lacks them. Removing a day
# the library already treats as closed is a no-op, so keeping an entry is always safe.
# - 2025-01-09: national day of mourning for President Carter (added upstream in Jan 2025,
#   PR #439; present in 4.13.2, kept here in case an older or regressed release is installed).
SUPPLEMENTARY_CLOSURES: tuple[pd.Timestamp, ...] = (pd.Timestamp("2025-01-09"),)


class OutsideCalendar(PermanentError, ValueError):
    """A date the NYSE calendar does not cover: the run stops in one line naming the date and the range."""


@lru_cache(maxsize=1)
def _sessions() -> pd.DatetimeIndex:
    """All sessions of the calendar range, tz-naive, sorted, unique (built once per process)."""
    with warnings.catch_warnings():  # exchange_calendars 4.13 on pandas 3.1: Series.values deprecation
        warnings.filterwarnings(
            "ignore", message="Series.values returning an ndarray", category=DeprecationWarning
        )
        cal = xc.get_calendar("XNYS", start=CALENDAR_START, end=CALENDAR_END)
    sessions = pd.DatetimeIndex(cal.sessions)
    if sessions.tz is not None:
        sessions = sessions.tz_localize(None)
    sessions = sessions.difference(pd.DatetimeIndex(SUPPLEMENTARY_CLOSURES)).as_unit("ns")
    return pd.DatetimeIndex(sessions.to_numpy(), name=None)  # no freq: a plain sorted index


@lru_cache(maxsize=1)
def _closes() -> pd.Series:
    """Each session's closing time in UTC (early closes included), indexed by the tz-naive session."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Series.values returning an ndarray", category=DeprecationWarning
        )
        cal = xc.get_calendar("XNYS", start=CALENDAR_START, end=CALENDAR_END)
    closes = cal.closes.copy()
    closes.index = pd.DatetimeIndex(closes.index).tz_localize(None).as_unit("ns")
    return closes.reindex(_sessions())


def session_close(day: object) -> pd.Timestamp:
    """The closing instant (UTC) of the session ``day``: 16:00 New York, earlier on an early-close day."""
    d = _in_range(_day(day))
    close = _closes().get(d)
    if close is None or pd.isna(close):
        raise ValueError(f"{d.date()} is not an NYSE session")
    return pd.Timestamp(close)


SETTLE = pd.Timedelta(minutes=20)  # a session's data counts as settled this long after its close


def last_closed_session(now: object, settle: pd.Timedelta = SETTLE) -> pd.Timestamp:
    """The latest session whose close (early closes included) was at least ``settle`` before ``now``.

    ``now`` is an instant: tz-aware, or tz-naive read as UTC. With the default 20 minutes a 17:30 New
    York run gets today's session, a 16:05 run yesterday's (recent SIP data needs a paid plan).
    """
    instant = pd.Timestamp(now)
    instant = instant.tz_localize("UTC") if instant.tz is None else instant.tz_convert("UTC")
    closes = _closes()
    i = int(closes.searchsorted(instant - settle, side="right")) - 1
    if i < 0:
        raise OutsideCalendar(f"no session closed before {instant} in the calendar", fix=_COVERS)
    return closes.index[i]


@lru_cache(maxsize=1)
def _month_last_sessions() -> pd.DatetimeIndex:
    """The last session of every calendar month in the range (CALENDAR_END is a December 31)."""
    s = _sessions()
    months = s.year * 12 + s.month
    is_last = np.append(months[1:] != months[:-1], True)
    return s[is_last]


def _day(value: object) -> pd.Timestamp:
    """A date-like as a tz-naive midnight Timestamp (tz-aware values use their New York date)."""
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError("date must not be NaT")
    if ts.tz is not None:
        ts = ts.tz_convert("America/New_York").tz_localize(None)
    return ts.normalize().as_unit("ns")


def _in_range(day: pd.Timestamp) -> pd.Timestamp:
    if not CALENDAR_START <= day <= CALENDAR_END:
        raise OutsideCalendar(
            f"{day.date()} is outside the NYSE calendar", fix=f"pick a date inside it: {_COVERS}"
        )
    return day


class InvalidAsOf(PermanentError):
    """The requested as_of cannot be run (not a date, not an NYSE session, past the data): the run stops
    before fetching anything, naming the session to use instead."""


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, flag: str = "--as-of") -> pd.Timestamp:
    """A date written YYYY-MM-DD (nothing else: ``30/11/2022`` would be read month-first or day-first
    depending on the parser); else one line naming the flag."""
    value = str(text).strip()
    try:
        if not _ISO_DAY.match(value):
            raise ValueError(value)
        return _day(pd.Timestamp(value))
    except (ValueError, TypeError):
        raise InvalidAsOf(f"{value!r} is not a date written YYYY-MM-DD", flag, "e.g. 2022-11-30") from None


def checked_as_of(as_of: str | None, last_session: pd.Timestamp, history: int = 1) -> pd.Timestamp:
    """The session a run scores: ``as_of`` (YYYY-MM-DD) or, when empty, the provider's ``last_session``.

    Refused (one line, with the fix): a non-date, a day that is not an NYSE session, a day after the
    provider's last session, a day with fewer than ``history`` sessions of the calendar up to it.
    """
    last = _day(last_session)
    if not as_of:
        return last
    day = parse_day(as_of)
    if not CALENDAR_START <= day <= CALENDAR_END or not is_session(day):
        hint = (
            f"the session before it is {previous_session(day):%Y-%m-%d}"
            if CALENDAR_START < day <= CALENDAR_END
            else f"the NYSE calendar covers {CALENDAR_START:%Y-%m-%d}..{CALENDAR_END:%Y-%m-%d}"
        )
        raise InvalidAsOf(f"as_of {day:%Y-%m-%d} is not an NYSE session", "--as-of", hint)
    if day > last:
        raise InvalidAsOf(
            f"as_of {day:%Y-%m-%d} is after the provider's last session {last:%Y-%m-%d}",
            "--as-of",
            f"use {last:%Y-%m-%d} or earlier, or leave --as-of out",
        )
    earliest = _sessions()[max(history, 1) - 1]
    if day < earliest:
        raise InvalidAsOf(
            f"as_of {day:%Y-%m-%d} has too little history before it (a run reads {history} sessions, "
            f"the calendar starts {CALENDAR_START:%Y-%m-%d})",
            "--as-of",
            f"the earliest possible as_of is {earliest:%Y-%m-%d}",
        )
    return day


def _months(months: Iterable[int]) -> tuple[int, ...]:
    out = tuple(sorted({int(m) for m in months}))
    if not out or out[0] < 1 or out[-1] > 12:
        raise ValueError(f"months must be a non-empty subset of 1..12, got {months!r}")
    return out


def nyse_sessions(start: object, end: object) -> pd.DatetimeIndex:
    """Sessions in [start, end], both inclusive; the ends need not be sessions (empty if start > end)."""
    lo, hi = _in_range(_day(start)), _in_range(_day(end))
    s = _sessions()
    return s[s.searchsorted(lo, side="left") : s.searchsorted(hi, side="right")]


def window_start(day: object, sessions: int) -> pd.Timestamp:
    """The first of the ``sessions`` sessions ending at the session ``day`` (the history a fetch asks
    for); raises when the calendar does not reach ``2 x sessions + 30`` calendar days before ``day``."""
    end = _day(day)
    return nyse_sessions(end - pd.Timedelta(days=2 * sessions + 30), end)[-sessions]


def is_session(day: object) -> bool:
    """True if ``day`` is an NYSE trading day."""
    d = _in_range(_day(day))
    s = _sessions()
    i = s.searchsorted(d)
    return bool(i < len(s) and s[i] == d)


def previous_session(day: object) -> pd.Timestamp:
    """The last session strictly before ``day``."""
    s = _sessions()
    i = s.searchsorted(_in_range(_day(day)), side="left") - 1
    if i < 0:
        raise OutsideCalendar(f"no session before {day} in the calendar", fix=_COVERS)
    return s[i]


def next_session(day: object) -> pd.Timestamp:
    """The first session strictly after ``day``."""
    s = _sessions()
    i = s.searchsorted(_in_range(_day(day)), side="right")
    if i >= len(s):
        raise OutsideCalendar(f"no session after {day} in the calendar", fix=_COVERS)
    return s[i]


def session_offset(day: object, n: int) -> pd.Timestamp:
    """The session ``n`` sessions after the session ``day`` (n=0: day itself; n<0: before)."""
    d = _in_range(_day(day))
    s = _sessions()
    i = s.searchsorted(d)
    if i >= len(s) or s[i] != d:
        raise ValueError(f"{d.date()} is not an NYSE session")
    j = i + int(n)
    if not 0 <= j < len(s):
        raise OutsideCalendar(f"session {d.date()} {n:+d} is outside the calendar", fix=_COVERS)
    return s[j]


def signal_sessions(start: object, end: object, months: Iterable[int] = DEFAULT_MONTHS) -> pd.DatetimeIndex:
    """The last session of each month in ``months`` that falls within [start, end].

    "Last session of the month" is judged on the whole calendar, so a truncated ``end`` inside a
    month never makes an earlier day of that month a signal session.
    """
    wanted = _months(months)
    lo, hi = _in_range(_day(start)), _in_range(_day(end))
    ends = _month_last_sessions()
    ends = ends[ends.searchsorted(lo, side="left") : ends.searchsorted(hi, side="right")]
    return ends[ends.month.isin(wanted)]


def rebalance_schedule(
    start: object, end: object, months: Iterable[int] = DEFAULT_MONTHS, trade_offset: int = 1
) -> pd.DataFrame:
    """Columns ``signal_date`` (signal session in [start, end]) and ``trade_date`` (+trade_offset
    sessions)."""
    if int(trade_offset) < 0:
        raise ValueError(f"trade_offset must be >= 0 sessions, got {trade_offset}")
    signals = signal_sessions(start, end, months)
    s = _sessions()
    idx = s.searchsorted(signals) + int(trade_offset)
    if len(idx) and idx[-1] >= len(s):
        raise OutsideCalendar(
            f"trade date of signal {signals[-1].date()} is beyond the calendar", fix=_COVERS
        )
    return pd.DataFrame({"signal_date": signals, "trade_date": s[idx]})


def is_signal_session(day: object, months: Iterable[int] = DEFAULT_MONTHS) -> bool:
    """True if ``day`` is the last session of one of ``months``."""
    d = _in_range(_day(day))
    if d.month not in _months(months):
        return False
    ends = _month_last_sessions()
    i = ends.searchsorted(d)
    return bool(i < len(ends) and ends[i] == d)


def next_signal_session(day: object, months: Iterable[int] = DEFAULT_MONTHS) -> pd.Timestamp:
    """The first signal session strictly after ``day``."""
    ends = _month_last_sessions()
    ends = ends[ends.month.isin(_months(months))]
    i = ends.searchsorted(_in_range(_day(day)), side="right")
    if i >= len(ends):
        raise OutsideCalendar(f"no signal session after {day} in the calendar", fix=_COVERS)
    return ends[i]
